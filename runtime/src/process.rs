//! What every subcommand needs from the process: logging, an async runtime, the stop signal,
//! and giving freed memory back to the system.

use std::sync::OnceLock;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event, coloured on a terminal (the default).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`),
    /// and the fields of the enclosing spans (`span`, `spans`: app, conn id, trace id, event
    /// id, event type, handler), for log collectors.
    Json,
}

impl LogFormat {
    /// The format named `name` (`text` or `json`; the manifest's `[log] format`).
    pub fn from_name(name: &str) -> Result<LogFormat, String> {
        match name {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("`{other}` is neither \"text\" nor \"json\"")),
        }
    }
}

static LOG_FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Chooses the format [`init_tracing`] uses (`aviary --log-format`); only the first call counts.
pub fn set_log_format(format: LogFormat) {
    let _ = LOG_FORMAT.set(format);
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), in the format chosen with
/// [`set_log_format`] (text unless told otherwise). A second call is a no-op.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match LOG_FORMAT.get().copied().unwrap_or_default() {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

/// A multi-threaded tokio runtime; the error says why it could not start.
pub fn tokio_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Resolves on SIGINT or (on Unix) SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Gives the memory this thread's allocator holds free back to the system, at once. mimalloc
/// (the `aviary` binary's allocator) keeps freed pages for reuse; after a one-off burst such as
/// reading a compiled component (tens of MB for the Python guest) that would otherwise stay
/// resident. Call it on the thread that freed the memory, off the hot path: it costs a pass
/// over the thread's heap. Without mimalloc as the global allocator it does nothing useful.
pub fn release_free_memory() {
    // SAFETY: mi_collect only walks mimalloc's own heaps; `force` purges their free pages.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
