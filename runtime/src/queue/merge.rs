//! Burst merge per chat (opt-in per handler: `merge = { window_ms, max_events, same_sender }`):
//! the messages of one chat that arrive within the window are handed to the handler as one
//! turn, one call with one merged event, whose outcome applies to all of them.
//!
//! **A turn is a function of what is stored**, never of what happened to be in memory, so a
//! crash can neither split a turn nor run a message in two turns. For a handler `H`, the turn
//! that starts at the front job `F` of a chat's lane (in arrival order) is: `F`, then each
//! following job of the lane that `H` still has to run, as long as it is an
//! `im.message.receive_v1` of the same sender (with `same_sender`), was persisted no later than
//! `F`'s time + `window_ms`, and the turn stays within `max_events` and
//! [`lim::MAX_TURN_BYTES`]. A job `H` has nothing to do with is skipped; any other job of
//! the lane that `H` must run ends the turn. Jobs are stamped when they are persisted, with a
//! clock that never goes back ([`super::engine`] keeps it monotonic): a turn is **closed** once
//! a job of the lane ends it, or once the queue's writer has stamped something later than its
//! window (the scheduler asks the writer for that fence when the window ends), so no later job
//! can ever join it.
//!
//! The guest sees one event of type [`MERGED_EVENT_TYPE`] whose envelope lists the original
//! envelopes in order ([`merged_envelope`]); its `dedupe_id` is the first message's, so the
//! host's idempotency keys for sends and replies are stable across re-runs of the turn.

use std::time::Duration;

use serde_json::{json, Value};

use super::settings::{AckMode, QueueBackend, QueueSettings};
use super::store::{HandlerStatus, JobRecord};
use crate::limits::{self, merge as lim};

/// The event type a merged turn has (a compatible addition: no WIT change).
pub const MERGED_EVENT_TYPE: &str = "aviary.message.merged_v1";

/// The event type whose events are merged.
pub const MERGEABLE_EVENT_TYPE: &str = "im.message.receive_v1";

/// A queue that cannot merge (the manifest adds file, line and key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MergeQueueError {
    /// `ack = "after-handle"`: no durable queue.
    #[error(
        "needs the durable queue ([queue] ack = \"after-persist\", the default): with ack = \
         \"after-handle\" a window would hold acks past Feishu's 3 s"
    )]
    AfterHandle,
    /// The Redis backend.
    #[error(
        "is not supported with a Redis queue yet (a turn's window is kept by one instance's \
         writer); use the disk or memory backend"
    )]
    Redis,
}

/// `merge = { window_ms, max_events, same_sender }`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeSettings {
    /// Messages persisted within this time after the turn's first join it.
    pub window: Duration,
    /// Most messages in one turn.
    pub max_events: usize,
    /// Only messages of the first message's sender join its turn.
    pub same_sender: bool,
}

impl MergeSettings {
    /// Checks `window_ms` (`1..=`[`lim::MAX_WINDOW`]).
    pub fn check_window_ms(ms: u64) -> Result<Duration, limits::OutOfRange> {
        limits::within(ms, lim::MAX_WINDOW.as_millis() as u64).map(Duration::from_millis)
    }

    /// Checks `max_events` (`1..=`[`lim::MAX_EVENTS`]).
    pub fn check_max_events(n: u64) -> Result<usize, limits::OutOfRange> {
        limits::within(n, lim::MAX_EVENTS as u64).map(|n| n as usize)
    }

    /// Checks that the queue `queue` can merge: the durable queue of one process (a window
    /// must not hold acks back, and a turn's stamps come from one writer).
    pub fn check_queue(queue: &QueueSettings) -> Result<(), MergeQueueError> {
        if queue.ack == AckMode::AfterHandle {
            return Err(MergeQueueError::AfterHandle);
        }
        if matches!(queue.backend, QueueBackend::Redis(_)) {
            return Err(MergeQueueError::Redis);
        }
        Ok(())
    }
}

impl Default for MergeSettings {
    /// `window_ms = 1500`, `max_events = 10`, every sender.
    fn default() -> Self {
        MergeSettings {
            window: lim::DEFAULT_WINDOW,
            max_events: lim::DEFAULT_MAX_EVENTS,
            same_sender: false,
        }
    }
}

/// One job of a chat's lane, as the turn rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct LaneJob<'a> {
    /// The stored job.
    pub record: &'a JobRecord,
    /// Its message's sender (open_id), when it has one ([`sender_of`]).
    pub sender: Option<&'a str>,
}

/// What the rule says about the turn that starts at a lane's front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// Final: these jobs (ids, the front first, in order).
    Closed(Vec<u64>),
    /// More jobs persisted until this time (ms since the epoch) may still join.
    Open {
        /// The end of the window.
        until_ms: u64,
    },
}

