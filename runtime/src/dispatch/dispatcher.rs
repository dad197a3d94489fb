//! [`Dispatcher`]: the [`EventSink`] that runs the manifest's handlers. It routes each event
//! ([`super::router`]), keeps per-chat order ([`super::lanes`]), bounds concurrency, runs the
//! handlers in parallel or in manifest order, and turns their results into the ack
//! ([`super::ack`]).
//!
//! **Order of waits** (deadlock-free by construction): an event first waits for its chat's turn,
//! then for a global in-flight slot, then each handler call for a slot of that handler. Every
//! slot is held only by calls that are running, and a chat's turn only by an event that already
//! passed that point, so every wait ends.
//!
//! **Backpressure**: while an event waits, its [`EventSink::handle`] future is pending and the
//! connection keeps its receive slot; when the connection's receive queue is full it stops
//! reading the socket. Nothing is dropped; Feishu redelivers what it does not get acked.
//!
//! **Card callbacks** (`kind == callback`) must be answered within Feishu's 3 s. After
//! `callback_deadline` (default 2.5 s, counted from the call of `handle`, so waiting for a lane
//! or a slot counts), the ack is sent with what is known: the first `respond` in manifest order
//! if every handler before it finished, else 200 without data (the user sees no error; Feishu
//! shows nothing new). A warning names the late handlers, and they run to completion in the
//! background (their own `timeout_ms` still bounds them); their results are logged and counted,
//! not acked. Handler work always runs on its own task, so a dropped `handle` future (shutdown)
//! never cancels a handler half-way.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::Instrument;

use super::ack;
use super::filter::HandlerFilter;
use super::guest_log;
use super::lanes::{ChatLanes, LaneTicket};
use super::router::Router;
use super::settings::{DispatchMode, DispatchSettings, HandlerRoute};
use super::stats::{CallCounter, DispatchStats};
use super::{EventSink, HandleFuture, HandlerResult, InboundEvent};
use crate::handler::{Failure, GuestEvent, Invocation, Invoke, Outcome};
use crate::limits::dispatch as lim;
use crate::protocol::envelope::EventKind;

/// One handler as dispatch sees it: what runs it and its route.
#[derive(Clone)]
pub struct HandlerEntry {
    /// Runs the handler (the sandbox's loaded handler, or a fake in tests).
    pub handler: Arc<dyn Invoke>,
    /// What it subscribes to and how many calls run at once.
    pub route: HandlerRoute,
    /// Its filters ([`super::filter`]), checked before each call; `None`: none.
    pub filter: Option<Arc<HandlerFilter>>,
}

impl HandlerEntry {
    /// A non-default handler with the default concurrency.
    #[cfg(any(test, feature = "internals"))]
    pub fn new(handler: Arc<dyn Invoke>, events: Vec<super::router::EventPattern>) -> Self {
        HandlerEntry {
            handler,
            route: HandlerRoute::new(events),
            filter: None,
        }
    }

    /// Makes it the default handler.
    #[cfg(any(test, feature = "internals"))]
    pub fn as_default(mut self) -> Self {
        self.route.default = true;
        self
    }

    /// Sets its concurrency bound.
    #[cfg(any(test, feature = "internals"))]
    pub fn with_max_concurrency(mut self, n: usize) -> Self {
        self.route.max_concurrency = n;
        self
    }
}

impl std::fmt::Debug for HandlerEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerEntry")
            .field("name", &self.handler.name())
            .field("route", &self.route)
            .field(
                "filter",
                &self.filter.as_ref().map(|f| f.settings().summary()),
            )
            .finish()
    }
}

/// Runs the manifest's handlers on every event; see the module doc.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    slots: Vec<Slot>,
    router: Router,
    settings: DispatchSettings,
    in_flight: Arc<Semaphore>,
    lanes: ChatLanes,
    stats: Arc<DispatchStats>,
    unrouted_logged: Mutex<HashSet<String>>,
}

struct Slot {
    handler: Arc<dyn Invoke>,
    permits: Arc<Semaphore>,
    max_concurrency: usize,
    filter: Option<Arc<HandlerFilter>>,
}

/// Everything one event's handler tasks share.
struct Run {
    inner: Arc<Inner>,
    event: GuestEvent,
    trace_id: String,
    routes: Vec<usize>,
}

impl Dispatcher {
    /// A dispatcher over `handlers` (manifest order). At most one should be the default; if
    /// several are, the first one is.
    pub fn new(settings: DispatchSettings, handlers: Vec<HandlerEntry>) -> Dispatcher {
        Dispatcher::build(settings, handlers, None)
    }

