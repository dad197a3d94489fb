//! `[queue]`'s settings: the durable queue's backend and bounds, the type the queue is opened
//! with. The manifest parser builds it ([`crate::manifest`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::redis::RedisUrl;
use crate::limits::queue as lim;

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
            super::redis::hostname(),
            digest[0],
            digest[1],
            digest[2],
            digest[3]
        )
    }
}
