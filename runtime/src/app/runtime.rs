//! [`Runtime::builder`]: from a manifest or typed settings, plus handlers added in code, to a
//! running app ([`RuntimeBuilder::start`] → [`RuntimeHandle`]). This is the composition root's
//! one entry point: `aviary run` goes through it too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::filters;
use super::handle::{HandlerInfo, RuntimeHandle, Shared};
use super::handlers::{Handler, Planned, Run};
use super::loading::{HandlerLoader, KvBinding};
use super::metered::{HandlerMeter, Metered};
use super::native::NativeInvoke;
use super::operator::Apps;
use super::settings::Settings;
use super::startup::{load_in_background, Loading, ToLoad};
use super::wasm;
use crate::admin::{self, AdminSettings};
use crate::connection::{self, ConnectionEvent, ConnectionStats, Disconnect};
use crate::dispatch::dedupe::Deduplicating;
use crate::dispatch::router::Router;
use crate::dispatch::{stats, DispatchStats, Dispatcher, EventSink, HandlerEntry, LogSink};
use crate::handler::Invoke;
use crate::manifest::{Manifest, ManifestError};
use crate::openapi::OpenApiApp;
use crate::protocol::endpoint::resolve_domain;
use crate::queue::engine::QueueConfig;
use crate::queue::{self, AckMode, Queue, QueueHandler, QueueSink};

/// Makes the loader Wasm handlers are loaded with (the sandbox).
type MakeLoader = Box<dyn Fn() -> Result<Box<dyn HandlerLoader>, String> + Send>;

/// A loaded handler (counted) and its counters.
type Loaded = (Arc<dyn Invoke>, Arc<HandlerMeter>);

/// A callback for connection events.
type Listener = Box<dyn Fn(&ConnectionEvent) + Send + Sync>;

/// The entry point of the embedding API: `Runtime::builder()`.
#[derive(Debug)]
pub struct Runtime(());

impl Runtime {
    /// A builder with nothing set: give it an app ([`RuntimeBuilder::manifest`] or
    /// [`RuntimeBuilder::settings`]), handlers, callbacks, then [`RuntimeBuilder::start`].
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            source: None,
            handlers: Vec::new(),
            listeners: Vec::new(),
            compiling: super::wasm::Compiling::default(),
            admin: None,
        }
    }
}

enum Source {
    Path(PathBuf),
    Manifest(Box<Manifest>),
    Settings(Box<Settings>),
}

/// Builds a runtime: an app, handlers, connection callbacks; then [`RuntimeBuilder::start`].
///
/// ```no_run
/// use aviary::{Event, Handler, HandlerError, NativeHandler, Outcome, Runtime};
///
/// struct Audit;
///
/// #[aviary::async_trait]
/// impl NativeHandler for Audit {
///     async fn handle(&self, event: &Event) -> Result<Outcome, HandlerError> {
///         println!("{}: {}", event.event_type, event.event_id);
///         Ok(Outcome::Done)
///     }
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let runtime = Runtime::builder()
///     .manifest("aviary.toml") // its [[handler]]s are loaded too
///     .handler(Handler::native("audit", Audit).events(["*"]))
///     .on_connected(|conn_id| println!("connected: {conn_id}"))
///     .start()
///     .await?;
/// println!("{:?}", runtime.status().await.connection.state);
/// runtime.stop().await?;
/// # Ok(())
/// # }
/// ```
pub struct RuntimeBuilder {
    source: Option<Source>,
    handlers: Vec<Handler>,
    listeners: Vec<Listener>,
    /// How the sandbox compiles components.
    compiling: super::wasm::Compiling,
    /// Overrides the app's `[admin]`.
    admin: Option<AdminSettings>,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("handlers", &self.handlers)
            .field("listeners", &self.listeners.len())
            .finish_non_exhaustive()
    }
}

