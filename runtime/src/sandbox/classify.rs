//! Turns the error of a failed call into a [`Failure`]. One table, in the order that matters:
//! our own memory refusal first (it is not a `Trap`), then wasmtime's trap codes.

use std::time::Duration;

use wasmtime::{Trap, WasmBacktrace};

use crate::handler::{Failure, GuestLog, LogLevel, LogStream};
use crate::sandbox::limiter::MemoryLimitExceeded;

/// The limits in force during the failed call, for the failure's description.
pub(crate) struct CallLimits {
    pub fuel: Option<u64>,
    pub timeout: Duration,
}

/// Classifies `err`; `logs` are the call's guest logs (a panic's message is the last error line
/// the guest logged, or its last stderr line: Rust's default panic hook prints nothing on
/// wasip2, so guest SDKs send the message through `log` from their own hook).
pub(crate) fn classify(err: &wasmtime::Error, limits: &CallLimits, logs: &[GuestLog]) -> Failure {
    if let Some(m) = err.downcast_ref::<MemoryLimitExceeded>() {
        return Failure::MemoryLimit {
            limit_bytes: m.limit_bytes,
            requested_bytes: m.requested_bytes,
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::OutOfFuel {
            limit: limits.fuel.unwrap_or(u64::MAX),
        },
        Some(Trap::Interrupt) => Failure::Timeout {
            limit: limits.timeout,
        },
        Some(Trap::StackOverflow) => Failure::StackOverflow,
        Some(Trap::UnreachableCodeReached) => Failure::Panic {
            message: panic_message(logs),
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

fn panic_message(logs: &[GuestLog]) -> Option<String> {
    logs.iter()
        .rev()
        .find(|l| l.stream == LogStream::Log && l.level == LogLevel::Error)
        .or_else(|| logs.iter().rev().find(|l| l.stream == LogStream::Stderr))
        .map(|l| l.message.clone())
}
