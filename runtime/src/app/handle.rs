//! [`RuntimeHandle`]: a running app, as [`crate::RuntimeBuilder::start`] returns it. Cheap to
//! clone; every clone controls the same app. The admin server's endpoints call these methods.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::generation::{Base, Generation};
use super::handlers::{Planned, Run};
use super::loading::KvBinding;
use super::metered::HandlerMeter;
use super::reload::{ReloadError, ReloadReport, ReloadStatus, Reloader};
use super::status::{
    unix_ms, ClientConfigStatus, ConnectionStatus, HandlerStatus, LastDisconnect, LimitsStatus,
    QueueStatus, Status,
};
use crate::connection::{
    ConnectionControl, ConnectionEvent, ConnectionState, ConnectionStats, ControlError, FatalError,
    Reconnected, Resumed,
};
use crate::handler::Invoke;
use crate::queue::Queue;

/// A running app: its status, its connection's state and events, and control (reconnect,
/// drain, resume, stop).
///
/// ```no_run
/// # async fn f(runtime: aviary::RuntimeHandle) -> Result<(), Box<dyn std::error::Error>> {
/// let mut state = runtime.connection_state();
/// state.wait_for(|s| matches!(s, aviary::ConnectionState::Connected { .. })).await?;
/// let moved = runtime.reconnect().await?; // make-before-break
/// println!("now on {}, was on {:?}", moved.conn_id, moved.replaced);
/// runtime.drain().await?; // closes the connection; /readyz says 503
/// runtime.resume().await?;
/// runtime.stop().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RuntimeHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for RuntimeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeHandle")
            .field("app_id", &self.shared.app_id)
            .finish_non_exhaustive()
    }
}

/// What every clone of a handle shares.
pub(crate) struct Shared {
    pub app_id: String,
    pub started_at: SystemTime,
    pub stats: Arc<ConnectionStats>,
    pub control: ConnectionControl,
    pub shutdown: CancellationToken,
    pub queue: Option<Queue>,
    /// The OpenAPI clients the sandbox made (their counters).
    pub openapi: super::wasm::OpenApiClients,
    /// What every generation of handlers builds on (the connection's sink, the dedupe memory).
    pub base: Base,
    /// The handlers in force; replaced whole by a reload.
    pub current: RwLock<Arc<Generation>>,
    /// The app's key-value state (what handlers loaded by a reload are bound to).
    pub kv: KvBinding,
    /// What a reload re-reads, and its outcomes.
    pub reload: Reloader,
    /// `Some` once the app has stopped, with how.
    pub done: watch::Receiver<Option<Result<(), Arc<FatalError>>>>,
    /// The last dead-letter count and when it was taken.
    pub dead_letters: tokio::sync::Mutex<Option<(Instant, Option<u64>)>>,
    pub drained: AtomicBool,
    /// The run journal, when [`crate::RuntimeBuilder::debug_runs`] asked for one.
    pub journal: Option<Arc<crate::journal::Journal>>,
    /// The Wasm handlers' loads (`None` without Wasm handlers).
    pub loading: Option<super::startup::Loading>,
}

impl Shared {
    /// The handlers in force.
    pub fn generation(&self) -> Arc<Generation> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Deliveries the in-memory dedupe layer answered without running a handler.
    pub fn dedupe_duplicates(&self) -> u64 {
        self.base.dedupe.duplicates()
    }
}

/// A loaded handler, for status and metrics.
pub(crate) struct HandlerInfo {
    pub name: String,
    pub kind: &'static str,
    pub component: Option<String>,
    pub sha256: Option<String>,
    pub events: Vec<String>,
    pub default: bool,
    pub limits: LimitsStatus,
    pub meter: Arc<HandlerMeter>,
    /// The handler as loaded (its instance counters).
    pub invoke: Arc<dyn Invoke>,
    pub loaded_at: SystemTime,
}

impl HandlerInfo {
    /// `p` as loaded (`invoke`, counted in `meter`); `sha256` is its component file's, read
    /// once for the reload's fingerprint.
    pub fn new(
        p: &Planned,
        invoke: Arc<dyn Invoke>,
        meter: Arc<HandlerMeter>,
        sha256: Option<String>,
    ) -> HandlerInfo {
        let (component, sha256, limits) = match &p.run {
            Run::Native { timeout, .. } => (
                None,
                None,
                LimitsStatus {
                    timeout_ms: timeout.as_millis() as u64,
                    memory_mb: None,
                    fuel: None,
                    reuse: None,
                    max_concurrency: p.route.max_concurrency,
                },
            ),
            Run::Wasm { settings, .. } => (
                Some(settings.component.display().to_string()),
                sha256,
                LimitsStatus {
                    timeout_ms: settings.limits.timeout().as_millis() as u64,
                    memory_mb: Some(settings.limits.memory_bytes() / (1024 * 1024)),
                    fuel: settings.limits.fuel(),
                    reuse: settings.limits.reuse(),
                    max_concurrency: p.route.max_concurrency,
                },
            ),
        };
        HandlerInfo {
            name: p.name.clone(),
            kind: p.kind(),
            component,
            sha256,
            events: p.route.events.iter().map(|e| e.to_string()).collect(),
            default: p.route.default,
            limits,
            meter,
            invoke,
            loaded_at: SystemTime::now(),
        }
    }
}

