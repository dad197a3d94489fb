//! The default backend: one [redb](https://docs.rs/redb) file.
//!
//! **Why redb.** The queue needs an ACID key-value store that commits a transaction durably
//! (fsync) and survives `kill -9` at any instant, embedded in the binary with no C toolchain or
//! server. redb is pure Rust, crash-safe by default (copy-on-write B-trees with a checksummed
//! commit slot: a torn commit is rolled back on open), actively maintained with a stable file
//! format, and takes a file lock so two processes never share one queue by mistake. fjall (an
//! LSM tree) would also fit but brings background compaction threads and a write-ahead journal
//! of its own; SQLite needs C and a SQL layer for what are plain key lookups and range scans.
//! Throughput comes from group commit: the engine hands over a whole batch of admissions and
//! settlements per transaction, so one fsync covers hundreds of events.
//!
//! Tables: `jobs` (id → JSON [`JobRecord`]), `dead` (id → JSON record), `dedupe`
//! (dedupe id → admitted-at ms), `dedupe_age` ((admitted-at ms, dedupe id) → ()) for expiry in
//! age order, `meta` (`next_id`); and the key-value tables of [`super::kv::disk`], written in
//! the same transaction as the settlements that carry them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};

use super::store::{Admission, Batch, JobRecord, QueueStore, Settle, StoreError};
use crate::limits::queue as lim;

const JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("jobs");
const DEAD: TableDefinition<u64, &[u8]> = TableDefinition::new("dead");
const DEDUPE: TableDefinition<&str, u64> = TableDefinition::new("dedupe");
const DEDUPE_AGE: TableDefinition<(u64, &str), ()> = TableDefinition::new("dedupe_age");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const NEXT_ID: &str = "next_id";

/// The queue in one redb file (see the module doc). redb blocks (a commit fsyncs), so every
/// [`QueueStore`] method runs its transaction on [`tokio::task::spawn_blocking`] and the
/// caller's task only awaits it.
pub struct DiskStore {
    file: Arc<File>,
}

/// The open file, shared with the blocking tasks (and the key-value reads of
/// [`super::kv::disk`]).
pub(in crate::queue) struct File {
    /// `None` after a failed write: redb refuses every later transaction of a database that saw
    /// an I/O error, so the next operation reopens the file (which rolls back to the last
    /// durable commit) — once the disk has room again, the queue recovers without a restart.
    db: std::sync::Mutex<Option<Arc<Database>>>,
    /// The same database for readers, which must not wait for `db`'s lock while a write
    /// transaction holds it through its fsync; set and cleared with `db`.
    readers: std::sync::RwLock<Option<Arc<Database>>>,
    /// Set by [`QueueStore::close`]: the database is dropped and never reopened.
    closed: std::sync::atomic::AtomicBool,
    pub(in crate::queue) path: PathBuf,
}

fn err(path: &Path, what: &'static str, e: impl Into<redb::Error>) -> StoreError {
    StoreError::disk(path, what, e)
}

fn encode(record: &JobRecord) -> Vec<u8> {
    serde_json::to_vec(record).expect("a job record always serializes")
}

fn decode(path: &Path, bytes: &[u8]) -> Result<JobRecord, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Unreadable {
        queue: path.display().to_string(),
        what: "a stored job",
        source: Arc::new(e),
    })
}

impl DiskStore {
    /// Opens (or creates) the queue file at `path`, creating its directory. Fails with a clear
    /// message when the path cannot be created or written, or another process has it open.
    /// Blocking (a few file operations): call it before the queue runs, or from
    /// `spawn_blocking`.
    pub fn open(path: &Path) -> Result<DiskStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::CreateDir {
                path: path.to_path_buf(),
                source: Arc::new(e),
            })?;
        }
        let db = Arc::new(File::open_db(path)?);
        let file = File {
            readers: std::sync::RwLock::new(Some(db.clone())),
            db: std::sync::Mutex::new(Some(db)),
            closed: std::sync::atomic::AtomicBool::new(false),
            path: path.to_path_buf(),
        };
        // Create the tables, so readers never meet a missing one.
        file.write(|_| Ok(()))?;
        Ok(DiskStore {
            file: Arc::new(file),
        })
    }

    /// The key-value state in this file ([`super::kv::disk`]).
    pub fn kv_store(&self) -> super::kv::disk::DiskKv {
        super::kv::disk::DiskKv::new(self.file.clone())
    }

    /// Runs `f` on the file on a blocking thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&File) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || f(&file))
            .await
            .map_err(|e| StoreError::Blocking {
                path: self.file.path.clone(),
                source: Arc::new(e),
            })?
    }
}

