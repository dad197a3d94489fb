//! Counters and state of a connection, shared (`Arc`) between the supervisor and observers.
//! Counters are lock-free atomics; the state is a `watch` channel so callers can wait for
//! `Connected`, `Backoff` or `Stopped`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, watch};

use crate::metrics::{self, Histogram};
use crate::protocol::ClientConfig;

/// Where the supervisor is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Not started yet.
    Idle,
    /// Asking the endpoint API for a WebSocket URL.
    Discovering,
    /// Dialling the WebSocket URL.
    Connecting,
    /// A session is up.
    Connected {
        /// The URL's `device_id` (the `conn_id` of the logs; "" when absent).
        device_id: String,
        /// The URL's `service_id`, sent in every ping.
        service_id: i32,
    },
    /// Waiting before the next connect attempt. `attempt` is the number of attempts made so
    /// far in this reconnect round (0 during the initial jitter).
    Backoff {
        /// Attempts made so far in this round.
        attempt: u64,
        /// How long this wait lasts.
        delay: Duration,
    },
    /// Drained on request: no connection, none attempted until resumed.
    Paused,
    /// `run` has returned (graceful shutdown or a fatal error).
    Stopped,
}

impl ConnectionState {
    /// A short stable name: `idle`, `discovering`, `connecting`, `connected`, `backoff`,
    /// `paused`, `stopped` (the `state` label of `aviary_connection_state`).
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionState::Idle => "idle",
            ConnectionState::Discovering => "discovering",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected { .. } => "connected",
            ConnectionState::Backoff { .. } => "backoff",
            ConnectionState::Paused => "paused",
            ConnectionState::Stopped => "stopped",
        }
    }

    /// Every [`ConnectionState::name`], in lifecycle order.
    pub const NAMES: [&'static str; 7] = [
        "idle",
        "discovering",
        "connecting",
        "connected",
        "backoff",
        "paused",
        "stopped",
    ];
}

/// Why an established connection ended (the `reason` label of
/// `aviary_disconnects_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum DisconnectKind {
    /// The process is stopping (close 1000 sent).
    Shutdown,
    /// Replaced by a newer session (a make-before-break reconnect; close 1000 sent).
    Replaced,
    /// Drained on request (close 1000 sent).
    Drained,
    /// The server closed it (a close frame, or TCP ended).
    ServerClosed,
    /// Reading failed (reset, protocol error).
    ReadError,
    /// Writing failed.
    WriteError,
    /// Nothing arrived for a ping interval plus the grace.
    Liveness,
}

impl DisconnectKind {
    /// Every kind, in the order of [`DisconnectKind::name`]'s list.
    pub const ALL: [DisconnectKind; 7] = [
        DisconnectKind::Shutdown,
        DisconnectKind::Replaced,
        DisconnectKind::Drained,
        DisconnectKind::ServerClosed,
        DisconnectKind::ReadError,
        DisconnectKind::WriteError,
        DisconnectKind::Liveness,
    ];

    /// A short stable name: `shutdown`, `replaced`, `drained`, `server_closed`, `read_error`,
    /// `write_error`, `liveness`.
    pub fn name(self) -> &'static str {
        match self {
            DisconnectKind::Shutdown => "shutdown",
            DisconnectKind::Replaced => "replaced",
            DisconnectKind::Drained => "drained",
            DisconnectKind::ServerClosed => "server_closed",
            DisconnectKind::ReadError => "read_error",
            DisconnectKind::WriteError => "write_error",
            DisconnectKind::Liveness => "liveness",
        }
    }
}

/// Something that happened to the connection, as it happened (`RuntimeHandle::connection_events`
/// and the builder's callbacks).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// A session is up.
    Connected {
        /// Its id (the URL's `device_id`).
        conn_id: String,
    },
    /// An established session ended.
    Disconnected {
        /// Its id.
        conn_id: String,
        /// Why and when.
        disconnect: Disconnect,
    },
    /// The connection stopped for good: a fatal error (bad credentials, banned app, attempts
    /// exhausted); the message names the code and what to do.
    Error(String),
}

/// Connection events kept for a receiver that falls behind; older ones are skipped.
const EVENTS_BUFFERED: usize = 64;

/// The last time an established connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct Disconnect {
    /// Why, as a label.
    pub kind: DisconnectKind,
    /// Why, in words (for logs and `/status`).
    pub reason: String,
    /// When.
    pub at: SystemTime,
}

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {
        /// A copy of every counter at one moment.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct StatsSnapshot {
            $( $(#[$doc])* pub $name: u64, )*
        }

        #[derive(Debug, Default)]
        struct Counters {
            $( $name: AtomicU64, )*
        }

        impl Counters {
            fn snapshot(&self) -> StatsSnapshot {
                StatsSnapshot { $( $name: self.$name.load(Ordering::Relaxed), )* }
            }
        }

        /// Names a counter for [`ConnectionStats::incr`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types)]
        pub(crate) enum Counter { $( $name, )* }

        impl Counters {
            fn get(&self, c: Counter) -> &AtomicU64 {
                match c { $( Counter::$name => &self.$name, )* }
            }
        }
    };
}

