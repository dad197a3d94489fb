//! `aviary dev -m aviary.toml`: the local loop in one command (cargo feature `emulator`).
//!
//! 1. builds every handler with `[handler.build]` (as `aviary build`);
//! 2. starts the built-in emulator on 127.0.0.1 with the manifest's app id, its dev console
//!    (`/_console/`, URL printed) and the samples of `events/` next to the manifest;
//! 3. runs `aviary run` against it, on a copy of the manifest next to the original
//!    (`.aviary-dev.toml`: `domain` pointed at the emulator, a dev secret, the disk queue in
//!    `.aviary/dev-queue.redb`), its log on this terminal, with its admin server on a free
//!    loopback port and its run journal on (`--debug-runs`); the console shows its status,
//!    journal and dead letters through [`super::dev_console`];
//! 4. watches the manifest and the handlers' sources (polling); on a change it rebuilds,
//!    rewrites the dev manifest and hot-reloads the app through its admin server
//!    (`POST /control/reload`, [`super::dev_reload`]): `aviary dev: reloaded (generation N: …)`.
//!    The connection, the run journal (the console's timeline) and the emulator's records stay.
//!    A change only a restart applies (`[queue]`, `[admin]`, `feishu.app_id`, bursts merged)
//!    is refused by the reload: its problems are printed and `aviary run` restarted
//!    (`aviary dev: restarted …`: a new connection; the durable queue keeps what was in
//!    flight). So is an app that has exited or does not answer.
//!
//! A manifest or build error on a change, or a reload refused for another reason (a component
//! that does not load), is printed and the running app kept. Ctrl-C stops all.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::time::Duration;

use std::net::SocketAddr;
use std::sync::Arc;

use aviary_emulator::{Emulator, EmulatorConfig};

use super::build as build_cli;
use super::dev_reload::{self, Reloaded};
use crate::manifest::Manifest;
use crate::process;

/// The app secret the emulator and the dev copy of the manifest share (not the real one).
const DEV_SECRET: &str = "aviary-dev-secret";
/// The dev copy of the manifest, next to it (so relative paths mean the same).
pub const DEV_MANIFEST: &str = ".aviary-dev.toml";

/// Flags of `aviary dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// The manifest to run.
    #[arg(short = 'm', long = "manifest", default_value = "aviary.toml")]
    pub manifest: PathBuf,
    /// HTTP port of the emulator and the console on 127.0.0.1 (0: a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Sample events for the console's composer (default: `events/` next to the manifest).
    #[arg(long, value_name = "DIR")]
    pub samples: Option<PathBuf>,
    /// How often sources are checked for changes, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub poll_ms: u64,
}

/// Runs `aviary dev` until Ctrl-C. Exit 0 then; 2 when the manifest cannot be used at start;
/// 1 when the emulator cannot start.
pub fn run(args: DevArgs) -> ExitCode {
    process::init_tracing();
    let runtime = match process::tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(dev(args))
}