pub(crate) fn file_sha256(path: &std::path::Path) -> Option<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).ok()?;
    let digest = sha2::Sha256::digest(&bytes);
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

impl RuntimeHandle {
    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.shared.app_id
    }

    /// The connection's state, watched (the receiver starts at the current state).
    pub fn connection_state(&self) -> watch::Receiver<ConnectionState> {
        self.shared.stats.state()
    }

    /// Every connection event from now on (connected, disconnected, fatal error).
    pub fn connection_events(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.shared.stats.events()
    }

    /// The connection's counters and state.
    pub(crate) fn connection_stats(&self) -> Arc<ConnectionStats> {
        self.shared.stats.clone()
    }

    /// Whether [`RuntimeHandle::drain`] was asked for and not yet resumed.
    pub fn is_drained(&self) -> bool {
        self.shared.drained.load(Ordering::Relaxed)
    }

    /// Whether the app has stopped (a stop, a signal, or a fatal error).
    pub fn is_stopped(&self) -> bool {
        self.shared.done.borrow().is_some()
    }

    /// Why the app stopped, once it has: the fatal error, a handler that did not load, or
    /// "stopped" after a graceful stop (`None` while it runs).
    pub fn stop_reason(&self) -> Option<String> {
        let done = self.shared.done.borrow();
        let ended = done.as_ref()?;
        let failures = self.load_failures();
        Some(match ended {
            Err(e) => e.to_string(),
            Ok(()) if !failures.is_empty() => {
                format!("a handler did not load: {}", failures.join("; "))
            }
            Ok(()) => "stopped".into(),
        })
    }

    /// Opens a new connection and, once it is up, closes the current one with 1000 after its
    /// in-flight acks (make-before-break; nothing is lost or handled twice). On failure the
    /// current connection is kept.
    pub async fn reconnect(&self) -> Result<Reconnected, ControlError> {
        self.shared.control.reconnect().await
    }

    /// Stops taking events: finishes in-flight acks, closes the connection with 1000 and makes
    /// no new one until [`RuntimeHandle::resume`]. Handlers keep working off the queue.
    pub async fn drain(&self) -> Result<(), ControlError> {
        // Not ready from the moment it is asked for (the close waits for in-flight acks).
        self.shared.drained.store(true, Ordering::Relaxed);
        let drained = self.shared.control.drain().await;
        if drained.is_err() {
            self.shared.drained.store(false, Ordering::Relaxed);
        }
        drained
    }

    /// Ends a drain: connects again.
    pub async fn resume(&self) -> Result<Resumed, ControlError> {
        let resumed = self.shared.control.resume().await;
        if resumed.is_ok() {
            self.shared.drained.store(false, Ordering::Relaxed);
        }
        resumed
    }

    /// Stops gracefully (finishes acks in flight, closes with 1000, lets running queue jobs
    /// settle) and returns how the app ended.
    pub async fn stop(&self) -> Result<(), Arc<FatalError>> {
        self.shared.shutdown.cancel();
        self.wait().await
    }

    /// Re-reads the manifest the app was started from (or, started from [`crate::Settings`],
    /// reloads the handlers added in code: their component files) and applies it without
    /// dropping the connection: changed and new components are compiled first, in the
    /// background, while the running handlers keep working; then the routes, handlers and
    /// limits are swapped between two events. Calls in flight finish on the handlers they
    /// started with; events arriving meanwhile are routed by the old or the new handlers
    /// whole, never dropped or run twice. Changed credentials, domain or `[connection]`
    /// reconnect make-before-break.
    ///
    /// A manifest or component error, or a change that needs a restart (`[queue]`,
    /// `[admin]`, the app id), changes nothing and returns every problem
    /// ([`ReloadError::problems`], each at its `file:line:col` or handler). One reload runs
    /// at a time; outcomes are also in [`RuntimeHandle::reload_status`], `/status` and
    /// `aviary_reload_failures_total`.
    ///
    /// ```no_run
    /// # async fn f(runtime: aviary::RuntimeHandle) {
    /// match runtime.reload().await {
    ///     Ok(report) => println!("{}", report.summary()),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # }
    /// ```
    pub async fn reload(&self) -> Result<ReloadReport, ReloadError> {
        super::reload::reload(&self.shared).await
    }

    /// How the reloads went so far: the generation in force, counts, the last outcome.
    pub fn reload_status(&self) -> ReloadStatus {
        self.shared
            .reload
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until every handler's component is loaded: `Ok`, or the failures (one line each,
    /// naming the manifest line) once one fails — the app then stops.
    pub async fn handlers_loaded(&self) -> Result<(), Vec<String>> {
        let Some(loading) = &self.shared.loading else {
            return Ok(());
        };
        loading.finished().await;
        let failures = loading.failures();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        }
    }

    /// The handlers that failed to load so far, one line each (`aviary run` prints them and
    /// exits 1).
    pub fn load_failures(&self) -> Vec<String> {
        self.shared
            .loading
            .as_ref()
            .map(|l| l.failures())
            .unwrap_or_default()
    }

    /// Handlers whose components are still loading, by name.
    pub fn handlers_loading(&self) -> Vec<String> {
        self.shared
            .loading
            .as_ref()
            .map(|l| l.still_loading())
            .unwrap_or_default()
    }

    /// Waits until the app stops (a stop from elsewhere, or a fatal error) without stopping it.
    pub async fn wait(&self) -> Result<(), Arc<FatalError>> {
        let mut done = self.shared.done.clone();
        let ended = match done.wait_for(|d| d.is_some()).await {
            Ok(d) => d.clone().expect("waited for Some"),
            // The runtime task is gone without a word: only if it panicked.
            Err(_) => Ok(()),
        };
        ended
    }

    /// The connection, the queue and every handler, now.
    pub async fn status(&self) -> Status {
        let s = &self.shared;
        let state = s.stats.current_state();
        let config = s.stats.config();
        let counters = s.stats.snapshot();
        let (conn_id, attempt) = match &state {
            ConnectionState::Connected { device_id, .. } => (Some(device_id.clone()), None),
            ConnectionState::Backoff { attempt, .. } => (None, Some(*attempt)),
            _ => (None, None),
        };
        let connection = ConnectionStatus {
            state: state.name(),
            since_ms: unix_ms(s.stats.state_since()),
            conn_id,
            attempt,
            last_disconnect: s.stats.last_disconnect().map(|d| LastDisconnect {
                kind: d.kind.name(),
                reason: d.reason,
                at_ms: unix_ms(d.at),
            }),
            client_config: ClientConfigStatus {
                ping_interval_ms: config.ping_interval.as_millis() as u64,
                reconnect_count: config.reconnect_count,
                reconnect_interval_ms: config.reconnect_interval.as_millis() as u64,
                reconnect_nonce_ms: config.reconnect_nonce.as_millis() as u64,
            },
            connects: counters.connects,
            events_received: counters.events_received,
        };
        let queue = match &s.queue {
            None => None,
            Some(q) => {
                let gauge = *q.gauge().borrow();
                Some(QueueStatus {
                    backend: q.describe().to_string(),
                    depth: gauge.jobs as u64,
                    in_flight: gauge.running as u64,
                    dead_letters: self.dead_letters().await,
                    oldest_job_ms: gauge.oldest_enqueued_ms,
                })
            }
        };
        let generation = s.generation();
        Status {
            version: env!("CARGO_PKG_VERSION"),
            app_id: s.app_id.clone(),
            started_at_ms: unix_ms(s.started_at),
            drained: self.is_drained(),
            stopped: self.stop_reason(),
            generation: generation.number,
            reload: self.reload_status(),
            connection,
            queue,
            handlers: generation
                .handlers
                .iter()
                .map(|h| HandlerStatus {
                    name: h.name.clone(),
                    kind: h.kind,
                    component: h.component.clone(),
                    sha256: h.sha256.clone(),
                    events: h.events.clone(),
                    default: h.default,
                    limits: h.limits.clone(),
                    calls: h.meter.calls(),
                    outcomes: h.meter.outcomes().collect(),
                    failures: h.meter.failed(),
                    failures_by_kind: h.meter.failures().filter(|(_, n)| *n > 0).collect(),
                    loaded_at_ms: unix_ms(h.loaded_at),
                })
                .collect(),
        }
    }

    /// The run journal's events changed after change number `since` (0: all it holds);
    /// `None` unless [`crate::RuntimeBuilder::debug_runs`] turned it on. Ask with the
    /// snapshot's `latest` next time.
    pub fn debug_runs(&self, since: u64) -> Option<crate::journal::Snapshot> {
        self.shared.journal.as_ref().map(|j| j.since(since))
    }

    /// The dead letters in the store, counted at most every
    /// [`crate::limits::admin::DEAD_LETTER_RECOUNT`] (`None` without a queue, or when the
    /// store cannot be read).
    pub(crate) async fn dead_letters(&self) -> Option<u64> {
        let queue = self.shared.queue.as_ref()?;
        let mut cached = self.shared.dead_letters.lock().await;
        if let Some((at, n)) = *cached {
            if at.elapsed() < crate::limits::admin::DEAD_LETTER_RECOUNT {
                return n;
            }
        }
        let n = match queue.store().dead_letters().await {
            Ok(list) => Some(list.len() as u64),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count the dead letters");
                None
            }
        };
        *cached = Some((Instant::now(), n));
        n
    }
}