counters! {
    /// Endpoint requests sent (one per connect attempt).
    endpoint_requests,
    /// Successful WebSocket upgrades.
    connects,
    /// Established connections that ended (any reason, including shutdown).
    disconnects,
    /// Connect attempts made after the first (reconnects and retries of a failed first connect).
    reconnect_attempts,
    /// Binary messages decoded into frames.
    frames_received,
    /// Text WebSocket messages (junk for this protocol), skipped.
    text_messages_skipped,
    /// Binary messages that are not a valid frame, skipped.
    undecodable_frames,
    /// Frames with an unknown `method` or `type` (including a data frame without `type`), skipped, not acked.
    unknown_frames,
    /// Legacy `type=card` data frames, ignored and not acked (§3.5).
    card_frames_ignored,
    /// Event fragments refused (bad `sum`/`seq`, no `message_id`, over a limit) plus incomplete
    /// messages dropped (expired or evicted). The server redelivers those messages.
    fragments_dropped,
    /// Events handed to the sink.
    events_dispatched,
    /// Acks written to the socket.
    acks_sent,
    /// Pings written to the socket.
    pings_sent,
    /// Pongs received.
    pongs_received,
    /// Pongs whose payload carried a ClientConfig that was applied (live updates; endpoint
    /// answers are not counted).
    config_updates,
    /// Connections replaced because nothing arrived for a ping interval plus the grace.
    liveness_timeouts,
    /// Events acked 500: handler failed or panicked, no handler, or an unparseable payload.
    events_failed,
    /// Complete events taken off the socket (reassembled), usable or not.
    events_received,
    /// Acks queued with code 200.
    acks_200,
    /// Acks queued with code 500.
    acks_500,
    /// Make-before-break reconnects asked for ([`super::ConnectionControl::reconnect`]) that
    /// replaced the session.
    manual_reconnects,
}

/// Live statistics and state of one connection (one supervisor).
#[derive(Debug)]
pub struct ConnectionStats {
    counters: Counters,
    state: watch::Sender<ConnectionState>,
    /// When the state last changed.
    since: Mutex<SystemTime>,
    config: Mutex<ClientConfig>,
    disconnects_by_kind: [AtomicU64; DisconnectKind::ALL.len()],
    last_disconnect: Mutex<Option<Disconnect>>,
    ack_latency: Histogram,
    events: broadcast::Sender<ConnectionEvent>,
}

impl ConnectionStats {
    /// Fresh stats in the `Idle` state, with the SDK default config.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Arc<Self> {
        Arc::new(ConnectionStats {
            counters: Counters::default(),
            state: watch::Sender::new(ConnectionState::Idle),
            since: Mutex::new(SystemTime::now()),
            config: Mutex::new(ClientConfig::default()),
            disconnects_by_kind: Default::default(),
            last_disconnect: Mutex::new(None),
            ack_latency: metrics::latency_histogram(),
            events: broadcast::Sender::new(EVENTS_BUFFERED),
        })
    }

    /// Every [`ConnectionEvent`] from now on (a receiver more than 64 events behind skips the
    /// oldest and gets `RecvError::Lagged`).
    pub fn events(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, event: ConnectionEvent) {
        let _ = self.events.send(event);
    }

    /// When the state last changed (for a connection: when it was established).
    pub fn state_since(&self) -> SystemTime {
        *self.since.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Established connections that ended, by why.
    pub fn disconnects_by_kind(&self) -> Vec<(DisconnectKind, u64)> {
        DisconnectKind::ALL
            .iter()
            .zip(&self.disconnects_by_kind)
            .map(|(k, n)| (*k, n.load(Ordering::Relaxed)))
            .collect()
    }

    /// The last time an established connection ended, if one has.
    pub fn last_disconnect(&self) -> Option<Disconnect> {
        self.last_disconnect
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Time from an event's arrival to its ack being queued, in seconds.
    pub fn ack_latency(&self) -> &Histogram {
        &self.ack_latency
    }

    pub(crate) fn observe_ack_latency(&self, d: Duration) {
        metrics::observe(&self.ack_latency, d);
    }

    pub(crate) fn disconnected(&self, conn_id: &str, kind: DisconnectKind, reason: &str) {
        self.incr(Counter::disconnects);
        let i = DisconnectKind::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("every kind is in ALL");
        self.disconnects_by_kind[i].fetch_add(1, Ordering::Relaxed);
        let disconnect = Disconnect {
            kind,
            reason: reason.to_string(),
            at: SystemTime::now(),
        };
        *self
            .last_disconnect
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(disconnect.clone());
        self.emit(ConnectionEvent::Disconnected {
            conn_id: conn_id.to_string(),
            disconnect,
        });
    }

    /// Every counter, now.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.counters.snapshot()
    }

    /// Watches the state (the receiver starts at the current state).
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.state.subscribe()
    }

    /// The state right now.
    pub fn current_state(&self) -> ConnectionState {
        self.state.borrow().clone()
    }

    /// The effective ClientConfig in force (server values with the manifest's pins on top).
    pub fn config(&self) -> ClientConfig {
        *self.config.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }

    pub(crate) fn add(&self, counter: Counter, n: u64) {
        if n > 0 {
            self.counters.get(counter).fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_state(&self, state: ConnectionState) {
        let changed = self.state.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
        if changed {
            *self.since.lock().unwrap_or_else(|e| e.into_inner()) = SystemTime::now();
        }
    }

    pub(crate) fn set_config(&self, config: ClientConfig) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_state() {
        let stats = ConnectionStats::new();
        let mut rx = stats.state();
        stats.incr(Counter::acks_sent);
        stats.add(Counter::fragments_dropped, 3);
        let snap = stats.snapshot();
        assert_eq!(snap.acks_sent, 1);
        assert_eq!(snap.fragments_dropped, 3);
        assert_eq!(snap.pings_sent, 0);
        stats.set_state(ConnectionState::Stopped);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), ConnectionState::Stopped);
    }
}
