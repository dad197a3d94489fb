//! Where events go once the connection has them: the connection hands each event to an
//! [`EventSink`]. [`Dispatcher`] runs the manifest's handlers (any [`crate::handler::Invoke`]);
//! [`LogSink`] is the built-in sink when there are none; [`dedupe::Deduplicating`] wraps either.
//!
//! - [`router`]: who gets an event type (exact / `prefix.*` / `*` / default);
//! - [`lanes`]: per-chat arrival order;
//! - [`ack`]: what the handlers' results come to (the ack);
//! - [`dispatcher`]: concurrency, ordering, callback deadline;
//! - [`settings`]: `[dispatch]`'s type and bounds;
//! - [`stats`], [`guest_log`], [`run_log`]: counters, the guests' log lines, one line per run;
//!
//! Building a dispatcher from the manifest (and the Wasm sandbox) is the composition root's job:
//! [`crate::app`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub mod ack;
pub mod dedupe;
pub mod dispatcher;
pub mod filter;
pub mod guest_log;
pub mod lanes;
pub mod router;
pub mod run_log;
pub mod settings;
pub mod stats;

pub use dispatcher::{Dispatcher, HandlerEntry};
pub use settings::{DispatchMode, DispatchSettings, HandlerRoute};
pub use stats::DispatchStats;

use crate::handler::GuestEvent;
use crate::protocol::envelope::EventMeta;

/// One complete event taken off the connection.
#[derive(Debug, Clone)]
pub struct InboundEvent {
    /// What the envelope says (ids, type, kind, chat).
    pub meta: EventMeta,
    /// The whole (decrypted) JSON envelope.
    pub json: String,
    /// The frame's `trace_id` header, for logs ("" when absent).
    pub trace_id: String,
    /// The frame's `message_id` header (the delivery, not the Feishu message).
    pub frame_message_id: String,
}

/// The guest's view of an [`InboundEvent`] (a [`GuestEvent`]); defined here so that
/// [`crate::handler`] does not depend on dispatch.
impl InboundEvent {
    /// The guest's view of this event, for its `attempt`-th run.
    pub fn guest_event(&self, attempt: u32) -> GuestEvent {
        let m = &self.meta;
        GuestEvent {
            dedupe_id: m.dedupe_id.clone(),
            event_id: m.event_id.clone(),
            event_type: m.event_type.clone(),
            kind: m.kind,
            app_id: m.app_id.clone(),
            tenant_key: m.tenant_key.clone(),
            create_time: m.create_time.clone(),
            attempt,
            envelope: self.json.clone(),
        }
    }

    /// Same as [`InboundEvent::guest_event`], taking the event apart instead of copying its
    /// strings (the envelope is the big one): what dispatch uses on the hot path.
    pub fn into_guest_event(self, attempt: u32) -> GuestEvent {
        let m = self.meta;
        GuestEvent {
            dedupe_id: m.dedupe_id,
            event_id: m.event_id,
            event_type: m.event_type,
            kind: m.kind,
            app_id: m.app_id,
            tenant_key: m.tenant_key,
            create_time: m.create_time,
            attempt,
            envelope: self.json,
        }
    }
}

/// What handling an event came to; decides the ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerResult {
    /// Handled: ack `{"code":200}`.
    Done,
    /// Handled with an answer (a callback's JSON body): ack 200 with base64 `data`.
    Respond(Vec<u8>),
    /// Failed or asked for a retry: ack `{"code":500}` so the server redelivers.
    Failed(String),
    /// Nobody handles this event type: ack `{"code":500}` (the SDKs' behaviour, §5.3).
    NoHandler,
    /// The event was not taken (the durable queue is full or cannot persist it): send no ack
    /// at all, so Feishu redelivers it after its ack timeout.
    NotAcked(String),
}

/// A boxed future returned by [`EventSink::handle`].
pub type HandleFuture = Pin<Box<dyn Future<Output = HandlerResult> + Send + 'static>>;

/// Receives events from the connection. Called concurrently, once per event.
pub trait EventSink: Send + Sync + 'static {
    /// Handles one event. The connection acks with the result when the future completes.
    fn handle(&self, event: InboundEvent) -> HandleFuture;
}

/// The built-in sink: logs every event and reports it done.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogSink;

impl EventSink for LogSink {
    fn handle(&self, event: InboundEvent) -> HandleFuture {
        tracing::info!(
            event_type = %event.meta.event_type,
            event_id = %event.meta.event_id,
            dedupe_id = %event.meta.dedupe_id,
            trace_id = %event.trace_id,
            bytes = event.json.len(),
            "event received"
        );
        Box::pin(async { HandlerResult::Done })
    }
}

impl<T: EventSink> EventSink for Arc<T> {
    fn handle(&self, event: InboundEvent) -> HandleFuture {
        (**self).handle(event)
    }
}
