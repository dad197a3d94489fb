//! How one handler's outbound requests ended, counted by outcome (one [`HttpStats`] per
//! handler; read with [`HttpStats::snapshot`], e.g. by a metrics exporter).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How one `http-send` call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpOutcome {
    /// An answer came back (any HTTP status) and was handed to the guest.
    Answered,
    /// Refused by the host before or while sending: no grant, a host, scheme or port not
    /// allowed (also on a redirect hop), a name resolving to an internal address, a bad URL,
    /// method or header, a body over the limit, too many requests in one call.
    Denied,
    /// No answer within the request's timeout (or what was left of the handler's).
    Timeout,
    /// The answer was larger than the response limit (or its headers were).
    TooLarge,
    /// Anything else: connection or TLS failure, too many redirects, a malformed answer.
    Failed,
}

impl HttpOutcome {
    /// Every outcome, in the order of [`HttpStatsSnapshot`]'s fields.
    pub const ALL: [HttpOutcome; 5] = [
        HttpOutcome::Answered,
        HttpOutcome::Denied,
        HttpOutcome::Timeout,
        HttpOutcome::TooLarge,
        HttpOutcome::Failed,
    ];

    /// `answered`, `denied`, `timeout`, `too_large` or `failed` (a metrics label).
    pub fn name(self) -> &'static str {
        match self {
            HttpOutcome::Answered => "answered",
            HttpOutcome::Denied => "denied",
            HttpOutcome::Timeout => "timeout",
            HttpOutcome::TooLarge => "too_large",
            HttpOutcome::Failed => "failed",
        }
    }
}

/// Counters of one handler's `http-send` calls by outcome.
#[derive(Debug, Default)]
pub struct HttpStats {
    counts: [AtomicU64; 5],
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpStatsSnapshot {
    /// [`HttpOutcome::Answered`].
    pub answered: u64,
    /// [`HttpOutcome::Denied`].
    pub denied: u64,
    /// [`HttpOutcome::Timeout`].
    pub timeout: u64,
    /// [`HttpOutcome::TooLarge`].
    pub too_large: u64,
    /// [`HttpOutcome::Failed`].
    pub failed: u64,
}

impl HttpStats {
    /// Counts one call.
    pub fn record(&self, outcome: HttpOutcome) {
        self.counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> HttpStatsSnapshot {
        let n = |o: HttpOutcome| self.counts[o as usize].load(Ordering::Relaxed);
        HttpStatsSnapshot {
            answered: n(HttpOutcome::Answered),
            denied: n(HttpOutcome::Denied),
            timeout: n(HttpOutcome::Timeout),
            too_large: n(HttpOutcome::TooLarge),
            failed: n(HttpOutcome::Failed),
        }
    }
}

impl HttpStatsSnapshot {
    /// The count of `outcome`.
    pub fn get(&self, outcome: HttpOutcome) -> u64 {
        match outcome {
            HttpOutcome::Answered => self.answered,
            HttpOutcome::Denied => self.denied,
            HttpOutcome::Timeout => self.timeout,
            HttpOutcome::TooLarge => self.too_large,
            HttpOutcome::Failed => self.failed,
        }
    }

    /// Every call, whatever its outcome.
    #[cfg(any(test, feature = "internals"))]
    pub fn total(&self) -> u64 {
        HttpOutcome::ALL.iter().map(|&o| self.get(o)).sum()
    }
}

/// Every handler's [`HttpStats`] in one app, by handler name (read by `/metrics`).
#[derive(Debug, Default)]
pub struct OutboundStats {
    handlers: Mutex<BTreeMap<String, Arc<HttpStats>>>,
}

impl OutboundStats {
    /// The counters of `handler` (created on first use; a reloaded handler keeps counting
    /// into the same ones).
    pub fn handler(&self, handler: &str) -> Arc<HttpStats> {
        self.handlers
            .lock()
            .expect("http stats lock")
            .entry(handler.to_string())
            .or_default()
            .clone()
    }

    /// The counters of `handler` now, if it was loaded with counters from here.
    pub fn snapshot(&self, handler: &str) -> Option<HttpStatsSnapshot> {
        self.handlers
            .lock()
            .expect("http stats lock")
            .get(handler)
            .map(|s| s.snapshot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_counter() {
        let s = HttpStats::default();
        for (i, o) in HttpOutcome::ALL.into_iter().enumerate() {
            for _ in 0..=i {
                s.record(o);
            }
        }
        let snap = s.snapshot();
        assert_eq!(
            snap,
            HttpStatsSnapshot {
                answered: 1,
                denied: 2,
                timeout: 3,
                too_large: 4,
                failed: 5
            }
        );
        assert_eq!(snap.total(), 15);
        assert_eq!(HttpOutcome::TooLarge.name(), "too_large");
    }

    #[test]
    fn per_handler_counters_are_shared_by_name() {
        let all = OutboundStats::default();
        all.handler("a").record(HttpOutcome::Denied);
        all.handler("a").record(HttpOutcome::Answered);
        all.handler("b").record(HttpOutcome::Timeout);
        let a = all.snapshot("a").unwrap();
        assert_eq!((a.denied, a.answered, a.total()), (1, 1, 2));
        assert_eq!(all.snapshot("b").unwrap().timeout, 1);
        assert_eq!(all.snapshot("c"), None);
    }
}
