//! Burst merge in the engine ([`crate::queue::merge`] has the rule and the merged envelope):
//! the scheduler holds a chat's front job back while a handler's turn that starts there is
//! still open, asks the writer for a fence when the window ends, and launches the job with its
//! turns; the job's task calls each merging handler once with the merged event and applies
//! the outcome to every job of the turn, whose settlements are committed in one transaction
//! with the front job's. A merged call's key-value writes travel with the front job's
//! settlement (once per call, whatever the turn's size), and only if the call is done.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use super::{apply_outcome, HandlerSet, Op, RunContext, Scheduler};
use crate::dispatch::{guest_log, run_log, InboundEvent};
use crate::handler::{GuestEvent, Invocation, Outcome};
use crate::kv::WriteSet;
use crate::protocol::envelope::{parse_envelope, EventKind};
use crate::queue::merge::{
    self, mergeable, LaneJob, MergeSettings, Turn, TurnHeader, MERGED_EVENT_TYPE,
};
use crate::queue::store::{now_ms, HandlerStatus, JobRecord};

/// The scheduler's state of burst merge.
pub(super) struct TurnState {
    /// The merging handlers (manifest name → settings).
    merges: HashMap<String, MergeSettings>,
    /// The writer stamps everything persisted from now on later than this (ms).
    fenced_through: u64,
    /// Windows ends the writer was asked to fence and has not answered yet.
    fences_asked: BTreeSet<u64>,
    /// (window end, job): fronts whose turn is open until the end of its window.
    timers: BinaryHeap<Reverse<(u64, u64)>>,
    /// The entries of `timers`, so a front considered again is not timed twice.
    timed: BTreeSet<(u64, u64)>,
    /// Fronts waiting for the fence of a window end.
    waiting_fence: BTreeMap<u64, BTreeSet<u64>>,
    /// Whether some merging handler only merges one sender's messages.
    same_sender: bool,
}

/// One merging handler's turn as launched: the handler and the other jobs of the turn (the
/// front job is the run's own record).
pub(super) type TurnRun = (String, Vec<JobRecord>);

impl TurnState {
    /// `merges` of the handlers; the writer stamps everything persisted from now on later than
    /// `fenced_through`.
    pub(super) fn new(merges: HashMap<String, MergeSettings>, fenced_through: u64) -> TurnState {
        let same_sender = merges.values().any(|m| m.same_sender);
        TurnState {
            merges,
            fenced_through,
            fences_asked: BTreeSet::new(),
            timers: BinaryHeap::new(),
            timed: BTreeSet::new(),
            waiting_fence: BTreeMap::new(),
            same_sender,
        }
    }

    /// Whether any handler merges.
    pub(super) fn any(&self) -> bool {
        !self.merges.is_empty()
    }

    /// The sender a job's turn rule needs (only when some handler merges per sender).
    pub(super) fn sender_for(&self, record: &JobRecord) -> Option<String> {
        (self.same_sender && record.job.event_type == merge::MERGEABLE_EVENT_TYPE)
            .then(|| merge::sender_of(&record.job.envelope))
            .flatten()
    }

    /// When the next window ends (ms), if a front waits for one.
    pub(super) fn next_timer(&self) -> Option<u64> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }
}

impl Scheduler {
    /// The turns of the front job `id` for each merging handler that is due on it: `Err(until)`
    /// while one of them is still open (until that time, ms), else the closed turns.
    fn turns_at_front(&self, id: u64) -> Result<Vec<(String, Vec<u64>)>, u64> {
        let Some(entry) = self.jobs.get(&id) else {
            return Ok(Vec::new());
        };
        let now = now_ms();
        let mut closed = Vec::new();
        let mut open_until = None;
        for (handler, settings) in &self.turns.merges {
            let due = entry.record.states.iter().any(|s| {
                &s.name == handler && s.status == HandlerStatus::Pending && s.next_at_ms <= now
            });
            if !due || !mergeable(&entry.record, handler) {
                continue;
            }
            let lane: Box<dyn Iterator<Item = LaneJob<'_>>> = match entry
                .record
                .job
                .chat_id
                .as_ref()
                .and_then(|c| self.lanes.get(c))
            {
                Some(lane) => Box::new(
                    lane.iter()
                        .skip_while(move |j| **j != id)
                        .filter_map(|j| self.jobs.get(j))
                        .map(lane_job),
                ),
                None => Box::new(std::iter::once(lane_job(entry))),
            };
            match merge::turn(handler, settings, lane, self.turns.fenced_through) {
                Turn::Closed(members) => closed.push((handler.clone(), members)),
                Turn::Open { until_ms } => {
                    open_until = Some(open_until.map_or(until_ms, |u: u64| u.max(until_ms)))
                }
            }
        }
        match open_until {
            Some(until) => Err(until),
            None => Ok(closed),
        }
    }

