//! The host-side vocabulary of handlers, shared by the sandbox (which runs them) and dispatch
//! (which decides who runs what): the event a handler receives, what it returns, how it can
//! fail, and the [`Invoke`] trait dispatch calls. Mirrors `wit/handler.wit`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::kv::PendingWrites;
use crate::protocol::envelope::EventKind;

/// The event as passed to a handler (the WIT `event` record; `aviary::Event` for native
/// handlers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestEvent {
    /// What duplicates share: `message_id` for `im.message.*`, `event_id` otherwise (key
    /// external effects by it).
    pub dedupe_id: String,
    /// The envelope's event id.
    pub event_id: String,
    /// The event type, e.g. `im.message.receive_v1`.
    pub event_type: String,
    /// A plain event or a callback that expects an answer.
    pub kind: EventKind,
    /// The app it was sent to.
    pub app_id: String,
    /// The tenant it came from.
    pub tenant_key: String,
    /// When Feishu created it (epoch milliseconds, as a string).
    pub create_time: String,
    /// 1 for the first delivery to this handler.
    pub attempt: u32,
    /// The whole (decrypted) JSON envelope.
    pub envelope: String,
}

/// What a handler returned (the WIT `outcome` variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handled.
    Done,
    /// A callback answer: a JSON body.
    Respond(String),
    /// Run it again later (with the queue; acked 500 otherwise), with why.
    Retry(String),
    /// Never run it again (dead-lettered with the queue), with why.
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
    /// The OpenAPI and outbound HTTP calls the run made, in order (capped; for the run
    /// journal).
    pub calls: Vec<HostCall>,
}

impl Invocation {
    /// A result no sandbox measured (a native handler, a filtered event, a caught panic): no
    /// fuel, memory, log lines, writes or calls.
    pub fn outside_sandbox(result: Result<Outcome, Failure>, wall: Duration) -> Invocation {
        Invocation {
            result,
            fuel_used: None,
            peak_memory_bytes: 0,
            wall,
            logs: Vec::new(),
            kv: None,
            calls: Vec::new(),
        }
    }

    /// What a call whose implementation panicked reports (caught by the queue): a host
    /// failure, nothing used, no writes.
    pub fn panicked() -> Invocation {
        Invocation::outside_sandbox(
            Err(Failure::Host {
                message: "the handler implementation panicked".into(),
            }),
            Duration::ZERO,
        )
    }
}

/// One call a run made through a host import (`feishu-request`, `feishu-upload`, `http-send`),
/// as the run journal shows it: method, path or URL without its query, and how it ended —
/// never a header, a body, a query string or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCall {
    /// `feishu-request`, `feishu-upload` or `http-send`.
    pub import: &'static str,
    /// The method (as the guest gave it when the call was refused before it was checked).
    pub method: String,
    /// The OpenAPI path, or the URL without its query.
    pub target: String,
    /// Whether an answer came back that the guest got as `ok`.
    pub ok: bool,
    /// The HTTP status of an `http-send` answer.
    pub status: Option<u16>,
    /// One line: Feishu's `code` and `msg` (and the `message_id` a send made), the HTTP status
    /// and size, or the denial or error the guest got.
    pub answer: String,
    /// From the import's call to its answer.
    pub duration: Duration,
}

/// A boxed future returned by [`Invoke::invoke`].
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Invocation> + Send + 'a>>;

/// Returned by [`Invoke::ready`] for a handler not ready yet: resolves when it may be (a
/// handler whose component failed to load never becomes ready; its future stays pending).
pub type ReadyFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs one handler on one event. Implemented by the sandbox's loaded handlers; dispatch only
/// knows this trait, so it can be tested without wasmtime.
pub trait Invoke: Send + Sync {
    /// The handler's name from the manifest.
    fn name(&self) -> &str;
    /// Runs the handler on `event`. Never panics; every failure is an [`Invocation`] result.
    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a>;
    /// `None` when the handler can run now (the default); else a future that resolves when it
    /// may be ready (its component still compiling). The durable queue holds a job back
    /// instead of calling a handler that is not ready; [`Invoke::invoke`] on such a handler
    /// waits until it is.
    fn ready(&self) -> Option<ReadyFuture> {
        None
    }

    /// Instances made so far, `(created, reused)`, for a handler that runs calls in instances
    /// (the sandbox); `None` for one that does not.
    fn instances(&self) -> Option<(u64, u64)> {
        None
    }
}
