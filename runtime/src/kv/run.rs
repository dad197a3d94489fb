//! One run's view of its namespace: committed state plus the run's own writes, which stay here
//! (never in the store) until the run's outcome commits them. Every write is checked against
//! the quotas here, so the guest gets a clear error at the call that would exceed one.

use std::collections::BTreeMap;

use super::grant::KvQuotas;
use super::store::{KvStore, Usage};
use super::write::{add_to, as_integer, entry_bytes, KeyWrite, Write, WriteSet};

/// Why a call failed, for the guest (the message) and the counters (the kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// What kind of failure.
    pub kind: Failed,
    /// One line for the guest.
    pub message: String,
}

/// The kinds of failed calls (counted per handler).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Failed {
    /// The handler has no grant.
    Denied,
    /// A bad argument (empty key, a key or value too long, an increment of text).
    Invalid,
    /// A namespace or per-run quota would be exceeded.
    Quota,
    /// The store failed.
    Store,
}

impl Failed {
    /// A short stable name for logs and metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            Failed::Denied => "denied",
            Failed::Invalid => "invalid",
            Failed::Quota => "over_quota",
            Failed::Store => "store_error",
        }
    }
}

fn fail<T>(kind: Failed, message: impl Into<String>) -> Result<T, CallError> {
    Err(CallError {
        kind,
        message: message.into(),
    })
}

/// A key this run wrote.
#[derive(Debug, Clone)]
struct Touched {
    /// Bytes of the committed entry when the run first wrote the key (`None`: absent).
    base: Option<u64>,
    /// Bytes of the entry as the run sees it now (`None`: absent).
    now: Option<u64>,
    /// The net write.
    write: Write,
}

/// The run's state: what it wrote, and the namespace's committed usage (read at its first
/// write). Reset for every run.
#[derive(Debug, Default)]
pub struct RunState {
    touched: BTreeMap<String, Touched>,
    usage: Option<Usage>,
}

/// What one call works on: the store, the namespace and its quotas.
pub struct Scope<'a> {
    /// Committed state.
    pub store: &'a dyn KvStore,
    /// The handler's namespace.
    pub namespace: &'a str,
    /// The bounds.
    pub quotas: &'a KvQuotas,
}

impl Scope<'_> {
    async fn committed(&self, key: &str) -> Result<Option<String>, CallError> {
        self.store
            .get(self.namespace, key)
            .await
            .map_err(|e| CallError {
                kind: Failed::Store,
                message: e.0,
            })
    }

    fn check_key(&self, key: &str) -> Result<(), CallError> {
        if key.is_empty() {
            return fail(Failed::Invalid, "the key is empty");
        }
        if key.len() > self.quotas.max_key_bytes {
            return fail(
                Failed::Invalid,
                format!(
                    "the key is {} bytes, over the limit of {} bytes",
                    key.len(),
                    self.quotas.max_key_bytes
                ),
            );
        }
        Ok(())
    }
}

impl RunState {
    /// Forgets everything (the start of a run).
    pub fn reset(&mut self) {
        self.touched.clear();
        self.usage = None;
    }

    /// The run's writes, in key order, for `namespace`; the state is left empty.
    pub fn take(&mut self, namespace: &str) -> WriteSet {
        self.usage = None;
        WriteSet {
            writes: std::mem::take(&mut self.touched)
                .into_iter()
                .map(|(key, t)| KeyWrite {
                    namespace: namespace.to_string(),
                    key,
                    write: t.write,
                })
                .collect(),
        }
    }

    /// How many keys the run has written.
    #[cfg(test)]
    pub fn written(&self) -> usize {
        self.touched.len()
    }

    /// The value of `key` as this run sees it.
    pub async fn get(&self, s: &Scope<'_>, key: &str) -> Result<Option<String>, CallError> {
        s.check_key(key)?;
        match self.touched.get(key).map(|t| &t.write) {
            Some(Write::Set { value, .. }) => Ok(Some(value.clone())),
            Some(Write::Delete) => Ok(None),
            Some(Write::Add(d)) => Ok(Some(add_to(s.committed(key).await?.as_deref(), *d))),
            None => s.committed(key).await,
        }
    }

    /// Sets `key` to `value` (expiring `ttl_secs` after the commit; 0: never).
    pub async fn set(
        &mut self,
        s: &Scope<'_>,
        key: &str,
        value: String,
        ttl_secs: u32,
    ) -> Result<(), CallError> {
        s.check_key(key)?;
        if value.len() > s.quotas.max_value_bytes {
            return fail(
                Failed::Invalid,
                format!(
                    "the value is {} bytes, over the limit of {} bytes",
                    value.len(),
                    s.quotas.max_value_bytes
                ),
            );
        }
        let bytes = entry_bytes(key, &value);
        self.write(s, key, Some(bytes), Write::Set { value, ttl_secs })
            .await
    }

