//! The control API under `/_emulator/` (JSON), for scripts and the demo; the table is in the
//! module doc of [`super`]. Times are milliseconds since the emulator started.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::config::{Fault, PushOptions};
use super::records::{AttemptOutcome, DeliveryStatus};
use super::state::{Outbound, Shared};
use aviary_protocol::{Frame, MessageType};

/// The `/_emulator` routes.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/events", post(push_event))
        .route("/acks", get(acks))
        .route("/deliveries", get(deliveries))
        .route("/state", get(state))
        .route("/fault", post(fault))
        .route("/ack-loss", post(ack_loss))
        .route("/openapi-calls", get(openapi_calls))
        .route("/messages", get(messages))
        .route("/uploads", get(super::uploads::control_list))
        .route("/card-updates", get(super::cards::control_list))
        .route("/cards", get(super::cards::control_cards))
}

pub(super) fn ms(shared: &Shared, at: Instant) -> u64 {
    at.saturating_duration_since(shared.started).as_millis() as u64
}

fn frame_json(frame: &Frame) -> Value {
    json!({
        "seq_id": frame.seq_id,
        "log_id": frame.log_id,
        "service": frame.service,
        "method": frame.method,
        "headers": frame.headers.iter().map(|h| [h.key.as_str(), h.value.as_str()]).collect::<Vec<_>>(),
        "payload": String::from_utf8_lossy(frame.payload_bytes()),
    })
}

/// Query of `POST /_emulator/events`.
#[derive(Debug, Deserialize)]
struct PushQuery {
    fragments: Option<usize>,
    #[serde(rename = "type")]
    message_type: Option<String>,
    connection: Option<u64>,
    redeliver: Option<bool>,
}

async fn push_event(
    AxumState(shared): AxumState<Arc<Shared>>,
    Query(query): Query<PushQuery>,
    body: Bytes,
) -> Response {
    let message_type = match query.message_type.as_deref() {
        None | Some("event") => MessageType::Event,
        Some("card") => MessageType::Card,
        Some(other) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("type must be event or card, not {other:?}")})),
            )
                .into_response()
        }
    };
    let opts = PushOptions {
        message_type,
        fragments: query.fragments,
        connection: query.connection,
        redeliver: query.redeliver.unwrap_or(true),
        ..Default::default()
    };
    let id = shared.push(body.to_vec(), opts);
    Json(json!({"delivery": id.0})).into_response()
}

async fn acks(AxumState(shared): AxumState<Arc<Shared>>) -> Json<Value> {
    let state = shared.lock();
    let list: Vec<Value> = state
        .acks
        .iter()
        .map(|a| {
            json!({
                "connection": a.connection,
                "at_ms": ms(&shared, a.at),
                "code": a.code,
                "data": a.data.as_deref().map(String::from_utf8_lossy),
                "biz_rt": a.biz_rt,
                "message_id": a.message_id,
                "delivery": a.delivery.map(|d| d.0),
                "frame": frame_json(&a.frame),
            })
        })
        .collect();
    Json(Value::Array(list))
}

fn status_str(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Waiting => "waiting",
        DeliveryStatus::InFlight => "in_flight",
        DeliveryStatus::Acked => "acked",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Sent => "sent",
    }
}

fn outcome_json(outcome: AttemptOutcome) -> Value {
    match outcome {
        AttemptOutcome::Pending => json!("pending"),
        AttemptOutcome::Acked => json!("acked"),
        AttemptOutcome::Failed(code) => json!({"failed": code}),
        AttemptOutcome::TimedOut => json!("timed_out"),
        AttemptOutcome::NoAckExpected => json!("no_ack_expected"),
    }
}

