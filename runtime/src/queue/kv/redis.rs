//! Key-value state in Redis, next to the queue's keys (layout in `lua/kv.lua`), so every
//! instance of an app shares it. A batch's writes are arguments of the commit script
//! (`commit_args`) and are applied in the branch that applies their job's settlement — only
//! while the job is still in the committing instance's pending list — so an instance that
//! stalled and lost the job to another writes nothing either. Reads are one small script each
//! (a value with its expiry checked; a page of keys).

use redis::aio::ConnectionManager;

use super::KvCommit;
use crate::kv::{KvError, KvStore, Usage, Write, WriteSet};
use crate::limits::kv as lim;
use crate::queue::redis::{RedisStore, RedisUrl};
use crate::queue::store::StoreError;

/// The functions spliced into `commit.lua` and `kv_apply.lua`.
pub(in crate::queue) const KV_LUA: &str = include_str!("lua/kv.lua");
const APPLY: &str = include_str!("lua/kv_apply.lua");
const GET: &str = include_str!("lua/kv_get.lua");
const LIST: &str = include_str!("lua/kv_list.lua");

/// Appends the key-value section of `commit.lua`'s arguments for `kv`.
pub(in crate::queue) fn commit_args(call: &mut redis::ScriptInvocation<'_>, kv: &[KvCommit]) {
    call.arg(lim::EXPIRE_PRUNE_PER_COMMIT).arg(kv.len());
    for c in kv {
        push_set(call, c.job, &c.writes);
    }
}

fn push_set(call: &mut redis::ScriptInvocation<'_>, job: u64, writes: &WriteSet) {
    call.arg(job).arg(writes.writes.len());
    for w in &writes.writes {
        call.arg(&w.namespace).arg(&w.key);
        match &w.write {
            Write::Set { value, ttl_secs } => call.arg("S").arg(value).arg(*ttl_secs),
            Write::Delete => call.arg("D").arg("").arg(0),
            Write::Add(d) => call.arg("A").arg(d.to_string()).arg(0),
        };
    }
}

/// The key-value state of an app on Redis.
pub struct RedisKv {
    conn: ConnectionManager,
    prefix: String,
    url: RedisUrl,
    get: redis::Script,
    list: redis::Script,
    apply: redis::Script,
}

impl RedisKv {
    /// On the connection of a queue (its key prefix `prefix`).
    pub(in crate::queue) fn new(conn: ConnectionManager, prefix: String, url: RedisUrl) -> Self {
        RedisKv {
            conn,
            prefix,
            url,
            get: redis::Script::new(GET),
            list: redis::Script::new(LIST),
            apply: redis::Script::new(&APPLY.replace("--KV--", KV_LUA)),
        }
    }

    /// Connects for a process that runs no queue (`ack = "after-handle"`).
    pub async fn connect(url: &RedisUrl, app_id: &str) -> Result<RedisKv, StoreError> {
        let (conn, prefix) = RedisStore::kv_connection(url, app_id).await?;
        Ok(RedisKv::new(conn, prefix, url.clone()))
    }

    fn fail(&self, what: &str) -> impl FnOnce(redis::RedisError) -> KvError + '_ {
        let what = what.to_string();
        move |e| KvError(format!("kv {}: {what}: {e}", self.url.redacted()))
    }
}

/// The `ZRANGEBYLEX` bounds of the keys that start with `prefix` and sort after `after`. Keys
/// are UTF-8, which never holds the byte 0xFF, so `prefix` + 0xFF is above every key that
/// starts with `prefix`.
fn lex_range(prefix: &str, after: &str) -> (Vec<u8>, Vec<u8>) {
    let min = if !after.is_empty() && after >= prefix {
        [b"(", after.as_bytes()].concat()
    } else if prefix.is_empty() {
        b"-".to_vec()
    } else {
        [b"[", prefix.as_bytes()].concat()
    };
    let max = if prefix.is_empty() {
        b"+".to_vec()
    } else {
        [b"(", prefix.as_bytes(), b"\xff"].concat()
    };
    (min, max)
}

#[async_trait::async_trait]
impl KvStore for RedisKv {
    fn describe(&self) -> String {
        format!("redis {}", self.url)
    }

    async fn get(&self, ns: &str, key: &str) -> Result<Option<String>, KvError> {
        let mut conn = self.conn.clone();
        self.get
            .prepare_invoke()
            .arg(&self.prefix)
            .arg(ns)
            .arg(key)
            .invoke_async(&mut conn)
            .await
            .map_err(self.fail("cannot read"))
    }

    async fn list(
        &self,
        ns: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, KvError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (min, max) = lex_range(prefix, after);
        let mut conn = self.conn.clone();
        self.list
            .prepare_invoke()
            .arg(&self.prefix)
            .arg(ns)
            .arg(min)
            .arg(max)
            .arg(limit)
            .invoke_async(&mut conn)
            .await
            .map_err(self.fail("cannot list keys"))
    }

    async fn usage(&self, ns: &str) -> Result<Usage, KvError> {
        let mut conn = self.conn.clone();
        let (keys, bytes): (Option<u64>, Option<u64>) = redis::cmd("HMGET")
            .arg(format!("{}kvuse:{ns}", self.prefix))
            .arg("keys")
            .arg("bytes")
            .query_async(&mut conn)
            .await
            .map_err(self.fail("cannot read the usage"))?;
        Ok(Usage {
            keys: keys.unwrap_or(0),
            bytes: bytes.unwrap_or(0),
        })
    }

    async fn apply(&self, writes: &WriteSet) -> Result<(), KvError> {
        let mut call = self.apply.prepare_invoke();
        call.arg(&self.prefix)
            .arg(lim::EXPIRE_PRUNE_PER_COMMIT)
            .arg(1);
        push_set(&mut call, 0, writes);
        let mut conn = self.conn.clone();
        let _: i64 = call
            .invoke_async(&mut conn)
            .await
            .map_err(self.fail("cannot write"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lex_bounds_cover_exactly_the_prefix_after_the_cursor() {
        assert_eq!(lex_range("", ""), (b"-".to_vec(), b"+".to_vec()));
        assert_eq!(lex_range("ab", ""), (b"[ab".to_vec(), b"(ab\xff".to_vec()));
        assert_eq!(
            lex_range("ab", "abc"),
            (b"(abc".to_vec(), b"(ab\xff".to_vec())
        );
        assert_eq!(lex_range("ab", "a"), (b"[ab".to_vec(), b"(ab\xff".to_vec()));
        assert_eq!(lex_range("", "k"), (b"(k".to_vec(), b"+".to_vec()));
    }
}
