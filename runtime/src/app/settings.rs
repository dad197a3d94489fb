//! One app's settings as types ([`Settings`]), for embedders without a manifest file; a
//! manifest is read into the same types ([`Settings::from_manifest`]).

use crate::admin::AdminSettings;
use crate::connection::ConnectionOptions;
use crate::dispatch::DispatchSettings;
use crate::manifest::Manifest;
use crate::openapi::pacing::AppSendLimits;
use crate::queue::QueueSettings;

/// Everything one app runs with except its handlers: who it is and how it connects, how events
/// reach handlers, and the durable queue. Each field is its subsystem's own settings type,
/// with that subsystem's defaults.
///
/// ```
/// use aviary::Settings;
/// use aviary::settings::QueueBackend;
///
/// let mut settings = Settings::new("feishu", "cli_a1b2c3d4e5f6a7b8", "app-secret");
/// settings.queue.backend = QueueBackend::Memory; // no file; lost on exit
/// settings.dispatch.per_chat_ordering = true;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// The app (id, secret, domain, encrypt key) and `[connection]`.
    pub connection: ConnectionOptions,
    /// `[dispatch]`.
    pub dispatch: DispatchSettings,
    /// `[queue]`. The default is the disk backend at `.aviary/queue.redb` under the current
    /// directory (acked means persisted, as with a manifest there).
    pub queue: QueueSettings,
    /// `[admin]`: the admin server. Off unless set (a manifest turns it on by default).
    pub admin: AdminSettings,
    /// `[feishu] app_sends_per_second` / `app_sends_per_minute`: Feishu's per-app send limits
    /// the OpenAPI client paces under (default Feishu's own).
    pub send_limits: AppSendLimits,
    /// `[feishu] bot_open_id`: the bot's own open_id, for the handlers' filters that need it
    /// (`require_mention`, `ignore_senders`); `None`: asked from the bot info API at start when
    /// a filter needs it.
    pub bot_open_id: Option<String>,
}

impl Settings {
    /// Defaults for the app `app_id` on `domain` (`"feishu"`, `"lark"` or a base URL).
    pub fn new(
        domain: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Settings {
        let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
        Settings {
            connection: ConnectionOptions::new(domain, app_id, app_secret),
            dispatch: DispatchSettings::default(),
            queue: QueueSettings::defaults_in(&dir),
            admin: AdminSettings::off(),
            send_limits: AppSendLimits::default(),
            bot_open_id: None,
        }
    }

    /// The settings a manifest states (its handlers are added by the builder).
    pub(crate) fn from_manifest(manifest: &Manifest) -> Settings {
        Settings {
            connection: manifest.connection_options(),
            dispatch: manifest.dispatch.clone(),
            queue: manifest.queue.clone(),
            admin: manifest.admin.clone(),
            send_limits: manifest.feishu.send_limits,
            bot_open_id: manifest.feishu.bot_open_id.clone(),
        }
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.connection.app_id
    }

    /// The app as the OpenAPI client calls Feishu for it: id, secret, the resolved domain and
    /// the send limits.
    pub(crate) fn openapi_app(&self) -> crate::openapi::OpenApiApp {
        crate::openapi::OpenApiApp {
            app_id: self.connection.app_id.clone(),
            app_secret: self.connection.app_secret.clone(),
            domain: crate::protocol::endpoint::resolve_domain(Some(&self.connection.domain)),
            send_limits: self.send_limits,
        }
    }
}
