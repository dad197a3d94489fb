//! JavaScript and Python test guests, built from source with the SDKs' build commands
//! (`guest-sdk/js`: `aviary-js build`; `guest-sdk/python`: `python -m aviary_guest build`) once
//! per content: the output is cached in `<target>/guest-lang/` under a hash of the sources, the
//! SDK and the engine, so only the first run after a change pays the build (QuickJS ~3 s,
//! StarlingMonkey ~25 s, Python ~15–30 s). The tools come from `scripts/setup-tests.sh`
//! (`npm ci` in guest-sdk/js; componentize-py in `<target>/guest-py/venv`).
//!
//! Compiled code is cached too: [`sandbox_cache_dir`] is stable across runs (the sandbox's
//! cache is keyed by content, engine settings and wasmtime version), so the multi-second
//! Cranelift compile of a 12–18 MB component happens once per machine.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::{repo_root, target_dir};

/// The engines a JavaScript guest can be built for (`aviary-js build --engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsEngine {
    QuickJs,
    StarlingMonkey,
}

impl JsEngine {
    pub fn name(self) -> &'static str {
        match self {
            JsEngine::QuickJs => "quickjs",
            JsEngine::StarlingMonkey => "starlingmonkey",
        }
    }
}

/// A compile cache shared by the language tests across runs.
pub fn sandbox_cache_dir() -> PathBuf {
    target_dir().join("guest-lang").join("compiled")
}

/// The Python of the venv `scripts/setup-tests.sh` creates for componentize-py.
pub fn python() -> PathBuf {
    target_dir().join("guest-py/venv/bin/python")
}

fn hash_files(h: &mut DefaultHasher, paths: &[PathBuf]) {
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .map(|e| e.unwrap().path())
                .filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().to_string();
                    name != "node_modules"
                        && name != "__pycache__"
                        && name != "test"
                        && name != "tests"
                })
                .collect();
            entries.sort();
            hash_files(h, &entries);
        } else {
            p.hash(h);
            std::fs::read(p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .hash(h);
        }
    }
}

/// Builds once per content and returns the cached output; `build` writes to the given path.
fn cached(kind: &str, inputs: &[PathBuf], build: impl FnOnce(&Path)) -> PathBuf {
    let mut h = DefaultHasher::new();
    kind.hash(&mut h);
    hash_files(&mut h, inputs);
    let dir = target_dir().join("guest-lang");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{kind}-{:016x}.wasm", h.finish()));
    if out.exists() {
        return out;
    }
    let tmp = dir.join(format!("{kind}-{}.wasm.tmp", std::process::id()));
    build(&tmp);
    std::fs::rename(&tmp, &out).unwrap();
    out
}

fn run(mut cmd: Command, what: &str, hint: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the build of {what}: {e}\n{hint}"));
    if !out.status.success() {
        panic!(
            "building {what} failed:\n{}{}\n{hint}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// One lock per output kind, so parallel tests of one binary build each guest once.
fn once(key: String, f: impl FnOnce() -> PathBuf) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let map = BUILT.get_or_init(Default::default);
    // A build that panicked must fail its own test only, not poison the others.
    let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry(key).or_insert_with(f).clone()
}

/// Builds the JavaScript file `source` (relative to the repository root) with `engine`.
pub fn js(source: &str, engine: JsEngine) -> PathBuf {
    once(format!("js:{source}:{}", engine.name()), || {
        let root = repo_root();
        let sdk = root.join("guest-sdk/js");
        let hint = "the JS toolchain is missing: run `bash scripts/setup-tests.sh` (npm ci in guest-sdk/js)";
        assert!(sdk.join("node_modules").is_dir(), "{hint}");
        let kind = format!(
            "js-{}-{}",
            engine.name(),
            Path::new(source).file_stem().unwrap().to_string_lossy()
        );
        cached(&kind, &[root.join(source), sdk.clone()], |out| {
            let mut cmd = Command::new("node");
            cmd.arg(sdk.join("bin/aviary-js.js"))
                .arg("build")
                .arg(root.join(source))
                .arg("-o")
                .arg(out)
                .args(["--engine", engine.name()]);
            run(cmd, source, hint);
        })
    })
}

/// Builds the Python module `source` (relative to the repository root).
pub fn py(source: &str) -> PathBuf {
    once(format!("py:{source}"), || {
        let root = repo_root();
        let sdk = root.join("guest-sdk/python");
        let hint = "componentize-py is missing: run `bash scripts/setup-tests.sh` (it creates <target>/guest-py/venv)";
        assert!(python().exists(), "{hint}");
        let kind = format!(
            "py-{}",
            Path::new(source).file_stem().unwrap().to_string_lossy()
        );
        cached(
            &kind,
            &[root.join(source), sdk.join("aviary_guest")],
            |out| {
                let mut cmd = Command::new(python());
                cmd.env("PYTHONPATH", &sdk)
                    .args(["-m", "aviary_guest", "build"])
                    .arg(root.join(source))
                    .arg("-o")
                    .arg(out);
                run(cmd, source, hint);
            },
        )
    })
}
