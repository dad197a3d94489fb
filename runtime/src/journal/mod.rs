//! The run journal: a bounded, in-memory timeline of the most recent events — received,
//! persisted (or a duplicate), acked with which code, each handler run (outcome, wall time, fuel
//! and peak memory against the handler's limits, its log lines, the OpenAPI and HTTP calls it
//! made and how they were answered), retries, handlers that gave up, dead letters, replays.
//!
//! Off unless asked for (`aviary run --debug-runs`, [`crate::RuntimeBuilder::debug_runs`]);
//! `aviary dev` turns it on and its console shows it. The admin server serves it at
//! `GET /debug/runs?since=N` (the events changed after change number `N`).
//!
//! **Bounds** ([`crate::limits::journal`]): at most [`MAX_EVENTS`] events and about
//! [`MAX_BYTES`] bytes (the oldest events go first), [`MAX_STEPS_PER_EVENT`] steps per event,
//! a run's first log lines and calls. **What it never holds**: envelopes (they carry the
//! verification token), headers, bodies, query strings, the app secret or any token — a call is
//! its method, path and Feishu's `code`/`msg` ([`crate::sandbox`] records it so).
//!
//! The subsystems record into it through an `Option<Arc<Journal>>` they are given: the
//! composition root (the sink and handler wrappers of [`crate::app`]) records deliveries, acks
//! and runs; the queue records persistence, retries, dead letters and replays.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::handler::{GuestEvent, GuestLog, Invocation, LogLevel, LogStream, Outcome};
use crate::limits::journal::{
    MAX_BYTES, MAX_DETAIL_BYTES, MAX_EVENTS, MAX_LOG_BYTES_PER_RUN, MAX_LOG_LINES_PER_RUN,
    MAX_STEPS_PER_EVENT,
};

#[cfg(test)]
mod tests;

/// The journal of one app; see the module doc. Shared (`Arc`) by everything that records.
#[derive(Debug)]
pub struct Journal {
    id: String,
    started_at_ms: u64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Oldest first.
    events: VecDeque<Kept>,
    /// The last change number given out.
    seq: u64,
    bytes: usize,
    dropped_events: u64,
}

#[derive(Debug)]
struct Kept {
    trace: EventTrace,
    bytes: usize,
}

/// One event's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct EventTrace {
    /// The envelope's event id.
    pub event_id: String,
    /// Its type (`""` while unknown).
    pub event_type: String,
    /// The frame's trace id (`""` when absent).
    pub trace_id: String,
    /// When the journal first heard of it (ms since the Unix epoch).
    pub first_at_ms: u64,
    /// The change number of its last step (compare with [`Snapshot::latest`]).
    pub changed: u64,
    /// What happened, in order.
    pub steps: Vec<Step>,
    /// Steps past the bound of steps per event, counted, not kept.
    pub steps_dropped: u32,
}

/// One thing that happened to an event.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// When (ms since the Unix epoch).
    pub at_ms: u64,
    /// What.
    #[serde(flatten)]
    pub what: What,
}

