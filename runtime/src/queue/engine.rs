//! The queue's moving parts: one **writer** task that turns admissions and settlements into
//! durable transactions (group commit), one **scheduler** task that decides which job runs
//! next, and one task per running job.
//!
//! **Group commit.** The writer takes every operation that is waiting (up to
//! [`lim::GROUP_COMMIT_MAX`]) and commits them in one transaction; operations that arrive while
//! that commit (and its fsync) is running form the next batch. Under load the batch grows to
//! whatever arrived during one fsync, so throughput scales with load while an idle queue still
//! commits a lone event at once.
//!
//! **Scheduling.** A job runs when it is due (its pending handlers' backoff has passed), a
//! global in-flight slot is free (`dispatch.max_in_flight`), and — with per-chat ordering — it is
//! the oldest job of its chat. A job's chat turn is released only when its outcome is committed,
//! so the order holds across crashes; a job waiting for a retry keeps its chat's turn (later
//! events of that chat wait behind it, as they would have to for ordering to mean anything).
//! Each handler call also takes a slot of that handler (`max_concurrency`).
//!
//! **Handlers still loading.** A handler whose component is still compiling is not ready
//! ([`Invoke::ready`]); a job runs only the due handlers that are ready, and a job whose due
//! handlers are all still loading is parked (no in-flight slot, its chat's turn kept) until one
//! of them is ready. So events are persisted and acked while components compile, and each
//! handler starts taking jobs when its own component is ready.
//!
//! **Reload.** The handlers are one `HandlerSet` value, replaced whole by
//! [`Queue::set_handlers`]. A job takes the set that is current when it is launched and runs
//! every due handler from it, so a run never mixes two sets and a call in flight finishes on
//! the handler it started with. A job whose handler is no longer in the set when it runs has
//! that handler's part dead-lettered (`handler `x` is not in the manifest any more`).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::kv::KvCommit;
use super::merge::MergeSettings;
use super::retry::RetryPolicy;
use super::stats::QueueStats;
use super::store::{
    now_ms, Admission, Batch, ChatTurn, HandlerState, HandlerStatus, JobRecord, NewJob, QueueStore,
    Settle, StoreError,
};
use crate::dispatch::filter::HandlerFilter;
use crate::dispatch::DispatchMode;
use crate::dispatch::{guest_log, run_log, InboundEvent};
use crate::handler::{Failure, Invocation, Invoke, Outcome};
use crate::journal::{Journal, What};
use crate::kv::WriteSet;
use crate::limits::queue as lim;
use crate::protocol::envelope::parse_envelope;

mod turns;

/// One handler as the queue runs it.
#[derive(Clone)]
pub struct QueueHandler {
    /// Runs it (the sandbox, or a fake in tests).
    pub handler: Arc<dyn Invoke>,
    /// Calls of this handler at once.
    pub max_concurrency: usize,
    /// When a failed run is tried again.
    pub retry: RetryPolicy,
    /// Its filters, checked before each run ([`crate::dispatch::filter`]); `None`: none.
    pub filter: Option<Arc<HandlerFilter>>,
    /// Burst merge per chat ([`super::merge`]); `None`: every event is its own call.
    pub merge: Option<MergeSettings>,
}

/// How the queue runs (from `[queue]` and `[dispatch]`).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Most jobs held (dead letters not counted); beyond it deliveries are not acked.
    pub capacity: u64,
    /// A dedupe id seen within this window is a duplicate.
    pub dedupe_window: Duration,
    /// Most dedupe ids kept.
    pub dedupe_max_entries: u64,
    /// Jobs running at once.
    pub max_in_flight: usize,
    /// Several handlers of one job: in parallel or in manifest order.
    pub mode: DispatchMode,
}

/// The queue's state for observers (tests, logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueGauge {
    /// Jobs held (waiting, running or waiting for a retry).
    pub jobs: usize,
    /// Jobs running now.
    pub running: usize,
    /// When the oldest job held was admitted (ms since the Unix epoch; `None` when empty).
    pub oldest_enqueued_ms: Option<u64>,
}

enum Op {
    Admit(NewJob, oneshot::Sender<Result<Admission, StoreError>>),
    /// A job's settlement and the key-value writes of its successful runs (committed together).
    Settle(Settle, WriteSet),
    /// The settlements of a job and the other jobs of its merged turns, each with its
    /// key-value writes (a merged call's writes travel with the front job's): one transaction.
    SettleAll(Vec<(Settle, WriteSet)>),
    /// Stamp everything persisted from now on later than this time (ms), then answer
    /// [`ToScheduler::Fenced`] (burst merge: a turn's window is over).
    Fence(u64),
}

enum ToScheduler {
    Jobs(Vec<JobRecord>),
    Settled(Vec<Settle>),
    /// A job whose chat has an earlier unfinished job elsewhere in a shared store: not run;
    /// it is considered again when more jobs arrive or at the next claim tick.
    NotYet(u64),
    /// A job another instance took over (shared stores): dropped here, nothing committed.
    Lost(u64),
    /// A claim tick (shared stores): consider the jobs that were not yet next in their chat.
    Tick,
    /// The handlers were replaced ([`Queue::set_handlers`]): the new bound of jobs at once.
    Reconfigured {
        /// Jobs running at once.
        max_in_flight: usize,
    },
    /// The writer stamps everything persisted from now on later than this time (ms).
    Fenced(u64),
    /// This handler may have become ready: consider the parked jobs again.
    HandlerReady(String),
}

