//! The `redis://` backend: one queue shared by several Aviary instances of one app.
//! `rediss://` connects with TLS (rustls; Mozilla's roots, or only the CA of
//! [`RedisUrl::with_tls_ca`]).
//!
//! The store is async all the way down: its connections run on the Tokio runtime that opened
//! it (the caller's), and it starts no runtime or thread of its own. By job:
//!
//! - `endpoint`: the URL (password redacted) and the TLS trust;
//! - `names`: instance names and their liveness keys (registration, release at drop);
//! - `admission`: [`QueueStore::commit`] (admissions with dedupe, capacity and chat routing,
//!   and settlements);
//! - `claims`: the heartbeat and takeover of a dead instance's entries, forwarded entries, and
//!   the chat lanes and leases (which instance runs a chat's next job);
//! - `dead`: the dead letters (list, replay, purge);
//! - `scripts`: the Lua scripts (`lua/*.lua`) that make each of these atomic.
//!
//! **Layout.** Every key starts with `aviary:{<app id>}:` (the braces are a Redis Cluster hash
//! tag, so one app's keys live in one slot; several apps share a Redis without meeting):
//!
//! - `stream`: a Redis Stream with one entry (`job` = id) per held job, read through the
//!   consumer group `aviary`; each instance is one consumer. `XLEN` is the job count (settled
//!   entries are acked and deleted), so capacity is checked against it.
//! - `job:<id>`: a hash: `rec` = the JSON [`JobRecord`] (every handler's own state, so a retry
//!   re-runs only the failed handler), `sid` = its stream entry, `chat` = its chat id (or empty).
//! - `dedupe:<dedupe id>`: set with `NX PX <window>`; `dedupe_ids`: a sorted set of the ids by
//!   admission time (Redis `TIME`), pruned of ids older than the window and trimmed to
//!   `dedupe_max_entries` (oldest first, their keys deleted) in the commit script, at most
//!   [`lim::DEDUPE_PRUNE_PER_COMMIT`] (+ the batch's admissions) per commit.
//! - `dead`: a stream of dead letters (`id`, `rec`), read by `aviary dlq`.
//! - `next_id`: `INCR`ed for each admitted job (ids are unique across instances and increase in
//!   arrival order).
//! - `lane:<chat id>`: a sorted set of the chat's unfinished job ids; `chat:<chat id>`: the
//!   consumer that holds the chat (the lease), deleted when the lane empties.
//! - `alive:<consumer>`: `<host> <pid> <token>` of the live process using that consumer name,
//!   expiring after the claim timeout, renewed by every heartbeat.
//! - `inbox:<consumer>`: a list of job ids other instances forwarded to that consumer.
//! - `kv:…`, `kvkeys:…`, `kvexp`, `kvuse:…`: handlers' key-value state
//!   ([`crate::queue::kv::redis`]), written by `commit.lua` with the settlements that carry it.
//!
//! **Ownership.** The instance that admits an event reads it into its own pending entries list
//! (PEL) in the same script, so it runs it — unless the event's chat has unfinished jobs held by
//! another consumer: then the script moves the entry to that consumer's PEL (`XCLAIM`) and
//! pushes its id to that consumer's inbox, which it waits on (`BLPOP`). So every unfinished job
//! of a chat is held by one instance, which runs them in id order; before it runs one, it checks
//! that the job is the head of the chat's lane and still in its PEL. Every
//! [`lim::REDIS_CLAIM_INTERVAL`] an instance renews its `alive` key, then touches every entry
//! it holds (`XCLAIM … JUSTID`, which resets the idle time) and claims entries idle for longer
//! than the claim timeout (`XAUTOCLAIM`): those of an instance that was killed. A claimed entry
//! of a chat whose holder is dead moves the whole lane to the claimer in the same script (so the
//! chat's order holds); one whose holder is alive is forwarded to it. A settlement is applied
//! only if the entry is still in the settling instance's PEL, so a stalled instance whose
//! entries were claimed cannot settle them under the new owner.
//!
//! **Names.** An instance's consumer name is stable (`[queue] instance`, or host + manifest
//! path), so a restarted instance reads its own PEL at start and resumes at once; its `alive`
//! key keeps two live processes from sharing a name.
//!
//! Each [`QueueStore::commit`] is one Lua script, so a batch is atomic. Durability is Redis':
//! with `appendonly yes` and `appendfsync always` an acked event survives a Redis crash; with
//! `everysec` up to a second can be lost; with persistence off, a Redis restart loses the queue.

mod admission;
mod claims;
mod dead;
mod endpoint;
mod names;
mod scripts;
#[cfg(test)]
mod tests;

pub(crate) use endpoint::read_tls_ca;
pub use endpoint::{ConfigError, RedisUrl, TlsCaError};
pub use names::hostname;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::store::{Admission, Batch, ChatTurn, JobRecord, QueueStore, StoreError};
use crate::limits::queue as lim;
use scripts::Scripts;

const GROUP: &str = "aviary";

