//! Running one event through the sink on its own task and acking the result (§5.3).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tracing::Instrument;

use crate::dispatch::{EventSink, HandlerResult, InboundEvent};
use crate::protocol::{build_ack, AckBody, Frame};

use super::stats::{ConnectionStats, Counter};
use super::writer::Outbound;

/// The ack body for a handler's result: Done → 200, Respond → 200 + data, Failed/NoHandler → 500.
/// No handler is 500 like Go/Python/Java (Node acks 200 with a text), so the server redelivers;
/// a failure keeps `biz_rt` like Go/Node/Java (Python drops it).
pub(crate) fn ack_body(result: &HandlerResult) -> AckBody {
    match result {
        HandlerResult::Done => AckBody::Ok,
        HandlerResult::Respond(json) => AckBody::OkWithData(json.clone()),
        HandlerResult::Failed(_) | HandlerResult::NoHandler | HandlerResult::NotAcked(_) => {
            AckBody::Failed
        }
    }
}

/// Everything one handler task needs.
pub(crate) struct Job {
    pub event: InboundEvent,
    /// The fragment that completed the message; the ack is a copy of it.
    pub completing: Frame,
    pub sink: Arc<dyn EventSink>,
    pub out: mpsc::Sender<Outbound>,
    pub stats: Arc<ConnectionStats>,
    /// Held until the ack is queued: the session's receive-queue slot.
    pub permit: OwnedSemaphorePermit,
}

/// Each event runs on its own task, as Go (goroutine) and Java (pool) do; Python's in-loop
/// handlers freeze the connection (oapi-sdk-python#109).
/// Calls the sink (a panic counts as a failure), then queues exactly one ack with
/// `biz_rt` = the handler's time in ms.
///
/// The sink's `handle` is called right here, before the returned future is spawned, so the sink
/// sees events in arrival order (the dispatcher's per-chat lanes rely on it); only the
/// handling itself runs on the spawned task.
pub(crate) fn run_job(job: Job) -> impl std::future::Future<Output = ()> + Send {
    let Job {
        event,
        completing,
        sink,
        out,
        stats,
        permit,
    } = job;
    let span = tracing::info_span!(
        "event",
        trace_id = %event.trace_id,
        message_id = %event.frame_message_id,
        event_id = %event.meta.event_id,
        event_type = %event.meta.event_type,
    );
    let started = Instant::now();
    let handling = span.in_scope(|| {
        std::panic::catch_unwind(AssertUnwindSafe(|| sink.handle(event)))
            .map_err(|p| panic_text(p.as_ref()))
    });
    async move {
        let result = match handling {
            Ok(future) => AssertUnwindSafe(future)
                .catch_unwind()
                .await
                .unwrap_or_else(|p| HandlerResult::Failed(panic_text(p.as_ref()))),
            Err(why) => HandlerResult::Failed(why),
        };
        let biz_rt = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            HandlerResult::Done | HandlerResult::Respond(_) => {
                tracing::debug!(biz_rt, "event handled")
            }
            HandlerResult::Failed(why) => {
                stats.incr(Counter::events_failed);
                tracing::warn!(biz_rt, error = %why, "handler failed; acking 500 so the server redelivers");
            }
            HandlerResult::NoHandler => {
                stats.incr(Counter::events_failed);
                tracing::warn!(biz_rt, "no handler for this event type; acking 500");
            }
            HandlerResult::NotAcked(why) => {
                stats.incr(Counter::events_failed);
                tracing::warn!(biz_rt, reason = %why, "event not taken; no ack sent, the server will redeliver it");
                drop(permit);
                return;
            }
        }
        let body = ack_body(&result);
        stats.incr(match body {
            AckBody::Failed => Counter::acks_500,
            _ => Counter::acks_200,
        });
        stats.observe_ack_latency(started.elapsed());
        let ack = build_ack(&completing, biz_rt, &body);
        if out.send(Outbound::Ack(ack)).await.is_err() {
            tracing::warn!(
                "ack not sent: the connection the event arrived on is gone; the server will redeliver it"
            );
        }
        drop(permit);
    }
    .instrument(span)
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_string());
    format!("handler panicked: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_map_to_ack_codes() {
        assert_eq!(ack_body(&HandlerResult::Done), AckBody::Ok);
        assert_eq!(
            ack_body(&HandlerResult::Respond(b"{}".to_vec())),
            AckBody::OkWithData(b"{}".to_vec())
        );
        assert_eq!(
            ack_body(&HandlerResult::Failed("x".into())),
            AckBody::Failed
        );
        assert_eq!(ack_body(&HandlerResult::NoHandler), AckBody::Failed);
    }
}
