//! One app's handlers as they run now — a [`Generation`] — and how a new one replaces it
//! between two events (a reload).
//!
//! The connection hands every event to a [`SwapSink`]; a generation's sink (the durable
//! queue's [`QueueSink`], or the deduplicated [`Dispatcher`] with `ack = "after-handle"`, or
//! the log sink without handlers) is swapped in with one store, so each event is routed by one
//! generation whole. The queue's handler set is replaced before the routes that name the new
//! handlers ([`Queue::set_handlers`]), so a job is never admitted for a handler its run cannot
//! find. What must survive the swap is shared, not copied: the in-memory dedupe memory
//! ([`Deduplicating::sharing`]), the synchronous dispatcher's chat lanes and slots
//! ([`Dispatcher::successor`]), each handler's call slots in the queue, its counters
//! ([`HandlerMeter`], kept by name), and a handler whose component and sandbox settings did not
//! change keeps its loaded instance ([`Fingerprint`]).

use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;

use super::filters::Filters;
use super::handle::HandlerInfo;
use super::handlers::{Planned, Run};
use super::metered::HandlerMeter;
use super::settings::Settings;
use crate::dispatch::dedupe::Deduplicating;
use crate::dispatch::router::Router;
use crate::dispatch::{
    stats, DispatchStats, Dispatcher, EventSink, HandleFuture, HandlerEntry, InboundEvent, LogSink,
};
use crate::handler::Invoke;
use crate::manifest::{HandlerSettings, Location};
use crate::queue::{AckMode, Queue, QueueHandler, QueueSink};

/// The sink the connection holds: forwards each event to the generation in force.
pub(crate) struct SwapSink(RwLock<Arc<dyn EventSink>>);

impl SwapSink {
    pub fn new(sink: Arc<dyn EventSink>) -> SwapSink {
        SwapSink(RwLock::new(sink))
    }

    /// Events from now on go to `sink`; those already handed to the previous one finish there.
    pub fn set(&self, sink: Arc<dyn EventSink>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = sink;
    }
}

impl EventSink for SwapSink {
    fn handle(&self, event: InboundEvent) -> HandleFuture {
        let sink = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        sink.handle(event)
    }
}

/// What a loaded handler depends on: the component's bytes and the settings the sandbox loads
/// it with (not its routing or retries, which change without reloading the component). Two
/// equal fingerprints can share one loaded handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fingerprint {
    Wasm {
        sha256: Option<String>,
        settings: Box<HandlerSettings>,
    },
    Native {
        handler: usize,
        timeout: std::time::Duration,
    },
}

impl Fingerprint {
    /// The fingerprint of `p` (reads its component file).
    pub fn of(p: &Planned) -> Fingerprint {
        match &p.run {
            Run::Native { handler, timeout } => Fingerprint::Native {
                handler: Arc::as_ptr(handler) as *const () as usize,
                timeout: *timeout,
            },
            Run::Wasm { settings, .. } => {
                let mut s = (**settings).clone();
                // Where it is written, how it is routed, retried and built: not the sandbox's.
                s.component_at = Location { line: 0, column: 0 };
                s.route = crate::dispatch::HandlerRoute::new(Vec::new());
                s.retry = crate::queue::retry::RetryPolicy::default();
                s.build = None;
                Fingerprint::Wasm {
                    sha256: super::handle::file_sha256(&settings.component),
                    settings: Box::new(s),
                }
            }
        }
    }
}

/// One handler as a generation runs it.
#[derive(Clone)]
pub(crate) struct Loaded {
    pub name: String,
    pub fingerprint: Fingerprint,
    /// Counted ([`super::metered::Metered`]).
    pub invoke: Arc<dyn Invoke>,
    pub meter: Arc<HandlerMeter>,
}

/// One app's handlers in force: see the module doc.
pub(crate) struct Generation {
    /// The reload that made it (0: the start).
    pub number: u64,
    /// The app's settings in force.
    pub settings: Settings,
    /// For `/status` and `/metrics`.
    pub handlers: Vec<HandlerInfo>,
    /// For the next reload (which handlers it can keep).
    pub loaded: Vec<Loaded>,
    /// The handlers that merge bursts, and how (fixed for the queue's life: a reload may not
    /// change them).
    pub merges: Vec<(String, crate::queue::merge::MergeSettings)>,
    /// The synchronous dispatcher (card callbacks, unrouted events, `after-handle`).
    pub dispatcher: Option<Dispatcher>,
    /// Its counters.
    pub dispatch_stats: Option<Arc<DispatchStats>>,
    /// Stops this generation's periodic counters log.
    reporter: CancellationToken,
}

