//! `[connection]`'s settings: how the long connection behaves. The one type for them, whether
//! the manifest builds it or code does; its bounds are checked here, once, by the setters of
//! the fields that have any (the other fields accept every value).

use std::time::Duration;

use crate::limits::{self, OutOfRange};

/// How the long connection behaves. The four `Option` settings that mirror the server's
/// `ClientConfig` are *pins*: when `Some`, they win over anything the server sends; when
/// `None`, the server's value rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Reconnect after a lost connection or a retryable connect failure (default true).
    pub auto_reconnect: bool,
    /// Pin for `ReconnectCount` (negative = unlimited, 0 = no attempt).
    pub max_reconnect_attempts: Option<i64>,
    /// Pin for `ReconnectInterval` (pause between failed attempts).
    pub reconnect_delay: Option<Duration>,
    /// Pin for `ReconnectNonce` (upper bound of the one jitter before reconnecting).
    pub reconnect_jitter: Option<Duration>,
    /// Replace a connection that received nothing for one ping interval plus `liveness_grace`.
    pub liveness: bool,
    /// Silence tolerated beyond one ping interval.
    pub liveness_grace: Duration,
    heartbeat_interval: Option<Duration>,
    connection_timeout: Duration,
    receive_queue_capacity: usize,
}

/// A `[connection]` value out of its bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum SettingError {
    /// A duration that must be positive is zero.
    #[error("must be greater than 0 (milliseconds)")]
    Zero,
    /// A count outside its range.
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
}

impl Default for ConnectionSettings {
    /// Every setting at its default (`crate::limits`): auto-reconnect and liveness on, no pins.
    fn default() -> Self {
        ConnectionSettings {
            auto_reconnect: limits::AUTO_RECONNECT_DEFAULT,
            max_reconnect_attempts: None,
            reconnect_delay: None,
            reconnect_jitter: None,
            liveness: limits::LIVENESS_DEFAULT,
            liveness_grace: limits::LIVENESS_GRACE,
            heartbeat_interval: None,
            connection_timeout: limits::CONNECTION_TIMEOUT,
            receive_queue_capacity: limits::RECEIVE_QUEUE_CAPACITY,
        }
    }
}

impl ConnectionSettings {
    /// Pin for `PingInterval` (never zero).
    pub fn heartbeat_interval(&self) -> Option<Duration> {
        self.heartbeat_interval
    }

    /// Pins `PingInterval`, or unpins it with `None`; zero is refused.
    pub fn set_heartbeat_interval(&mut self, pin: Option<Duration>) -> Result<(), SettingError> {
        if pin == Some(Duration::ZERO) {
            return Err(SettingError::Zero);
        }
        self.heartbeat_interval = pin;
        Ok(())
    }

    /// Timeout of the endpoint request and, separately, of the WebSocket handshake (never
    /// zero).
    pub fn connection_timeout(&self) -> Duration {
        self.connection_timeout
    }

    /// Sets the connection timeout; zero is refused.
    pub fn set_connection_timeout(&mut self, timeout: Duration) -> Result<(), SettingError> {
        if timeout.is_zero() {
            return Err(SettingError::Zero);
        }
        self.connection_timeout = timeout;
        Ok(())
    }

    /// Events being handled at once before the reader pauses (backpressure, nothing dropped);
    /// in `1..=``limits::MAX_RECEIVE_QUEUE_CAPACITY`.
    pub fn receive_queue_capacity(&self) -> usize {
        self.receive_queue_capacity
    }

    /// Sets the receive queue's capacity (`1..=``limits::MAX_RECEIVE_QUEUE_CAPACITY`).
    pub fn set_receive_queue_capacity(&mut self, n: u64) -> Result<(), SettingError> {
        let n = limits::within(n, limits::MAX_RECEIVE_QUEUE_CAPACITY as u64)?;
        self.receive_queue_capacity = n as usize;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_fields_refuse_what_would_break_the_connection() {
        let mut s = ConnectionSettings::default();
        assert_eq!(
            s.set_heartbeat_interval(Some(Duration::ZERO)),
            Err(SettingError::Zero)
        );
        assert_eq!(
            s.set_connection_timeout(Duration::ZERO),
            Err(SettingError::Zero)
        );
        assert_eq!(
            s.set_receive_queue_capacity(0).unwrap_err().to_string(),
            "must be between 1 and 65536 (got 0)"
        );
        assert!(s.set_receive_queue_capacity(65_537).is_err());
        assert_eq!(s, ConnectionSettings::default(), "nothing refused was kept");
        s.set_heartbeat_interval(Some(Duration::from_millis(1)))
            .unwrap();
        s.set_receive_queue_capacity(65_536).unwrap();
        assert_eq!(s.heartbeat_interval(), Some(Duration::from_millis(1)));
        assert_eq!(s.receive_queue_capacity(), 65_536);
        s.set_heartbeat_interval(None).unwrap();
        assert_eq!(s.heartbeat_interval(), None);
    }
}
