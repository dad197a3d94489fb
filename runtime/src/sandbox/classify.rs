//! Turns the error of a failed call into a [`Failure`]. One table, in the order that matters:
//! our own memory refusal first (it is not a `Trap`), then wasmtime's trap codes.

use wasmtime::{Trap, WasmBacktrace};

use crate::handler::{Failure, GuestLog, LogLevel, LogStream};
use crate::limits::sandbox::UNLIMITED_FUEL;
use crate::sandbox::limiter::MemoryLimitExceeded;
use crate::sandbox::HandlerLimits;

/// Classifies `err`; `logs` are the call's guest logs (a panic's message is the last error line
/// the guest logged, or its last stderr line: Rust's default panic hook prints nothing on
/// wasip2, so guest SDKs send the message through `log` from their own hook).
/// `limits` are the ones in force during the call, for the failure's description.
pub(crate) fn classify(
    err: &wasmtime::Error,
    limits: &HandlerLimits,
    logs: &[GuestLog],
) -> Failure {
    if let Some(m) = err.downcast_ref::<MemoryLimitExceeded>() {
        return Failure::MemoryLimit {
            limit_bytes: m.limit_bytes,
            requested_bytes: m.requested_bytes,
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::OutOfFuel {
            limit: limits.fuel().unwrap_or(UNLIMITED_FUEL),
        },
        Some(Trap::Interrupt) => Failure::Timeout {
            limit: limits.timeout(),
        },
        Some(Trap::StackOverflow) => Failure::StackOverflow,
        Some(Trap::UnreachableCodeReached) => match arena_full(err) {
            Some(failure) => failure,
            None => Failure::Panic {
                message: panic_message(logs),
            },
        },
        Some(trap) => Failure::Trap {
            trap: trap.to_string(),
            backtrace: err.downcast_ref::<WasmBacktrace>().map(|bt| bt.to_string()),
        },
        None => Failure::Host {
            message: format!("{err:#}"),
        },
    }
}

/// A trap in the allocator `aviary guest build` injects (`crate::guest_build`, ABI in [`crate::guest_abi`]): the host's
/// arguments (the event) did not fit the guest's static argument arena. The function's name
/// carries the arena size.
fn arena_full(err: &wasmtime::Error) -> Option<Failure> {
    use crate::guest_abi::{ADAPTER_ARENA_FULL, ARG_ARENA_FULL};
    let bt = err.downcast_ref::<WasmBacktrace>()?;
    bt.frames().iter().find_map(|frame| {
        let name = frame.func_name()?;
        let (what, size) = if let Some(size) = name.strip_prefix(ARG_ARENA_FULL) {
            ("the event does not fit the handler's argument arena", size)
        } else if let Some(size) = name.strip_prefix(ADAPTER_ARENA_FULL) {
            ("the WASI adapter's state does not fit its arena", size)
        } else {
            return None;
        };
        let size: u64 = size.parse().ok()?;
        Some(Failure::Trap {
            trap: format!(
                "{what} ({size} bytes = {} MiB; built by `aviary guest build`): rebuild the \
                 handler with a larger `--arena-mib` (1, 4, 16 or 64)",
                size >> 20
            ),
            backtrace: Some(bt.to_string()),
        })
    })
}

fn panic_message(logs: &[GuestLog]) -> Option<String> {
    logs.iter()
        .rev()
        .find(|l| l.stream == LogStream::Log && l.level == LogLevel::Error)
        .or_else(|| logs.iter().rev().find(|l| l.stream == LogStream::Stderr))
        .map(|l| l.message.clone())
}