    /// A dispatcher over `handlers` that continues this one (a reload): it shares the chat
    /// lanes (an event of a chat waits for that chat's events still running here, so per-chat
    /// order holds across the swap), the in-flight slots when `max_in_flight` is unchanged,
    /// and each handler's call slots when its name and `max_concurrency` are unchanged; its
    /// counters start where these are. Events already handed to this one finish here.
    pub fn successor(&self, settings: DispatchSettings, handlers: Vec<HandlerEntry>) -> Dispatcher {
        Dispatcher::build(settings, handlers, Some(&self.inner))
    }

    fn build(
        settings: DispatchSettings,
        handlers: Vec<HandlerEntry>,
        previous: Option<&Inner>,
    ) -> Dispatcher {
        let default = handlers.iter().position(|h| h.route.default);
        let names = handlers.iter().map(|h| h.handler.name().to_string());
        let mut stats = match previous {
            None => DispatchStats::with_handlers(names),
            Some(p) => DispatchStats::carried_over(&p.stats, names),
        };
        stats.set_filters(handlers.iter().map(|h| h.filter.clone()).collect());
        let router = Router::new(
            handlers.iter().map(|h| h.route.events.clone()).collect(),
            default,
        );
        let slots = handlers
            .into_iter()
            .map(|h| {
                let max = h.route.max_concurrency;
                let permits = previous
                    .and_then(|p| {
                        p.slots.iter().find(|s| {
                            s.handler.name() == h.handler.name() && s.max_concurrency == max
                        })
                    })
                    .map(|s| s.permits.clone())
                    .unwrap_or_else(|| Arc::new(Semaphore::new(max.max(1))));
                Slot {
                    handler: h.handler,
                    permits,
                    max_concurrency: max,
                    filter: h.filter,
                }
            })
            .collect();
        let in_flight = previous
            .filter(|p| p.settings.max_in_flight == settings.max_in_flight)
            .map(|p| p.in_flight.clone())
            .unwrap_or_else(|| Arc::new(Semaphore::new(settings.max_in_flight.max(1))));
        Dispatcher {
            inner: Arc::new(Inner {
                slots,
                router,
                in_flight,
                settings,
                lanes: previous.map(|p| p.lanes.clone()).unwrap_or_default(),
                stats: Arc::new(stats),
                unrouted_logged: Mutex::default(),
            }),
        }
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<DispatchStats> {
        self.inner.stats.clone()
    }

    /// Names of the handlers, in manifest order.
    #[cfg(any(test, feature = "internals"))]
    pub fn handler_names(&self) -> Vec<String> {
        self.inner
            .slots
            .iter()
            .map(|s| s.handler.name().to_string())
            .collect()
    }

    /// Chats with an event running or waiting (0 when per-chat ordering is off).
    #[cfg(any(test, feature = "internals"))]
    pub fn active_lanes(&self) -> usize {
        self.inner.lanes.active()
    }
}

impl EventSink for Dispatcher {
    fn handle(&self, mut event: InboundEvent) -> HandleFuture {
        let inner = &self.inner;
        inner.stats.event();
        let routes = inner.router.route(&event.meta.event_type);
        if routes.is_empty() {
            inner.stats.no_handler();
            inner.log_unrouted(&event);
            return Box::pin(async { HandlerResult::NoHandler });
        }
        let callback = event.meta.kind == EventKind::Callback;
        let deadline = callback.then(|| Instant::now() + inner.settings.callback_deadline);
        // The lane place is taken now, in the order events reach the dispatcher.
        let ticket = match (&event.meta.chat_id, inner.settings.per_chat_ordering) {
            (Some(chat), true) => Some(inner.lanes.enter(chat)),
            _ => None,
        };
        let trace_id = std::mem::take(&mut event.trace_id);
        let run = Arc::new(Run {
            inner: inner.clone(),
            event: event.into_guest_event(1),
            trace_id,
            routes,
        });
        Box::pin(async move {
            if run.routes.len() == 1 {
                // One handler (the common case): its task's own result, no channel.
                let task = tokio::spawn(run.clone().execute_one(ticket).in_current_span());
                let result = match deadline {
                    None => Some(task.await),
                    Some(at) => tokio::time::timeout_at(at, task).await.ok(),
                };
                // `execute_one` never panics (`call` catches the handler's panics).
                let result = result.map(|joined| joined.expect("handler task never panics"));
                return run.decide(vec![result]);
            }
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run.clone().execute(ticket, tx).in_current_span());
            run.collect(rx, deadline).await
        })
    }
}

