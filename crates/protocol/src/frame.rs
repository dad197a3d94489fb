//! `pbbp2.Frame` / `pbbp2.Header` (proto2), §3. The two messages are derived by hand with
//! prost so that no `protoc` is needed at build time.
//!
//! prost does not enforce proto2 `required` on decode, but the Go, Node and Java decoders
//! reject frames that lack any required field (§3), so [`decode_frame`] checks presence itself
//! before handing the bytes to prost.

use prost::Message;

/// One key/value header. Both fields are required on the wire.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct Header {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

impl Header {
    /// Convenience constructor.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// One WebSocket binary message of the long connection.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct Frame {
    #[prost(uint64, required, tag = "1")]
    pub seq_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub log_id: u64,
    #[prost(int32, required, tag = "3")]
    pub service: i32,
    #[prost(int32, required, tag = "4")]
    pub method: i32,
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<Header>,
    #[prost(string, optional, tag = "6")]
    pub payload_encoding: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub payload_type: Option<String>,
    #[prost(bytes = "vec", optional, tag = "8")]
    pub payload: Option<Vec<u8>>,
    #[prost(string, optional, tag = "9")]
    pub log_id_new: Option<String>,
}

/// Why bytes could not be turned into a [`Frame`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not valid protobuf for `pbbp2.Frame`.
    #[error("malformed pbbp2 frame: {0}")]
    Malformed(String),
    /// A proto2 `required` field is absent.
    #[error("pbbp2 frame is missing required field {0}")]
    MissingRequired(&'static str),
}

/// Encodes a frame. Required fields are always written, even when zero or empty.
pub fn encode_frame(frame: &Frame) -> Vec<u8> {
    frame.encode_to_vec()
}

/// Decodes a frame, rejecting any frame that lacks one of the required fields 1–4 or a header
/// without `key`/`value`. Never panics, whatever the input.
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, DecodeError> {
    check_required(bytes, &FRAME_REQUIRED)?;
    Frame::decode(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))
}

const FRAME_REQUIRED: [(u32, &str); 4] =
    [(1, "SeqID"), (2, "LogID"), (3, "service"), (4, "method")];
const HEADER_REQUIRED: [(u32, &str); 2] = [(1, "headers.key"), (2, "headers.value")];
const HEADERS_FIELD: u32 = 5;

/// Walks the top-level fields of a message and checks that every required tag occurs; for the
/// frame it also checks each embedded header. Malformed structure is reported as such.
fn check_required(bytes: &[u8], required: &[(u32, &'static str)]) -> Result<(), DecodeError> {
    let mut seen = 0u32; // bit per required tag (tags are 1..=4)
    let mut rest = bytes;
    while !rest.is_empty() {
        let key = read_varint(&mut rest)?;
        let tag = (key >> 3) as u32;
        let wire_type = (key & 7) as u8;
        if tag == 0 {
            return Err(DecodeError::Malformed("field tag 0".into()));
        }
        let field = skip_field(&mut rest, wire_type)?;
        if required.len() == FRAME_REQUIRED.len() && tag == HEADERS_FIELD && wire_type == 2 {
            check_required(field, &HEADER_REQUIRED)?;
        }
        if let Some(pos) = required.iter().position(|(t, _)| *t == tag) {
            seen |= 1 << pos;
        }
    }
    for (pos, (_, name)) in required.iter().enumerate() {
        if seen & (1 << pos) == 0 {
            return Err(DecodeError::MissingRequired(name));
        }
    }
    Ok(())
}

fn read_varint(buf: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&byte, rest) = buf
            .split_first()
            .ok_or_else(|| DecodeError::Malformed("truncated varint".into()))?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::Malformed("varint longer than 10 bytes".into()))
}

/// Skips one field's value and returns the bytes of a length-delimited value (empty otherwise).
fn skip_field<'a>(buf: &mut &'a [u8], wire_type: u8) -> Result<&'a [u8], DecodeError> {
    let take = |buf: &mut &'a [u8], n: usize| -> Result<&'a [u8], DecodeError> {
        if buf.len() < n {
            return Err(DecodeError::Malformed("truncated field".into()));
        }
        let (head, tail) = buf.split_at(n);
        *buf = tail;
        Ok(head)
    };
    match wire_type {
        0 => read_varint(buf).map(|_| &[][..]),
        1 => take(buf, 8).map(|_| &[][..]),
        2 => {
            let len = read_varint(buf)?;
            let len = usize::try_from(len)
                .map_err(|_| DecodeError::Malformed("length overflow".into()))?;
            take(buf, len)
        }
        5 => take(buf, 4).map(|_| &[][..]),
        other => Err(DecodeError::Malformed(format!(
            "unsupported wire type {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ping(service: i32) -> Frame {
        Frame {
            seq_id: 0,
            log_id: 0,
            service,
            method: 0,
            headers: vec![Header::new("type", "ping")],
            ..Default::default()
        }
    }

    #[test]
    fn ping_bytes_match_the_python_sdk_exactly() {
        // §3.2 worked example, verified against lark-oapi 1.7.5.
        let expected: [u8; 25] = [
            0x08, 0x00, 0x10, 0x00, 0x18, 0xf6, 0x81, 0x80, 0x10, 0x20, 0x00, 0x2a, 0x0c, 0x0a,
            0x04, b't', b'y', b'p', b'e', 0x12, 0x04, b'p', b'i', b'n', b'g',
        ];
        assert_eq!(encode_frame(&ping(33554678)), expected);
        assert_eq!(decode_frame(&expected).unwrap(), ping(33554678));
    }

    #[test]
    fn missing_required_fields_are_rejected() {
        // SeqID, LogID, method present; service (tag 3) absent.
        let bytes = [0x08, 0x01, 0x10, 0x02, 0x20, 0x01];
        assert_eq!(
            decode_frame(&bytes),
            Err(DecodeError::MissingRequired("service"))
        );
        // a header without a value
        let mut with_bad_header = encode_frame(&ping(1));
        with_bad_header.extend_from_slice(&[0x2a, 0x03, 0x0a, 0x01, b'k']);
        assert_eq!(
            decode_frame(&with_bad_header),
            Err(DecodeError::MissingRequired("headers.value"))
        );
    }

    #[test]
    fn unknown_fields_are_skipped_and_go_style_empty_optionals_accepted() {
        let mut bytes = encode_frame(&ping(7));
        bytes.extend_from_slice(&[0x32, 0x00, 0x3a, 0x00, 0x4a, 0x00]); // Go writes 6, 7, 9 empty
        bytes.extend_from_slice(&[0x98, 0x06, 0x05]); // unknown field 99, varint
        let frame = decode_frame(&bytes).unwrap();
        assert_eq!(frame.payload_encoding.as_deref(), Some(""));
        assert_eq!(frame.service, 7);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b"hello world"[..],
            &[0xff; 20],
            &[0x08],
            &[0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ] {
            assert!(decode_frame(bytes).is_err(), "{bytes:?}");
        }
    }
}
