//! The glue between dispatch and the Wasm sandbox ([`crate::sandbox`]):
//! the only code that names sandbox types. Everything else goes through
//! [`super::loading::HandlerLoader`], so it compiles and is tested without wasmtime.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::loading::{HandlerLoader, KvBinding};
use crate::handler::Invoke;
use crate::kv::KvQuotas;
use crate::manifest::HandlerSettings;
use crate::openapi::{FeishuClient, OpenApiApp};
use crate::outbound::OutboundHttp;
use crate::sandbox::{CompileIn, HandlerSpec, KvAccess, OpenApiAccess, Sandbox, SandboxConfig};

/// The OpenAPI clients a sandbox loader made, one per app (shared by every handler of that
/// app granted OpenAPI access: one token cache, one pacer); read for their counters.
#[derive(Debug, Clone, Default)]
pub struct OpenApiClients(Arc<Mutex<Vec<AppClient>>>);

/// One app and its client.
type AppClient = (OpenApiApp, Arc<FeishuClient>);

impl OpenApiClients {
    /// Every client made so far.
    pub fn all(&self) -> Vec<Arc<FeishuClient>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// The client of `app`, made on first use.
    fn of(&self, app: &OpenApiApp) -> Result<Arc<FeishuClient>, String> {
        let mut clients = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, c)) = clients.iter().find(|(a, _)| a == app) {
            return Ok(c.clone());
        }
        let c = Arc::new(FeishuClient::new(app.clone()).map_err(|e| e.to_string())?);
        clients.push((app.clone(), c.clone()));
        Ok(c)
    }
}

/// The loader that compiles and instantiates handlers in the Wasm sandbox (one per process;
/// compiled components cached under the default cache directory). Fuel is metered only for
/// handlers with a fuel budget. Handlers granted OpenAPI access share one [`FeishuClient`]
/// (one token cache) per app.
pub fn sandbox_loader() -> Result<Box<dyn HandlerLoader>, String> {
    loader_with(SandboxConfig::default(), OpenApiClients::default())
}

/// How Wasm components are compiled: in this process (the default), or in child processes
/// of the `aviary` binary (its hidden `compile-worker` subcommand), so that the compiler's
/// memory goes back to the system after each component.
#[derive(Debug, Clone, Default)]
pub struct Compiling {
    /// Compile in child processes of this program (`<child> compile-worker`), so the
    /// compiler's memory goes back to the system; only the `aviary` binary has that
    /// subcommand, so an embedding program names the `aviary` binary. `None`: in this process.
    pub child: Option<PathBuf>,
    /// Memory budget of compiles at once, in MiB (default 384 MiB, estimated peaks).
    pub memory_mb: Option<u64>,
}

impl Compiling {
    /// What `aviary run` and `aviary compile` use: child processes of this executable.
    pub fn in_child_processes(memory_mb: Option<u64>) -> Compiling {
        let child = match std::env::current_exe() {
            Ok(exe) => Some(exe),
            Err(e) => {
                tracing::warn!(
                    "cannot find this executable ({e}); components compile in this process"
                );
                None
            }
        };
        Compiling { child, memory_mb }
    }
}

/// [`sandbox_loader`] with the given OpenAPI clients, compiling as `compiling` says.
pub fn sandbox_loader_compiling(
    clients: OpenApiClients,
    compiling: &Compiling,
) -> Result<Box<dyn HandlerLoader>, String> {
    let mut config = SandboxConfig::default();
    if let Some(exe) = &compiling.child {
        config.compile_in = CompileIn::ChildProcess(exe.clone());
    }
    if let Some(mb) = compiling.memory_mb {
        config.compile_memory_bytes = mb.saturating_mul(1024 * 1024);
    }
    loader_with(config, clients)
}

/// [`sandbox_loader`], but fuel is metered for every handler, so each call reports the fuel
/// it used even without a budget (`aviary invoke`, where a developer picks a budget).
pub fn metering_sandbox_loader() -> Result<Box<dyn HandlerLoader>, String> {
    loader_with(
        SandboxConfig {
            meter_fuel_always: true,
            ..SandboxConfig::default()
        },
        OpenApiClients::default(),
    )
}

fn loader_with(
    config: SandboxConfig,
    clients: OpenApiClients,
) -> Result<Box<dyn HandlerLoader>, String> {
    let sandbox =
        Sandbox::new(config).map_err(|e| format!("cannot start the Wasm sandbox: {e:#}"))?;
    Ok(Box::new(SandboxLoader { sandbox, clients }))
}

/// Loads handlers into the sandbox; handlers granted OpenAPI access share one client per app.
struct SandboxLoader {
    sandbox: Sandbox,
    clients: OpenApiClients,
}

impl HandlerLoader for SandboxLoader {
    fn load(&self, h: &HandlerSettings) -> Result<Arc<dyn Invoke>, String> {
        self.load_with(h, &KvBinding::default())
    }

    fn load_with(&self, h: &HandlerSettings, kv: &KvBinding) -> Result<Arc<dyn Invoke>, String> {
        let openapi = match &h.openapi {
            None => None,
            Some(o) => Some(OpenApiAccess {
                client: self.clients.of(&o.app)?,
                grant: o.grant.clone(),
            }),
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
            http: Some(Arc::new(
                OutboundHttp::new(&h.name, h.http.clone())
                    .counting_into(kv.http_stats.handler(&h.name)),
            )),
            kv: kv_access,
            kv_calls: kv.stats.handler(&h.name),
        };
        self.sandbox
            .load(spec)
            .map(|loaded| Arc::new(loaded) as Arc<dyn Invoke>)
            .map_err(|e| e.to_string())
    }
}
