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
    callbacks_late: AtomicU64,
    in_flight: AtomicU64,
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
    Failed,
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
            CallCounter::Failed => &self.failed,
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
