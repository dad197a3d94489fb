//! Ping and pong frames, §4.

use super::client_config::ClientConfigUpdate;
use super::frame::{Frame, Header};
use super::headers::{FrameType, MessageType, TYPE};

/// The client ping: SeqID 0, LogID 0, the URL's service_id, method 0, one `type: ping` header.
pub fn ping_frame(service_id: i32) -> Frame {
    Frame {
        seq_id: 0,
        log_id: 0,
        service: service_id,
        method: FrameType::Control.wire(),
        headers: vec![Header::new(TYPE, MessageType::Ping.as_str())],
        ..Default::default()
    }
}

/// The server's pong answering `ping`, with an optional ClientConfig JSON payload.
/// The emulator always sends all four keys (§1.2: the SDKs break otherwise).
pub fn pong_frame(ping: &Frame, config: Option<&ClientConfigUpdate>) -> Frame {
    Frame {
        seq_id: ping.seq_id,
        log_id: ping.log_id,
        service: ping.service,
        method: FrameType::Control.wire(),
        headers: vec![Header::new(TYPE, MessageType::Pong.as_str())],
        payload: config.map(|c| serde_json::to_vec(c).expect("config serialises")),
        ..Default::default()
    }
}

/// What a pong's payload says.
#[derive(Debug, Clone, PartialEq)]
pub enum PongPayload {
    /// Empty payload: only "pong received".
    Empty,
    /// A ClientConfig update (keys may be missing; see [`ClientConfigUpdate`]).
    Config(ClientConfigUpdate),
    /// Not JSON we understand; the SDKs log and ignore it.
    Invalid(String),
}

/// Interprets a pong's payload.
pub fn parse_pong(frame: &Frame) -> PongPayload {
    let bytes = frame.payload_bytes();
    if bytes.is_empty() {
        return PongPayload::Empty;
    }
    match serde_json::from_slice::<ClientConfigUpdate>(bytes) {
        Ok(update) => PongPayload::Config(update),
        Err(e) => PongPayload::Invalid(e.to_string()),
    }
}
