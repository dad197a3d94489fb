//! The standard way to report one call to `tracing`: every guest line, then the failure if any,
//! all tagged with handler name, event id and trace id.

use crate::handler::{GuestLog, Invocation, LogLevel, LogStream};

/// Emits `inv`'s guest logs and failure to `tracing` under target `aviary::guest`.
pub fn trace_invocation(handler: &str, event_id: &str, trace_id: &str, inv: &Invocation) {
    for GuestLog {
        level,
        message,
        stream,
    } in &inv.logs
    {
        let stream = match stream {
            LogStream::Log => "log",
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        };
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: "aviary::guest", handler, event_id, trace_id, stream, "{message}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: "aviary::guest", handler, event_id, trace_id, stream, "{message}")
            }
            LogLevel::Info => {
                tracing::info!(target: "aviary::guest", handler, event_id, trace_id, stream, "{message}")
            }
            LogLevel::Warn => {
                tracing::warn!(target: "aviary::guest", handler, event_id, trace_id, stream, "{message}")
            }
            LogLevel::Error => {
                tracing::error!(target: "aviary::guest", handler, event_id, trace_id, stream, "{message}")
            }
        }
    }
    if let Err(failure) = &inv.result {
        tracing::warn!(
            target: "aviary::sandbox",
            handler,
            event_id,
            trace_id,
            failure = failure.kind(),
            wall_ms = inv.wall.as_millis() as u64,
            fuel_used = inv.fuel_used,
            peak_memory_bytes = inv.peak_memory_bytes,
            "handler failed: {failure}"
        );
    }
}
