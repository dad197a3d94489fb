//! THE glue between dispatch and the Wasm sandbox (`crate::sandbox`, built on another branch):
//! the only code that names sandbox types. Everything else goes through
//! [`super::loading::HandlerLoader`], so it compiles and is tested without wasmtime.
//!
//! Until the sandbox is merged, [`sandbox_loader`] returns an error (so `aviary check`,
//! `aviary invoke` and `aviary run` with handlers say so and exit non-zero). At merge, replace
//! its body with the code below (adjusting names if the sandbox's API differs):
//!
//! ```text
//! use crate::sandbox::{HandlerLimits, HandlerSpec, Sandbox, SandboxConfig};
//!
//! pub fn sandbox_loader() -> Result<Box<dyn HandlerLoader>, String> {
//!     let sandbox = Sandbox::new(SandboxConfig::default())
//!         .map_err(|e| format!("cannot start the Wasm sandbox: {e}"))?;
//!     Ok(Box::new(move |h: &HandlerSettings| -> Result<Arc<dyn Invoke>, String> {
//!         let spec = HandlerSpec {
//!             name: h.name.clone(),
//!             component: h.component.clone(),
//!             limits: HandlerLimits {
//!                 fuel: h.fuel,
//!                 timeout: h.timeout,
//!                 memory_bytes: h.memory_bytes(),
//!             },
//!             reuse: h.reuse,
//!             config: h.config.clone(),
//!         };
//!         sandbox
//!             .load(spec)
//!             .map(|loaded| Arc::new(loaded) as Arc<dyn Invoke>)
//!             .map_err(|e| e.to_string())
//!     }))
//! }
//! ```
//!
//! (`Sandbox` must be `Send + Sync` for the closure to be a `HandlerLoader`; if it is not, wrap
//! it in a `Mutex`.)

use super::loading::HandlerLoader;

/// The loader that compiles and instantiates handlers in the Wasm sandbox.
pub fn sandbox_loader() -> Result<Box<dyn HandlerLoader>, String> {
    Err(
        "this build of aviary has no Wasm sandbox yet, so components cannot be loaded \
         (dispatch::wasm::sandbox_loader is wired when the sandbox branch is merged)"
            .to_string(),
    )
}