impl Inner {
    /// Logs an unrouted type once (up to a bound of remembered types).
    fn log_unrouted(&self, event: &InboundEvent) {
        let mut seen = self.unrouted_logged.lock().expect("dispatch lock");
        let first = !seen.contains(&event.meta.event_type);
        if first && seen.len() < lim::NO_HANDLER_TYPES_REMEMBERED {
            seen.insert(event.meta.event_type.clone());
        }
        drop(seen);
        if first {
            tracing::warn!(
                event_type = %event.meta.event_type,
                event_id = %event.meta.event_id,
                trace_id = %event.trace_id,
                "no handler subscribes to this event type; acking 500 (logged once per type; \
                 add it to a handler's events or set default = true on one handler)"
            );
        }
    }
}

/// Decrements the in-flight gauge when the event's work ends.
struct InFlightGauge(Arc<DispatchStats>);

impl Drop for InFlightGauge {
    fn drop(&mut self) {
        self.0.in_flight_delta(false);
    }
}

impl Run {
    /// Waits for the chat's turn and an in-flight slot; the returned guards hold both (and the
    /// in-flight gauge) until dropped.
    async fn admit(
        &self,
        mut ticket: Option<LaneTicket>,
    ) -> (Option<LaneTicket>, OwnedSemaphorePermit, InFlightGauge) {
        if let Some(t) = ticket.as_mut() {
            t.turn().await;
        }
        let permit = self
            .inner
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("the in-flight semaphore is never closed");
        self.inner.stats.in_flight_delta(true);
        (ticket, permit, InFlightGauge(self.inner.stats.clone()))
    }

    /// The single-handler form of [`Run::execute`]: admits the event, runs its one handler and
    /// returns the result. Runs on its own task.
    async fn execute_one(self: Arc<Self>, ticket: Option<LaneTicket>) -> Result<Outcome, Failure> {
        let admitted = self.admit(ticket).await;
        let result = self.call(self.routes[0]).await;
        drop(admitted);
        result
    }

    /// Waits for the chat's turn and an in-flight slot, then runs the handlers, sending each
    /// result (position in `routes`, result) as it comes. Runs on its own task.
    async fn execute(
        self: Arc<Self>,
        ticket: Option<LaneTicket>,
        tx: mpsc::UnboundedSender<(usize, Result<Outcome, Failure>)>,
    ) {
        let admitted = self.admit(ticket).await;
        match self.inner.settings.mode {
            DispatchMode::Sequential => {
                for (pos, &index) in self.routes.iter().enumerate() {
                    let result = self.call(index).await;
                    let _ = tx.send((pos, result));
                }
            }
            // One handler: run it on this task (already its own), no second spawn.
            DispatchMode::Parallel if self.routes.len() == 1 => {
                let result = self.call(self.routes[0]).await;
                let _ = tx.send((0, result));
            }
            DispatchMode::Parallel => {
                let tasks: Vec<_> = self
                    .routes
                    .iter()
                    .enumerate()
                    .map(|(pos, &index)| {
                        let run = self.clone();
                        let tx = tx.clone();
                        tokio::spawn(
                            async move {
                                let result = run.call(index).await;
                                let _ = tx.send((pos, result));
                            }
                            .in_current_span(),
                        )
                    })
                    .collect();
                for task in tasks {
                    // `call` never panics (it catches the handler's panics).
                    let _ = task.await;
                }
            }
        }
        drop(admitted);
    }

