//! Start-up of the real `aviary run` (issue 15 §4), printed, never asserted: for the example
//! manifest (`examples/aviary.toml`: Rust, Go, JavaScript and Python handlers) and for 20 Rust
//! handlers, with an empty compile cache (cold, a fresh container) and then with it filled
//! (warm): time from exec to connected, to the first handled event and to every handler
//! ready, and resident memory (the runtime when idle, its peak, and the peak of the runtime
//! plus its compiler processes).
//!
//! ```sh
//! cargo bench -p aviary --bench startup            # 3 runs of each
//! cargo bench -p aviary --bench startup -- 1       # 1 run of each
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aviary_emulator::{Emulator, EmulatorConfig};
use aviary_test_support::go_guests::go_audit;
use aviary_test_support::lang_guests::{js, py, JsEngine};
use aviary_test_support::{message_event, repo_root, target_dir, Dir};

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");

/// The example Rust handler, built for wasm32-wasip2 into the target directory.
fn rust_handler() -> PathBuf {
    let root = repo_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(root.join("examples/Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir().join("wasm32-wasip2/release/rust_handler.wasm")
}

/// A copy of `component` that differs in one custom section (so it is compiled and cached
/// as a component of its own).
fn distinct_copy(component: &Path, to: &Path, n: usize) {
    let mut bytes = std::fs::read(component).unwrap();
    let name = b"aviary-bench";
    let payload = n.to_le_bytes();
    bytes.push(0); // custom section
    bytes.push((1 + name.len() + payload.len()) as u8);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(&payload);
    std::fs::write(to, bytes).unwrap();
}

/// The example manifest with its component paths pointed at the built examples and its
/// domain at the emulator.
fn example_manifest(dir: &Dir, emu: &Emulator) -> (PathBuf, usize) {
    let text = std::fs::read_to_string(repo_root().join("examples/aviary.toml")).unwrap();
    let components = [
        (
            "target/wasm32-wasip2/release/rust_handler.wasm",
            rust_handler(),
        ),
        ("target/go-audit.wasm", go_audit()),
        (
            "js-card/js_card.wasm",
            js("examples/js-card/handler.js", JsEngine::QuickJs),
        ),
        (
            "py-greeter/py_greeter.wasm",
            py("examples/py-greeter/app.py"),
        ),
    ];
    let mut text = text
        .replace("${FEISHU_APP_SECRET}", "emulator-secret")
        .replace(
            "domain = \"feishu\"",
            &format!("domain = \"{}\"", emu.domain()),
        );
    for (i, (from, built)) in components.iter().enumerate() {
        // A private copy: the components' own caches (and artefacts) stay out of it.
        let to = dir.path().join(format!("example-{i}.wasm"));
        std::fs::copy(built, &to).unwrap();
        text = text.replace(&format!("\"{from}\""), &format!("\"{}\"", to.display()));
    }
    (dir.write("aviary.toml", &text), components.len())
}

/// 20 Rust handlers (distinct components), each replying to messages.
fn rust20_manifest(dir: &Dir, emu: &Emulator) -> (PathBuf, usize) {
    let rust = rust_handler();
    let mut text = format!(
        "[feishu]\napp_id = \"cli_0123456789abcdef\"\napp_secret = \"emulator-secret\"\n\
         domain = \"{}\"\n\n[queue]\npath = \"{}\"\n\n",
        emu.domain(),
        dir.path().join("queue.redb").display()
    );
    for i in 0..20 {
        let c = dir.path().join(format!("rust-{i}.wasm"));
        distinct_copy(&rust, &c, i);
        text.push_str(&format!(
            "[[handler]]\nname = \"rust-{i}\"\ncomponent = \"{}\"\nevents = [\"im.message.receive_v1\"]\n\
             openapi = [\"/open-apis/im/v1/messages\"]\n\n[handler.config]\nreply = \"from {i}\"\n\n",
            c.display()
        ));
    }
    (dir.write("aviary.toml", &text), 20)
}

/// Resident set of `pid` and of its descendants, in KiB (from /proc).
fn tree_rss_kib(pid: u32) -> u64 {
    let own = status_kib(pid, "VmRSS:").unwrap_or(0);
    let children = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
                .flat_map(|c| {
                    c.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok())
                        .collect::<Vec<_>>()
                })
                .map(tree_rss_kib)
                .sum::<u64>()
        })
        .unwrap_or(0);
    own + children
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

