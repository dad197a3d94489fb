//! Splitting one logical data message into `sum`/`seq` fragment frames, §5.1. This is the
//! inverse of [`super::reassembly`]: the emulator uses it to send events, and tests use it to
//! build fragment sets by hand.

use super::frame::{Frame, Header};
use super::headers::{FrameType, MessageType, MESSAGE_ID, SEQ, SUM, TRACE_ID, TYPE};

/// How many fragments a payload of `len` bytes needs so that none is larger than
/// `max_fragment` bytes. At least 1 (an empty payload is one empty frame); a `max_fragment` of 0
/// is treated as 1.
pub fn fragment_count(len: usize, max_fragment: usize) -> usize {
    len.div_ceil(max_fragment.max(1)).max(1)
}

/// Splits `payload` into `parts` contiguous chunks of near-equal size, in order: the first
/// `len % parts` chunks are one byte longer. `parts` of 0 is treated as 1. When the payload is
/// shorter than `parts`, the trailing chunks are empty (still valid: concatenation is what
/// counts).
pub fn split_payload(payload: &[u8], parts: usize) -> Vec<&[u8]> {
    let parts = parts.max(1);
    let base = payload.len() / parts;
    let extra = payload.len() % parts;
    let mut chunks = Vec::with_capacity(parts);
    let mut start = 0;
    for i in 0..parts {
        let len = base + usize::from(i < extra);
        chunks.push(&payload[start..start + len]);
        start += len;
    }
    chunks
}

/// The fixed parts of one logical server → client data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMessage<'a> {
    /// `type` header: `event` or `card`.
    pub message_type: MessageType,
    /// `message_id` header, shared by every fragment.
    pub message_id: &'a str,
    /// `trace_id` header.
    pub trace_id: &'a str,
    /// `service` field.
    pub service: i32,
    /// `SeqID` of fragment 0; fragment `i` gets `seq_id + i`.
    pub seq_id: u64,
    /// `LogID`, the same on every fragment.
    pub log_id: u64,
    /// Headers appended after the five standard ones, in order (e.g. `timestamp`).
    pub extra_headers: &'a [(String, String)],
}

/// Builds the frames of a message split into `parts` fragments. Element `i` of the result is
/// the fragment with `seq = i`. Headers are, in order: `type`, `message_id`, `sum`, `seq`,
/// `trace_id`, then the extras.
pub fn fragment_frames(message: &DataMessage<'_>, payload: &[u8], parts: usize) -> Vec<Frame> {
    let chunks = split_payload(payload, parts);
    let sum = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(seq, chunk)| {
            let mut headers = vec![
                Header::new(TYPE, message.message_type.as_str()),
                Header::new(MESSAGE_ID, message.message_id),
                Header::new(SUM, sum.to_string()),
                Header::new(SEQ, seq.to_string()),
                Header::new(TRACE_ID, message.trace_id),
            ];
            headers.extend(
                message
                    .extra_headers
                    .iter()
                    .map(|(k, v)| Header::new(k.as_str(), v.as_str())),
            );
            Frame {
                seq_id: message.seq_id.wrapping_add(seq as u64),
                log_id: message.log_id,
                service: message.service,
                method: FrameType::Data.wire(),
                headers,
                payload: Some(chunk.to_vec()),
                ..Default::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembly::{Fragment, Reassembler, ReassemblyLimits};
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    #[test]
    fn counts() {
        assert_eq!(fragment_count(0, 10), 1);
        assert_eq!(fragment_count(10, 10), 1);
        assert_eq!(fragment_count(11, 10), 2);
        assert_eq!(fragment_count(5, 0), 5);
    }

    #[test]
    fn split_is_near_equal_and_ordered() {
        let chunks = split_payload(b"abcdefg", 3);
        assert_eq!(chunks, vec![&b"abc"[..], b"de", b"fg"]);
        assert_eq!(split_payload(b"ab", 3), vec![&b"a"[..], b"b", b""]);
        assert_eq!(split_payload(b"", 0), vec![&b""[..]]);
    }

    #[test]
    fn frames_carry_the_standard_headers_in_order() {
        let extras = vec![("timestamp".to_string(), "1".to_string())];
        let message = DataMessage {
            message_type: MessageType::Event,
            message_id: "m",
            trace_id: "t",
            service: 7,
            seq_id: 20,
            log_id: 5,
            extra_headers: &extras,
        };
        let frames = fragment_frames(&message, b"{\"a\":1}", 3);
        assert_eq!(frames.len(), 3);
        let keys: Vec<_> = frames[1].headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(
            keys,
            ["type", "message_id", "sum", "seq", "trace_id", "timestamp"]
        );
        assert_eq!(frames[1].header("sum"), Some("3"));
        assert_eq!(frames[1].header("seq"), Some("1"));
        assert_eq!(frames[2].seq_id, 22);
        assert!(frames.iter().all(|f| f.log_id == 5 && f.method == 1));
    }

    proptest! {
        #[test]
        fn fragments_reassemble_in_any_order(
            payload in proptest::collection::vec(any::<u8>(), 0..512),
            parts in 1usize..8,
            rotate in 0usize..8,
        ) {
            let message = DataMessage {
                message_type: MessageType::Event,
                message_id: "m",
                trace_id: "t",
                service: 1,
                seq_id: 0,
                log_id: 0,
                extra_headers: &[],
            };
            let mut frames = fragment_frames(&message, &payload, parts);
            let len = frames.len();
            frames.rotate_left(rotate % len);
            let mut r = Reassembler::new(ReassemblyLimits {
                max_parts: 8,
                max_message_bytes: 1024,
                max_pending_messages: 1,
                max_pending_bytes: 1024,
                ttl: Duration::from_secs(5),
            });
            let now = Instant::now();
            let mut done = None;
            for f in &frames {
                let sum: u32 = f.header("sum").unwrap().parse().unwrap();
                let seq: u32 = f.header("seq").unwrap().parse().unwrap();
                if let Fragment::Complete(p) = r.offer("m", sum, seq, f.payload_bytes(), now) {
                    done = Some(p);
                }
            }
            prop_assert_eq!(done, Some(payload));
        }
    }
}