/// Why a runtime did not start. [`StartError::problems`] gives one line per problem.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum StartError {
    /// The manifest cannot be read, parsed or accepted.
    #[error("{0}")]
    Manifest(ManifestError),
    /// Neither a manifest nor settings were given.
    #[error("no app: call RuntimeBuilder::manifest or RuntimeBuilder::settings")]
    NoApp,
    /// Handlers that cannot be used (settings out of bounds, components that do not load),
    /// one line each.
    #[error("{}", .0.join("\n"))]
    Handlers(Vec<String>),
    /// The queue cannot be opened (path, Redis, another process holding it).
    #[error("{0}")]
    Queue(String),
    /// The admin server cannot listen where it was told to.
    #[error("{0}")]
    Admin(String),
}

impl StartError {
    /// One line per problem (for `error: …` lines).
    pub fn problems(&self) -> Vec<String> {
        match self {
            StartError::Manifest(e) => e.problems().iter().map(|p| p.to_string()).collect(),
            StartError::Handlers(list) => list.clone(),
            other => vec![other.to_string()],
        }
    }

    /// Whether the manifest itself was refused (`aviary run` exits 2 then, 1 otherwise).
    pub fn is_manifest(&self) -> bool {
        matches!(self, StartError::Manifest(_))
    }
}

impl RuntimeBuilder {
    /// The app and handlers of the manifest at `path` (read at [`RuntimeBuilder::start`]).
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> RuntimeBuilder {
        self.source = Some(Source::Path(path.into()));
        self
    }

    /// The app and handlers of a manifest already loaded (`aviary run`).
    pub(crate) fn loaded_manifest(mut self, manifest: Manifest) -> RuntimeBuilder {
        self.source = Some(Source::Manifest(Box::new(manifest)));
        self
    }

    /// The app as typed settings (no manifest); handlers come from [`RuntimeBuilder::handler`].
    pub fn settings(mut self, settings: Settings) -> RuntimeBuilder {
        self.source = Some(Source::Settings(Box::new(settings)));
        self
    }

    /// Adds a handler (after the manifest's, in this order). Names must be unique.
    pub fn handler(mut self, handler: Handler) -> RuntimeBuilder {
        self.handlers.push(handler);
        self
    }

    /// Calls `f` for every connection event, on a task of its own, in order. A slow callback
    /// delays only later callbacks (more than 64 events behind, the oldest are skipped).
    pub fn on_connection_event(
        mut self,
        f: impl Fn(&ConnectionEvent) + Send + Sync + 'static,
    ) -> RuntimeBuilder {
        self.listeners.push(Box::new(f));
        self
    }

    /// Calls `f` with the connection id each time a session opens.
    pub fn on_connected(self, f: impl Fn(&str) + Send + Sync + 'static) -> RuntimeBuilder {
        self.on_connection_event(move |e| {
            if let ConnectionEvent::Connected { conn_id } = e {
                f(conn_id)
            }
        })
    }

    /// Calls `f` each time an established session ends (why, when).
    pub fn on_disconnected(
        self,
        f: impl Fn(&Disconnect) + Send + Sync + 'static,
    ) -> RuntimeBuilder {
        self.on_connection_event(move |e| {
            if let ConnectionEvent::Disconnected { disconnect, .. } = e {
                f(disconnect)
            }
        })
    }

    /// Calls `f` when the connection stops for good on a fatal error (its message).
    pub fn on_error(self, f: impl Fn(&str) + Send + Sync + 'static) -> RuntimeBuilder {
        self.on_connection_event(move |e| {
            if let ConnectionEvent::Error(message) = e {
                f(message)
            }
        })
    }

    /// The admin server (`/metrics`, `/healthz`, `/readyz`, `/status`, `/control/*`), instead
    /// of the app's `[admin]` (a manifest's; off for [`Settings`] unless set there).
    pub fn admin(mut self, admin: AdminSettings) -> RuntimeBuilder {
        self.admin = Some(admin);
        self
    }

    /// How components are compiled: in this process by default; `aviary run` compiles in
    /// child processes of the `aviary` binary within a memory budget
    /// ([`super::wasm::Compiling::in_child_processes`]).
    pub fn compiling(mut self, compiling: super::wasm::Compiling) -> RuntimeBuilder {
        self.compiling = compiling;
        self
    }