/// The queue in Redis (see the module doc). Its connections belong to the Tokio runtime it was
/// opened on: use it there.
pub struct RedisStore {
    /// For the one blocking call, at drop (releasing the instance name).
    client: redis::Client,
    conn: ConnectionManager,
    /// A second connection for the blocking wait on this instance's inbox.
    inbox_conn: ConnectionManager,
    url: RedisUrl,
    prefix: String,
    consumer: String,
    /// This process's value of the liveness key (`<host> <pid> <token>`).
    alive: String,
    claim_idle: Duration,
    scripts: Scripts,
    /// Entries this consumer received while admitting (e.g. replayed dead letters) that were
    /// not its own admissions: handed to the engine by the next [`QueueStore::claim`].
    stash: Mutex<Vec<u64>>,
    /// Jobs handed to the engine (admitted or claimed here) and not finished.
    held: Mutex<HashSet<u64>>,
    /// Owned entries the engine did not hold at the last heartbeat.
    suspects: Mutex<HashSet<u64>>,
}

impl RedisStore {
    /// Connects (two connections: commands, and the inbox wait) and makes sure the consumer
    /// group exists; the store has no consumer name yet (see `names`).
    async fn connect(
        url: &RedisUrl,
        app_id: &str,
        claim_idle: Duration,
    ) -> Result<RedisStore, StoreError> {
        let fail = |what, source: redis::RedisError| StoreError::Redis {
            url: url.redacted(),
            what,
            hint: endpoint::tls_hint(url, &source.to_string()),
            source,
        };
        let client = url.client().map_err(|source| StoreError::RedisConfig {
            url: url.redacted(),
            source,
        })?;
        let prefix = format!("aviary:{{{app_id}}}:");
        let stream = format!("{prefix}stream");
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(lim::REDIS_RESPONSE_TIMEOUT))
            .set_response_timeout(Some(lim::REDIS_RESPONSE_TIMEOUT))
            .set_number_of_retries(2);
        let mut conn = ConnectionManager::new_with_config(client.clone(), config.clone())
            .await
            .map_err(|e| fail("cannot connect", e))?;
        let inbox_conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| fail("cannot connect", e))?;
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Ok(()) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(fail("cannot create the consumer group", e)),
        }
        Ok(RedisStore {
            client,
            conn,
            inbox_conn,
            url: url.clone(),
            prefix,
            consumer: String::new(),
            alive: format!(
                "{} {} {:016x}",
                hostname(),
                std::process::id(),
                rand::random::<u64>()
            ),
            claim_idle,
            scripts: Scripts::new(),
            stash: Mutex::new(Vec::new()),
            held: Mutex::default(),
            suspects: Mutex::default(),
        })
    }

    /// One connection for the key-value state of a process that runs no queue
    /// (`ack = "after-handle"`), and the app's key prefix.
    pub(in crate::queue) async fn kv_connection(
        url: &RedisUrl,
        app_id: &str,
    ) -> Result<(ConnectionManager, String), StoreError> {
        let client = url.client().map_err(|source| StoreError::RedisConfig {
            url: url.redacted(),
            source,
        })?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(lim::REDIS_RESPONSE_TIMEOUT))
            .set_response_timeout(Some(lim::REDIS_RESPONSE_TIMEOUT))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|source| StoreError::Redis {
                url: url.redacted(),
                what: "cannot connect",
                hint: endpoint::tls_hint(url, &source.to_string()),
                source,
            })?;
        Ok((conn, format!("aviary:{{{app_id}}}:")))
    }

    /// This instance's consumer name.
    #[cfg(test)]
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }

    /// Turns a failed Redis call into the store's error, naming the (redacted) URL and `what`.
    fn fail(&self, what: &'static str) -> impl FnOnce(redis::RedisError) -> StoreError + '_ {
        move |source| StoreError::Redis {
            url: self.url.redacted(),
            what,
            source,
            hint: String::new(),
        }
    }
}

#[async_trait::async_trait]
impl QueueStore for RedisStore {
    fn describe(&self) -> String {
        format!("redis {} (consumer {})", self.url, self.consumer)
    }

    async fn commit(&self, batch: Batch) -> Result<Vec<Admission>, StoreError> {
        self.commit_batch(batch).await
    }

    async fn pending(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.take(true).await
    }

    async fn claim(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.take(false).await
    }

    async fn wait_forwarded(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.forwarded().await
    }

    async fn is_next_of_chat(&self, record: &JobRecord) -> Result<ChatTurn, StoreError> {
        self.chat_turn(record).await
    }

    fn claim_interval(&self) -> Option<Duration> {
        Some(lim::REDIS_CLAIM_INTERVAL.min(self.claim_idle / 3))
    }

    async fn dead_letters(&self) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self
            .dead_entries()
            .await?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    async fn replay(&self, ids: Option<&[u64]>, now_ms: u64) -> Result<Vec<u64>, StoreError> {
        self.replay_dead(ids, now_ms).await
    }

    async fn purge(&self) -> Result<u64, StoreError> {
        self.purge_dead().await
    }

    fn kv(&self) -> Option<std::sync::Arc<dyn crate::kv::KvStore>> {
        Some(std::sync::Arc::new(crate::queue::kv::redis::RedisKv::new(
            self.conn.clone(),
            self.prefix.clone(),
            self.url.clone(),
        )))
    }
}

fn encode(record: &JobRecord) -> String {
    serde_json::to_string(record).expect("a job record always serializes")
}
