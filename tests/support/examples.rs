//! The example handlers of `examples/` (their own cargo workspace), built for `wasm32-wasip2`
//! once per test process into the outer target directory.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::{repo_root, target_dir};

/// The example Rust handler (`examples/rust-handler`) as a component, built on first use.
/// Panics with cargo's output when the build fails (e.g. the wasm32-wasip2 target is missing:
/// `bash scripts/setup-tests.sh`).
pub fn rust_handler() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = repo_root();
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let out = Command::new(cargo)
                .current_dir(root.join("examples"))
                .args(["build", "--release", "--target", "wasm32-wasip2"])
                .arg("--manifest-path")
                .arg(root.join("examples/Cargo.toml"))
                .arg("--target-dir")
                .arg(target_dir())
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .output()
                .expect("cannot run cargo to build the examples");
            assert!(
                out.status.success(),
                "building examples/ for wasm32-wasip2 failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let wasm = target_dir().join("wasm32-wasip2/release/rust_handler.wasm");
            assert!(wasm.is_file(), "{} was not built", wasm.display());
            wasm
        })
        .clone()
}