impl File {
    /// Drops the database (the file is free once operations in progress end) and refuses
    /// every later operation with [`StoreError::Closed`].
    pub(in crate::queue) fn close(&self) {
        // Under the write lock: a transaction in progress finishes first.
        let mut db = self.db.lock().expect("queue db lock");
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        *db = None;
        *self.readers.write().expect("queue readers lock") = None;
    }

    fn open_db(path: &Path) -> Result<Database, StoreError> {
        Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                path: path.to_path_buf(),
            },
            other => err(path, "cannot open or create the queue file", other),
        })
    }

    /// Runs `f` on the database, reopening it first if a previous write failed; a failure of
    /// `f` marks it for reopening.
    fn with_db<T>(
        &self,
        f: impl FnOnce(&Arc<Database>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.db.lock().expect("queue db lock");
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Closed {
                path: self.path.clone(),
            });
        }
        if guard.is_none() {
            let db = Arc::new(Self::open_db(&self.path)?);
            *self.readers.write().expect("queue readers lock") = Some(db.clone());
            *guard = Some(db);
            tracing::info!(queue = %self.path.display(), "queue file reopened after a failed write");
        }
        let result = f(guard.as_ref().expect("just opened"));
        if result.is_err() {
            *guard = None;
            *self.readers.write().expect("queue readers lock") = None;
        }
        result
    }

    /// The open database, for a read transaction that need not wait for a write's commit
    /// (redb's readers see the last commit while a writer works). Reopens it if a write failed.
    pub(in crate::queue) fn database(&self) -> Result<Arc<Database>, StoreError> {
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Closed {
                path: self.path.clone(),
            });
        }
        if let Some(db) = self.readers.read().expect("queue readers lock").clone() {
            return Ok(db);
        }
        self.with_db(|db| Ok(db.clone()))
    }

    /// Runs `f` in one write transaction and commits it (fsync).
    pub(in crate::queue) fn write_txn<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write(|t| f(t.txn))
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut Tables<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let p = &self.path;
        self.with_db(|db| {
            let txn = db
                .begin_write()
                .map_err(|e| err(p, "cannot start a transaction", e))?;
            let out = {
                let open = |e| err(p, "cannot open a table", e);
                let mut t = Tables {
                    jobs: txn.open_table(JOBS).map_err(open)?,
                    dead: txn.open_table(DEAD).map_err(open)?,
                    dedupe: txn.open_table(DEDUPE).map_err(open)?,
                    dedupe_age: txn.open_table(DEDUPE_AGE).map_err(open)?,
                    meta: txn.open_table(META).map_err(open)?,
                    path: p,
                    txn: &txn,
                };
                f(&mut t)?
            };
            // Durability::Immediate (redb's default): fsync before commit returns.
            txn.commit()
                .map_err(|e| err(p, "cannot commit (is the disk full or read-only?)", e))?;
            Ok(out)
        })
    }

    fn read_table(&self, def: TableDefinition<u64, &[u8]>) -> Result<Vec<JobRecord>, StoreError> {
        let p = &self.path;
        self.with_db(|db| {
            let txn = db
                .begin_read()
                .map_err(|e| err(p, "cannot start a read", e))?;
            let table = txn
                .open_table(def)
                .map_err(|e| err(p, "cannot open a table", e))?;
            let mut out = Vec::new();
            for row in table.iter().map_err(|e| err(p, "cannot read", e))? {
                let (_, v) = row.map_err(|e| err(p, "cannot read", e))?;
                out.push(decode(p, v.value())?);
            }
            Ok(out)
        })
    }
}

struct Tables<'t> {
    jobs: redb::Table<'t, u64, &'static [u8]>,
    dead: redb::Table<'t, u64, &'static [u8]>,
    dedupe: redb::Table<'t, &'static str, u64>,
    dedupe_age: redb::Table<'t, (u64, &'static str), ()>,
    meta: redb::Table<'t, &'static str, u64>,
    path: &'t Path,
    txn: &'t WriteTransaction,
}

