//! The glue between dispatch and the Wasm sandbox ([`crate::sandbox`]):
//! the only code that names sandbox types. Everything else goes through
//! [`super::loading::HandlerLoader`], so it compiles and is tested without wasmtime.

use std::sync::{Arc, Mutex};

use super::loading::{HandlerLoader, KvBinding};
use crate::handler::Invoke;
use crate::kv::KvQuotas;
use crate::manifest::HandlerSettings;
use crate::openapi::{FeishuClient, OpenApiApp};
use crate::outbound::OutboundHttp;
use crate::sandbox::{HandlerSpec, KvAccess, OpenApiAccess, Sandbox, SandboxConfig};

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
    Ok(Box::new(SandboxLoader {
        sandbox,
        clients: Mutex::new(Vec::new()),
    }))
}

/// Loads handlers into the sandbox; handlers granted OpenAPI access share one client per app.
struct SandboxLoader {
    sandbox: Sandbox,
    clients: Mutex<Vec<(OpenApiApp, Arc<FeishuClient>)>>,
}

impl HandlerLoader for SandboxLoader {
    fn load(&self, h: &HandlerSettings) -> Result<Arc<dyn Invoke>, String> {
        self.load_with(h, &KvBinding::default())
    }

    fn load_with(&self, h: &HandlerSettings, kv: &KvBinding) -> Result<Arc<dyn Invoke>, String> {
        let openapi = match &h.openapi {
            None => None,
            Some(o) => {
                let mut clients = self.clients.lock().unwrap();
                let client = match clients.iter().find(|(app, _)| *app == o.app) {
                    Some((_, c)) => c.clone(),
                    None => {
                        let c =
                            Arc::new(FeishuClient::new(o.app.clone()).map_err(|e| e.to_string())?);
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
        let kv_access = match (&h.kv, &kv.store) {
            (Some(grant), Some(store)) => Some(KvAccess {
                namespace: Arc::from(grant.namespace.as_str()),
                store: store.clone(),
                quotas: KvQuotas::default(),
            }),
            _ => None,
        };
        let spec = HandlerSpec {
            name: h.name.clone(),
            component: h.component.clone(),
            limits: h.limits,
            config: h.config.clone(),
            openapi,
            http: Some(Arc::new(OutboundHttp::new(&h.name, h.http.clone()))),
            kv: kv_access,
            kv_calls: kv.stats.handler(&h.name),
        };
        self.sandbox
            .load(spec)
            .map(|loaded| Arc::new(loaded) as Arc<dyn Invoke>)
            .map_err(|e| e.to_string())
    }
}
