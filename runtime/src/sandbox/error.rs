//! Why a handler could not be loaded. Every message names the file and what is wrong; what
//! wasmtime said is kept as the error's source (and quoted in the message).

use std::path::PathBuf;

/// A handler that cannot run. Returned by [`crate::sandbox::Sandbox::load`] and
/// [`crate::sandbox::Sandbox::check`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{}: cannot read the component: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not WebAssembly at all.
    #[error("{}: not a WebAssembly binary (no \\0asm header); expected a component built for wasm32-wasip2", path.display())]
    NotWasm { path: PathBuf },
    /// The file is a core module, not a component.
    #[error("{}: this is a core WebAssembly module, not a component; build it as a component (Rust: `cargo build --target wasm32-wasip2`; otherwise `wasm-tools component new`)", path.display())]
    CoreModule { path: PathBuf },
    /// wasmtime could not compile or validate the component.
    #[error("{}: invalid component: {source:#}", path.display())]
    Compile {
        path: PathBuf,
        #[source]
        source: wasmtime::Error,
    },
    /// The compiler process failed without a verdict on the component (killed, e.g. by the
    /// memory limit).
    #[error("{}: cannot compile: {message}", path.display())]
    Compiler { path: PathBuf, message: String },
    /// Built against an incompatible version of the WIT contract.
    #[error("{}: built for aviary:handler@{found}, but this runtime provides aviary:handler@{expected}; rebuild the handler against aviary:handler@{expected}", path.display())]
    Version {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// Does not implement the `aviary:handler` world (missing or mistyped export, no types import).
    #[error("{}: does not implement the aviary:handler world: {reason}", path.display())]
    World {
        path: PathBuf,
        #[source]
        reason: WorldError,
    },
    /// Imports something the sandbox does not provide (e.g. wasi:http).
    #[error("{}: imports what Aviary does not provide: {source:#}", path.display())]
    Imports {
        path: PathBuf,
        #[source]
        source: wasmtime::Error,
    },
    /// The engine the handler needs (fuel-metered or not) could not be created.
    #[error("cannot start the Wasm engine: {source:#}")]
    Engine {
        #[source]
        source: anyhow::Error,
    },
    /// The handler's memory limit is larger than the sandbox's pool slots.
    #[error("handler `{handler}`: {message}")]
    Limits { handler: String, message: String },
}

/// How a component misses the `aviary:handler` world.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// It does not import the `types` interface (it was not built from `wit/handler.wit`).
    #[error("it does not import `{0}`; it was not built from wit/handler.wit")]
    NoTypesImport(String),
    /// Its `handle` export is something else than a function.
    #[error("its export `handle` is not a function")]
    HandleNotAFunction,
    /// It has no `handle` export.
    #[error("it does not export the function `handle` (its exports: {})", list(.0))]
    NoHandle(Vec<String>),
    /// The export's type does not match the world's (wasmtime's bindings refuse it).
    #[error("{0:#}")]
    Bindings(#[source] wasmtime::Error),
}

/// `a, b, c`, or `none`.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