/// What a [`Step`] was (`"step": "received"`, … in JSON).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum What {
    /// A delivery arrived (the frame's `message_id`: each redelivery has its own).
    Received {
        /// The frame's `message_id`.
        delivery: String,
    },
    /// Stored in the durable queue as this job.
    Persisted {
        /// The job's id (a dead letter keeps it).
        job: u64,
    },
    /// Stored, to be run by the instance holding its chat (shared stores).
    Forwarded {
        /// The job's id.
        job: u64,
    },
    /// Its dedupe id was seen before: not stored again, nothing runs.
    Duplicate,
    /// The ack sent: 200 (with the callback's answer, if any) or 500 (and why).
    Acked {
        /// 200 or 500.
        code: u16,
        /// The answer carried in the ack, or why it is 500.
        detail: Option<String>,
    },
    /// No ack sent (the queue is full or cannot persist): Feishu redelivers it.
    NotAcked {
        /// Why.
        reason: String,
    },
    /// A handler ran.
    Run(Box<RunStep>),
    /// A handler's filters refused the event: it does not run (the pair counts as handled).
    Filtered {
        /// The handler.
        handler: String,
        /// Which filter: `too_old`, `from_bot`, `not_mentioned`, … .
        reason: &'static str,
        /// What the event had.
        detail: String,
    },
    /// A merging handler ran on this event within another event's turn (burst merge): that
    /// event's timeline shows the run.
    Merged {
        /// The handler.
        handler: String,
        /// The event whose timeline holds the run (the turn's first).
        into: String,
        /// Messages in the turn.
        messages: u32,
    },
    /// A handler will run again.
    Retry {
        /// The handler.
        handler: String,
        /// The attempt that failed.
        attempt: u32,
        /// When the next one starts.
        retry_in_ms: u64,
        /// Why.
        reason: String,
    },
    /// A handler gave up (rejected, or its attempts ran out).
    GaveUp {
        /// The handler.
        handler: String,
        /// Attempts made.
        attempts: u32,
        /// Why.
        reason: String,
    },
    /// The job became a dead letter (every handler finished, at least one gave up).
    DeadLettered {
        /// The dead letter's id (`aviary dlq replay <id>`).
        job: u64,
    },
    /// A dead letter was put back in the queue: its handlers that gave up run again.
    Replayed {
        /// The job's id.
        job: u64,
    },
}

/// One handler run.
#[derive(Debug, Clone, Serialize)]
pub struct RunStep {
    /// The handler.
    pub handler: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `done`, `respond`, `retry`, `reject` or `failed`.
    pub outcome: &'static str,
    /// For `failed`: `timeout`, `out_of_fuel`, `memory_limit`, `panic`, `trap`, … .
    pub failure: Option<&'static str>,
    /// The retry's or reject's reason, the failure in words, or the callback's answer.
    pub detail: Option<String>,
    /// Wall time, instantiation included.
    pub wall_ms: u64,
    /// Fuel used (handlers metered for fuel).
    pub fuel_used: Option<u64>,
    /// Peak linear memory of the instance (Wasm; 0 for native handlers).
    pub peak_memory_bytes: u64,
    /// The handler's limits, to read the three above against.
    pub limits: RunLimits,
    /// The guest's first log lines.
    pub logs: Vec<LogLine>,
    /// Log lines past the journal's cap.
    pub logs_dropped: u32,
    /// The OpenAPI and HTTP calls it made, in order.
    pub calls: Vec<CallStep>,
}

/// A handler's limits, as a run is read against them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunLimits {
    /// `timeout_ms`.
    pub timeout_ms: u64,
    /// `fuel` (`None`: not metered).
    pub fuel: Option<u64>,
    /// `memory_mb` in bytes (`None`: native handler).
    pub memory_bytes: Option<u64>,
}

/// One guest log line.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: &'static str,
    /// `log`, `stdout` or `stderr`.
    pub stream: &'static str,
    /// The line.
    pub message: String,
}

/// One call a run made through a host import.
#[derive(Debug, Clone, Serialize)]
pub struct CallStep {
    /// `feishu-request`, `feishu-upload` or `http-send`.
    pub import: &'static str,
    /// The method.
    pub method: String,
    /// The path, or the URL without its query.
    pub target: String,
    /// Whether the guest got an answer.
    pub ok: bool,
    /// The HTTP status of an `http-send` answer.
    pub status: Option<u16>,
    /// Feishu's code and message, the status and size, or the error.
    pub answer: String,
    /// How long it took.
    pub duration_ms: u64,
}

/// What `GET /debug/runs?since=N` answers for one app.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// This journal (a new one at every start of the process: a page keeps what it saw).
    pub journal: String,
    /// When it started (ms since the Unix epoch).
    pub started_at_ms: u64,
    /// The last change number: ask `since` it next time.
    pub latest: u64,
    /// Events dropped so far to keep the bounds.
    pub dropped_events: u64,
    /// The events changed after `since`, oldest first.
    pub events: Vec<EventTrace>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `text` cut at `max` bytes on a character boundary, `…` added when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Rough heap size of a step, for the byte bound.
