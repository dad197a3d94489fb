//! What a queue backend stores and the one trait every backend implements. Dedupe, capacity,
//! retry state and dead letters are decided here and in [`super::engine`], once for every
//! backend; a backend only has to apply a [`Batch`] atomically and durably.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An event to enqueue: everything a worker needs to run its handlers later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJob {
    /// `message_id` for `im.message.*`, `event_id` otherwise, `uuid` for schema 1.0.
    pub dedupe_id: String,
    /// The envelope's event id (for logs).
    pub event_id: String,
    /// The event type (for logs and the `dlq` listing).
    pub event_type: String,
    /// The chat, when per-chat ordering applies to this event.
    pub chat_id: Option<String>,
    /// The frame's trace id (for logs).
    pub trace_id: String,
    /// The whole (decrypted) JSON envelope.
    pub envelope: String,
    /// The handlers the event was routed to when it arrived, in manifest order.
    pub handlers: Vec<String>,
}

/// Where one (event, handler) pair stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandlerStatus {
    /// Still to run (first time, or again after a retry's backoff).
    Pending,
    /// Returned `done` or `respond`.
    Done,
    /// Gave up: `reject`, attempts exhausted, or the handler is gone from the manifest.
    Dead,
}

/// One handler's delivery state for one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerState {
    /// The handler's manifest name.
    pub name: String,
    /// Where it stands.
    pub status: HandlerStatus,
    /// Runs so far (the next run's `attempt` is this + 1).
    pub attempts: u32,
    /// Not to run before this time (ms since the Unix epoch).
    pub next_at_ms: u64,
    /// Why the last run failed, when it did.
    pub last_error: Option<String>,
}

/// A stored job: the event and each of its handlers' state. Dead letters are jobs too (with at
/// least one [`HandlerStatus::Dead`] handler and none pending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Increasing in admission order (per store); also the dead letter's id.
    pub id: u64,
    /// When it was admitted (ms since the Unix epoch).
    pub enqueued_at_ms: u64,
    /// The event.
    #[serde(flatten)]
    pub job: NewJob,
    /// One entry per handler in `job.handlers`, same order.
    pub states: Vec<HandlerState>,
}

impl JobRecord {
    /// A fresh record for `job`, every handler pending now.
    pub fn new(id: u64, now_ms: u64, job: NewJob) -> JobRecord {
        let states = job
            .handlers
            .iter()
            .map(|name| HandlerState {
                name: name.clone(),
                status: HandlerStatus::Pending,
                attempts: 0,
                next_at_ms: now_ms,
                last_error: None,
            })
            .collect();
        JobRecord {
            id,
            enqueued_at_ms: now_ms,
            job,
            states,
        }
    }

    /// When the job's next run is due: the earliest pending handler's time (`None` when no
    /// handler is pending).
    pub fn next_at_ms(&self) -> Option<u64> {
        self.states
            .iter()
            .filter(|s| s.status == HandlerStatus::Pending)
            .map(|s| s.next_at_ms)
            .min()
    }

    /// Whether any handler gave up.
    pub fn has_dead(&self) -> bool {
        self.states.iter().any(|s| s.status == HandlerStatus::Dead)
    }

    /// For replay: every dead handler pending again now, with its attempts reset.
    pub fn revive(&mut self, now_ms: u64) {
        for s in &mut self.states {
            if s.status == HandlerStatus::Dead {
                s.status = HandlerStatus::Pending;
                s.attempts = 0;
                s.next_at_ms = now_ms;
            }
        }
    }
}

/// What became of a job after a run (applied by [`QueueStore::commit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Every handler done: the job is removed.
    Done(u64),
    /// Some handler will run again: the record is replaced.
    Retry(JobRecord),
    /// No handler pending and at least one dead: moved to the dead letters.
    Dead(JobRecord),
}

impl Settle {
    /// The job's id.
    pub fn id(&self) -> u64 {
        match self {
            Settle::Done(id) => *id,
            Settle::Retry(r) | Settle::Dead(r) => r.id,
        }
    }

    /// What a job's updated record comes to.
    pub fn of(record: JobRecord) -> Settle {
        if record.next_at_ms().is_some() {
            Settle::Retry(record)
        } else if record.has_dead() {
            Settle::Dead(record)
        } else {
            Settle::Done(record.id)
        }
    }
}

/// What [`QueueStore::commit`] did with one admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Stored as this job.
    Accepted(Box<JobRecord>),
    /// Its dedupe id was seen within the window: nothing stored, ack 200.
    Duplicate,
    /// Stored as this job, to be run by another instance (shared stores: the instance that holds
    /// the earlier, unfinished events of its chat, so the chat's order holds). Ack 200.
    Forwarded(u64),
    /// The queue holds `capacity` jobs: nothing stored, do not ack (Feishu redelivers).
    Full,
}