/// A running queue: admit events with [`Queue::admit`]; stop with [`Queue::shutdown`].
#[derive(Clone)]
pub struct Queue {
    ops: mpsc::UnboundedSender<Op>,
    stats: Arc<QueueStats>,
    gauge: watch::Receiver<QueueGauge>,
    stop: CancellationToken,
    done: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
    describe: Arc<str>,
    store: Arc<dyn QueueStore>,
    sched: mpsc::UnboundedSender<ToScheduler>,
    journal: Option<Arc<Journal>>,
    handlers: Arc<RwLock<Arc<HandlerSet>>>,
}

/// The handlers a queue runs, by name, and how a job's handlers run together: one value,
/// replaced whole on reload ([`Queue::set_handlers`]).
pub(crate) struct HandlerSet {
    by_name: HashMap<String, (QueueHandler, Arc<Semaphore>)>,
    mode: DispatchMode,
    /// The caller's number for this set (the app's reload generation), logged with each run.
    generation: u64,
}

impl HandlerSet {
    /// A set of `handlers`; each keeps the call slots it had in `previous` when its
    /// `max_concurrency` is unchanged (so the bound holds across a reload), else gets new ones.
    fn new(
        handlers: Vec<QueueHandler>,
        mode: DispatchMode,
        generation: u64,
        previous: Option<&HandlerSet>,
    ) -> Self {
        let by_name = handlers
            .into_iter()
            .map(|h| {
                let name = h.handler.name().to_string();
                let permits = previous
                    .and_then(|p| p.by_name.get(&name))
                    .filter(|(old, _)| old.max_concurrency == h.max_concurrency)
                    .map(|(_, permits)| permits.clone())
                    .unwrap_or_else(|| Arc::new(Semaphore::new(h.max_concurrency.max(1))));
                (name, (h, permits))
            })
            .collect();
        HandlerSet {
            by_name,
            mode,
            generation,
        }
    }

    fn get(&self, name: &str) -> Option<&(QueueHandler, Arc<Semaphore>)> {
        self.by_name.get(name)
    }
}

/// The current set (a cheap clone of an `Arc`).
fn current(handlers: &RwLock<Arc<HandlerSet>>) -> Arc<HandlerSet> {
    handlers.read().unwrap_or_else(|e| e.into_inner()).clone()
}

struct RunContext {
    handlers: Arc<RwLock<Arc<HandlerSet>>>,
    ops: mpsc::UnboundedSender<Op>,
    stats: Arc<QueueStats>,
    /// Set for stores shared by several instances: asked whether a chat's job is next.
    shared: Option<(Arc<dyn QueueStore>, mpsc::UnboundedSender<ToScheduler>)>,
    journal: Option<Arc<Journal>>,
}

impl Queue {
    /// Opens the queue on `store`: loads the jobs a previous run left (they run first, in id
    /// order) and starts the writer and the scheduler (without a run journal; tests).
    #[cfg(any(test, feature = "internals"))]
    pub async fn start(
        store: Arc<dyn QueueStore>,
        handlers: Vec<QueueHandler>,
        config: QueueConfig,
    ) -> Result<Queue, StoreError> {
        Queue::start_journaled(store, handlers, config, None).await
    }

    /// [`Queue::start`], recording persistence, retries, handlers giving up, dead letters and
    /// replays in `journal` ([`crate::journal`]; `None`: off).
    pub async fn start_journaled(
        store: Arc<dyn QueueStore>,
        handlers: Vec<QueueHandler>,
        config: QueueConfig,
        journal: Option<Arc<Journal>>,
    ) -> Result<Queue, StoreError> {
        let pending = guarded(store.pending(), "loading the queue").await?;
        // Persist stamps never go back (burst merge relies on it): from now, or after the
        // newest job left by the previous run, whichever is later.
        let start_ms = pending
            .iter()
            .map(|r| r.enqueued_at_ms + 1)
            .max()
            .unwrap_or(0)
            .max(now_ms());
        let describe: Arc<str> = store.describe().into();
        if !pending.is_empty() {
            tracing::info!(jobs = pending.len(), queue = %describe, "resuming jobs left by the previous run");
        }
        let stats = Arc::new(QueueStats::default());
        let (ops_tx, ops_rx) = mpsc::unbounded_channel();
        let (sched_tx, sched_rx) = mpsc::unbounded_channel();
        // Start with the loaded jobs counted, so nobody sees an empty queue before the
        // scheduler has taken them in.
        let (gauge_tx, gauge) = watch::channel(QueueGauge {
            jobs: pending.len(),
            running: 0,
            oldest_enqueued_ms: pending.iter().map(|r| r.enqueued_at_ms).min(),
        });
        let stop = CancellationToken::new();
        // Every task of the queue logs in the caller's span (the app's, with its id).
        let writer = tokio::spawn(
            run_writer(
                store.clone(),
                ops_rx,
                sched_tx.clone(),
                config.clone(),
                stats.clone(),
                journal.clone(),
                start_ms,
            )
            .in_current_span(),
        );
        let merges = handlers
            .iter()
            .filter_map(|h| h.merge.map(|m| (h.handler.name().to_string(), m)))
            .collect();
        let handlers = Arc::new(RwLock::new(Arc::new(HandlerSet::new(
            handlers,
            config.mode,
            0,
            None,
        ))));
        let cx = Arc::new(RunContext {
            handlers: handlers.clone(),
            ops: ops_tx.clone(),
            stats: stats.clone(),
            shared: store
                .claim_interval()
                .map(|_| (store.clone(), sched_tx.clone())),
            journal: journal.clone(),
        });
        let mut scheduler = Scheduler {
            jobs: HashMap::new(),
            by_id: BTreeSet::new(),
            lanes: HashMap::new(),
            timers: BinaryHeap::new(),
            ready: BTreeSet::new(),
            blocked: BTreeSet::new(),
            parked: BTreeSet::new(),
            watching: HashSet::new(),
            to_self: sched_tx.downgrade(),
            running: 0,
            max_in_flight: config.max_in_flight.max(1),
            cx,
            gauge: gauge_tx,
            stats: stats.clone(),
            turns: turns::TurnState::new(merges, start_ms - 1),
        };
        for record in pending {
            scheduler.add(record);
        }
        if store.claim_interval().is_some() {
            tokio::spawn(
                run_inbox(store.clone(), sched_tx.clone(), stop.clone()).in_current_span(),
            );
        }
        if let Some(every) = store.claim_interval() {
            tokio::spawn(
                run_claimer(store.clone(), every, sched_tx.clone(), stop.clone()).in_current_span(),
            );
        }
        let stop2 = stop.clone();
        let sched_for_queue = sched_tx.clone();
        let done = tokio::spawn(
            async move {
                // Returns once every running job's outcome is committed (or the drain timed
                // out); the writer keeps serving until the process ends.
                scheduler.run(sched_rx, stop2).await;
                drop((sched_tx, writer));
            }
            .in_current_span(),
        );
        Ok(Queue {
            ops: ops_tx,
            stats,
            gauge,
            stop,
            done: Arc::new(tokio::sync::Mutex::new(Some(done))),
            describe,
            store,
            sched: sched_for_queue,
            journal,
            handlers,
        })
    }