fn size_of(what: &What) -> usize {
    64 + match what {
        What::Received { delivery } => delivery.len(),
        What::Acked { detail, .. } => detail.as_ref().map_or(0, String::len),
        What::NotAcked { reason } => reason.len(),
        What::Retry {
            handler, reason, ..
        }
        | What::GaveUp {
            handler, reason, ..
        } => handler.len() + reason.len(),
        What::Filtered {
            handler, detail, ..
        } => handler.len() + detail.len(),
        What::Merged { handler, into, .. } => handler.len() + into.len(),
        What::Run(run) => {
            run.handler.len()
                + run.detail.as_ref().map_or(0, String::len)
                + run.logs.iter().map(|l| l.message.len() + 32).sum::<usize>()
                + run
                    .calls
                    .iter()
                    .map(|c| c.method.len() + c.target.len() + c.answer.len() + 48)
                    .sum::<usize>()
        }
        What::Persisted { .. }
        | What::Forwarded { .. }
        | What::Duplicate
        | What::DeadLettered { .. }
        | What::Replayed { .. } => 0,
    }
}

impl Default for Journal {
    fn default() -> Self {
        Journal::new()
    }
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Journal {
        let started_at_ms = now_ms();
        Journal {
            id: format!("{started_at_ms}-{}", std::process::id()),
            started_at_ms,
            inner: Mutex::default(),
        }
    }

    /// Adds a step to the event `event_id` (made if the journal does not hold it).
    pub fn step(&self, event_id: &str, event_type: &str, trace_id: &str, what: What) {
        let size = size_of(&what);
        let at_ms = now_ms();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.seq += 1;
        let seq = inner.seq;
        let at = inner
            .events
            .iter()
            .rposition(|k| k.trace.event_id == event_id);
        let at = match at {
            Some(i) => i,
            None => {
                let trace = EventTrace {
                    event_id: event_id.to_string(),
                    event_type: event_type.to_string(),
                    trace_id: trace_id.to_string(),
                    first_at_ms: at_ms,
                    changed: seq,
                    steps: Vec::new(),
                    steps_dropped: 0,
                };
                let bytes = 128 + event_id.len() + event_type.len() + trace_id.len();
                inner.bytes += bytes;
                inner.events.push_back(Kept { trace, bytes });
                inner.events.len() - 1
            }
        };
        let kept = &mut inner.events[at];
        kept.trace.changed = seq;
        if kept.trace.event_type.is_empty() {
            kept.trace.event_type = event_type.to_string();
        }
        if kept.trace.trace_id.is_empty() {
            kept.trace.trace_id = trace_id.to_string();
        }
        let added = if kept.trace.steps.len() < MAX_STEPS_PER_EVENT {
            kept.trace.steps.push(Step { at_ms, what });
            kept.bytes += size;
            size
        } else {
            kept.trace.steps_dropped = kept.trace.steps_dropped.saturating_add(1);
            0
        };
        inner.bytes += added;
        // The oldest events go first; the one just changed stays.
        while inner.events.len() > 1 && (inner.events.len() > MAX_EVENTS || inner.bytes > MAX_BYTES)
        {
            let Some(old) = inner.events.pop_front() else {
                break;
            };
            inner.bytes -= old.bytes;
            inner.dropped_events += 1;
        }
    }

    /// A delivery of `event` arrived.
    pub fn received(&self, event_id: &str, event_type: &str, trace_id: &str, delivery: &str) {
        self.step(
            event_id,
            event_type,
            trace_id,
            What::Received {
                delivery: cut(delivery, 200),
            },
        );
    }