async fn dev(args: DevArgs) -> ExitCode {
    let manifest = match build_cli::load(&args.manifest) {
        Ok(m) => m,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    build_all(&manifest).await;
    let config = EmulatorConfig {
        app_id: manifest.feishu.app_id.clone(),
        app_secret: DEV_SECRET.into(),
        ..EmulatorConfig::fast()
    };
    let emulator = match Emulator::start_on(config, args.port, 0).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the emulator: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let dir = manifest_dir(&args.manifest);
    let samples_dir = args.samples.clone().unwrap_or_else(|| dir.join("events"));
    if samples_dir.is_dir() {
        match aviary_emulator::cli::load_samples(&samples_dir) {
            Ok(s) => emulator.set_console_samples(s),
            Err(e) => eprintln!("warning: {e:#}"),
        }
    }
    println!("emulator: {}", emulator.domain());
    println!("dev console: {}", emulator.console_url());
    let admin = match free_loopback_port() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: no free port for the app's admin server: {e}");
            return ExitCode::FAILURE;
        }
    };
    emulator.set_console_app(Arc::new(super::dev_console::DevApp::new(
        admin,
        manifest_dir(&args.manifest).join(DEV_MANIFEST),
    )));

    let mut child = start_app(&args.manifest, &emulator.domain(), admin);
    let mut seen = fingerprint(&watched(&args.manifest, &manifest));
    let stop = process::stop_signal();
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_millis(args.poll_ms.max(50)));
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tick.tick() => {}
        }
        if let Some(c) = child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                eprintln!("aviary dev: `aviary run` exited ({status}); waiting for a change");
                child = None;
            }
        }
        let current = match build_cli::load(&args.manifest) {
            Ok(m) => m,
            Err(_) => manifest.clone(),
        };
        let now = fingerprint(&watched(&args.manifest, &current));
        if now == seen {
            continue;
        }
        seen = now;
        println!("aviary dev: change detected; rebuilding");
        let manifest = match build_cli::load(&args.manifest) {
            Ok(m) => m,
            Err(errors) => {
                for e in errors {
                    eprintln!("error: {e}");
                }
                eprintln!("aviary dev: the manifest has errors; keeping the running app");
                continue;
            }
        };
        if !build_all(&manifest).await {
            eprintln!("aviary dev: a build failed; keeping the running app");
            continue;
        }
        child = apply(child, &args.manifest, &emulator.domain(), admin).await;
        // The build wrote components; what counts as "seen" is the state after it.
        seen = fingerprint(&watched(&args.manifest, &manifest));
    }
    if let Some(c) = child.take() {
        stop_child(c).await;
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

/// The directory of a file, `.` for a bare file name.
fn manifest_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Builds every handler with `[handler.build]`, printing a line each; false if one failed.
async fn build_all(manifest: &Manifest) -> bool {
    let manifest = manifest.clone();
    tokio::task::spawn_blocking(move || {
        let mut ok = true;
        for h in manifest.handlers.iter().filter(|h| h.build.is_some()) {
            match build_cli::build_one(&manifest.path, h) {
                Ok(b) => println!("{}", build_cli::built_line(h, &b)),
                Err(e) => {
                    eprintln!("error: {e}");
                    ok = false;
                }
            }
        }
        ok
    })
    .await
    .unwrap_or(false)
}

/// The manifest text with `domain` pointed at the emulator, the dev secret, a disk queue of
/// its own, and no `[admin] token` (`aviary dev` puts the admin server on a loopback port its
/// console reads without one).
pub fn dev_manifest(text: &str, domain: &str) -> Result<String, String> {
    let mut doc: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
    if let Some(admin) = doc.get_mut("admin").and_then(|a| a.as_table_mut()) {
        admin.remove("token");
    }
    let feishu = doc
        .get_mut("feishu")
        .and_then(|f| f.as_table_mut())
        .ok_or("no [feishu] table")?;
    feishu.insert("domain".into(), domain.into());
    feishu.insert("app_secret".into(), DEV_SECRET.into());
    let queue = doc
        .entry("queue")
        .or_insert_with(|| toml::Value::Table(Default::default()));
    if let Some(q) = queue.as_table_mut() {
        let disk = q
            .get("backend")
            .and_then(|b| b.as_str())
            .is_none_or(|b| b == "disk");
        if disk {
            q.insert("path".into(), ".aviary/dev-queue.redb".into());
        }
    }
    Ok(format!(
        "# Written by `aviary dev` from the manifest next to it; edit that one.\n{}",
        toml::to_string(&doc).map_err(|e| e.to_string())?
    ))
}

/// A loopback address with a free port (bound, then released for `aviary run` to take; it
/// keeps it across restarts).
fn free_loopback_port() -> std::io::Result<SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// Applies a rebuilt change to the running app: a hot reload, or a restart when the app is
/// not running, does not answer, or the change needs one. Returns the app now running.
async fn apply(
    mut child: Option<Child>,
    manifest: &Path,
    domain: &str,
    admin: SocketAddr,
) -> Option<Child> {
    let why_restart = match child.as_mut().map(|c| c.try_wait()) {
        Some(Ok(None)) => {
            if let Err(e) = write_dev_manifest(manifest, domain) {
                eprintln!("error: {e}");
                eprintln!("aviary dev: keeping the running app");
                return child;
            }
            match dev_reload::reload(admin).await {
                Reloaded::Applied(summaries) => {
                    println!("aviary dev: reloaded ({})", summaries.join("; "));
                    return child;
                }
                Reloaded::Refused(problems) => {
                    for p in problems {
                        eprintln!("error: {p}");
                    }
                    eprintln!("aviary dev: the reload was refused; keeping the running app");
                    return child;
                }
                Reloaded::NeedsRestart(problems) => {
                    for p in &problems {
                        eprintln!("aviary dev: {p}");
                    }
                    "the change needs a restart"
                }
                Reloaded::Unreachable(why) => {
                    eprintln!("aviary dev: cannot reload: {why}");
                    "the app did not answer the reload"
                }
            }
        }
        _ => "the app was not running",
    };
    if let Some(c) = child.take() {
        stop_child(c).await;
    }
    let child = start_app(manifest, domain, admin);
    println!("aviary dev: restarted `aviary run` ({why_restart})");
    child
}

/// Writes the dev manifest (`.aviary-dev.toml` next to `manifest`) for the emulator at
/// `domain`, unless it already holds that text.
fn write_dev_manifest(manifest: &Path, domain: &str) -> Result<PathBuf, String> {
    let text =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let dev = manifest_dir(manifest).join(DEV_MANIFEST);
    let text =
        dev_manifest(&text, domain).map_err(|e| format!("cannot write the dev manifest: {e}"))?;
    if std::fs::read_to_string(&dev).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&dev, text)
            .map_err(|e| format!("cannot write the dev manifest: {}: {e}", dev.display()))?;
    }
    Ok(dev)
}