    /// Replaces the handlers (reload): jobs launched from now on run `handlers` (in `mode`),
    /// at most `max_in_flight` at once; calls already running finish on the handlers they
    /// started with. A handler whose `max_concurrency` is unchanged keeps its call slots.
    /// `generation` (the caller's number for this set; 0 for the set the queue started with)
    /// is logged with each job's run (span `job`, field `generation`).
    pub fn set_handlers(
        &self,
        handlers: Vec<QueueHandler>,
        mode: DispatchMode,
        max_in_flight: usize,
        generation: u64,
    ) {
        {
            let mut current = self.handlers.write().unwrap_or_else(|e| e.into_inner());
            let next = HandlerSet::new(handlers, mode, generation, Some(&current));
            *current = Arc::new(next);
        }
        let _ = self.sched.send(ToScheduler::Reconfigured { max_in_flight });
    }

    /// The names of the handlers it runs now (sorted).
    #[cfg(any(test, feature = "internals"))]
    pub fn handler_names(&self) -> Vec<String> {
        let mut names: Vec<String> = current(&self.handlers).by_name.keys().cloned().collect();
        names.sort();
        names
    }

    /// Persists one event (deduped, bounded) in the next group commit; resolves once it is
    /// durable (or refused).
    #[cfg(any(test, feature = "internals"))]
    pub async fn admit(&self, job: NewJob) -> Result<Admission, StoreError> {
        self.submit(job).await
    }

    /// Like [`Queue::admit`], but the event takes its place in the queue (its id, hence its
    /// chat's order) right now, when this is called, not when the future is first polled.
    pub fn submit(
        &self,
        job: NewJob,
    ) -> impl std::future::Future<Output = Result<Admission, StoreError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self.ops.send(Op::Admit(job, tx));
        async move {
            sent.map_err(|_| StoreError::ShutDown)?;
            rx.await.map_err(|_| StoreError::WriterStopped)?
        }
    }

    /// The store it runs on (for `aviary dlq` served by the running process).
    pub fn store(&self) -> Arc<dyn QueueStore> {
        self.store.clone()
    }

    /// Moves dead letters back into the queue (`None` = all; see [`QueueStore::replay`]) and
    /// hands them to this running queue, so their failed handlers run now. Returns the ids moved.
    pub async fn replay_dead(&self, ids: Option<Vec<u64>>) -> Result<Vec<u64>, StoreError> {
        let store = &self.store;
        let moved = guarded(store.replay(ids.as_deref(), now_ms()), "replaying").await?;
        if !moved.is_empty() {
            let jobs: Vec<JobRecord> = guarded(store.pending(), "replaying")
                .await?
                .into_iter()
                .filter(|r| moved.contains(&r.id))
                .collect();
            if let Some(journal) = &self.journal {
                for r in &jobs {
                    let what = What::Replayed { job: r.id };
                    journal.step(&r.job.event_id, &r.job.event_type, &r.job.trace_id, what);
                }
            }
            if !jobs.is_empty() {
                let _ = self.sched.send(ToScheduler::Jobs(jobs));
            }
        }
        Ok(moved)
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<QueueStats> {
        self.stats.clone()
    }

    /// Jobs held and running, updated as they change.
    pub fn gauge(&self) -> watch::Receiver<QueueGauge> {
        self.gauge.clone()
    }

    /// The backend, for logs.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Stops starting jobs, waits (up to [`crate::limits::SHUTDOWN_DRAIN_TIMEOUT`]) for running ones to settle,
    /// commits what is pending and stops. Jobs not finished stay in the store for the next run.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        if let Some(done) = self.done.lock().await.take() {
            let _ = done.await;
        }
    }

    /// [`Queue::shutdown`], then gives the store's resources back (the disk file is free for
    /// another process at once); for the end of the app, not a pause.
    pub async fn close(&self) {
        self.shutdown().await;
        self.store.close();
    }
}

