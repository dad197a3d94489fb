//! Where committed key-value state lives: [`KvStore`], implemented by each queue backend
//! (`crate::queue::kv`), so state sits next to the queue and a run's writes commit in the same
//! transaction as its outcome.

use std::sync::Arc;

use super::write::WriteSet;

/// A namespace's use of its quota, as committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Keys held (entries that expired but were not yet removed still count).
    pub keys: u64,
    /// Bytes of keys plus values held.
    pub bytes: u64,
}

/// A store failed: one line naming the store and what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KvError(pub String);

/// Committed key-value state. Reads never see an expired entry. The queue commits runs' writes
/// inside its own transactions (`crate::queue::Batch::kv`); [`KvStore::apply`] is for writes
/// without a queued job: a run dispatched without the queue (`ack = "after-handle"`, card
/// callbacks) that succeeded, and operators (`aviary kv set`).
#[async_trait::async_trait]
pub trait KvStore: Send + Sync + 'static {
    /// What and where, for logs and errors.
    fn describe(&self) -> String;

    /// Gives the store's resources back once its app has stopped (the disk backend releases
    /// its file); every later operation fails. The default does nothing.
    fn close(&self) {}

    /// The committed value of `key` in `namespace`, if any.
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<String>, KvError>;

    /// Up to `limit` committed keys of `namespace` that start with `prefix` and sort after
    /// `after` (byte order; `""`: from the first), in order.
    async fn list(
        &self,
        namespace: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, KvError>;

    /// The namespace's committed usage.
    async fn usage(&self, namespace: &str) -> Result<Usage, KvError>;

    /// Applies `writes` in one transaction.
    async fn apply(&self, writes: &WriteSet) -> Result<(), KvError>;
}

/// A successful run's writes, with the store they belong to: the queue takes the writes into the
/// commit that settles the run; without a queue, [`PendingWrites::apply`] applies them.
#[derive(Clone)]
pub struct PendingWrites {
    /// The writes.
    pub writes: WriteSet,
    /// The store they are for.
    pub store: Arc<dyn KvStore>,
}

impl PendingWrites {
    /// Applies the writes in one transaction of their store.
    pub async fn apply(&self) -> Result<(), KvError> {
        self.store.apply(&self.writes).await
    }
}

impl std::fmt::Debug for PendingWrites {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingWrites")
            .field("writes", &self.writes)
            .field("store", &self.store.describe())
            .finish()
    }
}