async fn deliveries(AxumState(shared): AxumState<Arc<Shared>>) -> Json<Value> {
    let state = shared.lock();
    let list: Vec<Value> = state
        .deliveries
        .values()
        .map(|d| {
            let r = &d.record;
            json!({
                "id": r.id.0,
                "event_id": r.event_id,
                "type": r.message_type.as_str(),
                "status": status_str(r.status),
                "acked": r.acked,
                "last_code": r.last_code,
                "attempts": r.attempts.iter().map(|a| json!({
                    "message_id": a.message_id,
                    "connection": a.connection,
                    "sent_at_ms": ms(&shared, a.sent_at),
                    "fragments": a.frames.len(),
                    "outcome": outcome_json(a.outcome),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(Value::Array(list))
}

async fn state(AxumState(shared): AxumState<Arc<Shared>>) -> Json<Value> {
    let state = shared.lock();
    let connections: Vec<Value> = state
        .connections
        .values()
        .map(|c| {
            json!({
                "id": c.info.id,
                "device_id": c.info.device_id,
                "service_id": c.info.service_id,
                "connected_at_ms": ms(&shared, c.info.connected_at),
            })
        })
        .collect();
    Json(json!({
        "connections": connections,
        "connections_total": state.connections_total,
        "pings": state.pings.len(),
        "endpoint_requests": state.endpoint_requests.len(),
        "acks": state.acks.len(),
        "acks_ok_total": state.acks_ok_total,
        "acks_lost_total": state.acks_lost_total,
        "deliveries": state.deliveries.len(),
        "non_acks": state.non_acks.len(),
        "openapi_calls": state.openapi_calls.len(),
    }))
}

/// Body of `POST /_emulator/fault`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultBody {
    Close { code: Option<u16> },
    Abrupt,
    Drop,
}

async fn fault(AxumState(shared): AxumState<Arc<Shared>>, body: Bytes) -> Response {
    let fault = match serde_json::from_slice::<FaultBody>(&body) {
        Ok(FaultBody::Close { code }) => Fault::Close(code.unwrap_or(1000)),
        Ok(FaultBody::Abrupt) => Fault::Abrupt,
        Ok(FaultBody::Drop) => Fault::DropWithoutClose,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": format!(
                    "expected {{\"kind\":\"close\",\"code\":1000}}, {{\"kind\":\"abrupt\"}} or {{\"kind\":\"drop\"}}: {e}"
                )})),
            )
                .into_response()
        }
    };
    let n = shared.broadcast(|| Outbound::Fault(fault));
    Json(json!({"connections": n})).into_response()
}

async fn openapi_calls(AxumState(shared): AxumState<Arc<Shared>>) -> Json<Value> {
    let state = shared.lock();
    let list: Vec<Value> = state
        .openapi_calls
        .iter()
        .map(|c| {
            json!({
                "at_ms": ms(&shared, c.at),
                "method": c.method,
                "path": c.path,
                "query": c.query,
                "body": c.body,
            })
        })
        .collect();
    Json(Value::Array(list))
}

async fn messages(AxumState(shared): AxumState<Arc<Shared>>) -> Json<Value> {
    let state = shared.lock();
    let list: Vec<Value> = state
        .sent_messages
        .iter()
        .map(|m| {
            json!({
                "at_ms": ms(&shared, m.at),
                "message_id": m.message_id,
                "reply_to": m.reply_to,
                "receive_id_type": m.receiver.as_ref().map(|r| &r.0),
                "receive_id": m.receiver.as_ref().map(|r| &r.1),
                "msg_type": m.msg_type,
                "content": m.content,
                "uuid": m.uuid,
            })
        })
        .collect();
    Json(json!({
        "messages": list,
        "duplicates_suppressed": state.duplicate_messages_suppressed,
    }))
}

/// Body of `POST /_emulator/ack-loss`.
#[derive(Debug, Deserialize)]
struct AckLossBody {
    rate: f64,
}

async fn ack_loss(AxumState(shared): AxumState<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<AckLossBody>(&body) {
        Ok(AckLossBody { rate }) if (0.0..=1.0).contains(&rate) => {
            shared.lock().ack_loss = rate;
            Json(json!({"rate": rate})).into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "expected {\"rate\": r} with 0 <= r <= 1"})),
        )
            .into_response(),
    }
}
