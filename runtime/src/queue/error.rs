//! [`StoreError`]: what can go wrong at the queue store seam, one variant per cause, each
//! keeping the error it came from as its [`std::error::Error::source`].
//!
//! Every message is one line that names the queue (its file, or its Redis URL with the password
//! redacted) and what failed. The error is [`Clone`] (the writer hands one failed commit's error
//! to every event of the batch), so the sources are shared behind [`Arc`].

use std::path::PathBuf;
use std::sync::Arc;

/// A queue store failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The disk queue's directory cannot be created.
    #[error("queue {}: cannot create the queue directory: {source}", path.display())]
    CreateDir {
        /// The queue file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// Another process has the disk queue's file open (redb's file lock).
    #[error(
        "queue {}: cannot open: another aviary process has this queue open (stop it first, or \
         give each instance its own [queue] path)",
        path.display()
    )]
    Locked {
        /// The queue file.
        path: PathBuf,
    },
    /// The disk queue was closed (its app stopped): the file is free for another process.
    #[error("queue {}: closed (the app stopped)", path.display())]
    Closed {
        /// The queue file.
        path: PathBuf,
    },
    /// A redb operation on the disk queue failed.
    #[error("queue {}: {what}: {source}", path.display())]
    Disk {
        /// The queue file.
        path: PathBuf,
        /// What was being done (or which table).
        what: &'static str,
        /// redb's error.
        #[source]
        source: Arc<redb::Error>,
    },
    /// The disk backend's blocking task did not finish (it panicked, or the runtime is
    /// shutting down).
    #[error("queue {}: the blocking task failed: {source}", path.display())]
    Blocking {
        /// The queue file.
        path: PathBuf,
        /// Tokio's error.
        #[source]
        source: Arc<tokio::task::JoinError>,
    },
    /// A stored record cannot be decoded.
    #[error("queue {queue}: {what} is unreadable: {source}")]
    Unreadable {
        /// The queue (a path, or a redacted Redis URL).
        queue: String,
        /// What it is (`a stored job`, `a dead letter`).
        what: &'static str,
        /// The JSON error.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// The Redis URL or `[queue] tls_ca` cannot be used.
    #[error("queue {url}: {source}")]
    RedisConfig {
        /// The URL, password redacted.
        url: String,
        /// What is wrong with it.
        #[source]
        source: super::redis::ConfigError,
    },
    /// A Redis command or script failed.
    #[error("queue {url}: {what}: {source}{hint}")]
    Redis {
        /// The URL, password redacted.
        url: String,
        /// What was being done.
        what: &'static str,
        /// The client's error.
        #[source]
        source: redis::RedisError,
        /// For a failed TLS handshake: what was trusted and what to do (else empty).
        hint: String,
    },
    /// Another live process holds this Redis instance name.
    #[error(
        "queue {url}: instance name `{name}` is in use by another live process ({holder}); give \
         each process its own `[queue] instance`, or, if that process just died on another \
         host, start again after claim_idle_secs ({claim_idle_secs} s)"
    )]
    NameInUse {
        /// The URL, password redacted.
        url: String,
        /// The name asked for.
        name: String,
        /// Who holds it (`process <pid> on host <host>`).
        holder: String,
        /// `[queue] claim_idle_secs`.
        claim_idle_secs: u64,
    },
    /// Every default instance name is held by a live process.
    #[error(
        "queue {url}: the instance names `{base}` … `{base}-{slots}` are all held by live \
         processes; set `[queue] instance` to tell this process apart"
    )]
    NoFreeName {
        /// The URL, password redacted.
        url: String,
        /// The default name.
        base: String,
        /// How many names were tried.
        slots: usize,
    },
    /// The dead-letter socket of a running disk queue cannot be served.
    #[error("dlq socket {}: {what}: {source}", path.display())]
    Socket {
        /// The socket file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The backend panicked (a bug); the queue keeps running and tries again.
    #[error("queue: the store panicked while {what}")]
    Panicked {
        /// What the queue was doing.
        what: &'static str,
    },
    /// The queue was shut down before the event was handed to it.
    #[error("the queue is shut down")]
    ShutDown,
    /// The queue's writer stopped before it answered.
    #[error("the queue writer stopped")]
    WriterStopped,
}

impl StoreError {
    /// A redb failure on the disk queue at `path`.
    pub(crate) fn disk(
        path: &std::path::Path,
        what: &'static str,
        e: impl Into<redb::Error>,
    ) -> Self {
        StoreError::Disk {
            path: path.to_path_buf(),
            what,
            source: Arc::new(e.into()),
        }
    }

    /// A `dlq socket` failure (the control server of a running disk queue).
    pub fn socket(path: &std::path::Path, what: &'static str, e: std::io::Error) -> Self {
        StoreError::Socket {
            path: path.to_path_buf(),
            what,
            source: Arc::new(e),
        }
    }
}