/// One durable transaction: admissions (deduped, bounded) and settlements.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// New events, in arrival order.
    pub admit: Vec<NewJob>,
    /// Jobs that ran.
    pub settle: Vec<Settle>,
    /// Now, in ms since the Unix epoch (passed in, so tests control time).
    pub now_ms: u64,
    /// Dedupe ids younger than this are duplicates.
    pub dedupe_window: Duration,
    /// Most dedupe ids kept (the oldest are forgotten first).
    pub dedupe_max_entries: u64,
    /// Most jobs (not dead letters) held.
    pub capacity: u64,
    /// Key-value writes of the settled jobs' successful runs, each applied in this transaction
    /// only if its job's settlement is ([`super::kv`]).
    pub kv: Vec<super::kv::KvCommit>,
}

/// Whether a chat's job may run now (see [`QueueStore::is_next_of_chat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatTurn {
    /// It is the oldest unfinished job of its chat: run it.
    Next,
    /// An earlier job of its chat is unfinished (on its way here): wait.
    NotYet,
    /// It is no longer this instance's (another instance took it over while this one was
    /// stalled, or it was settled): forget it here.
    Lost,
}

pub use super::error::StoreError;

/// A queue backend. A backend must apply a whole [`Batch`] atomically and durably before
/// `commit` resolves (the disk backend fsyncs), and must keep the dedupe set and the job count
/// consistent with it.
///
/// The methods are async and are awaited on the caller's Tokio runtime (the engine's tasks): a
/// backend that talks to a server (Redis) uses that runtime's I/O; one that blocks (redb's
/// fsync) moves its work to [`tokio::task::spawn_blocking`] itself, so no caller ever blocks a
/// runtime thread. The trait is used as `dyn QueueStore` (the engine, `aviary dlq` and the
/// control socket hold `Arc<dyn QueueStore>`), which native `async fn` in traits does not
/// allow: hence [`async_trait`] (boxed futures, one allocation per call — noise next to a
/// commit).
#[async_trait::async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// What and where, for logs (e.g. `disk /var/lib/aviary/queue.redb`).
    fn describe(&self) -> String;

    /// Gives the store's resources back once its queue has stopped (the disk backend releases
    /// its file, so another runtime or `aviary dlq` can open it at once); every later
    /// operation fails. The default does nothing.
    fn close(&self) {}

    /// Applies `batch` in one transaction: first the settlements, then each admission in order
    /// (a duplicate within the batch is a duplicate). Returns one [`Admission`] per
    /// `batch.admit`, in order. On error nothing of the batch is stored.
    async fn commit(&self, batch: Batch) -> Result<Vec<Admission>, StoreError>;

    /// Every job that is not a dead letter, by id (what to run after a restart).
    async fn pending(&self) -> Result<Vec<JobRecord>, StoreError>;

    /// Every dead letter, by id.
    async fn dead_letters(&self) -> Result<Vec<JobRecord>, StoreError>;

    /// Moves dead letters back into the queue (`None` = all), their dead handlers pending again
    /// with attempts reset. Returns the ids moved.
    async fn replay(&self, ids: Option<&[u64]>, now_ms: u64) -> Result<Vec<u64>, StoreError>;

    /// Deletes every dead letter; returns how many.
    async fn purge(&self) -> Result<u64, StoreError>;

    /// Jobs this instance should take over now: for a store shared by several instances
    /// (Redis), those of a dead instance and replayed dead letters. Called every
    /// [`QueueStore::claim_interval`]; a job the engine already holds is ignored. The default
    /// (one-process stores) returns nothing.
    async fn claim(&self) -> Result<Vec<JobRecord>, StoreError> {
        Ok(Vec::new())
    }

    /// For a store shared by several instances: waits (briefly, up to a second or so) for jobs
    /// other instances forwarded to this one (the later events of a chat it holds) and returns
    /// them. The engine calls it in a loop when [`QueueStore::claim_interval`] is set. The
    /// default returns nothing.
    async fn wait_forwarded(&self) -> Result<Vec<JobRecord>, StoreError> {
        Ok(Vec::new())
    }

    /// For a store shared by several instances: whether `record` (a job with a chat) may run
    /// now, i.e. is the oldest unfinished job of its chat in the whole store and still this
    /// instance's. The engine asks before each run of a chat's job when
    /// [`QueueStore::claim_interval`] is set. The default (one-process stores, where the
    /// engine's own lanes decide) says [`ChatTurn::Next`].
    async fn is_next_of_chat(&self, _record: &JobRecord) -> Result<ChatTurn, StoreError> {
        Ok(ChatTurn::Next)
    }

    /// How often the engine calls [`QueueStore::claim`]; `None` (the default) never.
    fn claim_interval(&self) -> Option<Duration> {
        None
    }

    /// The key-value state kept next to this queue ([`super::kv`]), which [`Batch::kv`]
    /// writes; `None` (the default): the backend keeps none.
    fn kv(&self) -> Option<std::sync::Arc<dyn crate::kv::KvStore>> {
        None
    }
}

/// Now, in ms since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
