//! Calls counted per handler, operation and outcome.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::run::Failed;

/// The operations of the `kv-*` imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `kv-get`.
    Get,
    /// `kv-set`.
    Set,
    /// `kv-delete`.
    Delete,
    /// `kv-increment`.
    Increment,
    /// `kv-list`.
    List,
}

impl Op {
    /// Every operation, in order.
    pub const ALL: [Op; 5] = [Op::Get, Op::Set, Op::Delete, Op::Increment, Op::List];

    /// The import's name (`kv-get`, …).
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "kv-get",
            Op::Set => "kv-set",
            Op::Delete => "kv-delete",
            Op::Increment => "kv-increment",
            Op::List => "kv-list",
        }
    }
}

const OUTCOMES: usize = 5;

/// The outcomes a call is counted by: `ok`, or how it failed (`Failed::name`).
pub const OUTCOME_NAMES: [&str; OUTCOMES] = [
    "ok",
    Failed::Denied.name(),
    Failed::Invalid.name(),
    Failed::Quota.name(),
    Failed::Store.name(),
];

fn slot(outcome: Option<Failed>) -> usize {
    match outcome {
        None => 0,
        Some(Failed::Denied) => 1,
        Some(Failed::Invalid) => 2,
        Some(Failed::Quota) => 3,
        Some(Failed::Store) => 4,
    }
}

/// One handler's counters: calls per operation and outcome (`ok`, or a [`Failed`] kind).
#[derive(Debug, Default)]
pub struct HandlerCalls {
    counts: [[AtomicU64; OUTCOMES]; 5],
}

impl HandlerCalls {
    /// Counts one call of `op` that ended with `outcome` (`None`: ok).
    pub fn count(&self, op: Op, outcome: Option<Failed>) {
        self.counts[op as usize][slot(outcome)].fetch_add(1, Ordering::Relaxed);
    }

    /// The non-zero counters as `(operation, outcome, calls)`.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = self.all();
        out.retain(|(_, _, n)| *n > 0);
        out
    }

    /// Every counter, zero or not, as `(operation, outcome, calls)`: each operation of
    /// [`Op::ALL`] with each outcome of [`OUTCOME_NAMES`].
    pub fn all(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = Vec::new();
        for op in Op::ALL {
            for (i, name) in OUTCOME_NAMES.iter().enumerate() {
                let n = self.counts[op as usize][i].load(Ordering::Relaxed);
                out.push((op.name(), *name, n));
            }
        }
        out
    }
}

/// Every handler's counters (one per process).
#[derive(Debug, Default)]
pub struct KvStats {
    handlers: Mutex<BTreeMap<String, Arc<HandlerCalls>>>,
}

impl KvStats {
    /// The counters of `handler` (created on first use).
    pub fn handler(&self, handler: &str) -> Arc<HandlerCalls> {
        self.handlers
            .lock()
            .expect("kv stats lock")
            .entry(handler.to_string())
            .or_default()
            .clone()
    }

    /// The counters of `handler`, if it was loaded with counters from here.
    pub fn get(&self, handler: &str) -> Option<Arc<HandlerCalls>> {
        self.handlers
            .lock()
            .expect("kv stats lock")
            .get(handler)
            .cloned()
    }

    /// One line per handler with calls: `handler op=outcome:n …`.
    pub fn summary(&self) -> Vec<String> {
        self.handlers
            .lock()
            .expect("kv stats lock")
            .iter()
            .filter_map(|(name, calls)| {
                let counts = calls.snapshot();
                (!counts.is_empty()).then(|| {
                    let parts: Vec<String> = counts
                        .iter()
                        .map(|(op, outcome, n)| format!("{op} {outcome} {n}"))
                        .collect();
                    format!("{name}: {}", parts.join(", "))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_handler_op_and_outcome() {
        let stats = KvStats::default();
        stats.handler("a").count(Op::Get, None);
        stats.handler("a").count(Op::Get, None);
        stats.handler("a").count(Op::Set, Some(Failed::Quota));
        stats.handler("b").count(Op::List, Some(Failed::Denied));
        for failed in [
            Failed::Denied,
            Failed::Invalid,
            Failed::Quota,
            Failed::Store,
        ] {
            assert_eq!(OUTCOME_NAMES[slot(Some(failed))], failed.name());
        }
        let a = stats.get("a").unwrap().all();
        assert_eq!(a.len(), 25);
        assert!(a.contains(&("kv-get", "ok", 2)));
        assert!(a.contains(&("kv-list", "ok", 0)));
        assert!(stats.get("c").is_none());
        assert_eq!(
            stats.summary(),
            vec![
                "a: kv-get ok 2, kv-set over_quota 1".to_string(),
                "b: kv-list denied 1".to_string()
            ]
        );
    }
}