/// Whether `handler` still has to run `record` (it is routed there and pending).
pub fn pending_for(record: &JobRecord, handler: &str) -> bool {
    record
        .states
        .iter()
        .any(|s| s.name == handler && s.status == HandlerStatus::Pending)
}

/// Whether `record` can be in a turn of `handler`: a message `handler` still has to run.
pub fn mergeable(record: &JobRecord, handler: &str) -> bool {
    record.job.event_type == MERGEABLE_EVENT_TYPE && pending_for(record, handler)
}

/// The turn of `handler` that starts at `lane[0]` (which must be [`mergeable`] for it), given
/// that the writer has stamped everything persisted up to `fenced_through_ms`. See the module
/// doc for the rule.
///
/// The lane is read lazily and only up to the first job persisted after the window (stamps
/// grow along the lane, so no later job can join): a long backlog costs no more than the jobs
/// of one window.
pub fn turn<'a>(
    handler: &str,
    settings: &MergeSettings,
    lane: impl IntoIterator<Item = LaneJob<'a>>,
    fenced_through_ms: u64,
) -> Turn {
    let mut lane = lane.into_iter();
    let Some(first) = lane.next() else {
        return Turn::Closed(Vec::new());
    };
    let end = first
        .record
        .enqueued_at_ms
        .saturating_add(settings.window.as_millis() as u64);
    let mut members = vec![first.record.id];
    let mut bytes = first.record.job.envelope.len();
    for job in lane {
        if job.record.enqueued_at_ms > end {
            return Turn::Closed(members);
        }
        if !pending_for(job.record, handler) {
            continue;
        }
        let closes = job.record.job.event_type != MERGEABLE_EVENT_TYPE
            || (settings.same_sender && job.sender != first.sender)
            || members.len() >= settings.max_events
            || bytes + job.record.job.envelope.len() > lim::MAX_TURN_BYTES;
        if closes {
            return Turn::Closed(members);
        }
        members.push(job.record.id);
        bytes += job.record.job.envelope.len();
    }
    if members.len() >= settings.max_events || end <= fenced_through_ms {
        Turn::Closed(members)
    } else {
        Turn::Open { until_ms: end }
    }
}

/// The sender's open_id of a message envelope (`event.sender.sender_id.open_id`).
pub fn sender_of(envelope: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Root {
        event: Option<Body>,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        sender: Option<Sender>,
    }
    #[derive(serde::Deserialize)]
    struct Sender {
        sender_id: Option<Ids>,
    }
    #[derive(serde::Deserialize)]
    struct Ids {
        open_id: Option<String>,
    }
    let root: Root = serde_json::from_str(envelope).ok()?;
    root.event?.sender?.sender_id?.open_id
}

/// What the merged envelope's header repeats of the turn's first event.
#[derive(Debug, Clone, Copy)]
pub struct TurnHeader<'a> {
    /// The first event's `event_id`.
    pub event_id: &'a str,
    /// The first event's `create_time`.
    pub create_time: &'a str,
    /// The app.
    pub app_id: &'a str,
    /// The tenant.
    pub tenant_key: &'a str,
    /// The chat.
    pub chat_id: &'a str,
}

/// The envelope of a merged turn: a schema 2.0 envelope of type [`MERGED_EVENT_TYPE`] whose
/// body has the chat, the number of messages and the original envelopes in order:
///
/// ```json
/// {"schema":"2.0","header":{"event_id":"…","event_type":"aviary.message.merged_v1",
///  "create_time":"…","token":"","app_id":"…","tenant_key":"…"},
///  "event":{"chat_id":"oc_…","count":2,"events":[{…},{…}]}}
/// ```
///
/// `envelopes` must be JSON texts (stored envelopes are: each was parsed when it arrived).
pub fn merged_envelope(header: TurnHeader<'_>, envelopes: &[&str]) -> String {
    let head = json!({
        "schema": "2.0",
        "header": {
            "event_id": header.event_id,
            "event_type": MERGED_EVENT_TYPE,
            "create_time": header.create_time,
            "token": "",
            "app_id": header.app_id,
            "tenant_key": header.tenant_key,
        },
    });
    let mut out = head.to_string();
    // Re-open the object to add the body with the envelopes as they were stored.
    out.pop();
    out.push_str(",\"event\":{\"chat_id\":");
    out.push_str(&Value::String(header.chat_id.to_string()).to_string());
    out.push_str(&format!(",\"count\":{},\"events\":[", envelopes.len()));
    for (i, e) in envelopes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e.trim());
    }
    out.push_str("]}}");
    out
}

#[cfg(test)]
mod tests;