impl Tables<'_> {
    /// Forgets dedupe ids older than the window and beyond the bound (oldest first), at most
    /// [`lim::DEDUPE_PRUNE_PER_COMMIT`] per call so one commit stays short.
    fn prune_dedupe(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let cutoff = batch
            .now_ms
            .saturating_sub(batch.dedupe_window.as_millis() as u64);
        let len = self.dedupe.len().map_err(|e| err(self.path, "dedupe", e))?;
        let over = len.saturating_sub(batch.dedupe_max_entries);
        let mut doomed: Vec<(u64, String)> = Vec::new();
        for row in self
            .dedupe_age
            .iter()
            .map_err(|e| err(self.path, "dedupe", e))?
        {
            let (k, _) = row.map_err(|e| err(self.path, "dedupe", e))?;
            let (at, id) = k.value();
            if (at >= cutoff && doomed.len() as u64 >= over)
                || doomed.len() >= lim::DEDUPE_PRUNE_PER_COMMIT
            {
                break;
            }
            doomed.push((at, id.to_string()));
        }
        for (at, id) in doomed {
            self.dedupe_age
                .remove((at, id.as_str()))
                .map_err(|e| err(self.path, "dedupe", e))?;
            let current = self
                .dedupe
                .get(id.as_str())
                .map_err(|e| err(self.path, "dedupe", e))?
                .map(|v| v.value());
            if current == Some(at) {
                self.dedupe
                    .remove(id.as_str())
                    .map_err(|e| err(self.path, "dedupe", e))?;
            }
        }
        Ok(())
    }
}

/// The transactions, run on a blocking thread.
impl File {
    fn commit(&self, batch: Batch) -> Result<Vec<Admission>, StoreError> {
        self.write(|t| {
            for s in &batch.settle {
                match s {
                    Settle::Done(id) => {
                        t.jobs.remove(id).map_err(|e| err(t.path, "jobs", e))?;
                    }
                    Settle::Retry(r) => {
                        t.jobs
                            .insert(r.id, encode(r).as_slice())
                            .map_err(|e| err(t.path, "jobs", e))?;
                    }
                    Settle::Dead(r) => {
                        t.jobs.remove(r.id).map_err(|e| err(t.path, "jobs", e))?;
                        t.dead
                            .insert(r.id, encode(r).as_slice())
                            .map_err(|e| err(t.path, "dead letters", e))?;
                    }
                }
            }
            super::kv::disk::commit(t.txn, t.path, &batch.kv, batch.now_ms)?;
            t.prune_dedupe(&batch)?;
            if batch.admit.is_empty() {
                return Ok(Vec::new());
            }
            let window = batch.dedupe_window.as_millis() as u64;
            let mut jobs = t.jobs.len().map_err(|e| err(t.path, "jobs", e))?;
            let mut next_id = t
                .meta
                .get(NEXT_ID)
                .map_err(|e| err(t.path, "meta", e))?
                .map(|v| v.value())
                .unwrap_or(1);
            let mut out = Vec::with_capacity(batch.admit.len());
            for job in batch.admit {
                let key = job.dedupe_id.as_str();
                let seen = t
                    .dedupe
                    .get(key)
                    .map_err(|e| err(t.path, "dedupe", e))?
                    .map(|v| v.value());
                if let Some(at) = seen {
                    if at.saturating_add(window) > batch.now_ms {
                        out.push(Admission::Duplicate);
                        continue;
                    }
                    t.dedupe_age
                        .remove((at, key))
                        .map_err(|e| err(t.path, "dedupe", e))?;
                }
                if jobs >= batch.capacity {
                    out.push(Admission::Full);
                    continue;
                }
                t.dedupe
                    .insert(key, batch.now_ms)
                    .map_err(|e| err(t.path, "dedupe", e))?;
                t.dedupe_age
                    .insert((batch.now_ms, key), ())
                    .map_err(|e| err(t.path, "dedupe", e))?;
                let record = JobRecord::new(next_id, batch.now_ms, job);
                t.jobs
                    .insert(next_id, encode(&record).as_slice())
                    .map_err(|e| err(t.path, "jobs", e))?;
                next_id += 1;
                jobs += 1;
                out.push(Admission::Accepted(Box::new(record)));
            }
            t.meta
                .insert(NEXT_ID, next_id)
                .map_err(|e| err(t.path, "meta", e))?;
            Ok(out)
        })
    }

