//! [`QueueSink`]: the [`EventSink`] of `ack = "after-persist"` (the default). Plain events are
//! persisted through the [`Queue`] and acked once durable; card callbacks and events nobody
//! subscribes to go to the synchronous sink (the dispatcher behind the in-memory dedupe), whose
//! answer rides in the ack.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::engine::Queue;
use super::store::{now_ms, Admission, NewJob};
use crate::dispatch::router::Router;
use crate::dispatch::{EventSink, HandleFuture, HandlerResult, InboundEvent};
use crate::limits::queue as lim;
use crate::protocol::envelope::EventKind;

/// See the module doc.
pub struct QueueSink {
    queue: Queue,
    router: Router,
    names: Vec<String>,
    per_chat_ordering: bool,
    /// Per handler (manifest order): whether it merges bursts per chat (its events need
    /// their chat's lane even without `per_chat_ordering`).
    merging: Vec<bool>,
    sync: Arc<dyn EventSink>,
    last_full_log_ms: Arc<AtomicU64>,
}

impl QueueSink {
    /// A sink that queues plain events for `names` (manifest order, routed by `router`) and
    /// hands callbacks and unrouted events to `sync`.
    pub fn new(
        queue: Queue,
        router: Router,
        names: Vec<String>,
        per_chat_ordering: bool,
        sync: Arc<dyn EventSink>,
    ) -> QueueSink {
        QueueSink {
            queue,
            router,
            names,
            per_chat_ordering,
            merging: Vec::new(),
            sync,
            last_full_log_ms: Arc::default(),
        }
    }

    /// Which handlers (manifest order) merge bursts per chat ([`super::merge`]): the events
    /// routed to them keep their chat (its lane orders the turns) whatever
    /// `per_chat_ordering` says.
    pub fn with_merging(mut self, merging: Vec<bool>) -> QueueSink {
        self.merging = merging;
        self
    }
}

impl EventSink for QueueSink {
    fn handle(&self, event: InboundEvent) -> HandleFuture {
        if event.meta.kind == EventKind::Callback {
            return self.sync.handle(event);
        }
        let routes = self.router.route(&event.meta.event_type);
        if routes.is_empty() {
            return self.sync.handle(event);
        }
        let job = NewJob {
            dedupe_id: event.meta.dedupe_id.clone(),
            event_id: event.meta.event_id.clone(),
            event_type: event.meta.event_type.clone(),
            chat_id: event.meta.chat_id.clone().filter(|_| {
                self.per_chat_ordering
                    || routes
                        .iter()
                        .any(|&i| self.merging.get(i).copied().unwrap_or(false))
            }),
            trace_id: event.trace_id.clone(),
            envelope: event.json,
            handlers: routes.iter().map(|&i| self.names[i].clone()).collect(),
        };
        let queue = self.queue.clone();
        let last_log = self.last_full_log_ms.clone();
        // Submitted now: the connection calls `handle` in arrival order, so that is the order
        // of the jobs (and of each chat's lane).
        let admitted = queue.submit(job);
        Box::pin(async move {
            match admitted.await {
                Ok(Admission::Accepted(_) | Admission::Forwarded(_)) => HandlerResult::Done,
                Ok(Admission::Duplicate) => {
                    tracing::info!(dedupe_id = %event.meta.dedupe_id, event_type = %event.meta.event_type, "duplicate delivery; already queued or handled, acking 200");
                    HandlerResult::Done
                }
                Ok(Admission::Full) => {
                    let now = now_ms();
                    let last = last_log.load(Ordering::Relaxed);
                    if now.saturating_sub(last) >= lim::FULL_LOG_INTERVAL.as_millis() as u64 {
                        last_log.store(now, Ordering::Relaxed);
                        tracing::warn!(
                            refused_so_far = queue.stats().snapshot().refused_full,
                            "queue full ([queue] capacity); not acking, Feishu will redeliver \
                             (logged at most once per {:?})",
                            lim::FULL_LOG_INTERVAL
                        );
                    }
                    HandlerResult::NotAcked("the queue is full".into())
                }
                Err(e) => HandlerResult::NotAcked(format!("not persisted: {e}")),
            }
        })
    }
}