    /// Called for a due front job `id`: `true` when a turn starting there is still open, in
    /// which case `id` waits (for the window's end, then for the writer's fence).
    pub(super) fn wait_for_turn(&mut self, id: u64) -> bool {
        if !self.turns.any() {
            return false;
        }
        let Err(until) = self.turns_at_front(id) else {
            return false;
        };
        if now_ms() < until {
            if self.turns.timed.insert((until, id)) {
                self.turns.timers.push(Reverse((until, id)));
            }
        } else {
            if self.turns.fences_asked.insert(until) {
                let _ = self.cx.ops.send(Op::Fence(until));
            }
            self.turns
                .waiting_fence
                .entry(until)
                .or_default()
                .insert(id);
        }
        true
    }

    /// A job of `chat` arrived: it may close the turn its front waits for.
    pub(super) fn reconsider_front(&mut self, chat: &str) {
        if !self.turns.any() {
            return;
        }
        if let Some(&front) = self.lanes.get(chat).and_then(|l| l.front()) {
            self.consider(front);
        }
    }

    /// Fronts whose window has ended: considered again (they ask for the fence now).
    pub(super) fn fire_turn_timers(&mut self) {
        let now = now_ms();
        while let Some(Reverse((at, id))) = self.turns.timers.peek().copied() {
            if at > now {
                break;
            }
            self.turns.timers.pop();
            self.turns.timed.remove(&(at, id));
            self.consider(id);
        }
    }

    /// The writer stamps everything persisted from now on later than `through`: the turns
    /// whose window ended by then are closed.
    pub(super) fn fenced(&mut self, through: u64) {
        self.turns.fenced_through = self.turns.fenced_through.max(through);
        self.turns.fences_asked.remove(&through);
        let done: Vec<u64> = self
            .turns
            .waiting_fence
            .range(..=self.turns.fenced_through)
            .map(|(end, _)| *end)
            .collect();
        for end in done {
            for id in self.turns.waiting_fence.remove(&end).unwrap_or_default() {
                self.consider(id);
            }
        }
    }

    /// The closed turns of the front job `id`, with the other jobs' records, for its launch.
    pub(super) fn turns_to_run(&self, id: u64) -> Vec<TurnRun> {
        if !self.turns.any() {
            return Vec::new();
        }
        let turns = self.turns_at_front(id).unwrap_or_default();
        turns
            .into_iter()
            .map(|(handler, members)| {
                let others = members
                    .iter()
                    .filter(|m| **m != id)
                    .filter_map(|m| self.jobs.get(m).map(|e| e.record.clone()))
                    .collect();
                (handler, others)
            })
            .collect()
    }
}

/// A job of a lane as the turn rule sees it.
fn lane_job(e: &super::JobEntry) -> LaneJob<'_> {
    LaneJob {
        record: &e.record,
        sender: e.sender.as_deref(),
    }
}

/// Runs each merging handler once on its turn (the front job `record` first, then the
/// others), applying its outcome to that handler's state in every job of the turn. Returns
/// the front record, the other jobs' updated records (each once), to settle together, and the
/// key-value writes of the calls that are done (to commit with the front job's settlement).
pub(super) async fn run_turns(
    cx: &RunContext,
    set: &HandlerSet,
    mut record: JobRecord,
    turns: Vec<TurnRun>,
) -> (JobRecord, Vec<JobRecord>, WriteSet) {
    let mut others: BTreeMap<u64, JobRecord> = BTreeMap::new();
    let mut writes = WriteSet::default();
    for (handler, members) in turns {
        let ids: Vec<u64> = std::iter::once(record.id)
            .chain(members.iter().map(|m| m.id))
            .collect();
        for m in members {
            others.entry(m.id).or_insert(m);
        }
        run_turn(
            cx,
            set,
            &handler,
            &mut record,
            &mut others,
            &ids,
            &mut writes,
        )
        .await;
    }
    (record, others.into_values().collect(), writes)
}

