//! Claims and leases: which instance runs which entry.
//!
//! Every [`lim::REDIS_CLAIM_INTERVAL`] an instance renews its `alive` key, then touches every
//! entry it holds (`XCLAIM … JUSTID`, which resets the idle time) and claims entries idle for
//! longer than the claim timeout (`XAUTOCLAIM`, in `take.lua`): those of an instance that was
//! killed. A chat is leased to one instance (`chat:<chat id>`) while its lane
//! (`lane:<chat id>`) holds unfinished jobs; later events of the chat are forwarded to that
//! instance's inbox, which it waits on (`BLPOP`), and before it runs one of the chat's jobs it
//! checks that the job is the lane's head and still in its PEL.

use std::collections::HashSet;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Value};

use super::{RedisStore, GROUP};
use crate::limits::queue as lim;
use crate::queue::store::{ChatTurn, JobRecord, StoreError};

impl RedisStore {
    /// The heartbeat and takeover: renews the liveness key, touches every entry this consumer
    /// holds, and returns what it should run that the engine does not hold yet (at `start`:
    /// every entry it holds, i.e. what this instance name left when it stopped or was killed).
    pub(super) async fn take(&self, start: bool) -> Result<Vec<JobRecord>, StoreError> {
        let stream = self.key("stream");
        let prefix = &self.prefix;
        let consumer = &self.consumer;
        let idle = self.claim_idle.as_millis() as u64;
        let stashed: Vec<u64> = std::mem::take(&mut *self.stash.lock().expect("stash lock"));
        let known = self.held.lock().expect("held lock").clone();
        let previous = std::mem::take(&mut *self.suspects.lock().expect("suspects lock"));
        let alive_key = self.key(&format!("alive:{consumer}"));
        let mut conn = self.conn.clone();
        let (records, suspects, lost_name) = async {
            // Liveness first, then the entries: a dead instance's key has expired by the
            // time its entries are idle enough to claim.
            let renewed: Value = self
                .scripts
                .alive
                .key(&alive_key)
                .arg(&self.alive)
                .arg("")
                .arg(idle)
                .invoke_async(&mut conn)
                .await?;
            let lost_name = !matches!(renewed, Value::Int(1));
            // Heartbeat: touch every entry we hold, so nobody claims a live instance's work.
            let held: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
                .arg(&stream)
                .arg(GROUP)
                .arg("-")
                .arg("+")
                .arg(1_000_000)
                .arg(consumer)
                .query_async(&mut conn)
                .await?;
            let mut ours: Vec<(String, u64)> = Vec::new();
            for chunk in held.chunks(lim::REDIS_CLAIM_BATCH) {
                let mut c = redis::cmd("XCLAIM");
                c.arg(&stream).arg(GROUP).arg(consumer).arg(0);
                for (sid, ..) in chunk {
                    c.arg(sid);
                }
                let v: Value = c.query_async(&mut conn).await?;
                ours.extend(entries(&v));
            }
            let mut found: Vec<(String, u64)> = Vec::new();
            // Entries we own that the engine does not hold (a commit that ran in Redis but
            // whose reply was lost): seen twice in a row, one interval apart, so an admission
            // whose reply is on its way is not taken for one. At start, all of them.
            let mut suspects = HashSet::new();
            for (sid, id) in ours {
                if !known.contains(&id) {
                    if start || previous.contains(&id) {
                        found.push((sid, id));
                    } else {
                        suspects.insert(id);
                    }
                }
            }
            // Forwarded to us, replayed dead letters, a dead instance's entries.
            let taken: Vec<u64> = self
                .scripts
                .take
                .arg(prefix)
                .arg(consumer)
                .arg(idle)
                .arg(lim::REDIS_CLAIM_BATCH)
                .invoke_async(&mut conn)
                .await?;
            for id in taken.into_iter().chain(stashed) {
                let sid: Option<String> = conn.hget(format!("{prefix}job:{id}"), "sid").await?;
                if let Some(sid) = sid {
                    found.push((sid, id));
                }
            }
            // Forget consumers of stopped instances once their entries were claimed. One
            // script, so no entry can reach a consumer between the check and the delete.
            let _: Value = self
                .scripts
                .forget_consumers
                .arg(&stream)
                .arg(consumer)
                .arg(idle.max(60_000))
                .invoke_async(&mut conn)
                .await?;
            found.sort_by_key(|(_, id)| *id);
            found.dedup_by_key(|(_, id)| *id);
            let records = records(&mut conn, prefix, &stream, found).await?;
            Ok::<_, redis::RedisError>((records, suspects, lost_name))
        }
        .await
        .map_err(self.fail("cannot read or claim pending entries"))?;
        if lost_name {
            tracing::error!(
                instance = %self.consumer,
                "queue: another process registered this instance name while this one was \
                 stalled; two processes now share one name — give each its own [queue] instance"
            );
        }
        *self.suspects.lock().expect("suspects lock") = suspects;
        self.held
            .lock()
            .expect("held lock")
            .extend(records.iter().map(|r| r.id));
        Ok(records)
    }