    /// Opens the queue, starts loading every handler and connects; returns once all of that
    /// is under way (connecting and loading continue in the background: watch
    /// [`RuntimeHandle::connection_state`] or use the callbacks;
    /// [`RuntimeHandle::handlers_loaded`] says when every component is ready). Events are
    /// persisted and acked meanwhile; each handler takes its jobs once its component is
    /// ready. A handler that fails to load stops the runtime ([`RuntimeHandle::load_failures`]).
    /// Must be called inside a Tokio runtime (multi-threaded: handlers run on its workers).
    pub async fn start(self) -> Result<RuntimeHandle, StartError> {
        let (mut settings, manifest) = match self.source {
            None => return Err(StartError::NoApp),
            Some(Source::Settings(s)) => (*s, None),
            Some(Source::Manifest(m)) => (Settings::from_manifest(&m), Some(*m)),
            Some(Source::Path(path)) => {
                let m = Manifest::load(&path).map_err(StartError::Manifest)?;
                (Settings::from_manifest(&m), Some(m))
            }
        };
        let app = OpenApiApp {
            app_id: settings.connection.app_id.clone(),
            app_secret: settings.connection.app_secret.clone(),
            domain: resolve_domain(Some(&settings.connection.domain)),
            send_limits: settings.send_limits,
        };
        if let Some(admin) = self.admin {
            settings.admin = admin;
        }
        settings.admin.check().map_err(StartError::Admin)?;
        let planned = plan(manifest.as_ref(), self.handlers, &app)?;
        // The filters need the bot's open_id before any event is judged: asked before the
        // connection starts.
        let filters = filters::handler_filters(
            &planned,
            settings.bot_open_id.as_deref(),
            &app,
            crate::limits::filter::BOT_INFO_ATTEMPTS,
        )
        .await
        .map_err(|e| {
            StartError::Handlers(vec![match &manifest {
                Some(m) => format!("{}: {e}", m.path.display()),
                None => e,
            }])
        })?;
        let openapi = wasm::OpenApiClients::default();
        let compiling = self.compiling;
        let make_loader: MakeLoader = {
            let clients = openapi.clone();
            Box::new(move || wasm::sandbox_loader_compiling(clients.clone(), &compiling))
        };
        // The queue's store is opened before the handlers load: their key-value state lives
        // in it (or, without the queue, in the same backend, opened for `kv` alone).
        let uses_queue = !planned.is_empty() && settings.queue.ack == AckMode::AfterPersist;
        let store = if uses_queue {
            Some(
                queue::open_store(&settings.queue, &settings.connection.app_id)
                    .await
                    .map_err(|e| StartError::Queue(e.to_string()))?,
            )
        } else {
            None
        };
        let wants_kv = planned
            .iter()
            .any(|p| matches!(&p.run, Run::Wasm { settings, .. } if settings.kv.is_some()));
        let kv = match &store {
            Some(store) => KvBinding {
                store: store.kv(),
                ..KvBinding::default()
            },
            None if wants_kv => KvBinding::to(
                queue::open_kv(&settings.queue, &settings.connection.app_id)
                    .await
                    .map_err(|e| StartError::Queue(e.to_string()))?,
            ),
            None => KvBinding::default(),
        };
        let kv_stats = kv.stats.clone();
        let http_stats = kv.http_stats.clone();
        let (loaded, loading) = load(&planned, &make_loader, &kv)?;
        let infos: Vec<HandlerInfo> = planned
            .iter()
            .zip(&loaded)
            .map(|(p, (invoke, meter))| HandlerInfo::new(p, invoke.clone(), meter.clone()))
            .collect();
        let built = build_sink(&settings, &planned, loaded, &filters, store).await?;

        let stats = ConnectionStats::new();
        let shutdown = CancellationToken::new();
        let (control, receiver) = connection::control();
        if !self.listeners.is_empty() {
            tokio::spawn(call_listeners(stats.events(), self.listeners));
        }
        tracing::info!(
            manifest = %manifest.as_ref().map(|m| m.path.display().to_string()).unwrap_or_else(|| "(settings)".into()),
            app_id = %settings.connection.app_id,
            domain = %app.domain,
            "starting"
        );
        if let Some(d) = &built.dispatch_stats {
            tokio::spawn(stats::report_periodically(
                d.clone(),
                crate::limits::dispatch::STATS_LOG_INTERVAL,
                shutdown.clone(),
            ));
        }
        let (done_tx, done) = watch::channel(None);
        let shared = Arc::new(Shared {
            app_id: settings.connection.app_id.clone(),
            started_at: SystemTime::now(),
            stats: stats.clone(),
            control,
            shutdown: shutdown.clone(),
            queue: built.queue.clone(),
            dispatch_stats: built.dispatch_stats.clone(),
            dedupe_duplicates: built.duplicates.clone(),
            openapi,
            kv_stats: kv_stats.clone(),
            http_stats,
            handlers: infos,
            done,
            dead_letters: Default::default(),
            drained: std::sync::atomic::AtomicBool::new(false),
            loading: loading.clone(),
        });
        let handle = RuntimeHandle { shared };
        if let Some(loading) = loading {
            // A component that does not load stops the app, as it did when handlers loaded
            // before connecting; its events stay queued for the next start.
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let failures = loading.failed().await;
                tracing::error!(
                    failed = failures.len(),
                    "a handler cannot be loaded; stopping (its events stay in the queue for the next start)"
                );
                shutdown.cancel();
            });
        }
        let admin = match admin::serve(&settings.admin, Arc::new(Apps(vec![handle.clone()]))).await
        {
            Ok(server) => server,
            Err(e) => {
                // Nothing connected yet: stop what was started (the counters' reporter, the
                // queue).
                handle.shared.shutdown.cancel();
                if let Some(q) = &built.queue {
                    q.shutdown().await;
                }
                return Err(StartError::Admin(e));
            }
        };
        let options = settings.connection.clone();
        tokio::spawn(async move {
            let BuiltSink {
                sink,
                queue,
                dispatch_stats,
                #[cfg(unix)]
                dlq_server,
                ..
            } = built;
            let ended =
                connection::run_with_control(options, sink, stats, shutdown.clone(), receiver)
                    .await;
            shutdown.cancel();
            // With the queue, the dispatcher's call counters cover only what runs
            // synchronously (card callbacks, unrouted events); queued handler runs are in the
            // queue's. The filters' counts cover both (each handler's filter is shared by both
            // paths).
            let when = if queue.is_some() {
                "final; calls of the synchronous path (card callbacks, unrouted events), filtered \
                 events of both paths"
            } else {
                "final"
            };
            if let Some(queue) = queue {
                queue.shutdown().await;
                tracing::info!(stats = ?queue.stats().snapshot(), "queue stopped");
            }
            if let Some(d) = &dispatch_stats {
                stats::log_summary(d, when);
            }
            for line in kv_stats.summary() {
                tracing::info!("kv calls: {line}");
            }
            #[cfg(unix)]
            drop(dlq_server);
            let _ = done_tx.send(Some(ended.map_err(Arc::new)));
            // Up until here, so the last scrape sees the final counters and /healthz says 503.
            if let Some(server) = admin {
                server.shutdown().await;
            }
        });
        Ok(handle)
    }
}