    /// The ack of a delivery: `Some(code)` with its detail, or `None` (not acked) with why.
    pub fn acked(&self, event_id: &str, code: Option<u16>, detail: Option<&str>) {
        let detail = detail.map(|d| cut(d, MAX_DETAIL_BYTES));
        let what = match code {
            Some(code) => What::Acked { code, detail },
            None => What::NotAcked {
                reason: detail.unwrap_or_default(),
            },
        };
        self.step(event_id, "", "", what);
    }

    /// A handler ran on `event` (with these limits): outcome, resources, logs and calls.
    pub fn run(
        &self,
        event: &GuestEvent,
        handler: &str,
        limits: RunLimits,
        invocation: &Invocation,
    ) {
        let (outcome, failure, detail) = match &invocation.result {
            Ok(Outcome::Done) => ("done", None, None),
            Ok(Outcome::Respond(answer)) => ("respond", None, Some(answer.clone())),
            Ok(Outcome::Retry(why)) => ("retry", None, Some(why.clone())),
            Ok(Outcome::Reject(why)) => ("reject", None, Some(why.clone())),
            Err(f) => ("failed", Some(f.kind()), Some(f.to_string())),
        };
        let (logs, logs_dropped) = log_lines(&invocation.logs);
        let run = RunStep {
            handler: handler.to_string(),
            attempt: event.attempt,
            outcome,
            failure,
            detail: detail.map(|d| cut(&d, MAX_DETAIL_BYTES)),
            wall_ms: invocation.wall.as_millis() as u64,
            fuel_used: invocation.fuel_used,
            peak_memory_bytes: invocation.peak_memory_bytes,
            limits,
            logs,
            logs_dropped,
            calls: invocation
                .calls
                .iter()
                .map(|c| CallStep {
                    import: c.import,
                    method: c.method.clone(),
                    target: c.target.clone(),
                    ok: c.ok,
                    status: c.status,
                    answer: c.answer.clone(),
                    duration_ms: c.duration.as_millis() as u64,
                })
                .collect(),
        };
        self.step(
            &event.event_id,
            &event.event_type,
            "",
            What::Run(Box::new(run)),
        );
    }

    /// A handler's filters refused `event_id` (`reason`, with what the event had).
    pub fn filtered(
        &self,
        event_id: &str,
        event_type: &str,
        trace_id: &str,
        handler: &str,
        reason: &'static str,
        detail: &str,
    ) {
        let what = What::Filtered {
            handler: handler.to_string(),
            reason,
            detail: cut(detail, MAX_DETAIL_BYTES),
        };
        self.step(event_id, event_type, trace_id, what);
    }

    /// The events changed after change number `since`, oldest first.
    pub fn since(&self, since: u64) -> Snapshot {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Snapshot {
            journal: self.id.clone(),
            started_at_ms: self.started_at_ms,
            latest: inner.seq,
            dropped_events: inner.dropped_events,
            events: inner
                .events
                .iter()
                .filter(|k| k.trace.changed > since)
                .map(|k| k.trace.clone())
                .collect(),
        }
    }
}

/// The first lines of a run's log, within the journal's caps; and how many were left out.
fn log_lines(logs: &[GuestLog]) -> (Vec<LogLine>, u32) {
    let mut kept = Vec::new();
    let mut bytes = 0;
    for log in logs {
        if kept.len() >= MAX_LOG_LINES_PER_RUN || bytes >= MAX_LOG_BYTES_PER_RUN {
            break;
        }
        let message = cut(&log.message, MAX_LOG_BYTES_PER_RUN - bytes);
        bytes += message.len();
        kept.push(LogLine {
            level: match log.level {
                LogLevel::Trace => "trace",
                LogLevel::Debug => "debug",
                LogLevel::Info => "info",
                LogLevel::Warn => "warn",
                LogLevel::Error => "error",
            },
            stream: match log.stream {
                LogStream::Log => "log",
                LogStream::Stdout => "stdout",
                LogStream::Stderr => "stderr",
            },
            message,
        });
    }
    let dropped = (logs.len() - kept.len()) as u32;
    (kept, dropped)
}