/// For shared stores: every `every`, asks the store for jobs to take over (a dead instance's,
/// replayed dead letters) and hands them to the scheduler, until the queue stops.
async fn run_claimer(
    store: Arc<dyn QueueStore>,
    every: Duration,
    sched: mpsc::UnboundedSender<ToScheduler>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        match guarded(store.claim(), "claiming").await {
            Ok(jobs) if !jobs.is_empty() => {
                tracing::info!(jobs = jobs.len(), "queue: took over jobs (another instance stopped, forwarded its chat's events here, or dead letters were replayed)");
                if sched.send(ToScheduler::Jobs(jobs)).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "queue: cannot claim pending jobs; will try again")
            }
        }
        if sched.send(ToScheduler::Tick).is_err() {
            return;
        }
    }
}

/// For shared stores: waits for jobs other instances forwarded here (later events of chats this
/// instance holds) and hands them to the scheduler at once, until the queue stops.
async fn run_inbox(
    store: Arc<dyn QueueStore>,
    sched: mpsc::UnboundedSender<ToScheduler>,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        match guarded(store.wait_forwarded(), "reading forwarded jobs").await {
            Ok(jobs) if !jobs.is_empty() => {
                if sched.send(ToScheduler::Jobs(jobs)).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "queue: cannot read forwarded jobs; will try again");
                tokio::select! {
                    _ = tokio::time::sleep(lim::COMMIT_RETRY_DELAY) => {}
                    _ = stop.cancelled() => return,
                }
            }
        }
    }
}

async fn run_writer(
    store: Arc<dyn QueueStore>,
    mut ops: mpsc::UnboundedReceiver<Op>,
    sched: mpsc::UnboundedSender<ToScheduler>,
    config: QueueConfig,
    stats: Arc<QueueStats>,
    journal: Option<Arc<Journal>>,
    start_ms: u64,
) {
    // The persist stamp of the last batch: batches are stamped with the clock, but never
    // earlier than this (nor than a fence asked for).
    let mut stamp = start_ms;
    // Settlements (with their key-value writes) whose commit failed; retried with the next
    // batch (the jobs stay "running" until then, so nothing runs twice because of it).
    let mut carry: Vec<(Settle, WriteSet)> = Vec::new();
    let mut open = true;
    loop {
        let mut batch_ops = Vec::new();
        if carry.is_empty() {
            match ops.recv().await {
                Some(op) => batch_ops.push(op),
                None => return,
            }
        } else if open {
            tokio::select! {
                op = ops.recv() => match op {
                    Some(op) => batch_ops.push(op),
                    None => open = false,
                },
                _ = tokio::time::sleep(lim::COMMIT_RETRY_DELAY) => {}
            }
        } else {
            tokio::time::sleep(lim::COMMIT_RETRY_DELAY).await;
        }
        while batch_ops.len() < lim::GROUP_COMMIT_MAX {
            match ops.try_recv() {
                Ok(op) => batch_ops.push(op),
                Err(_) => break,
            }
        }
        let mut admit = Vec::new();
        let mut replies = Vec::new();
        // (event id, event type) of each admission, for the run journal.
        let mut admitted_ids = Vec::new();
        let mut settled_ops = std::mem::take(&mut carry);
        let mut fences = Vec::new();
        for op in batch_ops {
            match op {
                Op::Admit(job, reply) => {
                    if journal.is_some() {
                        admitted_ids.push((job.event_id.clone(), job.event_type.clone()));
                    }
                    admit.push(job);
                    replies.push(reply);
                }
                Op::Settle(s, writes) => settled_ops.push((s, writes)),
                Op::SettleAll(all) => settled_ops.extend(all),
                Op::Fence(through) => {
                    stamp = stamp.max(through + 1);
                    fences.push(through);
                }
            }
        }
        stamp = stamp.max(now_ms());
        if admit.is_empty() && settled_ops.is_empty() {
            // Only fences: every earlier batch's jobs have been handed to the scheduler.
            for through in fences {
                let _ = sched.send(ToScheduler::Fenced(through));
            }
            continue;
        }
        let settle: Vec<Settle> = settled_ops.iter().map(|(s, _)| s.clone()).collect();
        let kv: Vec<KvCommit> = settled_ops
            .iter()
            .filter(|(_, w)| !w.is_empty())
            .map(|(s, w)| KvCommit {
                job: s.id(),
                writes: w.clone(),
            })
            .collect();
        let settled = settle.clone();
        let batch = Batch {
            admit,
            settle,
            now_ms: stamp,
            dedupe_window: config.dedupe_window,
            dedupe_max_entries: config.dedupe_max_entries,
            capacity: config.capacity,
            kv,
        };
        let ops_in_batch = batch.admit.len() + batch.settle.len();
        let commit_started = std::time::Instant::now();
        let result = guarded(store.commit(batch), "committing").await;
        crate::metrics::observe(&stats.commit_duration, commit_started.elapsed());
        stats.commit_size.observe(ops_in_batch as f64);
        match result {
            Ok(admissions) => {
                stats.commits(1);
                if let Some(journal) = &journal {
                    // Before the jobs reach the scheduler, so a timeline never shows a run
                    // before its event was persisted.
                    for ((event_id, event_type), admission) in admitted_ids.iter().zip(&admissions)
                    {
                        let what = match admission {
                            Admission::Accepted(r) => What::Persisted { job: r.id },
                            Admission::Forwarded(id) => What::Forwarded { job: *id },
                            Admission::Duplicate => What::Duplicate,
                            // Not acked: the ack step says why.
                            Admission::Full => continue,
                        };
                        journal.step(event_id, event_type, "", what);
                    }
                }
                let mut jobs = Vec::new();
                for (reply, admission) in replies.into_iter().zip(admissions) {
                    match &admission {
                        Admission::Accepted(r) => {
                            stats.accepted(1);
                            jobs.push((**r).clone());
                        }
                        Admission::Forwarded(_) => stats.accepted(1),
                        Admission::Duplicate => stats.duplicates(1),
                        Admission::Full => stats.refused_full(1),
                    }
                    let _ = reply.send(Ok(admission));
                }
                if !jobs.is_empty() {
                    let _ = sched.send(ToScheduler::Jobs(jobs));
                }
                if !settled.is_empty() {
                    let _ = sched.send(ToScheduler::Settled(settled));
                }
            }
            Err(e) => {
                stats.persist_failures(replies.len() as u64);
                tracing::error!(
                    error = %e,
                    events = replies.len(),
                    "queue: cannot persist (is the disk full or read-only?); these events are not \
                     acked (Feishu redelivers them) and finished jobs are kept running until their \
                     outcome is stored"
                );
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
                carry = settled_ops;
            }
        }
        for through in fences {
            let _ = sched.send(ToScheduler::Fenced(through));
        }
        if !open && carry.is_empty() {
            return;
        }
    }
}

