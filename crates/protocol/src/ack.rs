//! The response (ack) frame, §5.3: a copy of the completing data frame with every header echoed
//! in order, `biz_rt` appended, and a JSON "Response" payload.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::frame::Frame;
use super::headers::BIZ_RT;

/// What the ack says about the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckBody {
    /// `{"code":200}`: handled.
    Ok,
    /// `{"code":200,"data":base64(json)}`: handled, with a callback answer (e.g. a card toast).
    OkWithData(Vec<u8>),
    /// `{"code":500}`: failed; asks the server to redeliver (§7).
    Failed,
}

/// The ack payload as it appears on the wire (also used by the emulator to parse acks, leniently:
/// Go writes `"headers":null` and `"data":null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckPayload {
    pub code: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl AckBody {
    /// The JSON bytes of the payload.
    pub fn to_payload(&self) -> Vec<u8> {
        let payload = match self {
            AckBody::Ok => AckPayload {
                code: 200,
                data: None,
            },
            AckBody::OkWithData(json) => AckPayload {
                code: 200,
                data: Some(base64::engine::general_purpose::STANDARD.encode(json)),
            },
            AckBody::Failed => AckPayload {
                code: 500,
                data: None,
            },
        };
        serde_json::to_vec(&payload).expect("ack payload serialises")
    }
}

/// Builds the ack for a completed message from the frame that completed it.
pub fn build_ack(completing: &Frame, biz_rt_ms: u64, body: &AckBody) -> Frame {
    // Every field but the payload (the event, possibly large) is echoed.
    let mut ack = Frame {
        seq_id: completing.seq_id,
        log_id: completing.log_id,
        service: completing.service,
        method: completing.method,
        headers: completing.headers.clone(),
        payload_encoding: completing.payload_encoding.clone(),
        payload_type: completing.payload_type.clone(),
        payload: None,
        log_id_new: completing.log_id_new.clone(),
    };
    ack.push_header(BIZ_RT, biz_rt_ms.to_string());
    ack.payload = Some(body.to_payload());
    ack
}

/// Parses an ack payload, returning the code and the decoded `data` bytes if any.
pub fn parse_ack_payload(bytes: &[u8]) -> Result<(i64, Option<Vec<u8>>), String> {
    let payload: AckPayload =
        serde_json::from_slice(bytes).map_err(|e| format!("ack payload is not JSON: {e}"))?;
    let data = match payload.data {
        Some(b64) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| format!("ack data is not base64: {e}"))?,
        ),
        None => None,
    };
    Ok((payload.code, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Header;

    #[test]
    fn ack_echoes_every_field_and_header_in_order_and_appends_biz_rt() {
        let frame = Frame {
            seq_id: 21,
            log_id: 99,
            service: 33554678,
            method: 1,
            headers: vec![
                Header::new("type", "event"),
                Header::new("message_id", "m1"),
                Header::new("sum", "1"),
                Header::new("seq", "0"),
                Header::new("trace_id", "t"),
                Header::new("instance_id", "i"),
            ],
            payload_encoding: Some(String::new()),
            payload_type: Some("x".into()),
            payload: Some(b"{}".to_vec()),
            log_id_new: Some("n".into()),
        };
        let ack = build_ack(
            &frame,
            12,
            &AckBody::OkWithData(br#"{"toast":{"type":"info"}}"#.to_vec()),
        );
        assert_eq!(ack.headers[..6], frame.headers[..]);
        assert_eq!(ack.headers[6], Header::new("biz_rt", "12"));
        assert_eq!(
            (ack.seq_id, ack.log_id, ack.service, ack.method),
            (21, 99, 33554678, 1)
        );
        assert_eq!(ack.log_id_new.as_deref(), Some("n"));
        let (code, data) = parse_ack_payload(ack.payload_bytes()).unwrap();
        assert_eq!(code, 200);
        assert_eq!(data.unwrap(), br#"{"toast":{"type":"info"}}"#);
    }

    #[test]
    fn payload_shapes_are_exact() {
        assert_eq!(AckBody::Ok.to_payload(), br#"{"code":200}"#);
        assert_eq!(AckBody::Failed.to_payload(), br#"{"code":500}"#);
        assert_eq!(
            AckBody::OkWithData(b"{}".to_vec()).to_payload(),
            br#"{"code":200,"data":"e30="}"#
        );
    }

    #[test]
    fn go_style_nulls_parse() {
        assert_eq!(
            parse_ack_payload(br#"{"code":200,"headers":null,"data":null}"#).unwrap(),
            (200, None)
        );
        assert_eq!(parse_ack_payload(br#"{"code": 500}"#).unwrap(), (500, None));
    }
}
