//! `[queue]`'s settings: the durable queue's backend and bounds, the type the queue is opened
//! with, and the check of each bound. The manifest parser builds it ([`crate::manifest`]),
//! calling these checks and attaching the key and the line to what they refuse.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::redis::{read_tls_ca, RedisUrl, TlsCaError};
use crate::limits::queue as lim;
use crate::limits::{within, OutOfRange};

/// A `[queue]` value the queue cannot run with.
#[derive(Debug, Clone, thiserror::Error)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum QueueSettingError {
    /// `backend` names nothing known.
    #[error("`{0}` is not \"disk\", \"memory\", a redis:// or a rediss:// URL")]
    UnknownBackend(String),
    /// A `redis://` backend that is not a URL.
    #[error("`{shown}` is not a valid Redis URL: {source}")]
    BadRedisUrl {
        /// The URL, password redacted.
        shown: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// A Redis URL with a `#fragment` (some clients read `#insecure` as "skip verification").
    #[error(
        "`{shown}`: a URL fragment (`#…`, e.g. `#insecure`) is not supported; the server's \
         certificate is always verified (for a private CA set `tls_ca`)"
    )]
    RedisUrlFragment {
        /// The URL, password redacted.
        shown: String,
    },
    /// A count outside its range.
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    /// `dedupe_window_secs` shorter than Feishu's first redelivery.
    #[error(
        "must be at least {} (Feishu's first redelivery comes ~18 s after the first push; the \
         default {} outlasts its whole ladder)",
        lim::MIN_DEDUPE_WINDOW.as_secs(),
        crate::limits::DEDUPE_WINDOW.as_secs()
    )]
    DedupeWindowTooShort,
    /// A count that must be positive is zero.
    #[error("must be greater than 0")]
    Zero,
    /// `claim_idle_secs` too short for three heartbeats.
    #[error(
        "must be at least {} (default {})",
        lim::MIN_REDIS_CLAIM_IDLE.as_secs(),
        lim::REDIS_CLAIM_IDLE.as_secs()
    )]
    ClaimIdleTooShort,
    /// `instance` is not a usable Redis key part.
    #[error(
        "`{name}` is not a valid instance name: 1 to {max} characters of A-Z a-z 0-9 - _ .",
        max = lim::MAX_INSTANCE_NAME
    )]
    BadInstance {
        /// The name given (trimmed).
        name: String,
    },
    /// `tls_ca` without a `rediss://` backend.
    #[error("only applies to a rediss:// (TLS) backend")]
    TlsCaWithoutTls,
    /// The `tls_ca` file is unusable.
    #[error(transparent)]
    TlsCa(#[from] TlsCaError),
    /// `ack` names nothing known.
    #[error("`{0}` is neither \"after-persist\" nor \"after-handle\"")]
    UnknownAck(String),
}

/// Where queued events are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum QueueBackend {
    /// An embedded redb file at [`QueueSettings::path`] (the default): survives crashes.
    Disk,
    /// Process memory: the same semantics, lost on exit.
    Memory,
    /// A Redis server shared by several instances of the app (`redis://host:port/db`, or
    /// `rediss://` for TLS, with `tls_ca` when set); the URL's password is redacted wherever
    /// it is shown.
    Redis(RedisUrl),
}

impl QueueBackend {
    /// The backend `value` names: `disk`, `memory`, or a `redis://` / `rediss://` URL (which
    /// must parse and carry no `#fragment`).
    pub fn from_name(value: &str) -> Result<QueueBackend, QueueSettingError> {
        match value.trim() {
            "disk" => Ok(QueueBackend::Disk),
            "memory" => Ok(QueueBackend::Memory),
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                let shown = RedisUrl::new(url).redacted();
                match url::Url::parse(url) {
                    Err(source) => Err(QueueSettingError::BadRedisUrl { shown, source }),
                    Ok(u) if u.fragment().is_some() => {
                        Err(QueueSettingError::RedisUrlFragment { shown })
                    }
                    Ok(_) => Ok(QueueBackend::Redis(RedisUrl::new(url))),
                }
            }
            other => Err(QueueSettingError::UnknownBackend(other.to_string())),
        }
    }
}

/// When a plain event is acked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum AckMode {
    /// Once persisted in the queue (the default); handlers run from the queue.
    #[default]
    AfterPersist,
    /// Once the handlers finished (the official SDKs' semantics): 500 on failure, so Feishu
    /// redelivers; no queue, in-memory dedupe only.
    AfterHandle,
}

impl AckMode {
    /// The mode `value` names: `after-persist` or `after-handle`.
    pub fn from_name(value: &str) -> Result<AckMode, QueueSettingError> {
        match value.trim() {
            "after-persist" => Ok(AckMode::AfterPersist),
            "after-handle" => Ok(AckMode::AfterHandle),
            other => Err(QueueSettingError::UnknownAck(other.to_string())),
        }
    }
}

