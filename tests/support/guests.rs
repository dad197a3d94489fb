//! The test guests of `tests/guests/` (a separate cargo workspace), built once per test run for
//! `wasm32-wasip2` and located by name.

use std::path::{Path, PathBuf};

use crate::{repo_root, target_dir};
use aviary::handler::GuestEvent;
use aviary::protocol::envelope::EventKind;
use std::process::Command;
use std::sync::OnceLock;

/// Where the guests' `.wasm` files end up.
fn out_dir() -> PathBuf {
    target_dir().join("wasm32-wasip2").join("release")
}

/// Builds every test guest (once per process; cargo's own lock serialises concurrent test
/// binaries) and returns the output directory. Panics with a hint when the target is missing.
fn built() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = repo_root();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(root.join("tests/guests"))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(root.join("tests/guests/Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir())
            // Build-script settings of the outer cargo must not leak into the guest build.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .expect("cannot run cargo to build the test guests");
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("wasm32-wasip2") && stderr.contains("target may not be installed")
                || stderr.contains("can't find crate for `core`")
                || stderr.contains("can't find crate for `std`")
            {
                panic!(
                    "the wasm32-wasip2 Rust target is missing: run `bash scripts/setup-tests.sh` \
                     (it runs `rustup target add wasm32-wasip2`)\n{stderr}"
                );
            }
            panic!("building the test guests (tests/guests) failed:\n{stderr}");
        }
        out_dir()
    })
}

/// Path of the built guest `name` (its crate name, e.g. `"well-behaved"`).
pub fn guest(name: &str) -> PathBuf {
    let path = built().join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        path.exists(),
        "test guest {name} not found at {}",
        path.display()
    );
    path
}

/// An event as the runtime hands it to a guest, with a `{}` envelope: what the test guests
/// (which read only the record's fields) need.
pub fn event(id: &str, event_type: &str, kind: EventKind) -> GuestEvent {
    GuestEvent {
        dedupe_id: id.to_string(),
        event_id: id.to_string(),
        event_type: event_type.to_string(),
        kind,
        app_id: "cli_test".to_string(),
        tenant_key: "tenant".to_string(),
        create_time: "1700000000000".to_string(),
        attempt: 1,
        envelope: "{}".to_string(),
    }
}
