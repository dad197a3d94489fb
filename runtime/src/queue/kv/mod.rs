//! Key-value state stored by the queue's backend ([`crate::kv`]): a run's writes commit in the
//! transaction that settles its job ([`KvCommit`] in [`super::Batch::kv`]), and each backend
//! serves reads ([`crate::kv::KvStore`]) from the same place.
//!
//! - [`apply`]: what applying a write set means, once for the backends written in Rust
//!   (disk and memory) over their tables ([`apply::Entries`]); the Redis backend's Lua
//!   (`lua/kv.lua`) does the same, and the tests below hold all three to it.
//! - [`disk`]: tables in the queue's redb file, written inside the commit's write transaction;
//!   [`memory`]: the same in memory; [`redis`]: keys next to the queue's, written by the commit
//!   script in the branch that applies the job's settlement (so an instance that lost the job
//!   to another cannot write either).
//!
//! Layout (every backend): an entry per (namespace, key) with its value and expiry (ms since the
//! epoch, 0: none); an index of expiries for pruning ([`crate::limits::kv::EXPIRE_PRUNE_PER_COMMIT`]
//! per commit); each namespace's usage (keys, bytes of keys + values), kept exact by every
//! write and every removal of an expired entry. Reads never return an expired entry.

pub mod admin;
pub mod apply;
pub mod disk;
pub mod memory;
pub mod redis;
#[cfg(test)]
mod tests;

use crate::kv::WriteSet;

/// The writes of a job's successful handler runs, committed with the job's settlement in the
/// same [`super::Batch`] and only if that settlement is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvCommit {
    /// The job (its settlement is in the same batch).
    pub job: u64,
    /// The writes, in the order they are applied.
    pub writes: WriteSet,
}