/// Writes the dev manifest and starts `aviary run` on it, with its admin server at `admin` and
/// its run journal on; `None` (with the reason printed) when it cannot.
fn start_app(manifest: &Path, domain: &str, admin: SocketAddr) -> Option<Child> {
    let dev = match write_dev_manifest(manifest, domain) {
        Ok(dev) => dev,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("aviary"));
    match Command::new(exe)
        .args(["run", "--debug-runs", "--admin"])
        .arg(admin.to_string())
        .arg("--manifest")
        .arg(&dev)
        .spawn()
    {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("error: cannot start `aviary run`: {e}");
            None
        }
    }
}

/// SIGTERM (a graceful stop: in-flight acks finish), then a kill after 10 s.
async fn stop_child(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..100 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// What is watched: the manifest and each handler's source (a directory, or the directory of a
/// source file).
fn watched(manifest_path: &Path, m: &Manifest) -> Vec<PathBuf> {
    let mut paths = vec![manifest_path.to_path_buf()];
    for b in m.handlers.iter().filter_map(|h| h.build.as_ref()) {
        match &b.source {
            Some(s) if s.is_dir() => paths.push(s.clone()),
            Some(s) => paths.push(manifest_dir(s)),
            None => paths.push(b.dir.clone()),
        }
    }
    paths
}

/// Directories never watched (build outputs, dependencies, state).
const SKIP: &[&str] = &[
    "target",
    "node_modules",
    ".venv",
    ".git",
    ".aviary",
    "__pycache__",
];

/// A hash of the paths, sizes and modification times of every watched file (components,
/// `.wasm`, and the dev manifest left out: builds write them).
pub fn fingerprint(paths: &[PathBuf]) -> u64 {
    fn walk(p: &Path, depth: usize, out: &mut Vec<(PathBuf, u64, Option<std::time::SystemTime>)>) {
        let Ok(meta) = std::fs::metadata(p) else {
            return;
        };
        if meta.is_dir() {
            if depth > 8 {
                return;
            }
            let Ok(entries) = std::fs::read_dir(p) else {
                return;
            };
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if SKIP.contains(&name.as_ref()) {
                    continue;
                }
                walk(&e.path(), depth + 1, out);
            }
        } else {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string());
            let skip = name
                .as_deref()
                .is_some_and(|n| n.ends_with(".wasm") || n == DEV_MANIFEST || n.ends_with(".redb"));
            if !skip {
                out.push((p.to_path_buf(), meta.len(), meta.modified().ok()));
            }
        }
    }
    let mut files = Vec::new();
    for p in paths {
        walk(p, 0, &mut files);
    }
    files.sort();
    files.dedup();
    let mut h = DefaultHasher::new();
    files.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_manifest_points_at_the_emulator_and_keeps_the_rest() {
        let text = "[feishu]\napp_id = \"cli_1\"\napp_secret = \"${FEISHU_APP_SECRET}\"\ndomain = \"feishu\"\n\n[[handler]]\nname = \"h\"\ncomponent = \"h.wasm\"\nevents = [\"*\"]\n\n[handler.build]\nsource = \"h.js\"\n";
        let dev = dev_manifest(text, "http://127.0.0.1:9").unwrap();
        let m = Manifest::parse(&dev, "x/aviary.toml", &|_| None).unwrap();
        assert_eq!(m.feishu.domain, "http://127.0.0.1:9");
        assert_eq!(m.feishu.app_secret.expose(), DEV_SECRET);
        assert_eq!(m.handlers[0].name, "h");
        assert!(m.handlers[0].build.is_some());
        assert!(dev.contains(".aviary/dev-queue.redb"), "{dev}");
        let redis = dev_manifest(
            &format!("{text}\n[queue]\nbackend = \"redis://127.0.0.1:1\"\n"),
            "http://x",
        )
        .unwrap();
        assert!(!redis.contains("dev-queue"), "{redis}");
        let with_token = dev_manifest(
            &format!("{text}\n[admin]\nlisten = \"127.0.0.1:9464\"\ntoken = \"${{ADMIN}}\"\n"),
            "http://x",
        )
        .unwrap();
        assert!(!with_token.contains("token"), "{with_token}");
        assert!(with_token.contains("127.0.0.1:9464"), "{with_token}");
        assert!(dev_manifest("[feishu", "x").is_err());
        assert!(dev_manifest("a = 1", "x").unwrap_err().contains("[feishu]"));
    }

    #[test]
    fn fingerprints_change_with_sources_not_with_outputs() {
        let dir = std::env::temp_dir().join(format!("aviary-dev-fp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("node_modules")).unwrap();
        std::fs::write(dir.join("h.js"), "a").unwrap();
        let paths = vec![dir.clone()];
        let first = fingerprint(&paths);
        std::fs::write(dir.join("h.wasm"), "out").unwrap();
        std::fs::write(dir.join("node_modules/x.js"), "dep").unwrap();
        std::fs::write(dir.join(DEV_MANIFEST), "dev").unwrap();
        assert_eq!(
            fingerprint(&paths),
            first,
            "outputs and dependencies are not sources"
        );
        std::fs::write(dir.join("h.js"), "ab").unwrap();
        assert_ne!(fingerprint(&paths), first);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
