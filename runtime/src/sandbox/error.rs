//! Why a handler could not be loaded. Every message names the file and what is wrong.

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
    #[error("{}: invalid component: {message}", path.display())]
    Compile { path: PathBuf, message: String },
    /// Built against an incompatible version of the WIT contract.
    #[error("{}: built for aviary:handler@{found}, but this runtime provides aviary:handler@{expected}; rebuild the handler against aviary:handler@{expected}", path.display())]
    Version {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// Does not implement the `aviary:handler` world (missing or mistyped export, no types import).
    #[error("{}: does not implement the aviary:handler world: {message}", path.display())]
    World { path: PathBuf, message: String },
    /// Imports something the sandbox does not provide (e.g. wasi:http).
    #[error("{}: imports what Aviary does not provide: {message}", path.display())]
    Imports { path: PathBuf, message: String },
    /// The engine the handler needs (fuel-metered or not) could not be created.
    #[error("cannot start the Wasm engine: {message}")]
    Engine { message: String },
    /// The handler's memory limit is larger than the sandbox's pool slots.
    #[error("handler `{handler}`: {message}")]
    Limits { handler: String, message: String },
}