struct JobEntry {
    record: JobRecord,
    running: bool,
    /// Its message's sender, when a handler merges one sender's messages per turn.
    sender: Option<String>,
}

struct Scheduler {
    jobs: HashMap<u64, JobEntry>,
    /// The ids of `jobs`, ordered: the first is the oldest job held (for the gauge).
    by_id: BTreeSet<u64>,
    lanes: HashMap<String, VecDeque<u64>>,
    timers: BinaryHeap<Reverse<(u64, u64)>>,
    ready: BTreeSet<u64>,
    /// Chat fronts a shared store said are not next yet (an earlier job of the chat is
    /// elsewhere); considered again on every message.
    blocked: BTreeSet<u64>,
    /// Jobs whose due handlers are all still loading; considered again when one is ready.
    parked: BTreeSet<u64>,
    /// Handlers not ready yet whose readiness a task is waiting for.
    watching: HashSet<String>,
    /// Where those tasks say a handler may be ready (weak: the scheduler must not keep its own
    /// channel open).
    to_self: mpsc::WeakUnboundedSender<ToScheduler>,
    running: usize,
    max_in_flight: usize,
    cx: Arc<RunContext>,
    gauge: watch::Sender<QueueGauge>,
    stats: Arc<QueueStats>,
    /// Burst merge: windows, fences.
    turns: turns::TurnState,
}

