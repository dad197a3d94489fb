//! Counters and histograms of the queue, for logs, `/metrics` and tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::metrics::{self, Histogram};

/// Live counters of one queue.
#[derive(Debug)]
pub struct QueueStats {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    refused_full: AtomicU64,
    persist_failures: AtomicU64,
    completed: AtomicU64,
    retries: AtomicU64,
    dead_lettered: AtomicU64,
    commits: AtomicU64,
    /// Operations (admissions and settlements) per durable transaction.
    pub commit_size: Histogram,
    /// Time of one durable transaction (the store's commit, fsync included), seconds.
    pub commit_duration: Histogram,
    /// From admission to the job's first run starting, seconds.
    pub start_latency: Histogram,
    /// From admission to the job's completion (every handler done), seconds.
    pub done_latency: Histogram,
}

impl Default for QueueStats {
    fn default() -> Self {
        QueueStats {
            accepted: AtomicU64::default(),
            duplicates: AtomicU64::default(),
            refused_full: AtomicU64::default(),
            persist_failures: AtomicU64::default(),
            completed: AtomicU64::default(),
            retries: AtomicU64::default(),
            dead_lettered: AtomicU64::default(),
            commits: AtomicU64::default(),
            commit_size: metrics::size_histogram(),
            commit_duration: metrics::latency_histogram(),
            start_latency: metrics::latency_histogram(),
            done_latency: metrics::latency_histogram(),
        }
    }
}

impl QueueStats {
    /// Records a time since admission (`enqueued_at_ms`, ms since the Unix epoch) in `h`.
    pub(crate) fn since_admission(h: &Histogram, enqueued_at_ms: u64, now_ms: u64) {
        metrics::observe(
            h,
            Duration::from_millis(now_ms.saturating_sub(enqueued_at_ms)),
        );
    }
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
