//! Key-value state of the `memory` backend: [`KvTables`] under their own lock, written by the
//! memory store's commit while it holds its queue lock too (so a batch's writes appear at once),
//! read by [`MemoryKv`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use super::apply::{self, visible, Entries};
use crate::kv::{KvError, KvStore, Usage, WriteSet};
use crate::limits::kv as lim;
use crate::queue::store::now_ms;

/// The tables: entries by (namespace, key), the expiry index, usage per namespace.
#[derive(Debug, Default)]
pub struct KvTables {
    entries: BTreeMap<(String, String), (String, u64)>,
    expiry: BTreeSet<(u64, String, String)>,
    usage: HashMap<String, Usage>,
}

impl Entries for KvTables {
    type Error = Infallible;

    fn entry(&mut self, ns: &str, key: &str) -> Result<Option<(String, u64)>, Infallible> {
        Ok(self.entries.get(&(ns.into(), key.into())).cloned())
    }

    fn put(&mut self, ns: &str, key: &str, value: &str, at: u64) -> Result<(), Infallible> {
        self.entries
            .insert((ns.into(), key.into()), (value.into(), at));
        Ok(())
    }

    fn remove(&mut self, ns: &str, key: &str) -> Result<(), Infallible> {
        self.entries.remove(&(ns.into(), key.into()));
        Ok(())
    }

    fn usage(&mut self, ns: &str) -> Result<Usage, Infallible> {
        Ok(self.usage.get(ns).copied().unwrap_or_default())
    }

    fn set_usage(&mut self, ns: &str, usage: Usage) -> Result<(), Infallible> {
        if usage == Usage::default() {
            self.usage.remove(ns);
        } else {
            self.usage.insert(ns.into(), usage);
        }
        Ok(())
    }

    fn add_expiry(&mut self, at: u64, ns: &str, key: &str) -> Result<(), Infallible> {
        self.expiry.insert((at, ns.into(), key.into()));
        Ok(())
    }

    fn remove_expiry(&mut self, at: u64, ns: &str, key: &str) -> Result<(), Infallible> {
        self.expiry.remove(&(at, ns.into(), key.into()));
        Ok(())
    }

    fn expired(&mut self, now: u64, max: usize) -> Result<Vec<(u64, String, String)>, Infallible> {
        Ok(self
            .expiry
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .take(max)
            .cloned()
            .collect())
    }
}

impl KvTables {
    /// Applies a batch's writes (and prunes expired entries) at `now`.
    pub fn commit<'a>(&mut self, writes: impl IntoIterator<Item = &'a WriteSet>, now: u64) {
        for w in writes {
            let Ok(()) = apply::apply(self, w, now);
        }
        let Ok(()) = apply::prune(self, now, lim::EXPIRE_PRUNE_PER_COMMIT);
    }

    fn get(&self, ns: &str, key: &str, now: u64) -> Option<String> {
        self.entries
            .get(&(ns.into(), key.into()))
            .filter(|(_, at)| visible(*at, now))
            .map(|(v, _)| v.clone())
    }

    fn list(&self, ns: &str, prefix: &str, after: &str, limit: usize, now: u64) -> Vec<String> {
        let start = if after >= prefix { after } else { prefix };
        self.entries
            .range((ns.to_string(), start.to_string())..)
            .take_while(|((n, k), _)| n == ns && k.starts_with(prefix))
            .filter(|((_, k), (_, at))| k.as_str() > after && visible(*at, now))
            .take(limit)
            .map(|((_, k), _)| k.clone())
            .collect()
    }
}

/// Reads (and operators' writes) of the memory backend's key-value state.
pub struct MemoryKv {
    tables: Arc<Mutex<KvTables>>,
}

impl MemoryKv {
    /// The state behind `tables` (the memory store's).
    pub fn new(tables: Arc<Mutex<KvTables>>) -> MemoryKv {
        MemoryKv { tables }
    }
}

#[async_trait::async_trait]
impl KvStore for MemoryKv {
    fn describe(&self) -> String {
        "memory (not durable)".into()
    }

    async fn get(&self, ns: &str, key: &str) -> Result<Option<String>, KvError> {
        Ok(self.tables.lock().expect("kv lock").get(ns, key, now_ms()))
    }

    async fn list(
        &self,
        ns: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, KvError> {
        Ok(self
            .tables
            .lock()
            .expect("kv lock")
            .list(ns, prefix, after, limit, now_ms()))
    }

    async fn usage(&self, ns: &str) -> Result<Usage, KvError> {
        Ok(self
            .tables
            .lock()
            .expect("kv lock")
            .usage
            .get(ns)
            .copied()
            .unwrap_or_default())
    }

    async fn apply(&self, writes: &WriteSet) -> Result<(), KvError> {
        self.tables
            .lock()
            .expect("kv lock")
            .commit([writes], now_ms());
        Ok(())
    }
}