/// `[queue]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct QueueSettings {
    /// The backend.
    pub backend: QueueBackend,
    /// The disk backend's file, resolved against the manifest's directory.
    pub path: PathBuf,
    /// Most jobs held; when full, deliveries are not acked.
    pub capacity: u64,
    /// Dedupe window.
    pub dedupe_window: Duration,
    /// Most dedupe ids remembered.
    pub dedupe_max_entries: u64,
    /// When plain events are acked.
    pub ack: AckMode,
    /// Redis backend: another instance's entry idle this long is claimed.
    pub claim_idle: Duration,
    /// Redis backend: this process's consumer name (`[queue] instance`), when set; `None`
    /// derives it from the host name and the manifest's path (see [`QueueSettings::instance_base`]).
    pub instance: Option<String>,
    /// The manifest's path, for the default instance name.
    pub manifest_path: PathBuf,
}

impl QueueSettings {
    /// The defaults for a manifest in `dir`.
    pub fn defaults_in(dir: &Path) -> QueueSettings {
        QueueSettings {
            backend: QueueBackend::Disk,
            path: dir.join(lim::DEFAULT_PATH),
            capacity: lim::CAPACITY,
            dedupe_window: crate::limits::DEDUPE_WINDOW,
            dedupe_max_entries: lim::DEDUPE_MAX_ENTRIES,
            ack: AckMode::AfterPersist,
            claim_idle: lim::REDIS_CLAIM_IDLE,
            instance: None,
            manifest_path: dir.join("aviary.toml"),
        }
    }

    /// Checks a `capacity` (`1..=``lim::MAX_CAPACITY`).
    pub fn check_capacity(n: u64) -> Result<u64, QueueSettingError> {
        Ok(within(n, lim::MAX_CAPACITY)?)
    }

    /// Checks a `dedupe_window_secs` (at least `lim::MIN_DEDUPE_WINDOW`).
    pub fn check_dedupe_window_secs(secs: u64) -> Result<Duration, QueueSettingError> {
        let window = Duration::from_secs(secs);
        if window < lim::MIN_DEDUPE_WINDOW {
            return Err(QueueSettingError::DedupeWindowTooShort);
        }
        Ok(window)
    }

    /// Checks a `dedupe_max_entries` (at least 1).
    pub fn check_dedupe_max_entries(n: u64) -> Result<u64, QueueSettingError> {
        if n == 0 {
            return Err(QueueSettingError::Zero);
        }
        Ok(n)
    }

    /// Checks a `claim_idle_secs` (at least `lim::MIN_REDIS_CLAIM_IDLE`).
    pub fn check_claim_idle_secs(secs: u64) -> Result<Duration, QueueSettingError> {
        let idle = Duration::from_secs(secs);
        if idle < lim::MIN_REDIS_CLAIM_IDLE {
            return Err(QueueSettingError::ClaimIdleTooShort);
        }
        Ok(idle)
    }

    /// Checks an `instance` name (trimmed: 1 to `lim::MAX_INSTANCE_NAME` characters of
    /// `A-Z a-z 0-9 - _ .`, as it becomes part of Redis key names).
    pub fn check_instance(name: &str) -> Result<String, QueueSettingError> {
        let name = name.trim();
        if name.is_empty()
            || name.len() > lim::MAX_INSTANCE_NAME
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(QueueSettingError::BadInstance {
                name: name.to_string(),
            });
        }
        Ok(name.to_string())
    }

    /// Trusts only the CA in the PEM file `path` for the `rediss://` backend: the backend must
    /// be one, and the file must hold a certificate (it is read now, and again when
    /// connecting).
    pub fn set_tls_ca(&mut self, path: PathBuf) -> Result<(), QueueSettingError> {
        match &mut self.backend {
            QueueBackend::Redis(url) if url.is_tls() => {
                read_tls_ca(&path)?;
                *url = url.clone().with_tls_ca(path);
                Ok(())
            }
            _ => Err(QueueSettingError::TlsCaWithoutTls),
        }
    }

    /// The default instance name: `<host>-<8 hex digits of a hash of the manifest's absolute
    /// path>`, stable across restarts of the same deployment.
    pub fn instance_base(&self) -> String {
        use sha2::Digest;
        let path = std::fs::canonicalize(&self.manifest_path)
            .unwrap_or_else(|_| self.manifest_path.clone());
        let digest = sha2::Sha256::digest(path.to_string_lossy().as_bytes());
        format!(
            "{}-{:02x}{:02x}{:02x}{:02x}",
            super::redis::hostname(),
            digest[0],
            digest[1],
            digest[2],
            digest[3]
        )
    }
}