    fn replay(&self, ids: Option<Vec<u64>>, now_ms: u64) -> Result<Vec<u64>, StoreError> {
        self.write(|t| {
            let chosen: Vec<u64> = match ids {
                Some(ids) => ids,
                None => {
                    let mut all = Vec::new();
                    for row in t.dead.iter().map_err(|e| err(t.path, "dead letters", e))? {
                        all.push(row.map_err(|e| err(t.path, "dead letters", e))?.0.value());
                    }
                    all
                }
            };
            let mut moved = Vec::new();
            for id in chosen {
                let Some(bytes) = t
                    .dead
                    .remove(id)
                    .map_err(|e| err(t.path, "dead letters", e))?
                    .map(|v| v.value().to_vec())
                else {
                    continue;
                };
                let mut record = decode(t.path, &bytes)?;
                record.revive(now_ms);
                t.jobs
                    .insert(id, encode(&record).as_slice())
                    .map_err(|e| err(t.path, "jobs", e))?;
                moved.push(id);
            }
            Ok(moved)
        })
    }

    fn purge(&self) -> Result<u64, StoreError> {
        self.write(|t| {
            let n = t.dead.len().map_err(|e| err(t.path, "dead letters", e))?;
            t.dead
                .retain(|_, _| false)
                .map_err(|e| err(t.path, "dead letters", e))?;
            Ok(n)
        })
    }
}

#[async_trait::async_trait]
impl QueueStore for DiskStore {
    fn describe(&self) -> String {
        format!("disk {}", self.file.path.display())
    }

    fn close(&self) {
        self.file.close();
    }

    async fn commit(&self, batch: Batch) -> Result<Vec<Admission>, StoreError> {
        self.blocking(move |f| f.commit(batch)).await
    }

    async fn pending(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.blocking(|f| f.read_table(JOBS)).await
    }

    async fn dead_letters(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.blocking(|f| f.read_table(DEAD)).await
    }

    async fn replay(&self, ids: Option<&[u64]>, now_ms: u64) -> Result<Vec<u64>, StoreError> {
        let ids = ids.map(<[u64]>::to_vec);
        self.blocking(move |f| f.replay(ids, now_ms)).await
    }

    async fn purge(&self) -> Result<u64, StoreError> {
        self.blocking(|f| f.purge()).await
    }

