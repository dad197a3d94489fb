//! `aviary run`: load the manifest, load its handlers into the Wasm sandbox, open the durable
//! queue, connect, and hand events to the [`QueueSink`] (persisted, then acked; handlers run from
//! the queue) — or, with `[queue] ack = "after-handle"`, deduplicated to the [`Dispatcher`]; or to
//! the built-in [`LogSink`] when the manifest has no `[[handler]]` — until SIGINT/SIGTERM
//! (graceful) or a fatal error.
//!
//! This module is the composition root: the one place that wires manifest → sandbox →
//! dispatcher → queue → connection ([`loading`] builds the dispatcher through a
//! [`loading::HandlerLoader`], [`wasm`] is the one file that names sandbox types).
//!
//! Exit codes: 0 after a graceful stop, 1 on a fatal connection error or a handler that cannot
//! be loaded (one `error: …` line each), 2 when the manifest cannot be loaded (the precise
//! messages on stderr).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub mod filters;
pub mod loading;
pub mod wasm;

use loading::{build_dispatcher, entries, load_handlers, HandlerLoader, KvBinding};

use crate::connection::{self, ConnectionStats};
use crate::dispatch::dedupe::Deduplicating;
use crate::dispatch::router::Router;
use crate::dispatch::{stats, DispatchStats, Dispatcher, EventSink, LogSink};
use crate::kv::KvStats;
use crate::manifest::Manifest;
use crate::process;
use crate::queue::engine::QueueConfig;
use crate::queue::AckMode;
use crate::queue::{self, Queue, QueueHandler, QueueSink};

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
        let RunningSink {
            sink,
            queue,
            dispatch_stats,
            kv_stats,
            #[cfg(unix)]
                dlq_server: _dlq_server,
        } = match start_sink(&manifest, &wasm::sandbox_loader).await {
            Ok(running) => running,
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
        let ended = connection::run(manifest.connection_options(), sink, stats, shutdown).await;
        // With the queue, the dispatcher's call counters cover only what runs synchronously
        // (card callbacks, unrouted events); queued handler runs are in the queue's counters.
        // The filters' counts cover both (each handler's filter is shared by both paths).
        let when = if queue.is_some() {
            "final; calls of the synchronous path (card callbacks, unrouted events), filtered \
             events of both paths"
        } else {
            "final"
        };
        if let Some(queue) = queue {
            queue.shutdown().await;
            tracing::info!(stats = ?queue.stats().snapshot(), "queue stopped");
        }
        if let Some(d) = &dispatch_stats {
            stats::log_summary(d, when);
        }
        for line in kv_stats.summary() {
            tracing::info!("kv calls: {line}");
        }
        match ended {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// What `aviary run` hands events to, and the queue behind it (when there is one).
pub struct RunningSink {
    /// The sink the connection calls.
    pub sink: Arc<dyn EventSink>,
    /// The durable queue, with `ack = "after-persist"` and at least one handler.
    pub queue: Option<Queue>,
    /// The synchronous dispatcher's counters (all handler calls with `ack = "after-handle"`;
    /// card callbacks and unrouted events with the queue), when there are handlers.
    pub dispatch_stats: Option<Arc<DispatchStats>>,
    /// The handlers' `kv-*` calls, per handler, operation and outcome.
    pub kv_stats: Arc<KvStats>,
    /// Disk queue: `aviary dlq` served on the socket next to the queue file while this runs.
    #[cfg(unix)]
    pub dlq_server: Option<queue::control::ControlServer>,
}

/// Builds the sink of `aviary run` from the manifest: with `[queue] ack = "after-persist"`
/// (the default) and handlers, a [`QueueSink`] over the opened store (card callbacks and
/// unrouted events still go through the synchronous dispatcher); otherwise what [`sink_for`]
/// builds. Errors name the manifest line of every handler that could not be loaded, or say why
/// the queue cannot be opened.
pub async fn start_sink(
    manifest: &Manifest,
    make_loader: &dyn Fn() -> Result<Box<dyn HandlerLoader>, String>,
) -> Result<RunningSink, Vec<String>> {
    let filters = if manifest.handlers.is_empty() {
        Vec::new()
    } else {
        filters::handler_filters(manifest, crate::limits::filter::BOT_INFO_ATTEMPTS)
            .await
            .map_err(|e| vec![e])?
    };
    if manifest.handlers.is_empty() || manifest.queue.ack == AckMode::AfterHandle {
        // Without the queue, key-value state still lives in the queue's backend (its file or
        // its Redis), opened only when a handler is granted `kv`.
        let kv = if manifest.handlers.iter().any(|h| h.kv.is_some()) {
            KvBinding::to(
                queue::open_kv(&manifest.queue, &manifest.feishu.app_id)
                    .await
                    .map_err(|e| vec![e.to_string()])?,
            )
        } else {
            KvBinding::default()
        };
        return sink_for(manifest, make_loader, &filters, &kv).map(|(sink, dispatch_stats)| {
            RunningSink {
                sink,
                queue: None,
                dispatch_stats,
                kv_stats: kv.stats.clone(),
                #[cfg(unix)]
                dlq_server: None,
            }
        });
    }
    let store = queue::open_store(&manifest.queue, &manifest.feishu.app_id)
        .await
        .map_err(|e| vec![e.to_string()])?;
    let kv = KvBinding {
        store: store.kv(),
        stats: Arc::default(),
    };
    let loader = make_loader().map_err(|e| vec![e])?;
    let loaded = load_handlers(manifest, loader.as_ref(), &kv)
        .map_err(|failures| failures.into_iter().map(|f| f.message).collect::<Vec<_>>())?;
    let entries = entries(manifest, loaded, &filters);
    let router = Router::new(
        entries.iter().map(|h| h.route.events.clone()).collect(),
        entries.iter().position(|h| h.route.default),
    );
    let names: Vec<String> = manifest.handlers.iter().map(|h| h.name.clone()).collect();
    let handlers = entries
        .iter()
        .zip(&manifest.handlers)
        .map(|(e, h)| QueueHandler {
            handler: e.handler.clone(),
            max_concurrency: e.route.max_concurrency,
            retry: h.retry,
            filter: e.filter.clone(),
            merge: h.merge,
        })
        .collect();
    let config = QueueConfig {
        capacity: manifest.queue.capacity,
        dedupe_window: manifest.queue.dedupe_window,
        dedupe_max_entries: manifest.queue.dedupe_max_entries,
        max_in_flight: manifest.dispatch.max_in_flight,
        mode: manifest.dispatch.mode,
    };
    let queue = Queue::start(store, handlers, config)
        .await
        .map_err(|e| vec![e.to_string()])?;
    let dispatcher = Dispatcher::new(manifest.dispatch.clone(), entries);
    let dispatch_stats = Some(dispatcher.stats());
    tracing::info!(
        handlers = ?names,
        queue = %queue.describe(),
        capacity = manifest.queue.capacity,
        per_chat_ordering = manifest.dispatch.per_chat_ordering,
        max_in_flight = manifest.dispatch.max_in_flight,
        "handlers loaded; events are acked once persisted"
    );
    let sink = QueueSink::new(
        queue.clone(),
        router,
        names,
        manifest.dispatch.per_chat_ordering,
        Arc::new(Deduplicating::new(dispatcher)),
    )
    .with_merging(
        manifest
            .handlers
            .iter()
            .map(|h| h.merge.is_some())
            .collect(),
    );
    #[cfg(unix)]
    let dlq_server = if manifest.queue.backend == crate::queue::QueueBackend::Disk {
        let socket = queue::control::socket_path(&manifest.queue.path);
        // Not fatal: only `aviary dlq` during the run depends on it (e.g. a path longer than
        // a socket path may be).
        match queue::control::serve(queue.clone(), &socket) {
            Ok(server) => Some(server),
            Err(e) => {
                tracing::warn!(error = %e, "aviary dlq cannot reach this process while it runs");
                None
            }
        }
    } else {
        None
    };
    Ok(RunningSink {
        sink: Arc::new(sink),
        queue: Some(queue),
        dispatch_stats,
        kv_stats: kv.stats,
        #[cfg(unix)]
        dlq_server,
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
/// manifest's handlers (loaded through the loader `make_loader` returns, with the key-value
/// state `kv`) with their `filters` ([`filters::handler_filters`]), with its counters; or
/// [`LogSink`] when the manifest has none (then `make_loader` is not called, and there are no
/// counters). Errors name the manifest line of every handler that could not be loaded.
pub fn sink_for(
    manifest: &Manifest,
    make_loader: &dyn Fn() -> Result<Box<dyn HandlerLoader>, String>,
    filters: &filters::Filters,
    kv: &KvBinding,
) -> Result<RunSink, Vec<String>> {
    if manifest.handlers.is_empty() {
        tracing::info!("no [[handler]] in the manifest; events are logged and acked");
        return Ok((Arc::new(Deduplicating::new(LogSink)), None));
    }
    let loader = make_loader().map_err(|e| vec![e])?;
    let dispatcher: Dispatcher = build_dispatcher(manifest, loader.as_ref(), filters, kv)
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