struct Sample {
    connected: Duration,
    first_handled: Duration,
    all_ready: Duration,
    idle_kib: u64,
    peak_kib: u64,
    tree_peak_kib: u64,
    compiled: usize,
}

async fn one_run(emu: &Emulator, manifest: &Path, cache: &Path, handlers: usize) -> Sample {
    let log = manifest.with_file_name("run.log");
    let sent_before = emu.sent_messages().len();
    let connections_before = emu.connections_total();
    let started = Instant::now();
    let mut child: Child = Command::new(AVIARY)
        .arg("run")
        .arg("-m")
        .arg(manifest)
        .env("RUST_LOG", "info")
        .env("XDG_CACHE_HOME", cache)
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let pid = child.id();
    let tree_peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, on) = (tree_peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while on.load(Ordering::Relaxed) {
                peak.fetch_max(tree_rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    while emu.connections_total() == connections_before {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no connection"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let connected = started.elapsed();
    let n = sent_before + 1;
    emu.push_event(&message_event(
        &format!("ev-{n}-{}", std::process::id()),
        &format!("om_{n}_{}", connected.as_nanos()),
        &format!("oc_{n}"),
        "hi",
    ));
    while emu.sent_messages().len() <= sent_before {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "nothing handled"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let first_handled = started.elapsed();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    while !read().contains("all handlers ready") {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "not ready:\n{}",
            read()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all_ready = started.elapsed();
    // Idle: a few seconds after the last handler is ready.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_kib = status_kib(pid, "VmRSS:").unwrap_or(0);
    let peak_kib = status_kib(pid, "VmHWM:").unwrap_or(0);
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    let compiled = read().matches("compiling component").count();
    assert!(handlers > 0);
    Sample {
        connected,
        first_handled,
        all_ready,
        idle_kib,
        peak_kib,
        tree_peak_kib: tree_peak.load(Ordering::Relaxed),
        compiled,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    println!(
        "aviary run start-up (release binary {AVIARY}), {runs} run(s) of each; times from exec\n"
    );
    println!(
        "{:<22} {:<5} {:>10} {:>14} {:>12} {:>9} {:>9} {:>10} {:>9}",
        "manifest",
        "cache",
        "connected",
        "first handled",
        "all ready",
        "RSS idle",
        "RSS peak",
        "tree peak",
        "compiled"
    );
    for (name, make) in [
        (
            "examples/aviary.toml",
            example_manifest as fn(&Dir, &Emulator) -> (PathBuf, usize),
        ),
        ("20 Rust handlers", rust20_manifest),
    ] {
        for _ in 0..runs {
            let emu = Emulator::start(EmulatorConfig::fast()).await.unwrap();
            let dir = Dir::new("bench-startup");
            let (manifest, handlers) = make(&dir, &emu);
            let cache = dir.path().join("cache");
            for cache_state in ["cold", "warm"] {
                let s = one_run(&emu, &manifest, &cache, handlers).await;
                println!(
                    "{:<22} {:<5} {:>10} {:>14} {:>12} {:>9} {:>9} {:>10} {:>9}",
                    name,
                    cache_state,
                    ms(s.connected),
                    ms(s.first_handled),
                    ms(s.all_ready),
                    mib(s.idle_kib),
                    mib(s.peak_kib),
                    mib(s.tree_peak_kib),
                    s.compiled
                );
            }
        }
    }
    println!(
        "\nconnected: the emulator saw the connection; first handled: the first reply the \
         handlers sent through the OpenAPI for a message pushed at connect; all ready: the log's \
         `all handlers ready`; RSS idle: the runtime 3 s after that; RSS peak: its VmHWM; tree \
         peak: the runtime plus its compiler processes, sampled every 10 ms; compiled: \
         components compiled in that run."
    );
}