impl Scheduler {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<ToScheduler>, stop: CancellationToken) {
        let mut drain_deadline: Option<tokio::time::Instant> = None;
        loop {
            if drain_deadline.is_none() {
                self.launch();
            }
            self.publish();
            if drain_deadline.is_some() && self.running == 0 {
                return;
            }
            let next_timer = match (self.timers.peek(), self.turns.next_timer()) {
                (Some(Reverse((a, _))), Some(b)) => Some((*a).min(b)),
                (Some(Reverse((a, _))), None) => Some(*a),
                (None, b) => b,
            };
            let sleep = async {
                match next_timer {
                    Some(at) => {
                        let wait = at.saturating_sub(now_ms());
                        tokio::time::sleep(Duration::from_millis(wait)).await
                    }
                    None => std::future::pending().await,
                }
            };
            let drain = async {
                match drain_deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(ToScheduler::Jobs(jobs)) => {
                        for record in jobs {
                            self.add(record);
                        }
                        self.unblock();
                    }
                    Some(ToScheduler::Tick) => self.unblock(),
                    Some(ToScheduler::Reconfigured { max_in_flight }) => {
                        self.max_in_flight = max_in_flight.max(1);
                        // A new handler may be ready where the old one was still loading.
                        self.reconsider_parked();
                    }
                    Some(ToScheduler::Fenced(through)) => self.fenced(through),
                    Some(ToScheduler::HandlerReady(name)) => self.handler_ready(&name),
                    Some(ToScheduler::NotYet(id)) => self.not_yet(id),
                    Some(ToScheduler::Lost(id)) => self.forget(id),
                    Some(ToScheduler::Settled(settled)) => {
                        for s in settled {
                            self.settled(s);
                        }
                    }
                    None => return,
                },
                _ = sleep => {
                    self.fire_timers();
                    self.fire_turn_timers();
                }
                _ = stop.cancelled(), if drain_deadline.is_none() => {
                    drain_deadline = Some(tokio::time::Instant::now() + crate::limits::SHUTDOWN_DRAIN_TIMEOUT);
                }
                _ = drain => {
                    tracing::warn!(running = self.running, "queue: jobs still running at shutdown; they run again at the next start");
                    return;
                }
            }
        }
    }

    fn publish(&self) {
        let gauge = QueueGauge {
            jobs: self.jobs.len(),
            running: self.running,
            oldest_enqueued_ms: self
                .by_id
                .first()
                .and_then(|id| self.jobs.get(id))
                .map(|e| e.record.enqueued_at_ms),
        };
        self.gauge.send_if_modified(|g| {
            let changed = *g != gauge;
            *g = gauge;
            changed
        });
    }

    fn add(&mut self, record: JobRecord) {
        let id = record.id;
        if self.jobs.contains_key(&id) {
            // Claimed again (a shared store): it is already held here.
            return;
        }
        if let Some(chat) = &record.job.chat_id {
            // In id (arrival) order: a shared store may hand over a chat's earlier job after a
            // later one (forwarded by another instance). Never ahead of a running front.
            let lane = self.lanes.entry(chat.clone()).or_default();
            let front_running = lane
                .front()
                .is_some_and(|f| self.jobs.get(f).is_some_and(|e| e.running));
            let start = usize::from(front_running).min(lane.len());
            let at = start + lane.iter().skip(start).take_while(|&&j| j < id).count();
            lane.insert(at, id);
        }
        let chat = record.job.chat_id.clone();
        let sender = self.turns.sender_for(&record);
        self.jobs.insert(
            id,
            JobEntry {
                record,
                running: false,
                sender,
            },
        );
        self.by_id.insert(id);
        self.consider(id);
        if let Some(chat) = chat {
            // It may close the turn its chat's front waits for.
            self.reconsider_front(&chat);
        }
    }

    fn settled(&mut self, s: Settle) {
        let id = s.id();
        let Some(entry) = self.jobs.get_mut(&id) else {
            return;
        };
        if entry.running {
            entry.running = false;
            self.running -= 1;
        }
        match s {
            Settle::Retry(record) => {
                entry.record = record;
                self.consider(id);
            }
            Settle::Done(_) | Settle::Dead(_) => {
                if matches!(s, Settle::Done(_)) {
                    self.stats.completed(1);
                    QueueStats::since_admission(
                        &self.stats.done_latency,
                        entry.record.enqueued_at_ms,
                        now_ms(),
                    );
                } else {
                    self.stats.dead_lettered(1);
                }
                let entry = self.jobs.remove(&id).expect("checked above");
                self.by_id.remove(&id);
                if let Some(chat) = &entry.record.job.chat_id {
                    let next = match self.lanes.get_mut(chat) {
                        Some(lane) => {
                            lane.retain(|j| *j != id);
                            lane.front().copied()
                        }
                        None => None,
                    };
                    match next {
                        Some(next) => self.consider(next),
                        None => {
                            self.lanes.remove(chat);
                        }
                    }
                }
            }
        }
    }

    /// `id` was not run: its chat has an earlier unfinished job. That job may have reached this
    /// instance while `id` was being checked (and queued behind it): the lane is put back in id
    /// order and its front considered; `id` waits in `blocked` otherwise.
    fn not_yet(&mut self, id: u64) {
        let Some(entry) = self.jobs.get_mut(&id) else {
            return;
        };
        if entry.running {
            entry.running = false;
            self.running -= 1;
        }
        let chat = entry.record.job.chat_id.clone();
        self.blocked.insert(id);
        if let Some(lane) = chat.as_ref().and_then(|c| self.lanes.get_mut(c)) {
            lane.make_contiguous().sort_unstable();
            if let Some(&front) = lane.front() {
                self.consider(front);
            }
        }
    }

    /// Drops job `id` (taken over by another instance): its chat's turn passes on here.
    fn forget(&mut self, id: u64) {
        self.parked.remove(&id);
        let Some(entry) = self.jobs.remove(&id) else {
            return;
        };
        self.by_id.remove(&id);
        if entry.running {
            self.running -= 1;
        }
        if let Some(chat) = &entry.record.job.chat_id {
            let next = self.lanes.get_mut(chat).and_then(|lane| {
                lane.retain(|j| *j != id);
                lane.front().copied()
            });
            match next {
                Some(next) => self.consider(next),
                None => {
                    self.lanes.remove(chat);
                }
            }
        }
    }

    /// Whether job `id` has a due handler that can run now (or one that is gone, which a run
    /// settles). If not, a task waits for each of its due handlers to be ready.
    fn runnable(&mut self, id: u64) -> bool {
        let Some(entry) = self.jobs.get(&id) else {
            return true;
        };
        let set = current(&self.cx.handlers);
        let now = now_ms();
        let mut waits = Vec::new();
        for s in &entry.record.states {
            if s.status != HandlerStatus::Pending || s.next_at_ms > now {
                continue;
            }
            let Some((h, _)) = set.get(&s.name) else {
                return true;
            };
            match h.handler.ready() {
                None => return true,
                Some(wait) => waits.push((s.name.clone(), wait)),
            }
        }
        if waits.is_empty() {
            // Nothing due after all: a run settles it as it is.
            return true;
        }
        for (name, wait) in waits {
            if self.watching.insert(name.clone()) {
                let to_self = self.to_self.clone();
                tokio::spawn(async move {
                    wait.await;
                    if let Some(tx) = to_self.upgrade() {
                        let _ = tx.send(ToScheduler::HandlerReady(name));
                    }
                });
            }
        }
        false
    }

    /// Handler `name` may be ready: the parked jobs are considered again.
    fn handler_ready(&mut self, name: &str) {
        self.watching.remove(name);
        self.reconsider_parked();
    }

    /// Considers the parked jobs again.
    fn reconsider_parked(&mut self) {
        for id in std::mem::take(&mut self.parked) {
            self.consider(id);
        }
    }

    /// Considers again the chat fronts a shared store held back.
    fn unblock(&mut self) {
        for id in std::mem::take(&mut self.blocked) {
            self.consider(id);
        }
    }

    /// Whether `id` is the front of its chat's lane (or has no chat).
    fn is_front(&self, id: u64) -> bool {
        match self
            .jobs
            .get(&id)
            .and_then(|e| e.record.job.chat_id.as_ref())
        {
            Some(chat) => self.lanes.get(chat).and_then(|l| l.front()) == Some(&id),
            None => true,
        }
    }

    /// Puts `id` on the ready set or a timer if it may run.
    fn consider(&mut self, id: u64) {
        let Some(entry) = self.jobs.get(&id) else {
            return;
        };
        if entry.running {
            return;
        }
        if let Some(chat) = &entry.record.job.chat_id {
            if self.lanes.get(chat).and_then(|l| l.front()) != Some(&id) {
                return;
            }
        }
        match entry.record.next_at_ms() {
            Some(at) if at > now_ms() => self.timers.push(Reverse((at, id))),
            // A merged turn that starts here is still open: wait for its window.
            _ if self.wait_for_turn(id) => {}
            // Nothing pending (cannot happen for a stored job) is settled by a run too.
            _ => {
                self.ready.insert(id);
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = now_ms();
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            // Stale timers (the job moved on) are harmless: consider() re-checks everything.
            if self.jobs.get(&id).and_then(|e| e.record.next_at_ms()) == Some(at) {
                self.consider(id);
            }
        }
    }

    fn launch(&mut self) {
        while self.running < self.max_in_flight {
            let Some(id) = self.ready.pop_first() else {
                return;
            };
            let Some(entry) = self.jobs.get_mut(&id) else {
                continue;
            };
            if entry.running {
                continue;
            }
            if !self.is_front(id) {
                // An earlier job of its chat arrived after it was made ready.
                continue;
            }
            if !self.runnable(id) {
                self.parked.insert(id);
                continue;
            }
            let entry = self.jobs.get_mut(&id).expect("checked above");
            entry.running = true;
            self.running += 1;
            let record = entry.record.clone();
            let turns = self.turns_to_run(id);
            let cx = self.cx.clone();
            // The set current now: the whole run uses it, whatever a reload does meanwhile.
            let set = current(&cx.handlers);
            tokio::spawn(async move {
                if let (Some((store, sched)), Some(_)) = (&cx.shared, &record.job.chat_id) {
                    let next =
                        guarded(store.is_next_of_chat(&record), "checking a chat's order").await;
                    match next {
                        Ok(ChatTurn::Next) => {}
                        Ok(ChatTurn::NotYet) => {
                            let _ = sched.send(ToScheduler::NotYet(record.id));
                            return;
                        }
                        Ok(ChatTurn::Lost) => {
                            tracing::warn!(job = record.id, "queue: another instance took this job over (this one stalled longer than claim_idle_secs); not running it here");
                            let _ = sched.send(ToScheduler::Lost(record.id));
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "queue: cannot check a chat's order; will try again");
                            let _ = sched.send(ToScheduler::NotYet(record.id));
                            return;
                        }
                    }
                }
                let span = tracing::info_span!("job", generation = set.generation);
                async {
                    if turns.is_empty() {
                        let (settle, writes) = run_job(&cx, &set, record).await;
                        journal_settle(&cx, &settle);
                        let _ = cx.ops.send(Op::Settle(settle, writes));
                        return;
                    }
                    // Merging handlers first (once per turn), then the job's other handlers;
                    // the turns' other jobs settle in the same transaction, and the merged
                    // calls' key-value writes travel with the front job's settlement (so they
                    // commit once, exactly when the whole turn is settled).
                    let (record, others, mut writes) =
                        turns::run_turns(&cx, &set, record, turns).await;
                    let (front, own_writes) = run_job(&cx, &set, record).await;
                    writes.extend(own_writes);
                    let mut all = vec![(front, writes)];
                    all.extend(
                        others
                            .into_iter()
                            .map(|r| (Settle::of(r), WriteSet::default())),
                    );
                    for (settle, _) in &all {
                        journal_settle(&cx, settle);
                    }
                    let _ = cx.ops.send(Op::SettleAll(all));
                }
                .instrument(span)
                .await;
            }.in_current_span());
        }
    }
}