    fn kv(&self) -> Option<Arc<dyn crate::kv::KvStore>> {
        Some(Arc::new(self.kv_store()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::store::{HandlerStatus, NewJob};
    use std::time::Duration;

    pub(crate) fn job(id: &str, chat: Option<&str>) -> NewJob {
        NewJob {
            dedupe_id: id.into(),
            event_id: id.into(),
            event_type: "im.message.receive_v1".into(),
            chat_id: chat.map(String::from),
            trace_id: String::new(),
            envelope: "{}".into(),
            handlers: vec!["a".into(), "b".into()],
        }
    }

    fn batch(admit: Vec<NewJob>, settle: Vec<Settle>, now_ms: u64) -> Batch {
        Batch {
            admit,
            settle,
            now_ms,
            dedupe_window: Duration::from_secs(10),
            dedupe_max_entries: 3,
            capacity: 2,
            kv: Vec::new(),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("aviary-disk-{name}-{}/q.redb", std::process::id()));
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
        p
    }

    #[tokio::test]
    async fn a_closed_store_frees_its_file_and_refuses_every_operation() {
        let path = temp("close");
        let store = DiskStore::open(&path).unwrap();
        store
            .commit(batch(vec![job("a", None)], vec![], 1000))
            .await
            .unwrap();
        let kv = store.kv_store();
        assert!(
            matches!(DiskStore::open(&path), Err(StoreError::Locked { .. })),
            "open while the first store holds the file"
        );
        store.close();
        let err = store.pending().await.unwrap_err();
        assert!(matches!(err, StoreError::Closed { .. }), "{err}");
        assert!(err.to_string().contains("closed"), "{err}");
        let kv_err = crate::kv::KvStore::get(&kv, "ns", "k").await.unwrap_err();
        assert!(kv_err.to_string().contains("closed"), "{kv_err}");
        // The file is free while the closed store (and its kv view) still exist, and what was
        // committed is there.
        let again = DiskStore::open(&path).unwrap();
        assert_eq!(again.pending().await.unwrap().len(), 1);
        drop((store, kv));
    }

    #[tokio::test]
    async fn admits_dedupes_bounds_settles_and_survives_reopen() {
        let path = temp("basic");
        let store = DiskStore::open(&path).unwrap();
        let out = store
            .commit(batch(
                vec![
                    job("a", None),
                    job("a", None),
                    job("b", None),
                    job("c", None),
                ],
                vec![],
                1000,
            ))
            .await
            .unwrap();
        assert!(matches!(out[0], Admission::Accepted(ref r) if r.id == 1));
        assert_eq!(out[1], Admission::Duplicate, "a duplicate within one batch");
        assert!(matches!(out[2], Admission::Accepted(ref r) if r.id == 2));
        assert_eq!(out[3], Admission::Full, "capacity 2");
        let Admission::Accepted(first) = out[0].clone() else {
            unreachable!()
        };
        let mut first = *first;
        drop(store);

        let store = DiskStore::open(&path).unwrap();
        assert_eq!(store.pending().await.unwrap().len(), 2);
        first.states[0].status = HandlerStatus::Dead;
        first.states[1].status = HandlerStatus::Done;
        let out = store
            .commit(batch(
                vec![job("c", None), job("a", None)],
                vec![Settle::of(first), Settle::Done(2)],
                2000,
            ))
            .await
            .unwrap();
        assert!(
            matches!(out[0], Admission::Accepted(ref r) if r.id == 3),
            "c got room, and ids keep increasing"
        );
        assert_eq!(
            out[1],
            Admission::Duplicate,
            "a stays deduped after it finished"
        );
        assert_eq!(store.pending().await.unwrap().len(), 1);
        let dead = store.dead_letters().await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].id, 1);

        // After the window, an id is new again.
        let out = store
            .commit(batch(vec![job("a", None)], vec![], 20_000))
            .await
            .unwrap();
        assert!(matches!(out[0], Admission::Accepted(_)));

        assert_eq!(store.replay(None, 3000).await.unwrap(), vec![1]);
        let back = store.pending().await.unwrap();
        let replayed = back.iter().find(|r| r.id == 1).unwrap();
        assert_eq!(replayed.states[0].status, HandlerStatus::Pending);
        assert_eq!(
            replayed.states[1].status,
            HandlerStatus::Done,
            "only the dead handler runs again"
        );
        assert_eq!(store.purge().await.unwrap(), 0);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test]
    async fn dedupe_set_is_bounded() {
        let path = temp("bound");
        let store = DiskStore::open(&path).unwrap();
        for (i, id) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let out = store
                .commit(batch(vec![job(id, None)], vec![], 1000 + i as u64))
                .await
                .unwrap();
            if let Admission::Accepted(r) = &out[0] {
                store
                    .commit(batch(vec![], vec![Settle::Done(r.id)], 1000))
                    .await
                    .unwrap();
            }
        }
        let out = store
            .commit(batch(vec![job("a", None)], vec![], 2000))
            .await
            .unwrap();
        assert!(
            matches!(out[0], Admission::Accepted(_)),
            "a was forgotten by the bound of 3"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test]
    async fn a_second_process_cannot_open_the_same_queue_and_a_bad_path_is_named() {
        let path = temp("lock");
        let _store = DiskStore::open(&path).unwrap();
        let e = DiskStore::open(&path).err().unwrap();
        assert!(e.to_string().contains("another aviary process"), "{e}");
        let file = path.parent().unwrap().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let e = DiskStore::open(&file.join("q.redb")).err().unwrap();
        assert!(
            e.to_string().contains("plain-file") && e.to_string().contains("cannot create"),
            "{e}"
        );
        // The cause is kept as the source (shared behind an Arc), not only in the message.
        let io = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<Arc<std::io::Error>>())
            .expect("the io error is the source");
        assert_eq!(io.kind(), std::io::ErrorKind::AlreadyExists, "{io}");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
