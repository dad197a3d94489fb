//! What [`crate::RuntimeHandle::status`] reports (and `GET /status` serves as JSON): the
//! connection, the queue and every handler, at one moment. Times are milliseconds since the
//! Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// The state of one running app.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct Status {
    /// Aviary's version (`CARGO_PKG_VERSION`).
    pub version: &'static str,
    /// The app id.
    pub app_id: String,
    /// When the runtime started.
    pub started_at_ms: u64,
    /// Drained on request (`drain`), until `resume`.
    pub drained: bool,
    /// Why the app stopped, once it has (a fatal error such as refused credentials, a handler
    /// that did not load, or `stopped`); `None` while it runs.
    pub stopped: Option<String>,
    /// The reload whose handlers run now (0: those of the start).
    pub generation: u64,
    /// Reloads so far and the last one's outcome (its problems when refused).
    pub reload: super::reload::ReloadStatus,
    /// The long connection.
    pub connection: ConnectionStatus,
    /// The durable queue (`None` without one: no handler, or `ack = "after-handle"`).
    pub queue: Option<QueueStatus>,
    /// Every handler, in registration order (manifest first).
    pub handlers: Vec<HandlerStatus>,
}

/// The long connection.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct ConnectionStatus {
    /// `idle`, `discovering`, `connecting`, `connected`, `backoff`, `paused` or `stopped`.
    pub state: &'static str,
    /// When it entered that state (for `connected`: when the session opened).
    pub since_ms: u64,
    /// The connection's id while connected.
    pub conn_id: Option<String>,
    /// In `backoff`: connect attempts made so far in this round.
    pub attempt: Option<u64>,
    /// The last established connection that ended, if any.
    pub last_disconnect: Option<LastDisconnect>,
    /// The ClientConfig in force (the server's values under the manifest's pins).
    pub client_config: ClientConfigStatus,
    /// Sessions established since start.
    pub connects: u64,
    /// Events taken off the socket.
    pub events_received: u64,
}

/// How and when a connection ended.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct LastDisconnect {
    /// `shutdown`, `replaced`, `drained`, `server_closed`, `read_error`, `write_error` or
    /// `liveness`.
    pub kind: &'static str,
    /// In words.
    pub reason: String,
    /// When.
    pub at_ms: u64,
}

/// The ClientConfig in force.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct ClientConfigStatus {
    /// `PingInterval`, ms.
    pub ping_interval_ms: u64,
    /// `ReconnectCount` (negative: unlimited).
    pub reconnect_count: i64,
    /// `ReconnectInterval`, ms.
    pub reconnect_interval_ms: u64,
    /// `ReconnectNonce`, ms.
    pub reconnect_nonce_ms: u64,
}

/// The durable queue.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct QueueStatus {
    /// The backend and where (`disk /path/queue.redb`, `redis redis://host/0`, `memory`).
    pub backend: String,
    /// Jobs held (waiting, running or waiting for a retry).
    pub depth: u64,
    /// Jobs running now.
    pub in_flight: u64,
    /// Dead letters (counted at most every few seconds; `None` when the store cannot say).
    pub dead_letters: Option<u64>,
    /// When the oldest job held was admitted.
    pub oldest_job_ms: Option<u64>,
}

/// One handler.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct HandlerStatus {
    /// Its name.
    pub name: String,
    /// `wasm` or `native`.
    pub kind: &'static str,
    /// The component file (Wasm).
    pub component: Option<String>,
    /// SHA-256 of the component file as loaded, hex (Wasm).
    pub sha256: Option<String>,
    /// The event types it subscribes to.
    pub events: Vec<String>,
    /// Whether it gets the event types nobody else does.
    pub default: bool,
    /// Its limits.
    pub limits: LimitsStatus,
    /// Calls finished.
    pub calls: u64,
    /// Calls that failed (no outcome).
    pub failures: u64,
    /// The failed calls by kind (`timeout`, `panic`, …; kinds with none left out).
    pub failures_by_kind: std::collections::BTreeMap<&'static str, u64>,
    /// When it was loaded.
    pub loaded_at_ms: u64,
}

/// A handler's limits.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct LimitsStatus {
    /// Wall-clock budget per call, ms.
    pub timeout_ms: u64,
    /// Memory limit, MiB (Wasm).
    pub memory_mb: Option<u64>,
    /// Fuel budget per call (Wasm; `None`: not metered).
    pub fuel: Option<u64>,
    /// Events per instance (Wasm; `None`: a fresh instance per event).
    pub reuse: Option<u32>,
    /// Calls at once.
    pub max_concurrency: usize,
}

/// `t` in ms since the Unix epoch (0 before it).
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
