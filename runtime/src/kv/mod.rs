//! Key-value state of handlers (manifest `kv`), whose writes are exactly-once with the event.
//!
//! A run reads committed state plus its own writes ([`run::RunState`], kept by the sandbox per
//! call); its writes never reach the store while it runs. When the run ends with `done` or
//! `respond`, its [`WriteSet`] travels with its outcome: the queue commits it in the same
//! transaction that settles the run (`crate::queue::Batch::kv`), so a run that traps, times
//! out, asks for a retry or is cut off by a crash leaves no write behind, and its re-run starts
//! from the same state. Increments travel as deltas ([`Write::Add`]) and are added at commit,
//! so concurrent runs never lose one. Without the queue (`ack = "after-handle"`, card
//! callbacks) the writes are applied when the run finished successfully
//! ([`PendingWrites::apply`]).
//!
//! - [`grant`]: the manifest's grant ([`KvGrant`]) and the quotas ([`KvQuotas`]);
//! - [`run`]: one run's view and the quota checks;
//! - [`mod@write`]: what a run writes, and what applying a write means (for every backend);
//! - `store`: [`KvStore`], committed state, implemented by each queue backend;
//! - [`stats`]: calls counted per handler, operation and outcome.

pub mod grant;
pub mod run;
pub mod stats;
mod store;
pub mod write;

pub use grant::{grant_summary, KvGrant, KvQuotas};
pub use stats::KvStats;
pub use store::{KvError, KvStore, PendingWrites, Usage};
#[cfg(any(test, feature = "internals"))]
pub use write::KeyWrite;
pub use write::{Write, WriteSet};