/// Every handler, manifest first, checked; names unique, at most one default.
fn plan(
    manifest: Option<&Manifest>,
    added: Vec<Handler>,
    app: &OpenApiApp,
) -> Result<Vec<Planned>, StartError> {
    let mut planned: Vec<Planned> = manifest
        .map(|m| {
            m.handlers
                .iter()
                .map(|h| Planned::from_manifest(h, &m.path))
                .collect()
        })
        .unwrap_or_default();
    let mut problems = Vec::new();
    for h in added {
        let name = h.name.clone();
        if planned.iter().any(|p| p.name == name) {
            problems.push(format!(
                "handler `{name}`: name: already used by another handler; names must be unique"
            ));
            continue;
        }
        match h.plan(app) {
            Ok(p) => planned.push(p),
            Err(list) => problems.extend(list),
        }
    }
    // A namespace shared by a code-added handler may not be another handler's own (the
    // manifest's own handlers were held to that when it loaded).
    let grants: Vec<(&str, &crate::kv::KvGrant)> = planned
        .iter()
        .filter_map(|p| match &p.run {
            Run::Wasm { settings, .. } => settings.kv.as_ref().map(|g| (p.name.as_str(), g)),
            Run::Native { .. } => None,
        })
        .collect();
    problems.extend(
        crate::kv::grant::own_namespace_clashes(&grants)
            .into_iter()
            .map(|(_, message)| message),
    );
    let defaults: Vec<&str> = planned
        .iter()
        .filter(|p| p.route.default)
        .map(|p| p.name.as_str())
        .collect();
    if defaults.len() > 1 {
        problems.push(format!(
            "handlers {}: at most one handler may be the default",
            defaults.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(planned)
    } else {
        Err(StartError::Handlers(problems))
    }
}

/// Each planned handler as dispatch runs it, counted: native ones at once, Wasm ones loading
/// in the background ([`startup`](super::startup); `None` without any).
fn load(
    planned: &[Planned],
    make_loader: &MakeLoader,
    kv: &KvBinding,
) -> Result<(Vec<Loaded>, Option<Loading>), StartError> {
    let mut slots: Vec<Option<Arc<dyn Invoke>>> = Vec::with_capacity(planned.len());
    let mut to_load = Vec::new();
    for p in planned {
        match &p.run {
            Run::Native { handler, timeout } => slots.push(Some(Arc::new(NativeInvoke {
                name: p.name.clone(),
                handler: handler.clone(),
                timeout: *timeout,
            }))),
            Run::Wasm { settings, manifest } => {
                slots.push(None);
                to_load.push(ToLoad {
                    settings: (**settings).clone(),
                    manifest: manifest.clone(),
                });
            }
        }
    }
    let loading = if to_load.is_empty() {
        None
    } else {
        let loader = make_loader().map_err(|e| StartError::Handlers(vec![e]))?;
        let (pending, loading) = load_in_background(to_load, loader, kv);
        let mut pending = pending.into_iter();
        for slot in slots.iter_mut().filter(|s| s.is_none()) {
            *slot = pending.next();
        }
        Some(loading)
    };
    let loaded = slots
        .into_iter()
        .map(|invoke| {
            let meter = Arc::new(HandlerMeter::default());
            (
                Arc::new(Metered {
                    inner: invoke.expect("every slot filled"),
                    meter: meter.clone(),
                }) as Arc<dyn Invoke>,
                meter,
            )
        })
        .collect();
    Ok((loaded, loading))
}

/// What events go to, and what is behind it.
struct BuiltSink {
    sink: Arc<dyn EventSink>,
    queue: Option<Queue>,
    dispatch_stats: Option<Arc<DispatchStats>>,
    /// Duplicates answered by the in-memory dedupe layer.
    duplicates: Arc<dyn Fn() -> u64 + Send + Sync>,
    #[cfg(unix)]
    dlq_server: Option<queue::control::ControlServer>,
}

/// With `ack = "after-persist"` (the default) and handlers: a [`QueueSink`] over the opened
/// store (card callbacks and unrouted events still go through the synchronous dispatcher);
/// with `ack = "after-handle"`: the deduplicated [`Dispatcher`]; without handlers: the
/// built-in [`LogSink`].
async fn build_sink(
    settings: &Settings,
    planned: &[Planned],
    loaded: Vec<Loaded>,
    filters: &filters::Filters,
    store: Option<Arc<dyn crate::queue::QueueStore>>,
) -> Result<BuiltSink, StartError> {
    let entries: Vec<HandlerEntry> = planned
        .iter()
        .zip(loaded)
        .zip(filters)
        .map(|((p, (handler, _)), filter)| HandlerEntry {
            handler,
            route: p.route.clone(),
            filter: filter.clone(),
        })
        .collect();
    let names: Vec<String> = planned.iter().map(|p| p.name.clone()).collect();
    let none = |sink: Arc<dyn EventSink>, dispatch_stats, duplicates| BuiltSink {
        sink,
        queue: None,
        dispatch_stats,
        duplicates,
        #[cfg(unix)]
        dlq_server: None,
    };
    if entries.is_empty() {
        tracing::info!("no handler; events are logged and acked");
        let sink = Arc::new(Deduplicating::new(LogSink));
        let counted = sink.clone();
        return Ok(none(sink, None, Arc::new(move || counted.duplicates())));
    }
    if settings.queue.ack == AckMode::AfterHandle {
        let dispatcher = Dispatcher::new(settings.dispatch.clone(), entries);
        tracing::info!(
            handlers = ?names,
            mode = ?settings.dispatch.mode,
            per_chat_ordering = settings.dispatch.per_chat_ordering,
            max_in_flight = settings.dispatch.max_in_flight,
            "handlers loaded"
        );
        let stats = dispatcher.stats();
        let sink = Arc::new(Deduplicating::new(dispatcher));
        let counted = sink.clone();
        return Ok(none(
            sink,
            Some(stats),
            Arc::new(move || counted.duplicates()),
        ));
    }
    let Some(store) = store else {
        return Err(StartError::Queue(
            "internal: the queue's store was not opened".into(),
        ));
    };
    let router = Router::new(
        entries.iter().map(|h| h.route.events.clone()).collect(),
        entries.iter().position(|h| h.route.default),
    );
    let handlers = entries
        .iter()
        .zip(planned)
        .map(|(e, p)| QueueHandler {
            handler: e.handler.clone(),
            max_concurrency: e.route.max_concurrency,
            retry: p.retry,
            filter: e.filter.clone(),
            merge: p.merge,
        })
        .collect();
    let config = QueueConfig {
        capacity: settings.queue.capacity,
        dedupe_window: settings.queue.dedupe_window,
        dedupe_max_entries: settings.queue.dedupe_max_entries,
        max_in_flight: settings.dispatch.max_in_flight,
        mode: settings.dispatch.mode,
    };
    let queue = Queue::start(store, handlers, config)
        .await
        .map_err(|e| StartError::Queue(e.to_string()))?;
    let dispatcher = Dispatcher::new(settings.dispatch.clone(), entries);
    let dispatch_stats = Some(dispatcher.stats());
    tracing::info!(
        handlers = ?names,
        queue = %queue.describe(),
        capacity = settings.queue.capacity,
        per_chat_ordering = settings.dispatch.per_chat_ordering,
        max_in_flight = settings.dispatch.max_in_flight,
        "handlers loaded; events are acked once persisted"
    );
    let synchronous = Arc::new(Deduplicating::new(dispatcher));
    let counted = synchronous.clone();
    let sink = QueueSink::new(
        queue.clone(),
        router,
        names,
        settings.dispatch.per_chat_ordering,
        synchronous,
    )
    .with_merging(planned.iter().map(|p| p.merge.is_some()).collect());
    #[cfg(unix)]
    let dlq_server = if settings.queue.backend == crate::queue::QueueBackend::Disk {
        let socket = queue::control::socket_path(&settings.queue.path);
        // Not fatal: only `aviary dlq` during the run depends on it (e.g. a path longer than
        // a socket path may be).
        match queue::control::serve(queue.clone(), &socket) {
            Ok(server) => Some(server),
            Err(e) => {
                tracing::warn!(error = %e, "aviary dlq cannot reach this process while it runs");
                None
            }
        }
    } else {
        None
    };
    Ok(BuiltSink {
        sink: Arc::new(sink),
        queue: Some(queue),
        dispatch_stats,
        duplicates: Arc::new(move || counted.duplicates()),
        #[cfg(unix)]
        dlq_server,
    })
}

/// Calls every listener for every event until the connection's stats are dropped.
async fn call_listeners(
    mut events: tokio::sync::broadcast::Receiver<ConnectionEvent>,
    listeners: Vec<Listener>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(event) => {
                for f in &listeners {
                    f(&event);
                }
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    skipped = n,
                    "connection callbacks fell behind; skipped events"
                );
            }
            Err(RecvError::Closed) => return,
        }
    }
}
