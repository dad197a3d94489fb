//! ClientConfig: ping and reconnect settings sent by the server in the endpoint response and in
//! pongs (§1.2, §4). Units on the wire are seconds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The wire object. Every key is optional here because servers may omit keys; the SDKs then
/// break (§1.2), whereas [`ClientConfig::apply`] keeps the old value for a missing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientConfigUpdate {
    #[serde(rename = "ReconnectCount", skip_serializing_if = "Option::is_none")]
    pub reconnect_count: Option<i64>,
    #[serde(rename = "ReconnectInterval", skip_serializing_if = "Option::is_none")]
    pub reconnect_interval: Option<i64>,
    #[serde(rename = "ReconnectNonce", skip_serializing_if = "Option::is_none")]
    pub reconnect_nonce: Option<i64>,
    #[serde(rename = "PingInterval", skip_serializing_if = "Option::is_none")]
    pub ping_interval: Option<i64>,
}

impl ClientConfigUpdate {
    /// An update carrying all four keys, the way a server must send it.
    pub fn full(config: &ClientConfig) -> Self {
        ClientConfigUpdate {
            reconnect_count: Some(config.reconnect_count),
            reconnect_interval: Some(config.reconnect_interval.as_secs() as i64),
            reconnect_nonce: Some(config.reconnect_nonce.as_secs() as i64),
            ping_interval: Some(config.ping_interval.as_secs() as i64),
        }
    }
}

/// The settings in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// Maximum reconnect attempts; negative means unlimited.
    pub reconnect_count: i64,
    /// Pause between failed reconnect attempts.
    pub reconnect_interval: Duration,
    /// Upper bound of the random jitter applied once before the first reconnect attempt.
    pub reconnect_nonce: Duration,
    /// Interval between client pings.
    pub ping_interval: Duration,
}

impl Default for ClientConfig {
    /// The defaults every SDK uses before the server says otherwise (§1.2).
    fn default() -> Self {
        ClientConfig {
            reconnect_count: -1,
            reconnect_interval: Duration::from_secs(120),
            reconnect_nonce: Duration::from_secs(30),
            ping_interval: Duration::from_secs(120),
        }
    }
}

/// A key of an update that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredKey {
    pub key: &'static str,
    pub reason: &'static str,
}

impl ClientConfig {
    /// Applies an update key by key. Unlike the SDKs (which overwrite all four and break on a
    /// missing key), a missing key keeps its current value, and a non-positive `PingInterval`
    /// or a negative interval/nonce is refused. Returns the keys that were refused.
    pub fn apply(&mut self, update: &ClientConfigUpdate) -> Vec<IgnoredKey> {
        let mut ignored = Vec::new();
        if let Some(count) = update.reconnect_count {
            self.reconnect_count = count;
        }
        let mut secs = |value: Option<i64>, key: &'static str, min: i64, slot: &mut Duration| {
            if let Some(v) = value {
                if v < min {
                    ignored.push(IgnoredKey {
                        key,
                        reason: if min > 0 {
                            "must be > 0"
                        } else {
                            "must be >= 0"
                        },
                    });
                } else {
                    *slot = Duration::from_secs(v as u64);
                }
            }
        };
        secs(
            update.reconnect_interval,
            "ReconnectInterval",
            0,
            &mut self.reconnect_interval,
        );
        secs(
            update.reconnect_nonce,
            "ReconnectNonce",
            0,
            &mut self.reconnect_nonce,
        );
        secs(
            update.ping_interval,
            "PingInterval",
            1,
            &mut self.ping_interval,
        );
        ignored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_invalid_keys_keep_old_values() {
        let mut c = ClientConfig::default();
        let update: ClientConfigUpdate =
            serde_json::from_str(r#"{"PingInterval":0,"ReconnectCount":3}"#).unwrap();
        let ignored = c.apply(&update);
        assert_eq!(ignored.len(), 1);
        assert_eq!(ignored[0].key, "PingInterval");
        assert_eq!(c.ping_interval, Duration::from_secs(120));
        assert_eq!(c.reconnect_count, 3);
        assert_eq!(c.reconnect_interval, Duration::from_secs(120));
    }

    #[test]
    fn full_update_round_trips_with_all_four_keys() {
        let c = ClientConfig {
            reconnect_count: 2,
            reconnect_interval: Duration::from_secs(5),
            reconnect_nonce: Duration::from_secs(1),
            ping_interval: Duration::from_secs(2),
        };
        let json = serde_json::to_string(&ClientConfigUpdate::full(&c)).unwrap();
        for key in [
            "ReconnectCount",
            "ReconnectInterval",
            "ReconnectNonce",
            "PingInterval",
        ] {
            assert!(json.contains(key), "{json}");
        }
        let mut d = ClientConfig::default();
        d.apply(&serde_json::from_str(&json).unwrap());
        assert_eq!(c, d);
    }
}