/// One merging handler on one turn (`ids`: the front job first); the call's key-value writes
/// go to `writes` when it is done.
async fn run_turn(
    cx: &RunContext,
    set: &HandlerSet,
    handler: &str,
    front: &mut JobRecord,
    others: &mut BTreeMap<u64, JobRecord>,
    ids: &[u64],
    writes: &mut WriteSet,
) {
    let Some((h, permits)) = set.get(handler) else {
        // Gone from the manifest: the front job's own run marks it dead.
        return;
    };
    let Some(state) = front.states.iter().position(|s| s.name == handler) else {
        return;
    };
    let attempt = front.states[state].attempts + 1;
    // The members' events, in order; a stored envelope that cannot be parsed is dead.
    let mut events: Vec<(u64, GuestEvent, String)> = Vec::new();
    for &id in ids {
        let rec = if id == front.id {
            &mut *front
        } else {
            match others.get_mut(&id) {
                Some(r) => r,
                None => continue,
            }
        };
        match parse_envelope(rec.job.envelope.as_bytes(), None) {
            Ok(env) => {
                let inbound = InboundEvent {
                    meta: env.meta,
                    json: env.json,
                    trace_id: rec.job.trace_id.clone(),
                    frame_message_id: String::new(),
                };
                events.push((id, inbound.guest_event(attempt), inbound.trace_id));
            }
            Err(e) => {
                if let Some(s) = rec.states.iter_mut().find(|s| s.name == handler) {
                    s.status = HandlerStatus::Dead;
                    s.last_error = Some(format!("the stored envelope cannot be parsed: {e}"));
                }
            }
        }
    }
    let trace_id = events.first().map(|e| e.2.clone()).unwrap_or_default();
    // Filters judge each message; the turn is what passes (all of it is settled).
    let passing: Vec<&GuestEvent> = events
        .iter()
        .filter(|(_, e, trace)| match &h.filter {
            Some(f) => f.apply(e, trace).is_none(),
            None => true,
        })
        .map(|(_, e, _)| e)
        .collect();
    let (result, kv) = if passing.is_empty() {
        (Ok(Outcome::Done), None)
    } else {
        let event = merged_event(front, &passing, attempt);
        let _permit = permits.acquire().await.expect("never closed");
        let invocation = AssertUnwindSafe(h.handler.invoke(&event))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Invocation::panicked());
        guest_log::emit(handler, &event.event_id, &trace_id, &invocation.logs);
        run_log::finished(handler, &event.event_id, &trace_id, attempt, &invocation);
        tracing::debug!(handler, event_id = %event.event_id, messages = passing.len(), "merged turn ran");
        (invocation.result, invocation.kv)
    };
    let s = &mut front.states[state];
    if s.status == HandlerStatus::Pending {
        s.attempts += 1;
        if apply_outcome(cx, s, result, h.retry, now_ms(), &front.job) {
            writes.extend(kv.map(|kv| kv.writes).unwrap_or_default());
        }
    }
    let settled = front.states[state].clone();
    for id in ids.iter().filter(|id| **id != front.id) {
        if let (Some(journal), Some(rec)) = (&cx.journal, others.get(id)) {
            let what = crate::journal::What::Merged {
                handler: handler.to_string(),
                into: front.job.event_id.clone(),
                messages: ids.len() as u32,
            };
            journal.step(&rec.job.event_id, &rec.job.event_type, "", what);
        }
        if let Some(rec) = others.get_mut(id) {
            if let Some(s) = rec.states.iter_mut().find(|s| s.name == handler) {
                if s.status == HandlerStatus::Pending {
                    *s = settled.clone();
                }
            }
        }
    }
}

/// The event the guest sees for a turn: the front job's ids (its `dedupe_id` keys the host's
/// idempotent sends), type [`MERGED_EVENT_TYPE`], and the passing messages' envelopes.
fn merged_event(front: &JobRecord, passing: &[&GuestEvent], attempt: u32) -> GuestEvent {
    let first = passing[0];
    let envelopes: Vec<&str> = passing.iter().map(|e| e.envelope.as_str()).collect();
    let chat = front.job.chat_id.as_deref().unwrap_or_default();
    let envelope = merge::merged_envelope(
        TurnHeader {
            event_id: &front.job.event_id,
            create_time: &first.create_time,
            app_id: &first.app_id,
            tenant_key: &first.tenant_key,
            chat_id: chat,
        },
        &envelopes,
    );
    GuestEvent {
        dedupe_id: front.job.dedupe_id.clone(),
        event_id: front.job.event_id.clone(),
        event_type: MERGED_EVENT_TYPE.to_string(),
        kind: EventKind::Event,
        app_id: first.app_id.clone(),
        tenant_key: first.tenant_key.clone(),
        create_time: first.create_time.clone(),
        attempt,
        envelope,
    }
}
