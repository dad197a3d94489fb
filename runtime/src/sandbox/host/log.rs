//! The `log` import: the guest's log lines go into the call's capped [`LogSink`] and come back
//! in [`crate::handler::Invocation::logs`]. The sandbox does not emit them to `tracing`
//! itself; the caller does, because it knows the event and trace ids
//! (`crate::dispatch::guest_log::emit` is the standard way).

use crate::handler::LogLevel;
use crate::sandbox::bindings::Level;
use crate::sandbox::logs::LogSink;

/// Records one `log` call.
pub(crate) fn log(sink: &LogSink, level: Level, message: String) {
    sink.log(to_level(level), message);
}

fn to_level(level: Level) -> LogLevel {
    match level {
        Level::Trace => LogLevel::Trace,
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    }
}
