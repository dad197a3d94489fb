//! Key-value state in the queue's redb file. Tables: `kv` ((namespace, key) → (expiry ms, 0:
//! none; value)), `kv_expiry` ((expiry ms, namespace, key) → ()) for pruning in expiry order,
//! `kv_usage` (namespace → (keys, bytes)). A batch's writes go into the commit's own write
//! transaction (`commit`). Reads ([`DiskKv`]) open a read transaction on the caller's task:
//! redb's readers see the last commit and never wait for a writer's fsync, and a lookup of a
//! small entry reads a few cached pages (microseconds), so it is not moved to a blocking thread.

use std::path::Path;
use std::sync::Arc;

use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableError, WriteTransaction};

use super::apply::{self, visible, Entries};
use super::KvCommit;
use crate::kv::{KvError, KvStore, Usage, WriteSet};
use crate::limits::kv as lim;
use crate::queue::disk::File;
use crate::queue::store::{now_ms, StoreError};

const KV: TableDefinition<(&str, &str), (u64, &str)> = TableDefinition::new("kv");
const KV_EXPIRY: TableDefinition<(u64, &str, &str), ()> = TableDefinition::new("kv_expiry");
const KV_USAGE: TableDefinition<&str, (u64, u64)> = TableDefinition::new("kv_usage");

fn err<'a>(path: &'a Path, what: &'static str) -> impl Fn(redb::Error) -> StoreError + 'a {
    move |e| StoreError::disk(path, what, e)
}

/// The tables inside one write transaction.
struct Tables<'t> {
    kv: redb::Table<'t, (&'static str, &'static str), (u64, &'static str)>,
    expiry: redb::Table<'t, (u64, &'static str, &'static str), ()>,
    usage: redb::Table<'t, &'static str, (u64, u64)>,
    path: &'t Path,
}

impl Entries for Tables<'_> {
    type Error = StoreError;

    fn entry(&mut self, ns: &str, key: &str) -> Result<Option<(String, u64)>, StoreError> {
        let got = self
            .kv
            .get((ns, key))
            .map_err(|e| err(self.path, "kv")(e.into()))?;
        Ok(got.map(|v| {
            let (at, value) = v.value();
            (value.to_string(), at)
        }))
    }

    fn put(&mut self, ns: &str, key: &str, value: &str, at: u64) -> Result<(), StoreError> {
        self.kv
            .insert((ns, key), (at, value))
            .map_err(|e| err(self.path, "kv")(e.into()))?;
        Ok(())
    }

    fn remove(&mut self, ns: &str, key: &str) -> Result<(), StoreError> {
        self.kv
            .remove((ns, key))
            .map_err(|e| err(self.path, "kv")(e.into()))?;
        Ok(())
    }

    fn usage(&mut self, ns: &str) -> Result<Usage, StoreError> {
        let got = self
            .usage
            .get(ns)
            .map_err(|e| err(self.path, "kv usage")(e.into()))?;
        Ok(got.map_or(Usage::default(), |v| {
            let (keys, bytes) = v.value();
            Usage { keys, bytes }
        }))
    }

    fn set_usage(&mut self, ns: &str, u: Usage) -> Result<(), StoreError> {
        let r = if u == Usage::default() {
            self.usage.remove(ns).map(|_| ())
        } else {
            self.usage.insert(ns, (u.keys, u.bytes)).map(|_| ())
        };
        r.map_err(|e| err(self.path, "kv usage")(e.into()))
    }

    fn add_expiry(&mut self, at: u64, ns: &str, key: &str) -> Result<(), StoreError> {
        self.expiry
            .insert((at, ns, key), ())
            .map_err(|e| err(self.path, "kv expiry")(e.into()))?;
        Ok(())
    }

    fn remove_expiry(&mut self, at: u64, ns: &str, key: &str) -> Result<(), StoreError> {
        self.expiry
            .remove((at, ns, key))
            .map_err(|e| err(self.path, "kv expiry")(e.into()))?;
        Ok(())
    }

    fn expired(&mut self, now: u64, max: usize) -> Result<Vec<(u64, String, String)>, StoreError> {
        let e = err(self.path, "kv expiry");
        let mut out = Vec::new();
        for row in self
            .expiry
            .range((0u64, "", "")..=(now, "\u{10FFFF}", "\u{10FFFF}"))
            .map_err(|x| e(x.into()))?
        {
            if out.len() >= max {
                break;
            }
            let (k, _) = row.map_err(|x| e(x.into()))?;
            let (at, ns, key) = k.value();
            out.push((at, ns.to_string(), key.to_string()));
        }
        Ok(out)
    }
}

