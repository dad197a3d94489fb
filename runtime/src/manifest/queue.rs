//! `[queue]`: the durable queue's backend and bounds, validated into [`QueueSettings`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::RawQueue;
use super::{Context, ManifestError};
use crate::limits::queue as lim;
use crate::queue::redis::RedisUrl;

/// Where queued events are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// When a plain event is acked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// Once persisted in the queue (the default); handlers run from the queue.
    #[default]
    AfterPersist,
    /// Once the handlers finished (the official SDKs' semantics): 500 on failure, so Feishu
    /// redelivers; no queue, in-memory dedupe only.
    AfterHandle,
}

/// `[queue]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
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
            dedupe_window: lim::DEDUPE_WINDOW,
            dedupe_max_entries: lim::DEDUPE_MAX_ENTRIES,
            ack: AckMode::AfterPersist,
            claim_idle: lim::REDIS_CLAIM_IDLE,
            instance: None,
            manifest_path: dir.join("aviary.toml"),
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
            crate::queue::redis::hostname(),
            digest[0],
            digest[1],
            digest[2],
            digest[3]
        )
    }
}

impl Context<'_> {
    pub(super) fn queue(&self, raw: RawQueue) -> Result<QueueSettings, ManifestError> {
        let dir = self.path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut q = QueueSettings::defaults_in(&dir);
        q.manifest_path = self.path.to_path_buf();
        let mut problems = Vec::new();
        let mut push = |r: Result<(), ManifestError>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        if let Some(b) = &raw.backend {
            let value = self.expand(b, "queue.backend");
            push(value.and_then(|v| {
                match v.trim() {
                    "disk" => q.backend = QueueBackend::Disk,
                    "memory" => q.backend = QueueBackend::Memory,
                    other if other.starts_with("redis://") || other.starts_with("rediss://") => {
                        let shown = RedisUrl::new(other).redacted();
                        match url::Url::parse(other) {
                            Err(e) => {
                                return self.invalid(
                                    &b.span(),
                                    "queue.backend",
                                    format!("`{shown}` is not a valid Redis URL: {e}"),
                                )
                            }
                            Ok(u) if u.fragment().is_some() => {
                                return self.invalid(
                                    &b.span(),
                                    "queue.backend",
                                    format!(
                                        "`{shown}`: a URL fragment (`#…`, e.g. `#insecure`) is \
                                         not supported; the server's certificate is always \
                                         verified (for a private CA set `tls_ca`)"
                                    ),
                                )
                            }
                            Ok(_) => {}
                        }
                        q.backend = QueueBackend::Redis(RedisUrl::new(other));
                    }
                    other => {
                        return self.invalid(
                            &b.span(),
                            "queue.backend",
                            format!(
                                "`{other}` is not \"disk\", \"memory\", a redis:// or a \
                                 rediss:// URL"
                            ),
                        )
                    }
                }
                Ok(())
            }));
        }
        if let Some(p) = &raw.path {
            push(
                self.non_empty(p, "queue.path")
                    .map(|v| q.path = dir.join(v.trim())),
            );
        }
        if let Some(v) = &raw.capacity {
            let n = *v.get_ref();
            if n == 0 || n > lim::MAX_CAPACITY {
                push(self.invalid(
                    &v.span(),
                    "queue.capacity",
                    format!("must be between 1 and {} (got {n})", lim::MAX_CAPACITY),
                ));
            } else {
                q.capacity = n;
            }
        }
        if let Some(v) = &raw.dedupe_window_secs {
            let secs = *v.get_ref();
            if Duration::from_secs(secs) < lim::MIN_DEDUPE_WINDOW {
                push(self.invalid(
                    &v.span(),
                    "queue.dedupe_window_secs",
                    format!(
                        "must be at least {} (Feishu's first redelivery comes ~18 s after the \
                         first push; the default {} outlasts its whole ladder)",
                        lim::MIN_DEDUPE_WINDOW.as_secs(),
                        lim::DEDUPE_WINDOW.as_secs()
                    ),
                ));
            } else {
                q.dedupe_window = Duration::from_secs(secs);
            }
        }
        if let Some(v) = &raw.dedupe_max_entries {
            if *v.get_ref() == 0 {
                push(self.invalid(
                    &v.span(),
                    "queue.dedupe_max_entries",
                    "must be greater than 0",
                ));
            } else {
                q.dedupe_max_entries = *v.get_ref();
            }
        }
        if let Some(v) = &raw.claim_idle_secs {
            let secs = *v.get_ref();
            if Duration::from_secs(secs) < lim::MIN_REDIS_CLAIM_IDLE {
                push(self.invalid(
                    &v.span(),
                    "queue.claim_idle_secs",
                    format!(
                        "must be at least {} (default {})",
                        lim::MIN_REDIS_CLAIM_IDLE.as_secs(),
                        lim::REDIS_CLAIM_IDLE.as_secs()
                    ),
                ));
            } else {
                q.claim_idle = Duration::from_secs(secs);
            }
        }
        if let Some(v) = &raw.instance {
            let name = v.get_ref().trim();
            if name.is_empty()
                || name.len() > lim::MAX_INSTANCE_NAME
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                push(self.invalid(
                    &v.span(),
                    "queue.instance",
                    format!(
                        "`{name}` is not a valid instance name: 1 to {} characters of A-Z a-z \
                         0-9 - _ .",
                        lim::MAX_INSTANCE_NAME
                    ),
                ));
            } else {
                q.instance = Some(name.to_string());
            }
        }
        if let Some(v) = &raw.tls_ca {
            let path = dir.join(v.get_ref().trim());
            match &mut q.backend {
                QueueBackend::Redis(url) if url.is_tls() => {
                    match crate::queue::redis::read_tls_ca(&path) {
                        Ok(_) => *url = url.clone().with_tls_ca(path),
                        Err(e) => push(self.invalid(&v.span(), "queue.tls_ca", e)),
                    }
                }
                _ => push(self.invalid(
                    &v.span(),
                    "queue.tls_ca",
                    "only applies to a rediss:// (TLS) backend",
                )),
            }
        }
        if let Some(a) = &raw.ack {
            match a.get_ref().trim() {
                "after-persist" => q.ack = AckMode::AfterPersist,
                "after-handle" => q.ack = AckMode::AfterHandle,
                other => push(self.invalid(
                    &a.span(),
                    "queue.ack",
                    format!("`{other}` is neither \"after-persist\" nor \"after-handle\""),
                )),
            }
        }
        match ManifestError::from_list(problems) {
            None => Ok(q),
            Some(e) => Err(e),
        }
    }
}