/// Awaits a store call; a panic in the backend becomes an error (as a failed blocking task did
/// when the store was called on blocking threads), so the writer, the claimer and the inbox
/// keep running.
async fn guarded<T>(
    call: impl std::future::Future<Output = Result<T, StoreError>>,
    what: &'static str,
) -> Result<T, StoreError> {
    AssertUnwindSafe(call)
        .catch_unwind()
        .await
        .unwrap_or(Err(StoreError::Panicked { what }))
}

/// Runs the job's due handlers and works out what becomes of it, with the key-value writes of
/// the runs that ended `done` or `respond` (in manifest order), to commit with it.
async fn run_job(cx: &RunContext, set: &HandlerSet, mut record: JobRecord) -> (Settle, WriteSet) {
    let now = now_ms();
    if record.states.iter().all(|s| s.attempts == 0) {
        // The first run only: a retry's wait is its backoff, not the queue's.
        QueueStats::since_admission(&cx.stats.start_latency, record.enqueued_at_ms, now);
    }
    let envelope = match parse_envelope(record.job.envelope.as_bytes(), None) {
        Ok(e) => e,
        Err(e) => {
            for s in &mut record.states {
                if s.status == HandlerStatus::Pending {
                    s.status = HandlerStatus::Dead;
                    s.last_error = Some(format!("the stored envelope cannot be parsed: {e}"));
                }
            }
            return (Settle::of(record), WriteSet::default());
        }
    };
    let inbound = InboundEvent {
        meta: envelope.meta,
        json: envelope.json,
        trace_id: record.job.trace_id.clone(),
        frame_message_id: String::new(),
    };
    let due: Vec<usize> = record
        .states
        .iter()
        .enumerate()
        .filter(|(_, s)| s.status == HandlerStatus::Pending && s.next_at_ms <= now)
        // A handler still loading keeps its turn: it runs in a later run of this job.
        .filter(|(_, s)| {
            set.get(&s.name)
                .is_none_or(|(h, _)| h.handler.ready().is_none())
        })
        .map(|(i, _)| i)
        .collect();
    let call = |i: usize| {
        let name = record.states[i].name.clone();
        let attempt = record.states[i].attempts + 1;
        let inbound = &inbound;
        async move {
            let Some((h, permits)) = set.get(&name) else {
                return (i, None);
            };
            let event = inbound.guest_event(attempt);
            if let Some(filter) = &h.filter {
                if filter.apply(&event, &inbound.trace_id).is_some() {
                    return (i, Some((Ok(Outcome::Done), None, h.retry)));
                }
            }
            let _permit = permits.acquire().await.expect("never closed");
            let invocation = AssertUnwindSafe(h.handler.invoke(&event))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Invocation::panicked());
            guest_log::emit(&name, &event.event_id, &inbound.trace_id, &invocation.logs);
            run_log::finished(
                &name,
                &event.event_id,
                &inbound.trace_id,
                attempt,
                &invocation,
            );
            (i, Some((invocation.result, invocation.kv, h.retry)))
        }
    };
    let results = match set.mode {
        DispatchMode::Parallel => {
            futures_util::future::join_all(due.iter().map(|&i| call(i))).await
        }
        DispatchMode::Sequential => {
            let mut out = Vec::new();
            for &i in &due {
                out.push(call(i).await);
            }
            out
        }
    };
    let done_at = now_ms();
    let mut writes = WriteSet::default();
    for (i, result) in results {
        let s = &mut record.states[i];
        s.attempts += 1;
        let Some((result, kv, retry)) = result else {
            s.status = HandlerStatus::Dead;
            s.last_error = Some(format!(
                "handler `{}` is not in the manifest any more",
                s.name
            ));
            continue;
        };
        if apply_outcome(cx, s, result, retry, done_at, &record.job) {
            writes.extend(kv.map(|kv| kv.writes).unwrap_or_default());
        }
    }
    (Settle::of(record), writes)
}