/// Applies the batch's key-value writes (then prunes expired entries) inside the commit's
/// transaction `txn` (every settlement of a disk batch is applied, so every write is).
pub(in crate::queue) fn commit(
    txn: &WriteTransaction,
    path: &Path,
    writes: &[KvCommit],
    now: u64,
) -> Result<(), StoreError> {
    apply_in(txn, path, writes.iter().map(|c| &c.writes), now)
}

fn apply_in<'a>(
    txn: &WriteTransaction,
    path: &Path,
    writes: impl IntoIterator<Item = &'a WriteSet>,
    now: u64,
) -> Result<(), StoreError> {
    let open = |e: TableError| StoreError::disk(path, "cannot open a table", e);
    let mut t = Tables {
        kv: txn.open_table(KV).map_err(open)?,
        expiry: txn.open_table(KV_EXPIRY).map_err(open)?,
        usage: txn.open_table(KV_USAGE).map_err(open)?,
        path,
    };
    for w in writes {
        apply::apply(&mut t, w, now)?;
    }
    apply::prune(&mut t, now, lim::EXPIRE_PRUNE_PER_COMMIT)
}

/// The key-value state of a disk queue: reads, and operators' writes (their own transaction).
pub struct DiskKv {
    file: Arc<File>,
}

impl DiskKv {
    pub(in crate::queue) fn new(file: Arc<File>) -> DiskKv {
        DiskKv { file }
    }

    fn fail(&self, e: StoreError) -> KvError {
        KvError(e.to_string())
    }

    /// Runs `f` on a read transaction's table `def`; a table not created yet reads as empty.
    fn read<K, V, T>(
        &self,
        def: TableDefinition<K, V>,
        empty: T,
        f: impl FnOnce(&redb::ReadOnlyTable<K, V>) -> Result<T, redb::Error>,
    ) -> Result<T, KvError>
    where
        K: redb::Key + 'static,
        V: redb::Value + 'static,
    {
        let path = &self.file.path;
        let db = self.file.database().map_err(|e| self.fail(e))?;
        let txn = db
            .begin_read()
            .map_err(|e| self.fail(StoreError::disk(path, "cannot start a read", e)))?;
        let table = match txn.open_table(def) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(empty),
            Err(e) => return Err(self.fail(StoreError::disk(path, "cannot open a table", e))),
        };
        f(&table).map_err(|e| self.fail(StoreError::disk(path, "cannot read the kv table", e)))
    }
}

#[async_trait::async_trait]
impl KvStore for DiskKv {
    fn describe(&self) -> String {
        format!("disk {}", self.file.path.display())
    }

    fn close(&self) {
        self.file.close();
    }

    async fn get(&self, ns: &str, key: &str) -> Result<Option<String>, KvError> {
        let now = now_ms();
        self.read(KV, None, |t| {
            Ok(t.get((ns, key))?.and_then(|v| {
                let (at, value) = v.value();
                visible(at, now).then(|| value.to_string())
            }))
        })
    }

    async fn list(
        &self,
        ns: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, KvError> {
        let now = now_ms();
        let start = if after >= prefix { after } else { prefix };
        self.read(KV, Vec::new(), |t| {
            let mut out = Vec::new();
            for row in t.range((ns, start)..)? {
                let (k, v) = row?;
                let (n, key) = k.value();
                if n != ns || !key.starts_with(prefix) || out.len() >= limit {
                    break;
                }
                if key > after && visible(v.value().0, now) {
                    out.push(key.to_string());
                }
            }
            Ok(out)
        })
    }

    async fn usage(&self, ns: &str) -> Result<Usage, KvError> {
        self.read(KV_USAGE, Usage::default(), |t| {
            Ok(t.get(ns)?.map_or(Usage::default(), |v| {
                let (keys, bytes) = v.value();
                Usage { keys, bytes }
            }))
        })
    }

    async fn apply(&self, writes: &WriteSet) -> Result<(), KvError> {
        let file = self.file.clone();
        let writes = writes.clone();
        tokio::task::spawn_blocking(move || {
            file.write_txn(|txn| apply_in(txn, &file.path, [&writes], now_ms()))
        })
        .await
        .map_err(|e| {
            KvError(format!(
                "kv {}: the blocking task failed: {e}",
                self.describe()
            ))
        })?
        .map_err(|e| self.fail(e))
    }
}
