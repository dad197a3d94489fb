//! The `memory` backend: the disk backend's semantics (dedupe window and bound, capacity,
//! per-handler state, dead letters) in process memory. Nothing survives a restart; use it when
//! the early ack matters more than durability, or in tests. Its methods take a short lock and
//! never wait, so they run on the caller's task.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use super::kv::memory::{KvTables, MemoryKv};
use super::store::{Admission, Batch, JobRecord, QueueStore, Settle, StoreError};

/// The queue in memory (see the module doc).
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// Key-value state ([`super::kv`]), written by `commit` while it holds `state`.
    kv: Arc<Mutex<KvTables>>,
}

#[derive(Default)]
struct State {
    jobs: BTreeMap<u64, JobRecord>,
    dead: BTreeMap<u64, JobRecord>,
    dedupe: HashMap<String, u64>,
    dedupe_age: BTreeSet<(u64, String)>,
    next_id: u64,
}

impl MemoryStore {
    /// An empty queue.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

#[async_trait::async_trait]
impl QueueStore for MemoryStore {
    fn describe(&self) -> String {
        "memory (not durable)".into()
    }

    async fn commit(&self, batch: Batch) -> Result<Vec<Admission>, StoreError> {
        let mut st = self.state.lock().expect("queue lock");
        let st = &mut *st;
        for s in batch.settle {
            match s {
                Settle::Done(id) => {
                    st.jobs.remove(&id);
                }
                Settle::Retry(r) => {
                    st.jobs.insert(r.id, r);
                }
                Settle::Dead(r) => {
                    st.jobs.remove(&r.id);
                    st.dead.insert(r.id, r);
                }
            }
        }
        let window = batch.dedupe_window.as_millis() as u64;
        let cutoff = batch.now_ms.saturating_sub(window);
        while let Some((at, id)) = st.dedupe_age.first().cloned() {
            if at >= cutoff && st.dedupe.len() as u64 <= batch.dedupe_max_entries {
                break;
            }
            st.dedupe_age.remove(&(at, id.clone()));
            if st.dedupe.get(&id) == Some(&at) {
                st.dedupe.remove(&id);
            }
        }
        self.kv
            .lock()
            .expect("kv lock")
            .commit(batch.kv.iter().map(|c| &c.writes), batch.now_ms);
        let mut out = Vec::with_capacity(batch.admit.len());
        for job in batch.admit {
            if let Some(&at) = st.dedupe.get(&job.dedupe_id) {
                if at.saturating_add(window) > batch.now_ms {
                    out.push(Admission::Duplicate);
                    continue;
                }
                st.dedupe_age.remove(&(at, job.dedupe_id.clone()));
            }
            if st.jobs.len() as u64 >= batch.capacity {
                out.push(Admission::Full);
                continue;
            }
            st.next_id += 1;
            st.dedupe.insert(job.dedupe_id.clone(), batch.now_ms);
            st.dedupe_age.insert((batch.now_ms, job.dedupe_id.clone()));
            let record = JobRecord::new(st.next_id, batch.now_ms, job);
            st.jobs.insert(record.id, record.clone());
            out.push(Admission::Accepted(Box::new(record)));
        }
        Ok(out)
    }

    async fn pending(&self) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self
            .state
            .lock()
            .expect("queue lock")
            .jobs
            .values()
            .cloned()
            .collect())
    }

    async fn dead_letters(&self) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self
            .state
            .lock()
            .expect("queue lock")
            .dead
            .values()
            .cloned()
            .collect())
    }

    async fn replay(&self, ids: Option<&[u64]>, now_ms: u64) -> Result<Vec<u64>, StoreError> {
        let mut st = self.state.lock().expect("queue lock");
        let chosen: Vec<u64> = match ids {
            Some(ids) => ids.to_vec(),
            None => st.dead.keys().copied().collect(),
        };
        let mut moved = Vec::new();
        for id in chosen {
            if let Some(mut r) = st.dead.remove(&id) {
                r.revive(now_ms);
                st.jobs.insert(id, r);
                moved.push(id);
            }
        }
        Ok(moved)
    }

    async fn purge(&self) -> Result<u64, StoreError> {
        let mut st = self.state.lock().expect("queue lock");
        let n = st.dead.len() as u64;
        st.dead.clear();
        Ok(n)
    }

    fn kv(&self) -> Option<Arc<dyn crate::kv::KvStore>> {
        Some(Arc::new(MemoryKv::new(self.kv.clone())))
    }
}
