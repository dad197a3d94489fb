//! `aviary build -m aviary.toml [HANDLER…]`: builds every handler whose `[handler.build]` names
//! a source or a command (see [`crate::build`]), one after another, each into its `component`.
//! While a build runs a spinner on stderr (a terminal only) says what the toolchain is doing;
//! each build ends with one line on stdout: the handler, the component, its size and the time.
//!
//! The manifest is read without checking that components exist (they are what is built) and
//! with unset `${VAR}`s left empty: building needs neither the app secret nor the components.
//!
//! Exit codes: 0 when every build succeeded; 1 when one failed (its toolchain's last lines are
//! shown as `error: file:line:col: handler.build: …`); 2 when the manifest cannot be used or a
//! handler named on the command line does not exist.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::build::{self, Built};
use crate::manifest::{HandlerSettings, Manifest};

/// Flags of `aviary build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The manifest whose handlers to build.
    #[arg(short = 'm', long = "manifest", default_value = "aviary.toml")]
    pub manifest: PathBuf,
    /// Build only these handlers (by `name`); default: every handler with `[handler.build]`.
    pub handlers: Vec<String>,
}

/// Runs `aviary build`.
pub fn run(args: BuildArgs) -> ExitCode {
    let manifest = match load(&args.manifest) {
        Ok(m) => m,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    let chosen = match choose(&manifest, &args.handlers) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if chosen.is_empty() {
        println!(
            "nothing to build: no handler in {} has a [handler.build] table",
            manifest.path.display()
        );
        return ExitCode::SUCCESS;
    }
    let mut failed = 0;
    for h in &chosen {
        match build_one(&manifest.path, h) {
            Ok(b) => println!("{}", built_line(h, &b)),
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} builds failed", chosen.len());
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Reads the manifest for building: unset `${VAR}`s expand to a placeholder and component
/// files need not exist. A manifest with `include` is refused with a message that says what
/// to give instead.
pub fn load(path: &Path) -> Result<Manifest, Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![format!("{}: cannot read the manifest: {e}", path.display())])?;
    if toml::from_str::<toml::Table>(&text).is_ok_and(|t| t.contains_key("include")) {
        return Err(vec![format!(
            "{}: include: this manifest runs several apps; `aviary build` and `aviary dev` take \
             one app's manifest — give them each included file (`-m bots/<app>.toml`)",
            path.display()
        )]);
    }
    let env = |name: &str| Some(std::env::var(name).unwrap_or_else(|_| "unset".into()));
    Manifest::parse(&text, path, &env)
        .map_err(|e| e.problems().iter().map(|p| p.to_string()).collect())
}

/// The handlers to build: those named (each must exist and have `[handler.build]`), or all
/// that have one.
pub fn choose<'m>(
    manifest: &'m Manifest,
    names: &[String],
) -> Result<Vec<&'m HandlerSettings>, String> {
    if names.is_empty() {
        return Ok(manifest
            .handlers
            .iter()
            .filter(|h| h.build.is_some())
            .collect());
    }
    names
        .iter()
        .map(|n| match manifest.handler(n) {
            Some(h) if h.build.is_some() => Ok(h),
            Some(_) => Err(format!(
                "{}: handler `{n}` has no [handler.build] table: nothing says how to build it",
                manifest.path.display()
            )),
            None => Err(format!(
                "{}: no handler named `{n}` (handlers: {})",
                manifest.path.display(),
                manifest
                    .handlers
                    .iter()
                    .map(|h| h.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        })
        .collect()
}

/// Builds one handler with a spinner; errors carry the manifest location.
pub fn build_one(manifest: &Path, h: &HandlerSettings) -> Result<Built, String> {
    let settings = h.build.as_ref().expect("chosen handlers have a build");
    let lang = settings
        .language()
        .ok()
        .flatten()
        .map(|l| l.name())
        .unwrap_or("command");
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    let prefix = format!("building {} ({lang})", h.name);
    bar.set_message(prefix.clone());
    let progress = |what: &str| bar.set_message(format!("{prefix}: {}", shorten(what)));
    let result = build::build(settings, &h.component, &progress);
    bar.finish_and_clear();
    result.map_err(|e| {
        format!(
            "{}:{}:{}: handler.build: handler `{}`: {e}",
            manifest.display(),
            settings.at.0,
            settings.at.1,
            h.name
        )
    })
}

/// `built echo (rust) -> target/…/echo.wasm, 352.1 KB in 12.3 s`.
pub fn built_line(h: &HandlerSettings, b: &Built) -> String {
    format!(
        "built {} ({}) -> {}, {} in {:.1} s",
        h.name,
        b.tool,
        b.component.display(),
        size(b.bytes),
        b.time.as_secs_f64()
    )
}

fn size(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} KB", bytes as f64 / 1e3)
    }
}

fn shorten(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(70) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_with_include_is_refused_with_what_to_give_instead() {
        let dir = std::env::temp_dir().join(format!("aviary-build-include-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("aviary.toml");
        std::fs::write(&path, "include = [\"bots/*.toml\"]\n").unwrap();
        let errors = load(&path).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with(&format!("{}: include:", path.display())), "{errors:?}");
        assert!(errors[0].contains("-m bots/<app>.toml"), "{errors:?}");
        std::fs::write(
            &path,
            "[feishu]\napp_id = \"cli_a1b2c3d4e5f6a7b8\"\napp_secret = \"${UNSET_FOR_TEST}\"\n",
        )
        .unwrap();
        assert!(load(&path).is_ok(), "a single app's manifest still loads");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
