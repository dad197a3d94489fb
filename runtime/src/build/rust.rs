//! Rust handlers: `cargo build --release --target wasm32-wasip2` of the package, whose cdylib
//! (already a component: no `wasm-tools component new` step) is copied to `component` unless
//! cargo wrote it there itself (`CARGO_TARGET_DIR` may point anywhere).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{exec, Progress};

/// The target Rust handlers are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// Builds the cargo package at `source` (its directory or its `Cargo.toml`).
pub fn build(source: &Path, component: &Path, progress: &dyn Progress) -> Result<String, String> {
    let manifest = if source.is_dir() {
        source.join("Cargo.toml")
    } else {
        source.to_path_buf()
    };
    let manifest = manifest
        .canonicalize()
        .map_err(|e| format!("{}: {e}", manifest.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--target", TARGET])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--message-format=json-render-diagnostics");
    let done = AtomicUsize::new(0);
    let out = exec::run(cmd, "cargo build", &|stderr, line| {
        if stderr {
            let l = line.trim_start();
            if let Some(rest) = l.strip_prefix("Compiling ") {
                let krate = rest.split_whitespace().next().unwrap_or(rest);
                let n = done.load(Ordering::Relaxed);
                progress.step(&format!("compiling {krate} ({n} crates done)"));
            }
        } else if line.contains("\"reason\":\"compiler-artifact\"") {
            done.fetch_add(1, Ordering::Relaxed);
        }
    })
    .map_err(|e| {
        if e.contains("may not be installed") || e.contains("target may not") {
            format!("{e}\nhint: rustup target add {TARGET}")
        } else {
            e
        }
    })?;
    let built = artifact(&out.stdout, &manifest).ok_or_else(|| {
        format!(
            "cargo built {} but no .wasm cdylib came out: is `crate-type = [\"cdylib\"]` set in [lib]?",
            manifest.display()
        )
    })?;
    copy_unless_same(&built, component)?;
    Ok("cargo".to_string())
}

/// The `.wasm` of the package's cdylib among cargo's JSON messages.
pub fn artifact(messages: &[String], manifest: &Path) -> Option<PathBuf> {
    let mut found = None;
    for line in messages {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let same_package = msg["manifest_path"]
            .as_str()
            .and_then(|p| Path::new(p).canonicalize().ok())
            .is_some_and(|p| p == manifest);
        let cdylib = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "cdylib"));
        if !(same_package && cdylib) {
            continue;
        }
        if let Some(files) = msg["filenames"].as_array() {
            found = files
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".wasm"))
                .map(PathBuf::from)
                .or(found);
        }
    }
    found
}

/// Copies `from` to `to` unless they are the same file.
pub fn copy_unless_same(from: &Path, to: &Path) -> Result<(), String> {
    let same = match (from.canonicalize(), to.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        std::fs::copy(from, to)
            .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
    }
    Ok(())
}