impl Generation {
    /// Stops what only this generation ran (its counters log), once replaced.
    pub fn retire(&self) {
        self.reporter.cancel();
    }
}

/// What every generation of one app builds on.
pub(crate) struct Base {
    /// The durable queue, when the app has one.
    pub queue: Option<Queue>,
    /// The connection's sink.
    pub sink: Arc<SwapSink>,
    /// The in-memory dedupe memory every generation's synchronous sink shares.
    pub dedupe: Deduplicating<LogSink>,
    /// The app's stop (the counters log ends with it).
    pub shutdown: CancellationToken,
    /// The run journal every generation's handlers and filters record into (`--debug-runs`).
    pub journal: Option<Arc<crate::journal::Journal>>,
}

/// Builds generation `number` from `planned` handlers (`loaded`, same order) and `settings`,
/// and makes it the one in force: the queue's handlers first, then the sink.
pub(crate) fn install(
    base: &Base,
    number: u64,
    settings: Settings,
    planned: &[Planned],
    filters: &Filters,
    loaded: Vec<Loaded>,
    previous: Option<&Generation>,
) -> Generation {
    let entries: Vec<HandlerEntry> = planned
        .iter()
        .zip(&loaded)
        .zip(filters)
        .map(|((p, l), filter)| HandlerEntry {
            handler: super::journaled::wrap(base.journal.as_ref(), p, l.invoke.clone()),
            route: p.route.clone(),
            filter: filter.clone(),
        })
        .collect();
    if let Some(journal) = &base.journal {
        for filter in filters.iter().flatten() {
            filter.record_into(journal.clone());
        }
    }
    let names: Vec<String> = planned.iter().map(|p| p.name.clone()).collect();
    let handlers: Vec<HandlerInfo> = planned
        .iter()
        .zip(&loaded)
        .map(|(p, l)| {
            let sha256 = match &l.fingerprint {
                Fingerprint::Wasm { sha256, .. } => sha256.clone(),
                Fingerprint::Native { .. } => None,
            };
            let mut info = HandlerInfo::new(p, l.invoke.clone(), l.meter.clone(), sha256);
            // A handler kept as loaded keeps when it was loaded.
            if let Some(before) = previous
                .and_then(|g| g.handlers.iter().find(|h| h.name == p.name))
                .filter(|h| Arc::ptr_eq(&h.invoke, &l.invoke))
            {
                info.loaded_at = before.loaded_at;
            }
            info
        })
        .collect();
    let dispatcher =
        (!entries.is_empty()).then(|| match previous.and_then(|g| g.dispatcher.as_ref()) {
            Some(d) => d.successor(settings.dispatch.clone(), entries.clone()),
            None => Dispatcher::new(settings.dispatch.clone(), entries.clone()),
        });
    let sync: Arc<dyn EventSink> = match &dispatcher {
        Some(d) => Arc::new(base.dedupe.sharing(d.clone())),
        None => Arc::new(base.dedupe.sharing(LogSink)),
    };
    let sink: Arc<dyn EventSink> = match &base.queue {
        Some(queue) if settings.queue.ack == AckMode::AfterPersist => {
            queue.set_handlers(
                entries
                    .iter()
                    .zip(planned)
                    .map(|(e, p)| QueueHandler {
                        handler: e.handler.clone(),
                        max_concurrency: e.route.max_concurrency,
                        retry: p.retry,
                        filter: e.filter.clone(),
                        merge: p.merge,
                    })
                    .collect(),
                settings.dispatch.mode,
                settings.dispatch.max_in_flight,
                number,
            );
            let router = Router::new(
                entries.iter().map(|h| h.route.events.clone()).collect(),
                entries.iter().position(|h| h.route.default),
            );
            Arc::new(
                QueueSink::new(
                    queue.clone(),
                    router,
                    names.clone(),
                    settings.dispatch.per_chat_ordering,
                    sync,
                )
                .with_merging(planned.iter().map(|p| p.merge.is_some()).collect()),
            )
        }
        _ => sync,
    };
    base.sink.set(sink);
    let dispatch_stats = dispatcher.as_ref().map(|d| d.stats());
    let reporter = base.shutdown.child_token();
    if let Some(d) = &dispatch_stats {
        tokio::spawn(stats::report_periodically(
            d.clone(),
            crate::limits::dispatch::STATS_LOG_INTERVAL,
            reporter.clone(),
        ));
    }
    if let Some(old) = previous {
        old.retire();
    }
    let merges = planned
        .iter()
        .filter_map(|p| p.merge.map(|m| (p.name.clone(), m)))
        .collect();
    Generation {
        number,
        settings,
        handlers,
        loaded,
        merges,
        dispatcher,
        dispatch_stats,
        reporter,
    }
}
