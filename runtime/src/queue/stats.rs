//! Counters of the queue, for logs and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one queue.
#[derive(Debug, Default)]
pub struct QueueStats {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    refused_full: AtomicU64,
    persist_failures: AtomicU64,
    completed: AtomicU64,
    retries: AtomicU64,
    dead_lettered: AtomicU64,
    commits: AtomicU64,
}

/// A copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueSnapshot {
    /// Events persisted as jobs (and acked 200).
    pub accepted: u64,
    /// Deliveries whose dedupe id was already known (acked 200, not run again).
    pub duplicates: u64,
    /// Deliveries refused because the queue was full (not acked; Feishu redelivers).
    pub refused_full: u64,
    /// Deliveries that could not be persisted (storage error; not acked).
    pub persist_failures: u64,
    /// Jobs whose handlers all finished.
    pub completed: u64,
    /// Handler runs scheduled again after `retry` or a failure.
    pub retries: u64,
    /// Jobs moved to the dead letters.
    pub dead_lettered: u64,
    /// Durable transactions (group commits).
    pub commits: u64,
}

macro_rules! counters {
    ($($name:ident),*) => {
        impl QueueStats {
            $(
                #[doc = concat!("Adds to `", stringify!($name), "`.")]
                pub fn $name(&self, n: u64) {
                    self.$name.fetch_add(n, Ordering::Relaxed);
                }
            )*

            /// The counters now.
            pub fn snapshot(&self) -> QueueSnapshot {
                QueueSnapshot { $($name: self.$name.load(Ordering::Relaxed)),* }
            }
        }
    };
}

counters!(
    accepted,
    duplicates,
    refused_full,
    persist_failures,
    completed,
    retries,
    dead_lettered,
    commits
);