    /// Deletes `key`.
    pub async fn delete(&mut self, s: &Scope<'_>, key: &str) -> Result<(), CallError> {
        s.check_key(key)?;
        self.write(s, key, None, Write::Delete).await
    }

    /// Adds `delta` to the integer at `key` (absent: 0) and returns the value this run now
    /// sees. At commit the delta is added to whatever is committed then.
    pub async fn increment(
        &mut self,
        s: &Scope<'_>,
        key: &str,
        delta: i64,
    ) -> Result<i64, CallError> {
        s.check_key(key)?;
        // One read of the committed entry serves both the view and the quota's base.
        let committed = match self.touched.get(key) {
            Some(_) => None,
            None => Some(s.committed(key).await?),
        };
        let current = match (&committed, self.touched.get(key).map(|t| &t.write)) {
            (Some(c), _) => c.clone(),
            (None, Some(Write::Set { value, .. })) => Some(value.clone()),
            (None, Some(Write::Delete)) => None,
            (None, Some(Write::Add(d))) => Some(add_to(s.committed(key).await?.as_deref(), *d)),
            (None, None) => unreachable!("untouched keys were read above"),
        };
        let n = match current.as_deref() {
            None => 0,
            Some(v) => match as_integer(v) {
                Some(n) => n,
                None => {
                    return fail(
                        Failed::Invalid,
                        format!("the value of `{key}` is not an integer (a decimal i64)"),
                    )
                }
            },
        };
        let Some(sum) = n.checked_add(delta) else {
            return fail(
                Failed::Invalid,
                format!("`{key}` would overflow a 64-bit integer"),
            );
        };
        let write = match self.touched.get(key).map(|t| &t.write) {
            Some(Write::Set { ttl_secs, .. }) => Write::Set {
                value: sum.to_string(),
                ttl_secs: *ttl_secs,
            },
            Some(Write::Delete) => Write::Set {
                value: sum.to_string(),
                ttl_secs: 0,
            },
            Some(Write::Add(d)) => Write::Add(d.saturating_add(delta)),
            None => Write::Add(delta),
        };
        let bytes = entry_bytes(key, &sum.to_string());
        let base = committed.map(|c| c.map(|v| entry_bytes(key, &v)));
        self.write_known(s, key, Some(bytes), write, base).await?;
        Ok(sum)
    }

    /// Up to `limit` keys (0: the most allowed) starting with `prefix`, after `after`, as this
    /// run sees them.
    pub async fn list(
        &self,
        s: &Scope<'_>,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<String>, CallError> {
        let max = s.quotas.max_list_keys;
        if limit > max {
            return fail(
                Failed::Invalid,
                format!("limit {limit} is over the most keys one call returns ({max})"),
            );
        }
        let limit = if limit == 0 { max } else { limit } as usize;
        let in_range = |k: &str| k.starts_with(prefix) && k > after;
        let deleted = self
            .touched
            .iter()
            .filter(|(k, t)| t.write == Write::Delete && in_range(k))
            .count();
        let asked = limit + deleted;
        let committed = s
            .store
            .list(s.namespace, prefix, after, asked)
            .await
            .map_err(|e| CallError {
                kind: Failed::Store,
                message: e.0,
            })?;
        // When the store had more, keys of ours beyond its last one could sort before keys it
        // did not return: only ours up to that bound are certain.
        let bound = (committed.len() >= asked)
            .then(|| committed.last().cloned())
            .flatten();
        let mut keys: Vec<String> = committed
            .into_iter()
            .filter(|k| !matches!(self.touched.get(k), Some(t) if t.write == Write::Delete))
            .collect();
        for (k, t) in &self.touched {
            let present = t.write != Write::Delete;
            let within = bound.as_ref().is_none_or(|b| k <= b);
            if present && within && in_range(k) && keys.binary_search(k).is_err() {
                let at = keys.partition_point(|x| x < k);
                keys.insert(at, k.clone());
            }
        }
        keys.truncate(limit);
        Ok(keys)
    }

    /// Records `write` on `key` (whose entry will be `bytes` long, `None`: absent) after the
    /// per-run and namespace quotas allow it.
    async fn write(
        &mut self,
        s: &Scope<'_>,
        key: &str,
        bytes: Option<u64>,
        write: Write,
    ) -> Result<(), CallError> {
        self.write_known(s, key, bytes, write, None).await
    }