/// What one run's result (the state's `attempts` already counted) makes of a handler's
/// state: done, dead (`reject`, attempts exhausted) or pending again after the backoff.
/// Returns whether the run is done: only then do its key-value writes commit with the
/// settlement (any other outcome drops them, so a re-run starts from the same state).
#[must_use]
fn apply_outcome(
    cx: &RunContext,
    s: &mut HandlerState,
    result: Result<Outcome, Failure>,
    retry: RetryPolicy,
    done_at: u64,
    job: &NewJob,
) -> bool {
    let event_id = job.event_id.as_str();
    let journal = |what: What| {
        if let Some(journal) = &cx.journal {
            journal.step(&job.event_id, &job.event_type, "", what);
        }
    };
    let failure = match result {
        Ok(Outcome::Done | Outcome::Respond(_)) => {
            s.status = HandlerStatus::Done;
            s.last_error = None;
            return true;
        }
        Ok(Outcome::Reject(why)) => {
            s.status = HandlerStatus::Dead;
            s.last_error = Some(format!("rejected: {why}"));
            tracing::info!(handler = %s.name, event_id, reason = %why, "handler rejected the event; dead-lettered");
            journal(What::GaveUp {
                handler: s.name.clone(),
                attempts: s.attempts,
                reason: format!("rejected: {why}"),
            });
            return false;
        }
        Ok(Outcome::Retry(why)) => format!("asked for a retry: {why}"),
        Err(f) => format!("failed: {f}"),
    };
    match retry.delay_after(s.attempts, &mut rand::thread_rng()) {
        Some(delay) => {
            cx.stats.retries(1);
            s.next_at_ms = done_at + delay.as_millis() as u64;
            tracing::warn!(handler = %s.name, event_id, attempt = s.attempts, retry_in_ms = delay.as_millis() as u64, "handler {failure}; will retry");
            journal(What::Retry {
                handler: s.name.clone(),
                attempt: s.attempts,
                retry_in_ms: delay.as_millis() as u64,
                reason: failure.clone(),
            });
            s.last_error = Some(failure);
        }
        None => {
            s.status = HandlerStatus::Dead;
            tracing::warn!(handler = %s.name, event_id, attempts = s.attempts, "handler {failure}; attempts exhausted, dead-lettered");
            let reason = format!(
                "{failure} (attempt {} of {})",
                s.attempts, retry.max_attempts
            );
            journal(What::GaveUp {
                handler: s.name.clone(),
                attempts: s.attempts,
                reason: reason.clone(),
            });
            s.last_error = Some(reason);
        }
    }
    false
}

/// Records a job that became a dead letter in the run journal (when it is on).
fn journal_settle(cx: &RunContext, settle: &Settle) {
    if let (Some(journal), Settle::Dead(r)) = (&cx.journal, settle) {
        let what = What::DeadLettered { job: r.id };
        journal.step(&r.job.event_id, &r.job.event_type, "", what);
    }
}
