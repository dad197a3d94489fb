//! Logging to the runtime's log through the host `log` import.

use std::fmt;

/// Log levels of the host `log` import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        })
    }
}

/// Writes one line to the runtime's log; the runtime tags it with the handler, event and trace
/// id. Prefer the macros ([`crate::info!`] etc.).
pub fn log(level: Level, message: &str) {
    crate::host::log(level, message)
}

#[doc(hidden)]
pub fn __log_fmt(level: Level, args: fmt::Arguments<'_>) {
    match args.as_str() {
        Some(s) => log(level, s),
        None => log(level, &args.to_string()),
    }
}

/// Logs at [`Level::Trace`](crate::Level::Trace), `format!`-style.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::__log_fmt($crate::Level::Trace, ::std::format_args!($($arg)+)) };
}

/// Logs at [`Level::Debug`](crate::Level::Debug), `format!`-style.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::__log_fmt($crate::Level::Debug, ::std::format_args!($($arg)+)) };
}

/// Logs at [`Level::Info`](crate::Level::Info), `format!`-style.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::__log_fmt($crate::Level::Info, ::std::format_args!($($arg)+)) };
}

/// Logs at [`Level::Warn`](crate::Level::Warn), `format!`-style.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::__log_fmt($crate::Level::Warn, ::std::format_args!($($arg)+)) };
}

/// Logs at [`Level::Error`](crate::Level::Error), `format!`-style.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::__log_fmt($crate::Level::Error, ::std::format_args!($($arg)+)) };
}
