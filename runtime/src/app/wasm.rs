//! The glue between dispatch and the Wasm sandbox ([`crate::sandbox`]):
//! the only code that names sandbox types. Everything else goes through
//! [`super::loading::HandlerLoader`], so it compiles and is tested without wasmtime.

use std::sync::{Arc, Mutex};

use super::loading::HandlerLoader;
use crate::handler::Invoke;
use crate::manifest::HandlerSettings;
use crate::openapi::{FeishuClient, OpenApiApp};
use crate::sandbox::{HandlerSpec, OpenApiAccess, Sandbox, SandboxConfig};

/// The loader that compiles and instantiates handlers in the Wasm sandbox (one per process;
/// compiled components cached under the default cache directory). Fuel is metered only for
/// handlers with a fuel budget. Handlers granted OpenAPI access share one [`FeishuClient`]
/// (one token cache) per app.
pub fn sandbox_loader() -> Result<Box<dyn HandlerLoader>, String> {
    loader_with(SandboxConfig::default())
}

/// [`sandbox_loader`], but fuel is metered for every handler, so each call reports the fuel
/// it used even without a budget (`aviary invoke`, where a developer picks a budget).
pub fn metering_sandbox_loader() -> Result<Box<dyn HandlerLoader>, String> {
    loader_with(SandboxConfig {
        meter_fuel_always: true,
        ..SandboxConfig::default()
    })
}

fn loader_with(config: SandboxConfig) -> Result<Box<dyn HandlerLoader>, String> {
    let sandbox =
        Sandbox::new(config).map_err(|e| format!("cannot start the Wasm sandbox: {e:#}"))?;
    let clients: Mutex<Vec<(OpenApiApp, Arc<FeishuClient>)>> = Mutex::new(Vec::new());
    Ok(Box::new(
        move |h: &HandlerSettings| -> Result<Arc<dyn Invoke>, String> {
            let openapi = match &h.openapi {
                None => None,
                Some(o) => {
                    let mut clients = clients.lock().unwrap();
                    let client = match clients.iter().find(|(app, _)| *app == o.app) {
                        Some((_, c)) => c.clone(),
                        None => {
                            let c = Arc::new(
                                FeishuClient::new(o.app.clone()).map_err(|e| e.to_string())?,
                            );
                            clients.push((o.app.clone(), c.clone()));
                            c
                        }
                    };
                    Some(OpenApiAccess {
                        client,
                        grant: o.grant.clone(),
                    })
                }
            };
            let spec = HandlerSpec {
                name: h.name.clone(),
                component: h.component.clone(),
                limits: h.limits,
                config: h.config.clone(),
                openapi,
            };
            sandbox
                .load(spec)
                .map(|loaded| Arc::new(loaded) as Arc<dyn Invoke>)
                .map_err(|e| e.to_string())
        },
    ))
}
