//! From manifest handlers to a [`Dispatcher`](crate::dispatch::Dispatcher): each `[[handler]]` is loaded through a
//! [`HandlerLoader`] (the Wasm sandbox in production, see [`super::wasm`]; fakes in tests), and
//! every load error is collected, not just the first.

use std::sync::Arc;

use crate::handler::Invoke;
use crate::kv::{KvStats, KvStore};
use crate::manifest::{HandlerSettings, Manifest};
use crate::outbound::OutboundStats;

/// What Wasm handlers are loaded with from their app: its key-value store for handlers
/// granted `kv` (the queue backend's; `None`: no store in this process, as in `aviary check`),
/// and where their `kv-*` and `http-send` calls are counted (read by `/metrics`).
#[derive(Clone, Default)]
pub struct KvBinding {
    /// Committed state.
    pub store: Option<Arc<dyn KvStore>>,
    /// `kv-*` calls per handler, operation and outcome.
    pub stats: Arc<KvStats>,
    /// `http-send` calls per handler and outcome.
    pub http_stats: Arc<OutboundStats>,
}

impl KvBinding {
    /// A binding to `store` with fresh counters.
    pub fn to(store: Arc<dyn KvStore>) -> KvBinding {
        KvBinding {
            store: Some(store),
            stats: Arc::default(),
            http_stats: Arc::default(),
        }
    }
}

/// Turns one manifest handler into something dispatch can run (compiling and checking its
/// component). The error text names the file and the problem.
pub trait HandlerLoader: Send + Sync {
    /// Loads `handler`.
    fn load(&self, handler: &HandlerSettings) -> Result<Arc<dyn Invoke>, String>;

    /// Loads `handler` with the app's key-value state (used when it is granted `kv`). The
    /// default ignores `kv`: loaders of fakes that make no `kv-*` calls.
    fn load_with(
        &self,
        handler: &HandlerSettings,
        kv: &KvBinding,
    ) -> Result<Arc<dyn Invoke>, String> {
        let _ = kv;
        self.load(handler)
    }
}

impl<F> HandlerLoader for F
where
    F: Fn(&HandlerSettings) -> Result<Arc<dyn Invoke>, String> + Send + Sync,
{
    fn load(&self, handler: &HandlerSettings) -> Result<Arc<dyn Invoke>, String> {
        self(handler)
    }
}

/// A handler that failed to load, located in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    /// The handler's name.
    pub handler: String,
    /// `file:line:col: handler.component: handler `name`: why`.
    pub message: String,
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Loads every handler of `manifest` (with `kv`, the app's key-value state), in manifest
/// order; all failures are returned.
pub fn load_handlers(
    manifest: &Manifest,
    loader: &dyn HandlerLoader,
    kv: &KvBinding,
) -> Result<Vec<Arc<dyn Invoke>>, Vec<LoadFailure>> {
    let mut loaded = Vec::new();
    let mut failures = Vec::new();
    for h in &manifest.handlers {
        match loader.load_with(h, kv) {
            Ok(invoke) => loaded.push(invoke),
            Err(why) => failures.push(LoadFailure {
                handler: h.name.clone(),
                message: format!(
                    "{}:{}:{}: handler.component: handler `{}`: {why}",
                    manifest.path.display(),
                    h.component_at.line,
                    h.component_at.column,
                    h.name
                ),
            }),
        }
    }
    if failures.is_empty() {
        Ok(loaded)
    } else {
        Err(failures)
    }
}

/// The dispatch entries for loaded handlers and their filters (same order as
/// `manifest.handlers`).
#[cfg(any(test, feature = "internals"))]
fn entries(
    manifest: &Manifest,
    loaded: Vec<Arc<dyn Invoke>>,
    filters: &[Option<Arc<crate::dispatch::filter::HandlerFilter>>],
) -> Vec<crate::dispatch::HandlerEntry> {
    manifest
        .handlers
        .iter()
        .zip(loaded)
        .enumerate()
        .map(|(i, (h, handler))| crate::dispatch::HandlerEntry {
            handler,
            route: h.route.clone(),
            filter: filters.get(i).cloned().flatten(),
        })
        .collect()
}

/// Loads every handler and builds the dispatcher with the manifest's `[dispatch]` settings
/// and the handlers' `filters`.
#[cfg(any(test, feature = "internals"))]
pub fn build_dispatcher(
    manifest: &Manifest,
    loader: &dyn HandlerLoader,
    filters: &[Option<Arc<crate::dispatch::filter::HandlerFilter>>],
    kv: &KvBinding,
) -> Result<crate::dispatch::Dispatcher, Vec<LoadFailure>> {
    let loaded = load_handlers(manifest, loader, kv)?;
    Ok(crate::dispatch::Dispatcher::new(
        manifest.dispatch.clone(),
        entries(manifest, loaded, filters),
    ))
}
