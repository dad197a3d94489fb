//! Counters of dispatch, per outcome (like [`crate::connection::ConnectionStats`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters; cheap to update from any task.
#[derive(Debug, Default)]
pub struct DispatchStats {
    events: AtomicU64,
    no_handler: AtomicU64,
    invocations: AtomicU64,
    done: AtomicU64,
    responded: AtomicU64,
    retried: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    failed_by_kind: [AtomicU64; FAILURE_KINDS.len()],
    callbacks_late: AtomicU64,
    in_flight: AtomicU64,
}

/// Every [`crate::handler::Failure::kind`], in the order of [`FailureCounts`].
pub const FAILURE_KINDS: [&str; 7] = [
    "out_of_fuel",
    "timeout",
    "memory_limit",
    "panic",
    "stack_overflow",
    "trap",
    "host_error",
];

/// Failed calls per failure kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureCounts([u64; FAILURE_KINDS.len()]);

impl FailureCounts {
    /// The count for one kind (`"timeout"`, `"panic"`, …; see [`FAILURE_KINDS`]); 0 if unknown.
    pub fn get(&self, kind: &str) -> u64 {
        FAILURE_KINDS
            .iter()
            .position(|k| *k == kind)
            .map_or(0, |i| self.0[i])
    }

    /// `(kind, count)` for every kind.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        FAILURE_KINDS.iter().copied().zip(self.0.iter().copied())
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchSnapshot {
    /// Events received.
    pub events: u64,
    /// Events no handler subscribes to (acked 500).
    pub no_handler: u64,
    /// Handler calls finished (whatever the result).
    pub invocations: u64,
    /// Calls that returned `done`.
    pub done: u64,
    /// Calls that returned `respond`.
    pub responded: u64,
    /// Calls that returned `retry`.
    pub retried: u64,
    /// Calls that returned `reject`.
    pub rejected: u64,
    /// Calls that failed (trap, timeout, limits, host error).
    pub failed: u64,
    /// The failed calls by kind.
    pub failures: FailureCounts,
    /// Card callbacks acked by the deadline fallback because a handler was late.
    pub callbacks_late: u64,
    /// Events whose handlers are running now.
    pub in_flight: u64,
}

/// Which counter to bump for one call's result.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallCounter {
    Done,
    Responded,
    Retried,
    Rejected,
    /// A failed call, with its [`crate::handler::Failure::kind`].
    Failed(&'static str),
}

impl DispatchStats {
    /// Fresh counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters now.
    pub fn snapshot(&self) -> DispatchSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DispatchSnapshot {
            events: get(&self.events),
            no_handler: get(&self.no_handler),
            invocations: get(&self.invocations),
            done: get(&self.done),
            responded: get(&self.responded),
            retried: get(&self.retried),
            rejected: get(&self.rejected),
            failed: get(&self.failed),
            failures: FailureCounts(std::array::from_fn(|i| get(&self.failed_by_kind[i]))),
            callbacks_late: get(&self.callbacks_late),
            in_flight: get(&self.in_flight),
        }
    }

    pub(crate) fn event(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn no_handler(&self) {
        self.no_handler.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn callback_late(&self) {
        self.callbacks_late.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn call(&self, counter: CallCounter) {
        self.invocations.fetch_add(1, Ordering::Relaxed);
        let c = match counter {
            CallCounter::Done => &self.done,
            CallCounter::Responded => &self.responded,
            CallCounter::Retried => &self.retried,
            CallCounter::Rejected => &self.rejected,
            CallCounter::Failed(kind) => {
                if let Some(i) = FAILURE_KINDS.iter().position(|k| *k == kind) {
                    self.failed_by_kind[i].fetch_add(1, Ordering::Relaxed);
                }
                &self.failed
            }
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn in_flight_delta(&self, started: bool) {
        if started {
            self.in_flight.fetch_add(1, Ordering::Relaxed);
        } else {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
