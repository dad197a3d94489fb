//! Counters of dispatch, per outcome, in total and per handler (like
//! [`crate::connection::ConnectionStats`]). `aviary run` logs them periodically and on
//! shutdown ([`log_summary`], [`report_periodically`]).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::filter::{FilterCounts, HandlerFilter};

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
    /// Per handler, in manifest order.
    handlers: Vec<(String, HandlerCounters)>,
    /// Per handler (same order), its filters, which count what they skip on every path.
    filters: Vec<Option<Arc<HandlerFilter>>>,
}

/// The call counters of one handler.
#[derive(Debug, Default)]
struct HandlerCounters {
    done: AtomicU64,
    responded: AtomicU64,
    retried: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    failed_by_kind: [AtomicU64; FAILURE_KINDS.len()],
}

/// One handler's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandlerSnapshot {
    /// The handler's name from the manifest.
    pub name: String,
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
    /// Events its filters skipped (not calls), per reason; on the queue's path too.
    pub filtered: FilterCounts,
}

impl HandlerSnapshot {
    /// Calls finished, whatever the result.
    pub fn calls(&self) -> u64 {
        self.done + self.responded + self.retried + self.rejected + self.failed
    }
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
    #[cfg(any(test, feature = "internals"))]
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
    /// Fresh counters, with per-handler counters for `names` (manifest order; the index of a
    /// name is the `handler` argument of the internal `call`).
    pub fn with_handlers(names: impl IntoIterator<Item = String>) -> Self {
        DispatchStats {
            handlers: names
                .into_iter()
                .map(|n| (n, HandlerCounters::default()))
                .collect(),
            ..Self::default()
        }
    }

    /// Fresh counters for `names` that continue `previous` (a reload): the totals and the
    /// counters of handlers `previous` also had start at its values; the in-flight gauge
    /// starts at 0 (events still running on `previous` count there).
    pub fn carried_over(previous: &DispatchStats, names: impl IntoIterator<Item = String>) -> Self {
        let copy = |c: &AtomicU64| AtomicU64::new(c.load(Ordering::Relaxed));
        let copy_kinds =
            |k: &[AtomicU64; FAILURE_KINDS.len()]| std::array::from_fn(|i| copy(&k[i]));
        DispatchStats {
            events: copy(&previous.events),
            no_handler: copy(&previous.no_handler),
            invocations: copy(&previous.invocations),
            done: copy(&previous.done),
            responded: copy(&previous.responded),
            retried: copy(&previous.retried),
            rejected: copy(&previous.rejected),
            failed: copy(&previous.failed),
            failed_by_kind: copy_kinds(&previous.failed_by_kind),
            callbacks_late: copy(&previous.callbacks_late),
            in_flight: AtomicU64::new(0),
            filters: Vec::new(),
            handlers: names
                .into_iter()
                .map(|name| {
                    let counters = match previous.handlers.iter().find(|(n, _)| *n == name) {
                        None => HandlerCounters::default(),
                        Some((_, c)) => HandlerCounters {
                            done: copy(&c.done),
                            responded: copy(&c.responded),
                            retried: copy(&c.retried),
                            rejected: copy(&c.rejected),
                            failed: copy(&c.failed),
                            failed_by_kind: copy_kinds(&c.failed_by_kind),
                        },
                    };
                    (name, counters)
                })
                .collect(),
        }
    }

    /// Attaches the handlers' filters (manifest order), so snapshots and the summary show
    /// what they skipped.
    pub(crate) fn set_filters(&mut self, filters: Vec<Option<Arc<HandlerFilter>>>) {
        self.filters = filters;
    }

    /// Every handler's counters now, in manifest order.
    pub fn handlers(&self) -> Vec<HandlerSnapshot> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        self.handlers
            .iter()
            .enumerate()
            .map(|(i, (name, c))| HandlerSnapshot {
                name: name.clone(),
                done: get(&c.done),
                responded: get(&c.responded),
                retried: get(&c.retried),
                rejected: get(&c.rejected),
                failed: get(&c.failed),
                failures: FailureCounts(std::array::from_fn(|i| get(&c.failed_by_kind[i]))),
                filtered: self
                    .filters
                    .get(i)
                    .and_then(|f| f.as_ref())
                    .map(|f| f.counts())
                    .unwrap_or_default(),
            })
            .collect()
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

    /// Counts one finished call of the handler at index `handler` (manifest order).
    pub(crate) fn call(&self, handler: usize, counter: CallCounter) {
        self.invocations.fetch_add(1, Ordering::Relaxed);
        bump(
            counter,
            [
                &self.done,
                &self.responded,
                &self.retried,
                &self.rejected,
                &self.failed,
            ],
            &self.failed_by_kind,
        );
        if let Some((_, c)) = self.handlers.get(handler) {
            bump(
                counter,
                [&c.done, &c.responded, &c.retried, &c.rejected, &c.failed],
                &c.failed_by_kind,
            );
        }
    }

