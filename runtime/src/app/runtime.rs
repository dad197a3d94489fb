//! [`Runtime::builder`]: from a manifest or typed settings, plus handlers added in code, to a
//! running app ([`RuntimeBuilder::start`] → [`RuntimeHandle`]). This is the composition root's
//! one entry point: `aviary run` goes through it too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::filters::{self, Filters};
use super::generation::{install, Base, Fingerprint, Loaded, SwapSink};
use super::handle::{RuntimeHandle, Shared};
use super::handlers::{Handler, Planned, Run};
use super::journaled::{self, JournaledSink};
use super::loading::KvBinding;
use super::metered::HandlerMeter;
use super::native::NativeInvoke;
use super::operator::Apps;
use super::reload::{counted, MakeLoader, Reloader};
use super::settings::Settings;
use super::startup::{load_in_background, Loading, ToLoad};
use super::wasm;
use crate::admin::{self, AdminSettings};
use crate::connection::{self, ConnectionEvent, ConnectionStats, Disconnect};
use crate::dispatch::dedupe::Deduplicating;
use crate::dispatch::{stats, EventSink, LogSink};
use crate::handler::Invoke;
use crate::journal::Journal;
use crate::manifest::{Manifest, ManifestError};
use crate::openapi::OpenApiApp;
use crate::queue::engine::QueueConfig;
use crate::queue::{self, AckMode, Queue, QueueHandler};

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
            debug_runs: false,
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
    /// Keep a run journal ([`RuntimeBuilder::debug_runs`]).
    debug_runs: bool,
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

    /// Keeps a run journal ([`crate::runs`]): the recent events' timelines — deliveries,
    /// acks, every handler run with its outcome, resources against limits, log lines and
    /// OpenAPI/HTTP calls, retries and dead letters — bounded in count and bytes. Read it with
    /// [`RuntimeHandle::debug_runs`] or `GET /debug/runs` on the admin server. Off by default
    /// (`aviary run --debug-runs`; `aviary dev` turns it on): it holds what handlers log.
    pub fn debug_runs(mut self, on: bool) -> RuntimeBuilder {
        self.debug_runs = on;
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
        let app = settings.openapi_app();
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
        let kv_store = kv.store.clone();
        let journal = self.debug_runs.then(|| Arc::new(Journal::new()));
        let (loaded, loading) = load(&planned, &make_loader, &kv)?;
        let queue = start_queue(
            &settings,
            &planned,
            &loaded,
            &filters,
            store,
            journal.as_ref(),
        )
        .await?;
        #[cfg(unix)]
        let dlq_server = queue.as_ref().and_then(|q| dlq_socket(&settings, q));

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
        let base = Base {
            queue: queue.clone(),
            sink: Arc::new(SwapSink::new(Arc::new(LogSink))),
            dedupe: Deduplicating::new(LogSink),
            shutdown: shutdown.clone(),
            journal: journal.clone(),
        };
        log_handlers(&settings, &planned, queue.as_ref());
        let first = install(&base, 0, settings.clone(), &planned, &filters, loaded, None);
        let sink: Arc<dyn EventSink> = match &journal {
            Some(journal) => Arc::new(JournaledSink {
                inner: base.sink.clone(),
                journal: journal.clone(),
            }),
            None => base.sink.clone(),
        };
        let added = planned
            .iter()
            .filter(|p| {
                !matches!(
                    &p.run,
                    Run::Wasm {
                        manifest: Some(_),
                        ..
                    }
                )
            })
            .cloned()
            .collect();
        let (done_tx, done) = watch::channel(None);
        let shared = Arc::new(Shared {
            app_id: settings.connection.app_id.clone(),
            started_at: SystemTime::now(),
            stats: stats.clone(),
            control,
            shutdown: shutdown.clone(),
            queue: queue.clone(),
            openapi,
            base,
            current: std::sync::RwLock::new(Arc::new(first)),
            kv,
            reload: Reloader {
                manifest: manifest.as_ref().map(|m| m.path.clone()),
                admin_as_read: manifest
                    .as_ref()
                    .map(|m| m.admin.clone())
                    .unwrap_or_else(|| settings.admin.clone()),
                added,
                make_loader: std::sync::Mutex::new(make_loader),
                running: tokio::sync::Mutex::new(()),
                status: Default::default(),
            },
            done,
            dead_letters: Default::default(),
            drained: std::sync::atomic::AtomicBool::new(false),
            journal,
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
                if let Some(q) = &queue {
                    q.close().await;
                }
                return Err(StartError::Admin(e));
            }
        };
        let options = settings.connection.clone();
        let last = handle.clone();
        tokio::spawn(async move {
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
                // Closed, not only stopped: the disk file is free as soon as the app has
                // stopped (another runtime in this process, `aviary dlq`).
                queue.close().await;
                tracing::info!(stats = ?queue.stats().snapshot(), "queue stopped");
            }
            // Without the queue, key-value state has its own handle on the backend.
            if let Some(store) = &kv_store {
                store.close();
            }
            if let Some(d) = &last.shared.generation().dispatch_stats {
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
        }
        // In the caller's span (with several apps, the app's: its id on every line).
        .in_current_span());
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
    problems.extend(super::handlers::set_problems(&planned));
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
        .zip(planned)
        .map(|(invoke, p)| {
            counted(
                &p.name,
                Fingerprint::of(p),
                invoke.expect("every slot filled"),
                Arc::new(HandlerMeter::default()),
            )
        })
        .collect();
    Ok((loaded, loading))
}

