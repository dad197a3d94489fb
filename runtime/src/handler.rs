//! The host-side vocabulary of handlers, shared by the sandbox (which runs them) and dispatch
//! (which decides who runs what): the event a handler receives, what it returns, how it can
//! fail, and the [`Invoke`] trait dispatch calls. Mirrors `wit/handler.wit`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::kv::PendingWrites;
use crate::protocol::envelope::EventKind;

/// The event as passed to a handler (the WIT `event` record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestEvent {
    pub dedupe_id: String,
    pub event_id: String,
    pub event_type: String,
    pub kind: EventKind,
    pub app_id: String,
    pub tenant_key: String,
    pub create_time: String,
    /// 1 for the first delivery to this handler.
    pub attempt: u32,
    pub envelope: String,
}

/// What a handler returned (the WIT `outcome` variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// A callback answer: a JSON body.
    Respond(String),
    Retry(String),
    Reject(String),
}

/// Why a handler produced no outcome. Every variant is reported in logs and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The fuel budget ran out.
    OutOfFuel { limit: u64 },
    /// The wall-clock budget ran out (in guest code or in a host call).
    Timeout { limit: Duration },
    /// The handler tried to grow its memories past the limit (total over all memories).
    MemoryLimit {
        limit_bytes: u64,
        requested_bytes: u64,
    },
    /// The guest panicked; the message is the panic message when the guest reported it.
    Panic { message: Option<String> },
    /// The guest overflowed its stack.
    StackOverflow,
    /// Any other trap (e.g. integer divide by zero), with its description and backtrace.
    Trap {
        trap: String,
        backtrace: Option<String>,
    },
    /// The host failed (e.g. instantiation), not the guest.
    Host { message: String },
}

impl Failure {
    /// A short stable name for logs and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::OutOfFuel { .. } => "out_of_fuel",
            Failure::Timeout { .. } => "timeout",
            Failure::MemoryLimit { .. } => "memory_limit",
            Failure::Panic { .. } => "panic",
            Failure::StackOverflow => "stack_overflow",
            Failure::Trap { .. } => "trap",
            Failure::Host { .. } => "host_error",
        }
    }
}

impl std::fmt::Display for Failure {
    /// One line for logs: what happened and the limit involved.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::OutOfFuel { limit } => write!(f, "ran out of fuel (budget {limit})"),
            Failure::Timeout { limit } => write!(f, "timed out after {limit:?}"),
            Failure::MemoryLimit {
                limit_bytes,
                requested_bytes,
            } => write!(
                f,
                "memory limit: asked for {requested_bytes} bytes in total, limit {limit_bytes} bytes"
            ),
            Failure::Panic { message: Some(m) } => write!(f, "panicked: {m}"),
            Failure::Panic { message: None } => {
                write!(f, "panicked or aborted (no message; wasm `unreachable` executed)")
            }
            Failure::StackOverflow => write!(f, "stack overflow"),
            Failure::Trap {
                trap,
                backtrace: Some(bt),
            } => write!(f, "trapped: {trap}\n{bt}"),
            Failure::Trap {
                trap,
                backtrace: None,
            } => write!(f, "trapped: {trap}"),
            Failure::Host { message } => write!(f, "host error: {message}"),
        }
    }
}

/// A log line written by a guest (through the `log` import, or captured stdout/stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestLog {
    pub level: LogLevel,
    pub message: String,
    /// Where it came from.
    pub stream: LogStream,
}

/// The WIT `level` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Which channel a guest log line came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// The `log` import.
    Log,
    /// Captured WASI stdout.
    Stdout,
    /// Captured WASI stderr.
    Stderr,
}

/// Everything known about one call of one handler.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub result: Result<Outcome, Failure>,
    /// Fuel consumed, when fuel metering is on for this handler.
    pub fuel_used: Option<u64>,
    /// Peak total linear memory of the instance, in bytes.
    pub peak_memory_bytes: u64,
    /// Wall time of the call (instantiation included).
    pub wall: Duration,
    /// The guest's log lines, in order (capped; see `limits`).
    pub logs: Vec<GuestLog>,
    /// The run's key-value writes (`None`: none, or the call failed). They take effect only
    /// if the outcome is `done` or `respond`: committed with the outcome by the queue, or
    /// applied by dispatch without one ([`crate::kv`]).
    pub kv: Option<PendingWrites>,
}

/// A boxed future returned by [`Invoke::invoke`].
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Invocation> + Send + 'a>>;

/// Runs one handler on one event. Implemented by the sandbox's loaded handlers; dispatch only
/// knows this trait, so it can be tested without wasmtime.
pub trait Invoke: Send + Sync {
    /// The handler's name from the manifest.
    fn name(&self) -> &str;
    /// Runs the handler on `event`. Never panics; every failure is an [`Invocation`] result.
    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a>;
}
