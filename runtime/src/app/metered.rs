//! Per-handler call counters, wrapped around every handler the runtime loads ([`Metered`]), so
//! calls are counted the same on every path (the queue's workers, the synchronous dispatcher,
//! Wasm and native alike). Read by `/status` and `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::dispatch::stats::FAILURE_KINDS;
use crate::handler::{GuestEvent, Invoke, InvokeFuture, Outcome};
use crate::metrics::{self, Histogram};

/// The `outcome` label values of a call, in the order of [`HandlerMeter::outcomes`].
pub const OUTCOMES: [&str; 5] = ["done", "respond", "retry", "reject", "failed"];

/// One handler's counters and histograms.
#[derive(Debug)]
pub struct HandlerMeter {
    outcomes: [AtomicU64; OUTCOMES.len()],
    failures: [AtomicU64; FAILURE_KINDS.len()],
    /// Wall time of a call, seconds.
    pub duration: Histogram,
    /// Fuel used by a call (only calls metered for fuel).
    pub fuel: Histogram,
    /// Peak linear memory of a call's instance, bytes (Wasm only).
    pub memory: Histogram,
}

impl Default for HandlerMeter {
    fn default() -> Self {
        HandlerMeter {
            outcomes: Default::default(),
            failures: Default::default(),
            duration: metrics::latency_histogram(),
            fuel: Histogram::new(metrics::FUEL_BUCKETS),
            memory: Histogram::new(metrics::MEMORY_BUCKETS),
        }
    }
}

impl HandlerMeter {
    /// `(outcome, calls)` for every outcome of [`OUTCOMES`].
    pub fn outcomes(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        OUTCOMES
            .iter()
            .zip(&self.outcomes)
            .map(|(k, n)| (*k, n.load(Ordering::Relaxed)))
    }

    /// `(kind, failed calls)` for every failure kind.
    pub fn failures(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        FAILURE_KINDS
            .iter()
            .zip(&self.failures)
            .map(|(k, n)| (*k, n.load(Ordering::Relaxed)))
    }

    /// Calls finished, whatever the result.
    pub fn calls(&self) -> u64 {
        self.outcomes().map(|(_, n)| n).sum()
    }

    /// Calls that failed (no outcome).
    pub fn failed(&self) -> u64 {
        self.outcomes[4].load(Ordering::Relaxed)
    }
}

/// A handler with its calls counted into a [`HandlerMeter`].
pub(crate) struct Metered {
    pub inner: Arc<dyn Invoke>,
    pub meter: Arc<HandlerMeter>,
}

impl Invoke for Metered {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn instances(&self) -> Option<(u64, u64)> {
        self.inner.instances()
    }

    fn ready(&self) -> Option<crate::handler::ReadyFuture> {
        self.inner.ready()
    }

    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            let invocation = self.inner.invoke(event).await;
            let m = &self.meter;
            let i = match &invocation.result {
                Ok(Outcome::Done) => 0,
                Ok(Outcome::Respond(_)) => 1,
                Ok(Outcome::Retry(_)) => 2,
                Ok(Outcome::Reject(_)) => 3,
                Err(f) => {
                    if let Some(k) = FAILURE_KINDS.iter().position(|k| *k == f.kind()) {
                        m.failures[k].fetch_add(1, Ordering::Relaxed);
                    }
                    4
                }
            };
            m.outcomes[i].fetch_add(1, Ordering::Relaxed);
            metrics::observe(&m.duration, invocation.wall);
            if let Some(fuel) = invocation.fuel_used {
                m.fuel.observe(fuel as f64);
            }
            if invocation.peak_memory_bytes > 0 {
                m.memory.observe(invocation.peak_memory_bytes as f64);
            }
            invocation
        })
    }
}