    /// Waits (up to [`lim::REDIS_INBOX_WAIT`]) for jobs other instances forwarded to this one
    /// and returns those still in its PEL.
    pub(super) async fn forwarded(&self) -> Result<Vec<JobRecord>, StoreError> {
        let inbox = self.key(&format!("inbox:{}", self.consumer));
        let stream = self.key("stream");
        let prefix = &self.prefix;
        let mut wait = self.inbox_conn.clone();
        let mut conn = self.conn.clone();
        let records = async {
            let first: Option<(String, u64)> = redis::cmd("BLPOP")
                .arg(&inbox)
                .arg(lim::REDIS_INBOX_WAIT.as_secs_f64())
                .query_async(&mut wait)
                .await?;
            let Some((_, first)) = first else {
                return Ok(Vec::new());
            };
            let more: Option<Vec<u64>> = redis::cmd("LPOP")
                .arg(&inbox)
                .arg(lim::REDIS_CLAIM_BATCH)
                .query_async(&mut conn)
                .await?;
            let mut found = Vec::new();
            for id in std::iter::once(first).chain(more.unwrap_or_default()) {
                let sid: Option<String> = conn.hget(format!("{prefix}job:{id}"), "sid").await?;
                let Some(sid) = sid else { continue };
                // Still ours (not taken over while it waited here).
                let mine: Vec<Value> = redis::cmd("XPENDING")
                    .arg(&stream)
                    .arg(GROUP)
                    .arg(&sid)
                    .arg(&sid)
                    .arg(1)
                    .arg(&self.consumer)
                    .query_async(&mut conn)
                    .await?;
                if !mine.is_empty() {
                    found.push((sid, id));
                }
            }
            records(&mut conn, prefix, &stream, found).await
        }
        .await
        .map_err(self.fail("cannot read the forwarded jobs"))?;
        self.held
            .lock()
            .expect("held lock")
            .extend(records.iter().map(|r| r.id));
        Ok(records)
    }

    /// Whether `record` is the head of its chat's lane and still this consumer's (`is_next.lua`).
    pub(super) async fn chat_turn(&self, record: &JobRecord) -> Result<ChatTurn, StoreError> {
        let Some(chat) = &record.job.chat_id else {
            return Ok(ChatTurn::Next);
        };
        let mut conn = self.conn.clone();
        let turn: i64 = self
            .scripts
            .is_next
            .arg(&self.prefix)
            .arg(&self.consumer)
            .arg(chat)
            .arg(record.id)
            .invoke_async(&mut conn)
            .await
            .map_err(self.fail("cannot read a chat's lane"))?;
        Ok(match turn {
            1 => ChatTurn::Next,
            2 => {
                self.held.lock().expect("held lock").remove(&record.id);
                ChatTurn::Lost
            }
            _ => ChatTurn::NotYet,
        })
    }
}

/// Reads the records of `found` (an entry whose record is gone is acked and deleted).
async fn records(
    conn: &mut ConnectionManager,
    prefix: &str,
    stream: &str,
    found: Vec<(String, u64)>,
) -> redis::RedisResult<Vec<JobRecord>> {
    let mut out = Vec::new();
    for (sid, id) in found {
        let rec: Option<String> = conn.hget(format!("{prefix}job:{id}"), "rec").await?;
        match rec.and_then(|r| serde_json::from_str::<JobRecord>(&r).ok()) {
            Some(mut r) => {
                r.id = id;
                out.push(r);
            }
            None => {
                let _: () = conn.xack(stream, GROUP, &[&sid]).await?;
                let _: () = conn.xdel(stream, &[&sid]).await?;
            }
        }
    }
    Ok(out)
}

/// Stream entries as (entry id, job id).
fn entries(v: &Value) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let Value::Array(items) = v else {
        return out;
    };
    for e in items {
        let Value::Array(parts) = e else { continue };
        let (Some(sid), Some(Value::Array(fields))) = (parts.first(), parts.get(1)) else {
            continue;
        };
        let Ok(sid) = redis::from_redis_value_ref::<String>(sid) else {
            continue;
        };
        let mut job = None;
        for pair in fields.chunks(2) {
            if let [k, v] = pair {
                if redis::from_redis_value_ref::<String>(k).ok().as_deref() == Some("job") {
                    job = redis::from_redis_value_ref::<u64>(v).ok();
                }
            }
        }
        if let Some(job) = job {
            out.push((sid, job));
        }
    }
    out
}