    pub(crate) fn in_flight_delta(&self, started: bool) {
        if started {
            self.in_flight.fetch_add(1, Ordering::Relaxed);
        } else {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Adds one to the counter `counter` names among `[done, responded, retried, rejected, failed]`
/// (and to its failure kind).
fn bump(counter: CallCounter, outcomes: [&AtomicU64; 5], by_kind: &[AtomicU64]) {
    let i = match counter {
        CallCounter::Done => 0,
        CallCounter::Responded => 1,
        CallCounter::Retried => 2,
        CallCounter::Rejected => 3,
        CallCounter::Failed(kind) => {
            if let Some(k) = FAILURE_KINDS.iter().position(|k| *k == kind) {
                by_kind[k].fetch_add(1, Ordering::Relaxed);
            }
            4
        }
    };
    outcomes[i].fetch_add(1, Ordering::Relaxed);
}

/// The counters as log text: one line of totals, then one line per handler (failure kinds
/// only when non-zero), e.g.
/// `handler echo: 120 calls, done 118, respond 0, retry 0, reject 0, failed 2 (timeout 1, panic 1)`.
pub fn summary(stats: &DispatchStats) -> String {
    let s = stats.snapshot();
    let mut out = format!(
        "events {}, no handler {}, calls {}, in flight {}, late callbacks {}",
        s.events, s.no_handler, s.invocations, s.in_flight, s.callbacks_late
    );
    for h in stats.handlers() {
        let _ = write!(
            out,
            "\nhandler {}: {} calls, done {}, respond {}, retry {}, reject {}, failed {}",
            h.name,
            h.calls(),
            h.done,
            h.responded,
            h.retried,
            h.rejected,
            h.failed
        );
        let kinds: Vec<String> = h
            .failures
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        if !kinds.is_empty() {
            let _ = write!(out, " ({})", kinds.join(", "));
        }
        let filtered = h.filtered.total();
        if filtered > 0 {
            let reasons: Vec<String> = h
                .filtered
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            let _ = write!(out, "; filtered {filtered} ({})", reasons.join(", "));
        }
    }
    out
}

/// Logs [`summary`] at info level, `when` saying why (`"periodic"`, `"final"`).
pub fn log_summary(stats: &DispatchStats, when: &str) {
    tracing::info!(target: "aviary::stats", when, "dispatch counters:\n{}", summary(stats));
}

/// Logs the counters every `every` while they change, until `shutdown`. A quiet bot logs
/// nothing new.
pub async fn report_periodically(
    stats: Arc<DispatchStats>,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut last = (stats.snapshot(), stats.handlers());
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = (stats.snapshot(), stats.handlers());
        if now != last {
            log_summary(&stats, "periodic");
            last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_handler_and_in_total() {
        let stats = DispatchStats::with_handlers(["a".to_string(), "b".to_string()]);
        stats.call(0, CallCounter::Done);
        stats.call(0, CallCounter::Failed("timeout"));
        stats.call(1, CallCounter::Failed("panic"));
        stats.call(1, CallCounter::Responded);
        let total = stats.snapshot();
        assert_eq!((total.invocations, total.done, total.failed), (4, 1, 2));
        let h = stats.handlers();
        assert_eq!((h[0].name.as_str(), h[0].done, h[0].failed), ("a", 1, 1));
        assert_eq!(h[0].failures.get("timeout"), 1);
        assert_eq!(h[1].failures.get("timeout"), 0);
        assert_eq!((h[1].responded, h[1].failures.get("panic")), (1, 1));
        let text = summary(&stats);
        assert!(
            text.starts_with("events 0, no handler 0, calls 4,"),
            "{text}"
        );
        assert!(
            text.contains(
                "handler a: 2 calls, done 1, respond 0, retry 0, reject 0, failed 1 (timeout 1)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "handler b: 2 calls, done 0, respond 1, retry 0, reject 0, failed 1 (panic 1)"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_reload_carries_the_counters_of_the_handlers_it_keeps() {
        let old = DispatchStats::with_handlers(["a".to_string(), "b".to_string()]);
        old.event();
        old.callback_late();
        old.in_flight_delta(true);
        old.call(0, CallCounter::Done);
        old.call(1, CallCounter::Failed("panic"));
        let new = DispatchStats::carried_over(&old, ["b".to_string(), "c".to_string()]);
        let s = new.snapshot();
        assert_eq!((s.events, s.callbacks_late, s.invocations), (1, 1, 2));
        assert_eq!(
            s.in_flight, 0,
            "events running on the old dispatcher count there"
        );
        let h = new.handlers();
        assert_eq!((h[0].name.as_str(), h[0].failures.get("panic")), ("b", 1));
        assert_eq!((h[1].name.as_str(), h[1].calls()), ("c", 0));
        new.call(0, CallCounter::Done);
        assert_eq!(new.handlers()[0].calls(), 2);
        assert_eq!(
            old.handlers()[1].calls(),
            1,
            "the old counters are not touched"
        );
    }
}
