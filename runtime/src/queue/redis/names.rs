//! Instance names: each process is one consumer of the group, under a name it registers as
//! live (`alive:<consumer>` = `<host> <pid> <token>`, renewed by every heartbeat, released when
//! the store is dropped), so two live processes never share a name and a restarted instance
//! gets its predecessor's name — and its pending entries — back at once.

use std::time::Duration;

use redis::Value;

use super::{RedisStore, RedisUrl};
use crate::limits::queue as lim;
use crate::queue::store::StoreError;

impl RedisStore {
    /// Connects to `url` and makes sure the consumer group exists. Keys start with
    /// `aviary:{<app_id>}:`; this instance is consumer `consumer` and claims other consumers'
    /// entries idle for longer than `claim_idle`. The name is registered as live
    /// (`alive:<consumer>`, renewed by every heartbeat); if another live process holds it the
    /// open fails, saying so. Errors name the (redacted) URL and what failed.
    pub async fn open(
        url: &RedisUrl,
        app_id: &str,
        consumer: &str,
        claim_idle: Duration,
    ) -> Result<RedisStore, StoreError> {
        let mut store = RedisStore::connect(url, app_id, claim_idle).await?;
        match store.register(consumer).await? {
            None => Ok(store),
            Some(holder) => Err(StoreError::NameInUse {
                url: url.redacted(),
                name: consumer.to_string(),
                holder,
                claim_idle_secs: claim_idle.as_secs(),
            }),
        }
    }

    /// Like [`RedisStore::open`] for `aviary run`'s default identity: consumer `base`, or, when
    /// a live process holds that name, `base-2`, `base-3`, … (up to
    /// [`lim::REDIS_INSTANCE_SLOTS`]): the first name that is free or whose holder was a process
    /// of this host that is gone. So a restarted instance gets its predecessor's name back and
    /// resumes its pending entries at once, and several instances started from one manifest on
    /// one host get distinct names.
    pub async fn open_instance(
        url: &RedisUrl,
        app_id: &str,
        base: &str,
        claim_idle: Duration,
    ) -> Result<RedisStore, StoreError> {
        let mut store = RedisStore::connect(url, app_id, claim_idle).await?;
        for slot in 1..=lim::REDIS_INSTANCE_SLOTS {
            let name = if slot == 1 {
                base.to_string()
            } else {
                format!("{base}-{slot}")
            };
            if store.register(&name).await?.is_none() {
                return Ok(store);
            }
        }
        Err(StoreError::NoFreeName {
            url: url.redacted(),
            base: base.to_string(),
            slots: lim::REDIS_INSTANCE_SLOTS,
        })
    }

    /// Takes `name` as this store's consumer if its liveness key is free, ours, or held by a
    /// process of this host that no longer runs. Returns the holder's description otherwise.
    async fn register(&mut self, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.key(&format!("alive:{name}"));
        let ms = self.claim_idle.as_millis() as u64;
        let mut stale = String::new();
        for _ in 0..2 {
            let mut conn = self.conn.clone();
            let got: Value = self
                .scripts
                .alive
                .key(&key)
                .arg(&self.alive)
                .arg(&stale)
                .arg(ms)
                .invoke_async(&mut conn)
                .await
                .map_err(self.fail("cannot register the instance name"))?;
            let holder = match got {
                Value::Int(1) => {
                    self.consumer = name.to_string();
                    return Ok(None);
                }
                other => redis::from_redis_value::<String>(other).unwrap_or_default(),
            };
            let mut parts = holder.split(' ');
            let (host, pid) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if host == hostname() && !process_runs(pid) && stale.is_empty() {
                // Our host's process that held the name is gone (killed): take over its name.
                stale = holder;
                continue;
            }
            return Ok(Some(format!("process {pid} on host {host}")));
        }
        Ok(Some("a process that keeps re-registering".into()))
    }
}

impl Drop for RedisStore {
    /// A stopped instance frees its name at once, so its restart need not wait. `drop` cannot
    /// await, so this is one blocking round trip on a connection of its own (bounded by
    /// [`lim::REDIS_RESPONSE_TIMEOUT`]); it needs no runtime, so it works wherever the store
    /// is dropped (in async code too, or after the runtime has stopped).
    fn drop(&mut self) {
        if self.consumer.is_empty() {
            // Never registered (the open failed): nothing to release.
            return;
        }
        let key = self.key(&format!("alive:{}", self.consumer));
        let released = (|| -> redis::RedisResult<Value> {
            let mut conn = self
                .client
                .get_connection_with_timeout(lim::REDIS_RESPONSE_TIMEOUT)?;
            conn.set_read_timeout(Some(lim::REDIS_RESPONSE_TIMEOUT))?;
            conn.set_write_timeout(Some(lim::REDIS_RESPONSE_TIMEOUT))?;
            self.scripts
                .release
                .key(&key)
                .arg(&self.alive)
                .invoke(&mut conn)
        })();
        if let Err(e) = released {
            tracing::debug!(error = %e, instance = %self.consumer, "queue: cannot release the instance name (it expires after claim_idle_secs)");
        }
    }
}

/// This host's name (`HOSTNAME`, else `/etc/hostname`, else `host`), without spaces.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().replace(' ', "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// Whether process `pid` of this host runs (Linux: `/proc/<pid>`; elsewhere it is assumed to,
/// so a name is never taken from a live process).
fn process_runs(pid: &str) -> bool {
    match pid.parse::<u32>() {
        Ok(pid) if cfg!(target_os = "linux") => {
            pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => true,
    }
}
