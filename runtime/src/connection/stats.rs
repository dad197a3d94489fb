//! Counters and state of a connection, shared (`Arc`) between the supervisor and observers.
//! Counters are lock-free atomics; the state is a `watch` channel so callers can wait for
//! `Connected`, `Backoff` or `Stopped`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::protocol::ClientConfig;

/// Where the supervisor is.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// `run` has returned (graceful shutdown or a fatal error).
    Stopped,
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
}

/// Live statistics and state of one connection (one supervisor).
#[derive(Debug)]
pub struct ConnectionStats {
    counters: Counters,
    state: watch::Sender<ConnectionState>,
    config: Mutex<ClientConfig>,
}

impl ConnectionStats {
    /// Fresh stats in the `Idle` state, with the SDK default config.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Arc<Self> {
        Arc::new(ConnectionStats {
            counters: Counters::default(),
            state: watch::Sender::new(ConnectionState::Idle),
            config: Mutex::new(ClientConfig::default()),
        })
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
        self.state.send_replace(state);
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
