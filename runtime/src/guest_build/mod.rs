//! `aviary guest build`: builds a handler written in Go into a component.
//!
//! ```text
//! go build (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared)   core module, Go runtime + handler
//!   → patch::patch_core                                   raw-wasm cabi_realloc over the SDK's
//!                                                          static arenas; aviary:build.abort
//!   → wit_component::embed_component_metadata             the world aviary:handler/handler
//!   → wit_component::ComponentEncoder + WASI reactor adapter (from the crate
//!     wasi-preview1-component-adapter-provider, so no wasm-tools install is needed)
//! ```

pub mod go;
pub mod patch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The WIT world every handler implements (the runtime's own copy).
pub const HANDLER_WIT: &str = include_str!("../../../wit/handler.wit");

/// Argument arena sizes the Go SDK offers (MiB), selected with build tags.
pub const ARENA_MIB: &[u32] = &[1, 4, 16, 64];
/// The default argument arena (MiB).
pub const DEFAULT_ARENA_MIB: u32 = 4;

/// What to build.
#[derive(Debug, Clone)]
pub struct GoBuild {
    /// The Go package directory (package main, importing the Aviary Go SDK).
    pub dir: PathBuf,
    /// Where to write the component.
    pub output: PathBuf,
    /// The `go` binary; `None`: `$AVIARY_GO`, then `go` on PATH.
    pub go: Option<PathBuf>,
    /// The argument arena in MiB (one of [`ARENA_MIB`]).
    pub arena_mib: u32,
    /// Also keep the patched core module next to the output (`<output>.core.wasm`).
    pub keep_core: bool,
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct Built {
    pub output: PathBuf,
    pub go_version: String,
    pub component_bytes: usize,
    pub arg_arena: patch::Arena,
    pub go_build_time: Duration,
    pub total_time: Duration,
}

/// Why a build failed. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("Go was not found ({detail}): {}", go::HOW_TO_GET_GO)]
    GoMissing { detail: String },
    #[error("{} is {version}, but Aviary Go handlers need Go {}.{} or newer (for //go:wasmexport): {}", go.display(), go::MIN_GO.0, go::MIN_GO.1, go::HOW_TO_GET_GO)]
    GoTooOld { go: PathBuf, version: String },
    #[error("go build failed in {} (exit {}):\n{stderr}", dir.display(), status.map(|s| s.to_string()).unwrap_or_else(|| "signal".into()))]
    GoBuild {
        dir: PathBuf,
        status: Option<i32>,
        stderr: String,
    },
    #[error("{}: not a directory with a Go package", .0.display())]
    NoPackage(PathBuf),
    #[error("unsupported argument arena size {0} MiB: choose one of 1, 4, 16, 64")]
    ArenaSize(u32),
    #[error("cannot prepare the Go module for the component model: {0}")]
    Patch(#[from] patch::PatchError),
    #[error("cannot make the component: {0:#}")]
    Component(anyhow::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Builds the component (see the module documentation).
pub fn build_go(b: &GoBuild) -> Result<Built, BuildError> {
    let start = Instant::now();
    if !ARENA_MIB.contains(&b.arena_mib) {
        return Err(BuildError::ArenaSize(b.arena_mib));
    }
    if !b.dir.is_dir() {
        return Err(BuildError::NoPackage(b.dir.clone()));
    }
    let go = go::find_go(b.go.as_deref())?;
    let go_version = go::check_version(&go)?;

    let tmp = scratch_dir().map_err(|source| BuildError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let core_path = tmp.path.join("core.wasm");
    let tags = if b.arena_mib == DEFAULT_ARENA_MIB {
        Vec::new()
    } else {
        vec![format!("aviary_arena_{}mib", b.arena_mib)]
    };
    let go_start = Instant::now();
    go::build(&go, &b.dir, &core_path, &tags)?;
    let go_build_time = go_start.elapsed();
    let core = std::fs::read(&core_path).map_err(|source| BuildError::Io {
        path: core_path.clone(),
        source,
    })?;

    let patched = patch::patch_core(&core)?;
    if b.keep_core {
        let keep = b.output.with_extension("core.wasm");
        write(&keep, &patched.module)?;
    }
    let mut component = componentize(patched.module).map_err(BuildError::Component)?;
    component.extend(guest_marker(&go_version));
    write(&b.output, &component)?;
    Ok(Built {
        output: b.output.clone(),
        go_version,
        component_bytes: component.len(),
        arg_arena: patched.arg_arena,
        go_build_time,
        total_time: start.elapsed(),
    })
}

/// Embeds the handler world into a (patched) core module and wraps it, with the WASI reactor
/// adapter, into a component.
pub fn componentize(mut core: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("handler.wit", HANDLER_WIT)?;
    let world = resolve.select_world(&[pkg], Some("handler"))?;
    wit_component::embed_component_metadata(
        &mut core,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&core)?
        .adapter(
            "wasi_snapshot_preview1",
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()
}

/// The `aviary:guest` custom section ([`crate::guest_abi::section`]) naming Go, appended to the
/// component: a fresh Go instance starts the Go runtime (~0.4–1.1 ms per event on a quiet VM,
/// 2–8 ms on a busy one), so the sandbox reuses Go instances by default, as it does for
/// JavaScript and Python.
fn guest_marker(go_version: &str) -> Vec<u8> {
    use wasm_encoder::Encode;
    let payload = serde_json::json!({
        "language": "go",
        "engine": format!("go {go_version}"),
        "sdk": concat!("aviary guest build ", env!("CARGO_PKG_VERSION")),
    })
    .to_string();
    let mut body = Vec::new();
    crate::guest_abi::section::SECTION.encode(&mut body);
    body.extend_from_slice(payload.as_bytes());
    let mut section = vec![0u8]; // custom section id
    body.len().encode(&mut section);
    section.extend(body);
    section
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| BuildError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A temporary directory removed on drop.
struct Scratch {
    path: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn scratch_dir() -> std::io::Result<Scratch> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "aviary-guest-build-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&path)?;
    Ok(Scratch { path })
}