    /// [`RunState::write`] with the committed entry's bytes already read (`Some`), if so.
    async fn write_known(
        &mut self,
        s: &Scope<'_>,
        key: &str,
        bytes: Option<u64>,
        write: Write,
        committed: Option<Option<u64>>,
    ) -> Result<(), CallError> {
        let base = match self.touched.get(key) {
            Some(t) => t.base,
            None => {
                if self.touched.len() >= s.quotas.max_writes_per_run {
                    return fail(
                        Failed::Quota,
                        format!(
                            "this run already wrote {} keys, the most one run may write",
                            s.quotas.max_writes_per_run
                        ),
                    );
                }
                match committed {
                    Some(base) => base,
                    None => s.committed(key).await?.map(|v| entry_bytes(key, &v)),
                }
            }
        };
        let before = self.touched.get(key).map_or(base, |t| t.now);
        if bytes.unwrap_or(0) > before.unwrap_or(0) || (bytes.is_some() && before.is_none()) {
            self.check_quota(s, key, before, bytes).await?;
        }
        self.touched.insert(
            key.to_string(),
            Touched {
                base,
                now: bytes,
                write,
            },
        );
        Ok(())
    }

    /// Whether the namespace stays within its quotas when `key` goes from `before` to `after`
    /// bytes (committed usage plus this run's changes).
    async fn check_quota(
        &mut self,
        s: &Scope<'_>,
        key: &str,
        before: Option<u64>,
        after: Option<u64>,
    ) -> Result<(), CallError> {
        let usage = match self.usage {
            Some(u) => u,
            None => {
                let u = s.store.usage(s.namespace).await.map_err(|e| CallError {
                    kind: Failed::Store,
                    message: e.0,
                })?;
                self.usage = Some(u);
                u
            }
        };
        let (mut keys, mut bytes) = (usage.keys as i128, usage.bytes as i128);
        for (k, t) in &self.touched {
            if k == key {
                continue;
            }
            keys += i128::from(t.now.is_some()) - i128::from(t.base.is_some());
            bytes += t.now.unwrap_or(0) as i128 - t.base.unwrap_or(0) as i128;
        }
        let base = self.touched.get(key).map_or(before, |t| t.base);
        keys += i128::from(after.is_some()) - i128::from(base.is_some());
        bytes += after.unwrap_or(0) as i128 - base.unwrap_or(0) as i128;
        let ns = s.namespace;
        if after.is_some() && before.is_none() && keys > s.quotas.max_keys as i128 {
            return fail(
                Failed::Quota,
                format!(
                    "namespace `{ns}` would hold {keys} keys, over its quota of {}; delete keys first",
                    s.quotas.max_keys
                ),
            );
        }
        if bytes > s.quotas.max_bytes as i128 {
            return fail(
                Failed::Quota,
                format!(
                    "namespace `{ns}` would hold {bytes} bytes, over its quota of {} bytes; \
                     delete keys first",
                    s.quotas.max_bytes
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::queue::kv::memory::MemoryKv;

    fn store() -> MemoryKv {
        MemoryKv::new(Arc::default())
    }

    fn small() -> KvQuotas {
        KvQuotas {
            max_key_bytes: 8,
            max_value_bytes: 16,
            max_keys: 3,
            max_bytes: 40,
            max_writes_per_run: 4,
            max_list_keys: 5,
        }
    }

    fn set(key: &str, value: &str) -> KeyWrite {
        KeyWrite {
            namespace: "ns".into(),
            key: key.into(),
            write: Write::Set {
                value: value.into(),
                ttl_secs: 0,
            },
        }
    }

    #[tokio::test]
    async fn a_run_reads_committed_state_plus_its_own_writes_which_stay_out_of_the_store() {
        let kv = store();
        kv.apply(&WriteSet {
            writes: vec![set("a", "1"), set("b", "x"), set("c", "3")],
        })
        .await
        .unwrap();
        let q = KvQuotas::default();
        let s = Scope {
            store: &kv,
            namespace: "ns",
            quotas: &q,
        };
        let mut run = RunState::default();
        assert_eq!(run.get(&s, "a").await.unwrap().as_deref(), Some("1"));
        run.set(&s, "a", "2".into(), 0).await.unwrap();
        assert_eq!(run.increment(&s, "a", 5).await.unwrap(), 7, "set then add");
        assert_eq!(run.increment(&s, "n", 2).await.unwrap(), 2, "absent is 0");
        assert_eq!(run.increment(&s, "n", 3).await.unwrap(), 5);
        run.delete(&s, "c").await.unwrap();
        assert_eq!(run.get(&s, "c").await.unwrap(), None);
        assert_eq!(
            run.increment(&s, "c", 1).await.unwrap(),
            1,
            "after a delete"
        );
        run.delete(&s, "b").await.unwrap();
        let e = run.increment(&s, "zz", 0).await;
        assert!(e.is_ok());
        // Nothing reached the store.
        assert_eq!(kv.get("ns", "a").await.unwrap().as_deref(), Some("1"));
        assert_eq!(kv.get("ns", "n").await.unwrap(), None);
        // Listing merges: `b` deleted, `n`, `zz` new.
        assert_eq!(
            run.list(&s, "", "", 0).await.unwrap(),
            ["a", "c", "n", "zz"]
        );
        assert_eq!(run.list(&s, "", "a", 2).await.unwrap(), ["c", "n"]);
        // Another run commits meanwhile: our pending add sees it.
        kv.apply(&WriteSet {
            writes: vec![KeyWrite {
                namespace: "ns".into(),
                key: "n".into(),
                write: Write::Add(100),
            }],
        })
        .await
        .unwrap();
        assert_eq!(run.get(&s, "n").await.unwrap().as_deref(), Some("105"));
        let writes = run.take("ns");
        let by_key: Vec<(&str, &Write)> = writes
            .writes
            .iter()
            .map(|w| (w.key.as_str(), &w.write))
            .collect();
        assert_eq!(
            by_key,
            vec![
                (
                    "a",
                    &Write::Set {
                        value: "7".into(),
                        ttl_secs: 0
                    }
                ),
                ("b", &Write::Delete),
                (
                    "c",
                    &Write::Set {
                        value: "1".into(),
                        ttl_secs: 0
                    }
                ),
                ("n", &Write::Add(5)),
                ("zz", &Write::Add(0)),
            ]
        );
        assert_eq!(run.written(), 0, "take leaves the run empty");
        kv.apply(&writes).await.unwrap();
        assert_eq!(kv.get("ns", "n").await.unwrap().as_deref(), Some("105"));
    }

    #[tokio::test]
    async fn bad_arguments_and_quotas_are_errors_of_their_own_kind() {
        let kv = store();
        let q = small();
        let s = Scope {
            store: &kv,
            namespace: "ns",
            quotas: &q,
        };
        let mut run = RunState::default();
        let kind = |r: Result<(), CallError>| r.unwrap_err().kind;
        assert_eq!(kind(run.set(&s, "", "v".into(), 0).await), Failed::Invalid);
        assert_eq!(
            kind(run.set(&s, "123456789", "v".into(), 0).await),
            Failed::Invalid
        );
        let e = run.set(&s, "k", "x".repeat(17), 0).await.unwrap_err();
        assert_eq!(e.kind, Failed::Invalid);
        assert!(
            e.message.contains("17 bytes, over the limit of 16"),
            "{}",
            e.message
        );
        run.set(&s, "t", "text".into(), 0).await.unwrap();
        let e = run.increment(&s, "t", 1).await.unwrap_err();
        assert!(e.message.contains("not an integer"), "{}", e.message);
        run.set(&s, "m", i64::MAX.to_string(), 0).await.unwrap_err(); // 19 bytes > 16
        assert!(run
            .list(&s, "", "", 6)
            .await
            .unwrap_err()
            .message
            .contains("over the most"));

        // Keys: 3 at most (t is one).
        run.set(&s, "a", "1".into(), 0).await.unwrap();
        run.set(&s, "b", "1".into(), 0).await.unwrap();
        let e = run.set(&s, "c", "1".into(), 0).await.unwrap_err();
        assert_eq!(e.kind, Failed::Quota);
        assert!(
            e.message.contains("would hold 4 keys, over its quota of 3"),
            "{}",
            e.message
        );
        // Updating and deleting still work; a delete makes room.
        run.set(&s, "a", "22".into(), 0).await.unwrap();
        run.delete(&s, "b").await.unwrap();
        run.set(&s, "c", "1".into(), 0).await.unwrap();
        // Writes per run: t, a, b, c written; a fifth key is refused.
        let e = run.delete(&s, "d").await.unwrap_err();
        assert_eq!(e.kind, Failed::Quota);
        assert!(e.message.contains("already wrote 4 keys"), "{}", e.message);

        // Bytes: committed usage counts too.
        kv.apply(&run.take("ns")).await.unwrap();
        let mut run = RunState::default();
        // Now: t=text (5), a=22 (3), c=1 (2) → 10 bytes; 40 allowed.
        run.set(&s, "a", "x".repeat(16), 0).await.unwrap(); // 10 - 3 + 17 = 24
        run.set(&s, "t", "z".repeat(16), 0).await.unwrap(); // 24 - 5 + 17 = 36
        let e = run.set(&s, "c", "y".repeat(16), 0).await.unwrap_err(); // 36 - 2 + 17
        assert_eq!(e.kind, Failed::Quota);
        assert!(e.message.contains("would hold 51 bytes"), "{}", e.message);
        run.set(&s, "t", "".into(), 0).await.unwrap(); // 36 - 17 + 1 = 20
        run.set(&s, "c", "y".repeat(16), 0).await.unwrap(); // 20 - 2 + 17 = 35
    }
}
