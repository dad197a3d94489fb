//! What the connection runs with: credentials, domain and the `[connection]` settings.

use std::time::Duration;

use crate::limits;
use crate::secret::Secret;

use super::config::ConfigPins;

/// Options of one long connection. Build with [`ConnectionOptions::new`] (defaults from
/// [`crate::limits`]) and adjust fields, or from a manifest with
/// [`crate::manifest::Manifest::connection_options`].
///
/// The four `Option` settings that mirror the server's `ClientConfig` are *pins*: when `Some`,
/// they win over anything the server sends; when `None`, the server's value rules.
#[derive(Debug, Clone)]
pub struct ConnectionOptions {
    /// `feishu`, `lark`, or a base URL such as `http://127.0.0.1:9000` (used verbatim).
    pub domain: String,
    /// The app id.
    pub app_id: String,
    /// The app secret; sent only in the endpoint request body.
    pub app_secret: Secret,
    /// Decrypts `{"encrypt":…}` payloads when set.
    pub encrypt_key: Option<Secret>,
    /// Reconnect after a lost connection or a retryable connect failure.
    pub auto_reconnect: bool,
    /// Pin for `ReconnectCount` (negative = unlimited, 0 = no attempt).
    pub max_reconnect_attempts: Option<i64>,
    /// Pin for `ReconnectInterval` (pause between failed attempts).
    pub reconnect_delay: Option<Duration>,
    /// Pin for `ReconnectNonce` (upper bound of the one jitter before reconnecting).
    pub reconnect_jitter: Option<Duration>,
    /// Pin for `PingInterval`.
    pub heartbeat_interval: Option<Duration>,
    /// Replace a connection that received nothing for one ping interval plus `liveness_grace`.
    pub liveness: bool,
    /// Silence tolerated beyond one ping interval.
    pub liveness_grace: Duration,
    /// Timeout of the endpoint request and, separately, of the WebSocket handshake.
    pub connection_timeout: Duration,
    /// Events being handled at once before the reader pauses (backpressure, nothing dropped).
    pub receive_queue_capacity: usize,
}

impl ConnectionOptions {
    /// Options with every setting at its default: auto-reconnect and liveness on, no pins.
    pub fn new(
        domain: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Self {
        ConnectionOptions {
            domain: domain.into(),
            app_id: app_id.into(),
            app_secret: Secret::new(app_secret.into()),
            encrypt_key: None,
            auto_reconnect: limits::AUTO_RECONNECT_DEFAULT,
            max_reconnect_attempts: None,
            reconnect_delay: None,
            reconnect_jitter: None,
            heartbeat_interval: None,
            liveness: limits::LIVENESS_DEFAULT,
            liveness_grace: limits::LIVENESS_GRACE,
            connection_timeout: limits::CONNECTION_TIMEOUT,
            receive_queue_capacity: limits::RECEIVE_QUEUE_CAPACITY,
        }
    }

    /// The settings pinned by these options.
    pub fn pins(&self) -> ConfigPins {
        ConfigPins {
            reconnect_count: self.max_reconnect_attempts,
            reconnect_interval: self.reconnect_delay,
            reconnect_nonce: self.reconnect_jitter,
            ping_interval: self.heartbeat_interval,
        }
    }

    /// Checks what the type system cannot; the manifest already guarantees all of it.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.app_id.trim().is_empty() {
            return Err("app_id is empty".into());
        }
        if self.app_secret.is_empty() {
            return Err("app_secret is empty".into());
        }
        if self.heartbeat_interval == Some(Duration::ZERO) {
            return Err("heartbeat_interval must be greater than 0".into());
        }
        if self.connection_timeout.is_zero() {
            return Err("connection_timeout must be greater than 0".into());
        }
        if self.receive_queue_capacity == 0
            || self.receive_queue_capacity > limits::MAX_RECEIVE_QUEUE_CAPACITY
        {
            return Err(format!(
                "receive_queue_capacity must be between 1 and {}",
                limits::MAX_RECEIVE_QUEUE_CAPACITY
            ));
        }
        Ok(())
    }
}
