//! The TOML manifest (`aviary run --manifest aviary.toml`), parsed once into typed, validated
//! settings. Nothing outside this module sees raw TOML.
//!
//! The reference for every key — defaults, bounds, `${VAR}` expansion, who wins between the
//! manifest and the server's `ClientConfig` — is `docs/manifest.md` (a test, `docs_keys.rs`,
//! fails when a key the parser accepts is missing there). Errors always name the file, the line
//! and the dotted key; the app secret and encrypt key live in [`Secret`], whose
//! `Debug`/`Display` print `***`. An `openapi` grant carries the app's `[feishu]` credentials
//! into [`HandlerSettings::openapi`] (see [`crate::openapi`]).

mod build;
mod error;
mod filters;
mod handlers;
mod include;
mod interpolate;
mod kv;
mod merge;
mod operations;
mod outbound;
mod queue;
mod raw;
mod source;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::secret::Secret;
pub use error::ManifestError;
pub use handlers::{HandlerSettings, Location};
pub use include::Deployment;

use crate::admin::AdminSettings;
use crate::connection::{ConnectionOptions, ConnectionSettings, SettingError};
use crate::dispatch::DispatchSettings;
use crate::openapi::pacing::AppSendLimits;
use crate::protocol::endpoint::resolve_domain;
use crate::queue::QueueSettings;
use interpolate::{interpolate, InterpolateError};
use raw::{allowed_keys, RawConnection, RawFeishu, RawManifest};
use source::{dotted, Source};
use toml::Spanned;

/// A loaded, validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Where it was read from.
    pub path: PathBuf,
    /// `[feishu]`: the app and where Feishu is.
    pub feishu: FeishuSettings,
    /// `[connection]`: how the long connection behaves (a type of [`crate::connection`]).
    pub connection: ConnectionSettings,
    /// `[dispatch]`: how events reach handlers.
    pub dispatch: DispatchSettings,
    /// `[queue]`: the durable queue.
    pub queue: QueueSettings,
    /// `[[handler]]`, in manifest order (empty: events go to the built-in log sink).
    pub handlers: Vec<HandlerSettings>,
    /// `[admin]`: the admin server.
    pub admin: AdminSettings,
    /// `[log] format`, when given (`--log-format` and `AVIARY_LOG_FORMAT` win over it).
    pub log_format: Option<crate::process::LogFormat>,
}

/// `[feishu]`, validated.
#[derive(Debug, Clone)]
pub struct FeishuSettings {
    /// The app id (`cli_…`), non-empty.
    pub app_id: String,
    /// The app secret, non-empty.
    pub app_secret: Secret,
    /// The resolved domain: `https://open.feishu.cn`, `https://open.larksuite.com` or the URL given.
    pub domain: String,
    /// Key to decrypt `{"encrypt":…}` payloads, if configured.
    pub encrypt_key: Option<Secret>,
    /// The bot's open_id (`ou_…`), for the filters that need it; `None`: asked from
    /// `GET /open-apis/bot/v3/info` when needed.
    pub bot_open_id: Option<String>,
    /// Feishu's per-app send limits the host paces under (`app_sends_per_second`,
    /// `app_sends_per_minute`; default Feishu's 50 and 1,000).
    pub send_limits: AppSendLimits,
}