/// With `ack = "after-persist"` (the default) and handlers: the durable queue over the opened
/// store, running `loaded`; otherwise none (`after-handle` runs handlers synchronously; without
/// handlers, events are logged and acked).
async fn start_queue(
    settings: &Settings,
    planned: &[Planned],
    loaded: &[Loaded],
    filters: &Filters,
    store: Option<Arc<dyn crate::queue::QueueStore>>,
    journal: Option<&Arc<Journal>>,
) -> Result<Option<Queue>, StartError> {
    if planned.is_empty() || settings.queue.ack == AckMode::AfterHandle {
        return Ok(None);
    }
    let Some(store) = store else {
        return Err(StartError::Queue(
            "internal: the queue's store was not opened".into(),
        ));
    };
    let handlers = loaded
        .iter()
        .zip(planned)
        .zip(filters)
        .map(|((l, p), filter)| QueueHandler {
            handler: journaled::wrap(journal, p, l.invoke.clone()),
            max_concurrency: p.route.max_concurrency,
            retry: p.retry,
            filter: filter.clone(),
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
    Queue::start_journaled(store, handlers, config, journal.cloned())
        .await
        .map(Some)
        .map_err(|e| StartError::Queue(e.to_string()))
}

/// The live dead-letter socket of a disk queue (`aviary dlq` during the run).
#[cfg(unix)]
fn dlq_socket(settings: &Settings, queue: &Queue) -> Option<queue::control::ControlServer> {
    if settings.queue.backend != crate::queue::QueueBackend::Disk {
        return None;
    }
    let socket = queue::control::socket_path(&settings.queue.path);
    // Not fatal: only `aviary dlq` during the run depends on it (e.g. a path longer than a
    // socket path may be).
    match queue::control::serve(queue.clone(), &socket) {
        Ok(server) => Some(server),
        Err(e) => {
            tracing::warn!(error = %e, "aviary dlq cannot reach this process while it runs");
            None
        }
    }
}

/// The start-up log line saying how events reach the handlers.
fn log_handlers(settings: &Settings, planned: &[Planned], queue: Option<&Queue>) {
    let names: Vec<&str> = planned.iter().map(|p| p.name.as_str()).collect();
    match queue {
        _ if planned.is_empty() => tracing::info!("no handler; events are logged and acked"),
        Some(queue) => tracing::info!(
            handlers = ?names,
            queue = %queue.describe(),
            capacity = settings.queue.capacity,
            per_chat_ordering = settings.dispatch.per_chat_ordering,
            max_in_flight = settings.dispatch.max_in_flight,
            "handlers loaded; events are acked once persisted"
        ),
        None => tracing::info!(
            handlers = ?names,
            mode = ?settings.dispatch.mode,
            per_chat_ordering = settings.dispatch.per_chat_ordering,
            max_in_flight = settings.dispatch.max_in_flight,
            "handlers loaded"
        ),
    }
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
