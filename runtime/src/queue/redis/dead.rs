//! Dead letters on Redis: the `dead` stream (`id`, `rec`, `chat`), written by `commit.lua`
//! when a job's last pending handler gives up; listed, replayed (`replay.lua`: back into the
//! job stream and the chat's lane, routed by the next instance that reads new entries) and
//! purged here.

use std::sync::Arc;

use redis::{AsyncCommands, Value};

use super::{encode, RedisStore};
use crate::queue::store::{JobRecord, StoreError};

impl RedisStore {
    /// Every dead letter with its entry id in the `dead` stream, by id.
    pub(super) async fn dead_entries(&self) -> Result<Vec<(String, JobRecord)>, StoreError> {
        let dead = self.key("dead");
        let mut conn = self.conn.clone();
        let rows: Vec<(String, Vec<(String, String)>)> = async {
            let v: Value = conn.xrange_all(&dead).await?;
            let mut out = Vec::new();
            if let Value::Array(items) = v {
                for e in items {
                    let (sid, fields): (String, Vec<(String, String)>) =
                        redis::from_redis_value(e)?;
                    out.push((sid, fields));
                }
            }
            Ok::<_, redis::RedisError>(out)
        }
        .await
        .map_err(self.fail("cannot read the dead letters"))?;
        let mut out = Vec::new();
        for (sid, fields) in rows {
            let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
            let (Some(id), Some(rec)) = (get("id"), get("rec")) else {
                continue;
            };
            let mut r: JobRecord =
                serde_json::from_str(rec).map_err(|e| StoreError::Unreadable {
                    queue: self.url.redacted(),
                    what: "a dead letter",
                    source: Arc::new(e),
                })?;
            r.id = id.parse().unwrap_or(r.id);
            out.push((sid, r));
        }
        out.sort_by_key(|(_, r)| r.id);
        Ok(out)
    }

    /// Moves the dead letters `ids` (`None` = all) back into the queue, revived at `now_ms`.
    pub(super) async fn replay_dead(
        &self,
        ids: Option<&[u64]>,
        now_ms: u64,
    ) -> Result<Vec<u64>, StoreError> {
        let chosen = self.dead_entries().await?;
        let mut script = self.scripts.replay.prepare_invoke();
        script.arg(&self.prefix);
        for (dsid, mut r) in chosen {
            if ids.is_some_and(|ids| !ids.contains(&r.id)) {
                continue;
            }
            r.revive(now_ms);
            let chat = r.job.chat_id.clone().unwrap_or_default();
            script.arg(r.id).arg(dsid).arg(encode(&r)).arg(chat);
        }
        let mut conn = self.conn.clone();
        script
            .invoke_async(&mut conn)
            .await
            .map_err(self.fail("cannot replay"))
    }

    /// Deletes every dead letter; returns how many.
    pub(super) async fn purge_dead(&self) -> Result<u64, StoreError> {
        let dead = self.key("dead");
        let mut conn = self.conn.clone();
        async {
            let n: u64 = conn.xlen(&dead).await?;
            let _: () = conn.del(&dead).await?;
            Ok::<_, redis::RedisError>(n)
        }
        .await
        .map_err(self.fail("cannot purge the dead letters"))
    }
}
