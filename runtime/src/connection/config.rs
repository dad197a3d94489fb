//! The effective `ClientConfig`: the server's latest values with the manifest's pins on top.

use std::time::Duration;

use crate::protocol::client_config::IgnoredKey;
use crate::protocol::{ClientConfig, ClientConfigUpdate};

/// Settings pinned by the manifest; `None` leaves the setting to the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfigPins {
    /// Pins `ReconnectCount`.
    pub reconnect_count: Option<i64>,
    /// Pins `ReconnectInterval`.
    pub reconnect_interval: Option<Duration>,
    /// Pins `ReconnectNonce`.
    pub reconnect_nonce: Option<Duration>,
    /// Pins `PingInterval`.
    pub ping_interval: Option<Duration>,
}

/// What applying one server update did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The effective config changed.
    pub changed: bool,
    /// Keys the server sent for settings the manifest pins (ignored; log at debug).
    pub pinned: Vec<&'static str>,
    /// Keys refused as invalid (e.g. `PingInterval <= 0`; log at warn).
    pub refused: Vec<IgnoredKey>,
}

/// The server's config and the pins; [`ConfigState::effective`] is what is in force.
#[derive(Debug, Clone)]
pub struct ConfigState {
    pins: ConfigPins,
    server: ClientConfig,
}

impl ConfigState {
    /// Starts from the SDK defaults (§1.2) under the given pins.
    pub fn new(pins: ConfigPins) -> Self {
        ConfigState {
            pins,
            server: ClientConfig::default(),
        }
    }

    /// The config in force: each pinned setting from the pins, the rest from the server.
    pub fn effective(&self) -> ClientConfig {
        ClientConfig {
            reconnect_count: self
                .pins
                .reconnect_count
                .unwrap_or(self.server.reconnect_count),
            reconnect_interval: self
                .pins
                .reconnect_interval
                .unwrap_or(self.server.reconnect_interval),
            reconnect_nonce: self
                .pins
                .reconnect_nonce
                .unwrap_or(self.server.reconnect_nonce),
            ping_interval: self.pins.ping_interval.unwrap_or(self.server.ping_interval),
        }
    }

    /// Applies a server update (endpoint answer or pong). Missing keys keep their value and
    /// invalid ones are refused ([`ClientConfig::apply`]); pinned keys are remembered from the
    /// server but do not take effect.
    pub fn apply(&mut self, update: &ClientConfigUpdate) -> Applied {
        let before = self.effective();
        let refused = self.server.apply(update);
        let mut pinned = Vec::new();
        if update.reconnect_count.is_some() && self.pins.reconnect_count.is_some() {
            pinned.push("ReconnectCount");
        }
        if update.reconnect_interval.is_some() && self.pins.reconnect_interval.is_some() {
            pinned.push("ReconnectInterval");
        }
        if update.reconnect_nonce.is_some() && self.pins.reconnect_nonce.is_some() {
            pinned.push("ReconnectNonce");
        }
        if update.ping_interval.is_some() && self.pins.ping_interval.is_some() {
            pinned.push("PingInterval");
        }
        Applied {
            changed: self.effective() != before,
            pinned,
            refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(count: i64, interval: i64, nonce: i64, ping: i64) -> ClientConfigUpdate {
        ClientConfigUpdate {
            reconnect_count: Some(count),
            reconnect_interval: Some(interval),
            reconnect_nonce: Some(nonce),
            ping_interval: Some(ping),
        }
    }

    #[test]
    fn unpinned_settings_follow_the_server() {
        let mut s = ConfigState::new(ConfigPins::default());
        assert_eq!(s.effective(), ClientConfig::default());
        let applied = s.apply(&update(3, 4, 5, 6));
        assert!(applied.changed);
        assert!(applied.pinned.is_empty());
        let e = s.effective();
        assert_eq!(e.reconnect_count, 3);
        assert_eq!(e.reconnect_interval, Duration::from_secs(4));
        assert_eq!(e.reconnect_nonce, Duration::from_secs(5));
        assert_eq!(e.ping_interval, Duration::from_secs(6));
    }

    #[test]
    fn pins_win_and_are_reported() {
        let pins = ConfigPins {
            reconnect_count: Some(2),
            reconnect_interval: None,
            reconnect_nonce: Some(Duration::from_millis(10)),
            ping_interval: Some(Duration::from_millis(250)),
        };
        let mut s = ConfigState::new(pins);
        assert_eq!(s.effective().ping_interval, Duration::from_millis(250));
        let applied = s.apply(&update(-1, 0, 30, 120));
        assert_eq!(
            applied.pinned,
            vec!["ReconnectCount", "ReconnectNonce", "PingInterval"]
        );
        let e = s.effective();
        assert_eq!(e.reconnect_count, 2);
        assert_eq!(e.reconnect_interval, Duration::ZERO);
        assert_eq!(e.reconnect_nonce, Duration::from_millis(10));
        assert_eq!(e.ping_interval, Duration::from_millis(250));
    }

    #[test]
    fn missing_and_invalid_keys_keep_values() {
        let mut s = ConfigState::new(ConfigPins::default());
        let applied = s.apply(&ClientConfigUpdate {
            ping_interval: Some(0),
            ..Default::default()
        });
        assert!(!applied.changed);
        assert_eq!(applied.refused.len(), 1);
        assert_eq!(s.effective(), ClientConfig::default());
    }
}
