//! What the connection runs with: credentials, domain and the `[connection]` settings.

use crate::secret::Secret;

use super::config::ConfigPins;
use super::error::InvalidOptions;
use super::settings::ConnectionSettings;

/// Options of one long connection. Build with [`ConnectionOptions::new`] (every setting at its
/// default) and adjust [`ConnectionOptions::settings`]; a manifest's `[feishu]` and
/// `[connection]` are read into the same type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct ConnectionOptions {
    /// `feishu`, `lark`, or a base URL such as `http://127.0.0.1:9000` (used verbatim).
    pub domain: String,
    /// The app id.
    pub app_id: String,
    /// The app secret; sent only in the endpoint request body.
    pub app_secret: Secret,
    /// Decrypts `{"encrypt":…}` payloads when set.
    pub encrypt_key: Option<Secret>,
    /// How the connection behaves (`[connection]`).
    pub settings: ConnectionSettings,
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
            settings: ConnectionSettings::default(),
        }
    }

    /// The settings pinned by these options.
    pub(crate) fn pins(&self) -> ConfigPins {
        let s = &self.settings;
        ConfigPins {
            reconnect_count: s.max_reconnect_attempts,
            reconnect_interval: s.reconnect_delay,
            reconnect_nonce: s.reconnect_jitter,
            ping_interval: s.heartbeat_interval(),
        }
    }

    /// Checks the credentials (the settings are valid by construction); the manifest already
    /// guarantees both for the options it builds.
    pub(crate) fn validate(&self) -> Result<(), InvalidOptions> {
        if self.app_id.trim().is_empty() {
            return Err(InvalidOptions::EmptyAppId);
        }
        if self.app_secret.is_empty() {
            return Err(InvalidOptions::EmptyAppSecret);
        }
        Ok(())
    }
}
