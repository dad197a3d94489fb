//! What the emulator observed and did, as plain records returned by [`super::Emulator`]'s
//! accessors (copies; never live views).

use std::fmt;
use std::time::Instant;

use aviary_protocol::{Frame, MessageType};

/// Id of one pushed message (all its delivery attempts share it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryId(pub u64);

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One HTTP request to `/callback/ws/endpoint`.
#[derive(Debug, Clone)]
pub struct EndpointRequestRecord {
    /// When it arrived.
    pub at: Instant,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl EndpointRequestRecord {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.headers, name)
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A live WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Emulator-assigned id, increasing from 1.
    pub id: u64,
    /// `device_id` of the URL the client dialled.
    pub device_id: String,
    /// `service_id` of the URL the client dialled.
    pub service_id: i32,
    /// When the upgrade was accepted.
    pub connected_at: Instant,
}

/// One protocol ping frame received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingRecord {
    /// Connection it arrived on.
    pub connection: u64,
    /// When.
    pub at: Instant,
    /// The frame's `service`.
    pub service: i32,
    /// The frame's `SeqID`.
    pub seq_id: u64,
    /// The frame's `LogID`.
    pub log_id: u64,
}

/// One ack (data frame from a client with a parseable Response payload).
#[derive(Debug, Clone)]
pub struct AckRecord {
    /// Connection it arrived on.
    pub connection: u64,
    /// When.
    pub at: Instant,
    /// The whole frame as received.
    pub frame: Frame,
    /// Payload `code` (200 = handled, 500 = failed).
    pub code: i64,
    /// Payload `data`, base64-decoded.
    pub data: Option<Vec<u8>>,
    /// The `biz_rt` header, verbatim (Node sends negative values).
    pub biz_rt: Option<String>,
    /// The `message_id` header (empty when absent).
    pub message_id: String,
    /// The delivery this ack belongs to, when its `message_id` was one the emulator sent.
    pub delivery: Option<DeliveryId>,
}

/// What came of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Sent; no ack yet and the deadline has not passed.
    Pending,
    /// A code-200 ack arrived in time.
    Acked,
    /// An ack with another code (e.g. 500) arrived in time.
    Failed(i64),
    /// No ack within the deadline.
    TimedOut,
    /// `type=card`: no ack is expected.
    NoAckExpected,
}

/// One delivery attempt of a pushed message.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// The attempt's fresh `message_id`.
    pub message_id: String,
    /// The connection it was sent on.
    pub connection: u64,
    /// When it was sent.
    pub sent_at: Instant,
    /// The frames as sent, in sending order (fragments may be reordered or omitted), without
    /// their payload bytes (`payload` is `None`; the message's payload is the pushed one), so a
    /// long run does not keep a second copy of every event.
    pub frames: Vec<Frame>,
    /// What came of it.
    pub outcome: AttemptOutcome,
}

/// Where a pushed message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for a live connection or for its retry time.
    Waiting,
    /// Sent; waiting for the ack.
    InFlight,
    /// A code-200 ack arrived in time.
    Acked,
    /// Every allowed attempt failed (or redelivery is off and the only attempt failed).
    Failed,
    /// `type=card`: sent, no ack expected.
    Sent,
}

/// One pushed message and its attempts.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    /// Its id.
    pub id: DeliveryId,
    /// `header.event_id` (v2) or `uuid` (v1) of the envelope, if it parses.
    pub event_id: Option<String>,
    /// `type` header used.
    pub message_type: MessageType,
    /// Every attempt so far, in order.
    pub attempts: Vec<AttemptRecord>,
    /// A code-200 ack arrived in time.
    pub acked: bool,
    /// Code of the last ack that arrived for it (in time or late).
    pub last_code: Option<i64>,
    /// Where it stands.
    pub status: DeliveryStatus,
}

/// Something a client sent that is neither a ping nor an ack.
#[derive(Debug, Clone)]
pub struct NonAckRecord {
    /// Connection it arrived on.
    pub connection: u64,
    /// When.
    pub at: Instant,
    /// What it was.
    pub kind: NonAck,
}

/// Kinds of [`NonAckRecord`].
#[derive(Debug, Clone)]
pub enum NonAck {
    /// A text WebSocket message (truncated).
    Text(String),
    /// A binary message that is not a valid frame (bytes truncated).
    Undecodable {
        /// The first bytes.
        bytes: Vec<u8>,
        /// Why it did not decode.
        error: String,
    },
    /// A valid frame that is neither a ping nor an ack.
    UnexpectedFrame {
        /// The frame.
        frame: Frame,
        /// Why it is unexpected.
        reason: String,
    },
}

/// One call to the OpenAPI stubs (`/open-apis/...`), or any other request routed nowhere else.
#[derive(Debug, Clone)]
pub struct OpenApiCall {
    /// When.
    pub at: Instant,
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string (empty when none).
    pub query: String,
    /// Headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body as JSON; `Null` when empty, a JSON string when the body is not JSON.
    pub body: serde_json::Value,
}

/// One message the send or reply stub created (a duplicate `uuid` creates none).
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// When.
    pub at: Instant,
    /// The new message's id (`om_…`).
    pub message_id: String,
    /// For a reply, the message replied to; `None` for a send.
    pub reply_to: Option<String>,
    /// For a send, `receive_id_type` and `receive_id`; `None` for a reply.
    pub receiver: Option<(String, String)>,
    /// `msg_type`.
    pub msg_type: String,
    /// `content` (a JSON object as a string).
    pub content: String,
    /// The request's `uuid`, if it had one.
    pub uuid: Option<String>,
}

impl OpenApiCall {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.headers, name)
    }
}

fn header_of<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
