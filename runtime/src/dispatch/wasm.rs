//! THE glue between dispatch and the Wasm sandbox ([`crate::sandbox`]):
//! the only code that names sandbox types. Everything else goes through
//! [`super::loading::HandlerLoader`], so it compiles and is tested without wasmtime.

use std::sync::Arc;

use super::loading::HandlerLoader;
use crate::handler::Invoke;
use crate::manifest::HandlerSettings;
use crate::sandbox::{HandlerLimits, HandlerSpec, Sandbox, SandboxConfig};

/// The loader that compiles and instantiates handlers in the Wasm sandbox (one engine for the
/// process; compiled components cached under the default cache directory).
pub fn sandbox_loader() -> Result<Box<dyn HandlerLoader>, String> {
    let sandbox = Sandbox::new(SandboxConfig::default())
        .map_err(|e| format!("cannot start the Wasm sandbox: {e:#}"))?;
    Ok(Box::new(
        move |h: &HandlerSettings| -> Result<Arc<dyn Invoke>, String> {
            let spec = HandlerSpec {
                name: h.name.clone(),
                component: h.component.clone(),
                limits: HandlerLimits {
                    fuel: h.fuel,
                    timeout: h.timeout,
                    memory_bytes: h.memory_bytes(),
                },
                reuse: h.reuse,
                config: h.config.clone(),
            };
            sandbox
                .load(spec)
                .map(|loaded| Arc::new(loaded) as Arc<dyn Invoke>)
                .map_err(|e| e.to_string())
        },
    ))
}