    /// One handler on this event: skipped (done) when its filters refuse the event; else waits
    /// for a slot of that handler, invokes it, logs and counts the result.
    async fn call(&self, index: usize) -> Result<Outcome, Failure> {
        let slot = &self.inner.slots[index];
        if let Some(filter) = &slot.filter {
            if filter.apply(&self.event, &self.trace_id).is_some() {
                return Ok(Outcome::Done);
            }
        }
        let _permit = slot
            .permits
            .acquire()
            .await
            .expect("handler semaphores are never closed");
        let name = slot.handler.name();
        let mut invocation = AssertUnwindSafe(slot.handler.invoke(&self.event))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| panicked_invocation(panic.as_ref()));
        // Without a queue, a successful run's key-value writes are applied now, before the ack;
        // if they cannot be stored, the run counts as failed (acked 500, so it is redelivered).
        if let (Ok(Outcome::Done | Outcome::Respond(_)), Some(writes)) =
            (&invocation.result, invocation.kv.take())
        {
            if let Err(e) = writes.apply().await {
                invocation.result = Err(Failure::Host {
                    message: format!("the run's key-value writes could not be stored: {e}"),
                });
            }
        }
        guest_log::emit(name, &self.event.event_id, &self.trace_id, &invocation.logs);
        super::run_log::finished(
            name,
            &self.event.event_id,
            &self.trace_id,
            self.event.attempt,
            &invocation,
        );
        self.record(index, name, &invocation);
        invocation.result
    }

    fn record(&self, index: usize, handler: &str, invocation: &Invocation) {
        let stats = &self.inner.stats;
        let (event_id, trace_id, attempt) =
            (&self.event.event_id, &self.trace_id, self.event.attempt);
        let wall_ms = invocation.wall.as_millis() as u64;
        match &invocation.result {
            Ok(Outcome::Done) => {
                stats.call(index, CallCounter::Done);
                tracing::debug!(
                    handler,
                    event_id,
                    trace_id,
                    attempt,
                    wall_ms,
                    "handler done"
                );
            }
            Ok(Outcome::Respond(body)) => {
                stats.call(index, CallCounter::Responded);
                if self.event.kind != EventKind::Callback {
                    tracing::debug!(handler, event_id, "respond on a plain event counts as done");
                }
                tracing::debug!(
                    handler,
                    event_id,
                    trace_id,
                    attempt,
                    wall_ms,
                    bytes = body.len(),
                    "handler responded"
                );
            }
            Ok(Outcome::Retry(why)) => {
                stats.call(index, CallCounter::Retried);
                tracing::warn!(handler, event_id, trace_id, attempt, wall_ms, reason = %why, "handler asked for a retry; acking 500");
            }
            Ok(Outcome::Reject(why)) => {
                stats.call(index, CallCounter::Rejected);
                tracing::info!(handler, event_id, trace_id, attempt, wall_ms, reason = %why, "handler rejected the event; not retried");
            }
            Err(failure) => {
                stats.call(index, CallCounter::Failed(failure.kind()));
                tracing::warn!(handler, event_id, trace_id, attempt, wall_ms, failure = failure.kind(), detail = ?failure, "handler failed; acking 500");
            }
        }
    }

    /// Gathers the results (until all arrived, or the callback deadline) and decides the ack.
    async fn collect(
        &self,
        mut rx: mpsc::UnboundedReceiver<(usize, Result<Outcome, Failure>)>,
        deadline: Option<Instant>,
    ) -> HandlerResult {
        let mut results: Vec<Option<Result<Outcome, Failure>>> = vec![None; self.routes.len()];
        let mut pending = self.routes.len();
        while pending > 0 {
            let next = match deadline {
                None => rx.recv().await,
                Some(at) => match tokio::time::timeout_at(at, rx.recv()).await {
                    Ok(next) => next,
                    Err(_) => break,
                },
            };
            let Some((pos, result)) = next else { break };
            results[pos] = Some(result);
            pending -= 1;
        }
        self.decide(results)
    }

    /// The ack from the results known (in `routes` order; `None` = not finished: the callback
    /// deadline passed first), logging and counting a late callback.
    fn decide(&self, results: Vec<Option<Result<Outcome, Failure>>>) -> HandlerResult {
        let late = results.iter().any(Option::is_none);
        let slots: Vec<ack::Slot<'_>> = self
            .routes
            .iter()
            .zip(&results)
            .map(|(&i, r)| (self.inner.slots[i].handler.name(), r.as_ref()))
            .collect();
        let callback = self.event.kind == EventKind::Callback;
        let decision = ack::decide(callback, &slots);
        if late {
            self.inner.stats.callback_late();
            let waiting: Vec<&str> = slots
                .iter()
                .filter(|(_, r)| r.is_none())
                .map(|(n, _)| *n)
                .collect();
            let answer = match &decision {
                HandlerResult::Respond(_) => "with the answer already given",
                _ => "200 without an answer",
            };
            tracing::warn!(
                event_id = %self.event.event_id,
                trace_id = %self.trace_id,
                late = ?waiting,
                deadline_ms = self.inner.settings.callback_deadline.as_millis() as u64,
                "card callback deadline passed; acking {answer}; late handlers finish in the background"
            );
        }
        decision
    }
}

fn panicked_invocation(panic: &(dyn std::any::Any + Send)) -> Invocation {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into());
    Invocation {
        result: Err(Failure::Host {
            message: format!("the handler implementation panicked: {message}"),
        }),
        fuel_used: None,
        peak_memory_bytes: 0,
        wall: Duration::ZERO,
        logs: Vec::new(),
        kv: None,
    }
}
