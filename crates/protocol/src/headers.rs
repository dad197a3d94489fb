//! Header keys, frame types and message types, §3.3–§3.5.

use super::frame::{Frame, Header};

/// `type` header: the message type.
pub const TYPE: &str = "type";
/// `message_id`: id of the logical message; every fragment shares it.
pub const MESSAGE_ID: &str = "message_id";
/// `sum`: number of fragments.
pub const SUM: &str = "sum";
/// `seq`: 0-based fragment index.
pub const SEQ: &str = "seq";
/// `trace_id`: used for logging.
pub const TRACE_ID: &str = "trace_id";
/// `biz_rt`: the client's processing time in milliseconds, appended to acks.
pub const BIZ_RT: &str = "biz_rt";

/// The `method` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameType {
    /// `0`: ping and pong.
    Control,
    /// `1`: events, callbacks and their acks.
    Data,
}

impl FrameType {
    /// Wire value of `method`.
    pub fn wire(self) -> i32 {
        match self {
            FrameType::Control => 0,
            FrameType::Data => 1,
        }
    }

    /// Parses `method`; other values are unknown and must be ignored.
    pub fn from_wire(method: i32) -> Option<Self> {
        match method {
            0 => Some(FrameType::Control),
            1 => Some(FrameType::Data),
            _ => None,
        }
    }
}

/// The `type` header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// Client → server heartbeat.
    Ping,
    /// Server → client heartbeat answer, optionally carrying a ClientConfig.
    Pong,
    /// An event or a new-style callback (card action, URL preview). Acked.
    Event,
    /// The legacy card-action channel. No SDK dispatches or acks it.
    Card,
}

impl MessageType {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Ping => "ping",
            MessageType::Pong => "pong",
            MessageType::Event => "event",
            MessageType::Card => "card",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "ping" => Some(MessageType::Ping),
            "pong" => Some(MessageType::Pong),
            "event" => Some(MessageType::Event),
            "card" => Some(MessageType::Card),
            _ => None,
        }
    }
}

impl Frame {
    /// The first header with this key (duplicate keys are possible; lookup is first match).
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.key == key)
            .map(|h| h.value.as_str())
    }

    /// The frame's `type` header, parsed.
    pub fn message_type(&self) -> Option<MessageType> {
        self.header(TYPE).and_then(MessageType::parse)
    }

    /// The frame's `method`, parsed.
    pub fn frame_type(&self) -> Option<FrameType> {
        FrameType::from_wire(self.method)
    }

    /// Appends a header at the end.
    pub fn push_header(&mut self, key: &str, value: impl Into<String>) {
        self.headers.push(Header::new(key, value));
    }

    /// The payload bytes, empty when absent.
    pub fn payload_bytes(&self) -> &[u8] {
        self.payload.as_deref().unwrap_or(&[])
    }
}
