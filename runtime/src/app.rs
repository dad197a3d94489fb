//! `aviary run`: load the manifest, load its handlers into the Wasm sandbox, connect, and hand
//! events (deduplicated) to the [`Dispatcher`] — or to the built-in [`LogSink`] when the
//! manifest has no `[[handler]]` — until SIGINT/SIGTERM (graceful) or a fatal error.
//!
//! Exit codes: 0 after a graceful stop, 1 on a fatal connection error or a handler that cannot
//! be loaded (one `error: …` line each), 2 when the manifest cannot be loaded (the precise
//! messages on stderr).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::connection::{self, ConnectionStats};
use crate::dispatch::dedupe::Deduplicating;
use crate::dispatch::loading::{build_dispatcher, HandlerLoader};
use crate::dispatch::{stats, wasm, DispatchStats, Dispatcher, EventSink, LogSink};
use crate::manifest::Manifest;
use crate::process;

/// Flags of `aviary run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The manifest to run.
    #[arg(short = 'm', long = "manifest", default_value = "aviary.toml")]
    pub manifest: PathBuf,
}

/// Runs the manifest until interrupted or a fatal error.
pub fn run(args: RunArgs) -> ExitCode {
    process::init_tracing();
    let manifest = match Manifest::load(&args.manifest) {
        Ok(m) => m,
        Err(e) => {
            for problem in e.problems() {
                eprintln!("error: {problem}");
            }
            return ExitCode::from(2);
        }
    };
    let runtime = match process::tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let (sink, dispatch_stats) = match sink_for(&manifest, &wasm::sandbox_loader) {
            Ok(loaded) => loaded,
            Err(errors) => {
                for e in errors {
                    eprintln!("error: {e}");
                }
                return ExitCode::FAILURE;
            }
        };
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        let stats = ConnectionStats::new();
        tracing::info!(
            manifest = %manifest.path.display(),
            app_id = %manifest.feishu.app_id,
            domain = %manifest.feishu.domain,
            "starting"
        );
        if let Some(d) = &dispatch_stats {
            tokio::spawn(stats::report_periodically(
                d.clone(),
                crate::limits::dispatch::STATS_LOG_INTERVAL,
                shutdown.clone(),
            ));
        }
        let result = connection::run(manifest.connection_options(), sink, stats, shutdown).await;
        if let Some(d) = &dispatch_stats {
            stats::log_summary(d, "final");
        }
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    process::stop_signal().await;
    tracing::info!("stop requested; draining handlers and closing the connection");
    shutdown.cancel();
}

/// What [`sink_for`] returns: the sink, and the dispatcher's counters when there is one.
pub type RunSink = (Arc<dyn EventSink>, Option<Arc<DispatchStats>>);

/// The sink `aviary run` hands events to, wrapped in the dedupe layer: a [`Dispatcher`] over the
/// manifest's handlers (loaded through the loader `make_loader` returns), with its counters; or
/// [`LogSink`] when the manifest has none (then `make_loader` is not called, and there are no
/// counters). Errors name the manifest line of every handler that could not be loaded.
pub fn sink_for(
    manifest: &Manifest,
    make_loader: &dyn Fn() -> Result<Box<dyn HandlerLoader>, String>,
) -> Result<RunSink, Vec<String>> {
    if manifest.handlers.is_empty() {
        tracing::info!("no [[handler]] in the manifest; events are logged and acked");
        return Ok((Arc::new(Deduplicating::new(LogSink)), None));
    }
    let loader = make_loader().map_err(|e| vec![e])?;
    let dispatcher: Dispatcher = build_dispatcher(manifest, loader.as_ref())
        .map_err(|failures| failures.into_iter().map(|f| f.message).collect::<Vec<_>>())?;
    tracing::info!(
        handlers = ?dispatcher.handler_names(),
        mode = ?manifest.dispatch.mode,
        per_chat_ordering = manifest.dispatch.per_chat_ordering,
        max_in_flight = manifest.dispatch.max_in_flight,
        "handlers loaded"
    );
    let stats = dispatcher.stats();
    Ok((Arc::new(Deduplicating::new(dispatcher)), Some(stats)))
}
