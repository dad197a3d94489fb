//! The durable event queue: events are persisted (with dedupe) before they are acked, and workers
//! run the handlers from the store (issue 5).
//!
//! ```text
//! connection ─▶ QueueSink::handle ─▶ writer (group commit: admit + dedupe, fsync) ─▶ ack 200
//!                   │ card callback                          │ committed jobs
//!                   ▼                                        ▼
//!          synchronous Dispatcher                 scheduler (per-chat lanes, in-flight bound,
//!          (answer rides in the ack)              retry timers) ─▶ job task: pending handlers
//!                                                            │ outcome (done / retry / dead)
//!                                                            ▼
//!                                                 writer (same group commit) ─▶ scheduler
//! ```
//!
//! - [`store`]: the [`QueueStore`] trait every backend implements (one durable transaction per
//!   batch of admissions and settlements; async, awaited on the caller's runtime), plus the
//!   record types and [`StoreError`].
//! - [`disk`]: the default backend on [redb](https://docs.rs/redb); [`memory`]: the same
//!   semantics without durability; [`redis`]: one queue shared by several instances (a
//!   stream with a consumer group; a dead instance's jobs are claimed by the others).
//! - [`engine`]: the writer (group commit), the scheduler and the job runner; [`sink`]: the
//!   [`crate::dispatch::EventSink`] the connection talks to.
//! - [`retry`]: the backoff schedule (exponential with jitter).
//!
//! **Guarantees.** An event is acked 200 only once its job (or the fact that it is a duplicate)
//! is durable. Each (event, handler) pair keeps its own state, so a retry re-runs only the
//! handler that failed. A handler's outcome is committed before the next event of the same chat
//! starts (with `per_chat_ordering`), so order survives crashes. A handler *run* that is cut off
//! by a crash (SIGKILL, power loss) before its outcome was committed is run again after the
//! restart (with a higher `attempt`): handler runs are at-least-once, acceptance and completion
//! exactly-once. External effects should be keyed by the event's `dedupe_id` when a repeat must
//! be harmless.

#[cfg(unix)]
pub mod admin;
pub mod control;
pub mod disk;
pub mod engine;
mod error;
pub mod kv;
pub mod memory;
pub mod merge;
pub mod redis;
pub mod retry;
pub mod settings;
pub mod sink;
pub mod stats;
pub mod store;

pub use engine::{Queue, QueueHandler};
pub use settings::{AckMode, QueueBackend, QueueSettingError, QueueSettings};
pub use sink::QueueSink;
pub use stats::{QueueSnapshot, QueueStats};
#[cfg(any(test, feature = "internals"))]
pub use store::{Batch, HandlerStatus, NewJob};
pub use store::{QueueStore, StoreError};

use std::sync::Arc;

/// Opens the store the manifest's `[queue]` names (`app_id` prefixes the Redis keys) for
/// `aviary run`: on Redis under the instance's name (`[queue] instance`, or the default from
/// [`QueueSettings::instance_base`]), so a restart resumes its own pending entries. The error
/// is one line that says what failed and where (e.g. the path that cannot be created, or the
/// Redis URL with its password redacted).
pub async fn open_store(
    settings: &QueueSettings,
    app_id: &str,
) -> Result<Arc<dyn QueueStore>, StoreError> {
    match &settings.backend {
        QueueBackend::Memory => Ok(Arc::new(memory::MemoryStore::new())),
        QueueBackend::Disk => Ok(Arc::new(disk::DiskStore::open(&settings.path)?)),
        QueueBackend::Redis(url) => Ok(Arc::new(match &settings.instance {
            Some(name) => redis::RedisStore::open(url, app_id, name, settings.claim_idle).await?,
            None => {
                redis::RedisStore::open_instance(
                    url,
                    app_id,
                    &settings.instance_base(),
                    settings.claim_idle,
                )
                .await?
            }
        })),
    }
}

/// Opens only the key-value state of the manifest's `[queue]` backend, for a process that runs
/// no queue (`ack = "after-handle"`): the queue file (locked, as by `aviary run`), a Redis
/// connection, or memory.
pub async fn open_kv(
    settings: &QueueSettings,
    app_id: &str,
) -> Result<Arc<dyn crate::kv::KvStore>, StoreError> {
    match &settings.backend {
        QueueBackend::Memory => Ok(Arc::new(kv::memory::MemoryKv::new(Arc::default()))),
        QueueBackend::Disk => Ok(Arc::new(disk::DiskStore::open(&settings.path)?.kv_store())),
        QueueBackend::Redis(url) => Ok(Arc::new(kv::redis::RedisKv::connect(url, app_id).await?)),
    }
}

/// Opens the store for the `dlq` commands: on Redis as a consumer of its own (it runs no job).
pub async fn open_admin_store(
    settings: &QueueSettings,
    app_id: &str,
) -> Result<Arc<dyn QueueStore>, StoreError> {
    match &settings.backend {
        QueueBackend::Redis(url) => Ok(Arc::new(
            redis::RedisStore::open(url, app_id, &consumer_name(), settings.claim_idle).await?,
        )),
        _ => open_store(settings, app_id).await,
    }
}

/// A consumer name unique to this process: host, pid and a random suffix.
pub fn consumer_name() -> String {
    format!(
        "{}-{}-{:08x}",
        redis::hostname(),
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Opens the disk store at `path` (tests of the `dlq` commands).
#[cfg(any(test, feature = "internals"))]
pub fn open_disk(path: &std::path::Path) -> Result<disk::DiskStore, StoreError> {
    disk::DiskStore::open(path)
}