impl Manifest {
    /// Reads and validates the manifest at `path`, expanding `${VAR}` from the process
    /// environment, and checks that every handler's component file exists.
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let manifest = Manifest::parse(&text, path, &|name| std::env::var(name).ok())?;
        match ManifestError::from_list(manifest.missing_components()) {
            None => Ok(manifest),
            Some(e) => Err(e),
        }
    }

    /// One error per handler whose component file does not exist or is not a file.
    pub fn missing_components(&self) -> Vec<ManifestError> {
        self.handlers
            .iter()
            .filter(|h| !h.component.is_file())
            .map(|h| ManifestError::Invalid {
                path: self.path.clone(),
                line: h.component_at.line,
                column: h.component_at.column,
                key: "handler.component".into(),
                message: format!(
                    "handler `{}`: component file {} {}",
                    h.name,
                    h.component.display(),
                    if h.component.exists() {
                        "is not a file"
                    } else {
                        "does not exist (paths are relative to the manifest's directory)"
                    }
                ),
            })
            .collect()
    }

    /// The handler called `name`.
    pub fn handler(&self, name: &str) -> Option<&HandlerSettings> {
        self.handlers.iter().find(|h| h.name == name)
    }

    /// Validates manifest text. `path` is used in error messages and to resolve relative paths
    /// (of these, only `[queue] tls_ca` is read here: it must hold a PEM certificate); `env`
    /// looks up `${VAR}`.
    pub fn parse(
        text: &str,
        path: impl AsRef<Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Manifest, ManifestError> {
        let cx = Context {
            path: path.as_ref().to_path_buf(),
            source: Source::new(text),
            env,
        };
        let raw: RawManifest = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
        let feishu = cx.feishu(raw.feishu);
        let connection = cx.connection(raw.connection);
        let queue = cx.queue(raw.queue);
        let rest = cx.dispatch_and_handlers(raw.dispatch, raw.handler, queue.as_ref().ok());
        let operations = match (cx.admin(raw.admin), cx.log(raw.log)) {
            (Ok(admin), Ok(log)) => Ok((admin, log)),
            (admin, log) => Err([admin.err(), log.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()),
        };
        match (feishu, connection, queue, rest, operations) {
            (
                Ok(feishu),
                Ok(connection),
                Ok(queue),
                Ok((dispatch, mut handlers)),
                Ok((admin, log_format)),
            ) => Ok(Manifest {
                handlers: {
                    for h in &mut handlers {
                        if let Some(o) = &mut h.openapi {
                            o.app = crate::openapi::OpenApiApp {
                                app_id: feishu.app_id.clone(),
                                app_secret: feishu.app_secret.clone(),
                                domain: feishu.domain.clone(),
                                send_limits: feishu.send_limits,
                            };
                        }
                    }
                    handlers
                },
                feishu,
                connection,
                dispatch,
                queue,
                admin,
                log_format,
                path: cx.path,
            }),
            (feishu, connection, queue, rest, operations) => {
                let mut all = Vec::new();
                all.extend(feishu.err());
                all.extend(connection.err());
                if let Err(e) = queue {
                    all.extend(match e {
                        ManifestError::Several(list) => list,
                        one => vec![one],
                    });
                }
                if let Err(e) = rest {
                    all.extend(match e {
                        ManifestError::Several(list) => list,
                        one => vec![one],
                    });
                }
                if let Err(list) = operations {
                    all.extend(list);
                }
                Err(ManifestError::from_list(all).expect("at least one error"))
            }
        }
    }

    /// The options the connection runs with.
    pub fn connection_options(&self) -> ConnectionOptions {
        ConnectionOptions {
            domain: self.feishu.domain.clone(),
            app_id: self.feishu.app_id.clone(),
            app_secret: self.feishu.app_secret.clone(),
            encrypt_key: self.feishu.encrypt_key.clone(),
            settings: self.connection.clone(),
        }
    }
}

struct Context<'a> {
    path: PathBuf,
    source: Source<'a>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Context<'_> {
    fn toml_error(&self, e: &toml::de::Error) -> ManifestError {
        let span = e.span().unwrap_or(0..0);
        let (line, column) = self.source.span_start(&span);
        let table = self.source.table_at(span.start);
        let message = e.message().trim().to_string();
        if let Some(key) = backticked_after(&message, "unknown field `") {
            let table = self.source.table_of_key_at(span.start, &key);
            return ManifestError::UnknownKey {
                path: self.path.clone(),
                line,
                column,
                key: dotted(&table, &key),
                allowed: allowed_keys(&table).iter().map(|k| k.to_string()).collect(),
            };
        }
        if let Some(key) = backticked_after(&message, "missing field `") {
            // A missing top-level table is reported at the document; a key missing inside a table
            // at that table's header.
            let (table, line) = if raw::TOP_KEYS.contains(&key.as_str()) {
                (String::new(), 1)
            } else {
                let line = self.source.table_line(&table).unwrap_or(line);
                (table, line)
            };
            return ManifestError::MissingKey {
                path: self.path.clone(),
                line,
                key: dotted(&table, &key),
            };
        }
        ManifestError::Syntax {
            path: self.path.clone(),
            line,
            column,
            key: self.source.key_at(span.start).map(|k| dotted(&table, &k)),
            message,
        }
    }

    fn invalid<T>(
        &self,
        span: &std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> Result<T, ManifestError> {
        Err(self.located(span, key, message))
    }

    /// `message` about the value at `span`, located at its line and column and named `key`.
    fn located(
        &self,
        span: &std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ManifestError {
        let (line, column) = self.source.span_start(span);
        ManifestError::Invalid {
            path: self.path.clone(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// Expands `${VAR}` in a string value.
    fn expand(&self, value: &Spanned<String>, key: &str) -> Result<String, ManifestError> {
        match interpolate(value.get_ref(), self.env) {
            Ok(s) => Ok(s),
            Err(InterpolateError::Missing(var)) => {
                let (line, column) = self.source.span_start(&value.span());
                Err(ManifestError::MissingEnv {
                    path: self.path.clone(),
                    line,
                    column,
                    key: key.to_string(),
                    var,
                })
            }
            Err(InterpolateError::Malformed(why)) => self.invalid(&value.span(), key, why),
        }
    }

    /// Expands a string and refuses an empty (or all-blank) result.
    fn non_empty(&self, value: &Spanned<String>, key: &str) -> Result<String, ManifestError> {
        let s = self.expand(value, key)?;
        if s.trim().is_empty() {
            let how = if value.get_ref().contains("${") {
                " (after expanding environment variables)"
            } else {
                ""
            };
            return self.invalid(&value.span(), key, format!("must not be empty{how}"));
        }
        Ok(s)
    }

    fn feishu(&self, raw: RawFeishu) -> Result<FeishuSettings, ManifestError> {
        let app_id = self
            .non_empty(&raw.app_id, "feishu.app_id")?
            .trim()
            .to_string();
        let app_secret = Secret::new(self.non_empty(&raw.app_secret, "feishu.app_secret")?);
        let domain = match &raw.domain {
            None => resolve_domain(None),
            Some(d) => {
                let value = self.non_empty(d, "feishu.domain")?;
                let value = value.trim();
                if value != "feishu" && value != "lark" {
                    let ok = url::Url::parse(value)
                        .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                        .unwrap_or(false);
                    if !ok {
                        return self.invalid(
                            &d.span(),
                            "feishu.domain",
                            format!(
                                "`{value}` is neither \"feishu\", \"lark\" nor an http(s) URL such as \"https://open.feishu.cn\""
                            ),
                        );
                    }
                }
                resolve_domain(Some(value))
            }
        };
        let encrypt_key = match &raw.encrypt_key {
            None => None,
            Some(k) => Some(Secret::new(self.non_empty(k, "feishu.encrypt_key")?)),
        };
        let bot_open_id = match &raw.bot_open_id {
            None => None,
            Some(v) => {
                let id = self.non_empty(v, "feishu.bot_open_id")?.trim().to_string();
                if !id.starts_with("ou_") || id.chars().any(char::is_whitespace) {
                    return self.invalid(
                        &v.span(),
                        "feishu.bot_open_id",
                        format!("`{id}` is not an open_id (they look like \"ou_…\")"),
                    );
                }
                Some(id)
            }
        };
        let mut send_limits = AppSendLimits::default();
        if let Some(v) = &raw.app_sends_per_second {
            send_limits.per_second =
                AppSendLimits::check_per_second(*v.get_ref()).or_else(|why| {
                    self.invalid(&v.span(), "feishu.app_sends_per_second", why.to_string())
                })?;
        }
        if let Some(v) = &raw.app_sends_per_minute {
            send_limits.per_minute =
                AppSendLimits::check_per_minute(*v.get_ref()).or_else(|why| {
                    self.invalid(&v.span(), "feishu.app_sends_per_minute", why.to_string())
                })?;
        }
        Ok(FeishuSettings {
            app_id,
            app_secret,
            domain,
            encrypt_key,
            bot_open_id,
            send_limits,
        })
    }

    /// Builds `[connection]` with [`ConnectionSettings`]'s setters, which check the bounds; a
    /// refusal is reported at its key.
    fn connection(&self, raw: RawConnection) -> Result<ConnectionSettings, ManifestError> {
        let mut s = ConnectionSettings::default();
        let ms = |v: &Spanned<u64>| Duration::from_millis(*v.get_ref());
        let at = |v: &Spanned<u64>, key: &str, r: Result<(), SettingError>| match r {
            Ok(()) => Ok(()),
            Err(e) => self.invalid(&v.span(), key, e.to_string()),
        };
        if let Some(v) = &raw.auto_reconnect {
            s.auto_reconnect = *v.get_ref();
        }
        s.max_reconnect_attempts = raw.max_reconnect_attempts.map(|v| *v.get_ref());
        s.reconnect_delay = raw.reconnect_delay_ms.as_ref().map(ms);
        s.reconnect_jitter = raw.reconnect_jitter_ms.as_ref().map(ms);
        if let Some(v) = &raw.heartbeat_interval_ms {
            let pinned = s.set_heartbeat_interval(Some(ms(v)));
            at(v, "connection.heartbeat_interval_ms", pinned)?;
        }
        if let Some(v) = &raw.liveness {
            s.liveness = *v.get_ref();
        }
        if let Some(v) = &raw.liveness_grace_ms {
            s.liveness_grace = ms(v);
        }
        if let Some(v) = &raw.connection_timeout_ms {
            let set = s.set_connection_timeout(ms(v));
            at(v, "connection.connection_timeout_ms", set)?;
        }
        if let Some(v) = &raw.receive_queue_capacity {
            let set = s.set_receive_queue_capacity(*v.get_ref());
            at(v, "connection.receive_queue_capacity", set)?;
        }
        Ok(s)
    }
}

/// The text between `prefix` and the next backtick, e.g. the key of "unknown field `foo`, …".
fn backticked_after(message: &str, prefix: &str) -> Option<String> {
    let start = message.find(prefix)? + prefix.len();
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

#[cfg(test)]
mod docs_keys;
#[cfg(test)]
mod filter_tests;
#[cfg(test)]
mod outbound_tests;
#[cfg(test)]
mod tests;
