//! A guest's log lines, re-emitted through `tracing` under the target `aviary::guest`, at the
//! guest's level, tagged with the handler's name, the event id and the trace id.

use crate::handler::{GuestLog, LogLevel, LogStream};

/// Emits every line of one call, in order.
pub fn emit(handler: &str, event_id: &str, trace_id: &str, logs: &[GuestLog]) {
    for log in logs {
        let stream = match log.stream {
            LogStream::Log => "log",
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        };
        let message = log.message.as_str();
        macro_rules! at {
            ($level:ident) => {
                tracing::$level!(target: "aviary::guest", handler, event_id, trace_id, stream, "{message}")
            };
        }
        match log.level {
            LogLevel::Trace => at!(trace),
            LogLevel::Debug => at!(debug),
            LogLevel::Info => at!(info),
            LogLevel::Warn => at!(warn),
            LogLevel::Error => at!(error),
        }
    }
}
