//! Turning inbound WebSocket messages into what the session must do: nothing, apply a pong, or
//! dispatch a complete event. Counts and logs every skipped message; no socket, no clock (time
//! is passed in), so it is tested without a network.

use std::sync::Arc;
use std::time::Instant;

use crate::limits;
use crate::protocol::headers::{MESSAGE_ID, SEQ, SUM, TRACE_ID};
use crate::protocol::reassembly::{Fragment, Reassembler};
use crate::protocol::{decode_frame, Frame, FrameType, MessageType};

use super::stats::{ConnectionStats, Counter};

/// What the session should do with one inbound message.
#[derive(Debug)]
pub(crate) enum Action {
    /// Nothing (skipped, counted, or a fragment of an incomplete message).
    None,
    /// A pong arrived: apply its payload.
    Pong(Frame),
    /// A whole `type=event` message: parse `payload` and dispatch; ack with a copy of `completing`.
    Complete {
        /// The reassembled payload.
        payload: Vec<u8>,
        /// The fragment that completed the message (the ack is built from it, §5.1).
        completing: Frame,
    },
}

/// Per-session inbound state: the reassembly cache and the once-per-session card warning.
pub(crate) struct Inbound {
    reassembler: Reassembler,
    seen_dropped: u64,
    card_warned: bool,
    stats: Arc<ConnectionStats>,
}

impl Inbound {
    pub(crate) fn new(stats: Arc<ConnectionStats>) -> Self {
        Inbound {
            reassembler: Reassembler::new(limits::reassembly_limits()),
            seen_dropped: 0,
            card_warned: false,
            stats,
        }
    }

    /// A text WebSocket message: junk for this protocol (§2). Skipped; the connection stays up.
    pub(crate) fn on_text(&mut self, len: usize) -> Action {
        self.stats.incr(Counter::text_messages_skipped);
        tracing::warn!(
            bytes = len,
            "skipping a text WebSocket message (the protocol is binary only)"
        );
        Action::None
    }

    /// A binary WebSocket message: one `pbbp2.Frame`.
    pub(crate) fn on_binary(&mut self, bytes: &[u8], now: Instant) -> Action {
        let frame = match decode_frame(bytes) {
            Ok(f) => f,
            Err(e) => {
                self.stats.incr(Counter::undecodable_frames);
                tracing::warn!(bytes = bytes.len(), error = %e, "skipping an undecodable frame");
                return Action::None;
            }
        };
        self.stats.incr(Counter::frames_received);
        match frame.frame_type() {
            Some(FrameType::Control) => self.on_control(frame),
            Some(FrameType::Data) => self.on_data(frame, now),
            None => {
                // Go and Node ignore unknown methods silently, Python/Java log; we count and log.
                self.unknown(&frame, "unknown method");
                Action::None
            }
        }
    }

    /// Drops incomplete messages whose TTL has passed (called on a timer).
    pub(crate) fn sweep(&mut self, now: Instant) {
        let expired = self.reassembler.expire(now);
        if expired > 0 {
            tracing::warn!(
                expired,
                "dropped incomplete fragmented messages (TTL passed); the server will redeliver them"
            );
        }
        self.count_drops();
    }

    fn on_control(&mut self, frame: Frame) -> Action {
        match frame.message_type() {
            Some(MessageType::Pong) => {
                self.stats.incr(Counter::pongs_received);
                Action::Pong(frame)
            }
            // A ping sent to a client is ignored by every SDK (§3.5).
            Some(MessageType::Ping) => {
                tracing::debug!("ignoring a ping frame from the server");
                Action::None
            }
            _ => {
                self.unknown(&frame, "unknown control type");
                Action::None
            }
        }
    }

    fn on_data(&mut self, frame: Frame, now: Instant) -> Action {
        match frame.message_type() {
            Some(MessageType::Event) => self.on_event_fragment(frame, now),
            Some(MessageType::Card) => {
                // Every SDK returns without dispatching or acking (§3.5); we follow them, because
                // new-style callbacks (card.action.trigger) arrive as type=event once the callback
                // subscription uses long-connection mode, and a card frame means it does not.
                self.stats.incr(Counter::card_frames_ignored);
                if !self.card_warned {
                    self.card_warned = true;
                    tracing::warn!(
                        message_id = frame.header(MESSAGE_ID).unwrap_or(""),
                        "ignoring a legacy type=card frame (not acked); switch the app's callback \
                         subscription to long-connection mode so card callbacks arrive as type=event \
                         (card.action.trigger). Logged once per connection."
                    );
                }
                Action::None
            }
            _ => {
                self.unknown(&frame, "unknown data type");
                Action::None
            }
        }
    }

    fn on_event_fragment(&mut self, mut frame: Frame, now: Instant) -> Action {
        // Missing sum/seq are treated as 1/0, as Go does (Python/Java drop the frame): an
        // unfragmented event without them is still a valid event.
        let sum = parse_number(frame.header(SUM), 1);
        let seq = parse_number(frame.header(SEQ), 0);
        let (Some(sum), Some(seq)) = (sum, seq) else {
            return self.drop_fragment(&frame, "sum or seq is not a number");
        };
        let message_id = match frame.header(MESSAGE_ID) {
            Some(id) => id.to_string(),
            // Without a message_id fragments cannot be matched; a whole message needs none.
            None if sum <= 1 => String::new(),
            None => return self.drop_fragment(&frame, "fragment without message_id"),
        };
        // The payload moves out of the frame (the frame stays as the ack's template).
        let payload = frame.payload.take().unwrap_or_default();
        let outcome = self
            .reassembler
            .offer_owned(&message_id, sum, seq, payload, now);
        let action = match outcome {
            Fragment::Complete(payload) => Action::Complete {
                payload,
                completing: frame,
            },
            Fragment::Pending => Action::None,
            Fragment::Rejected(reason) => {
                let reason = reason.to_string();
                self.drop_fragment(&frame, &reason)
            }
        };
        self.count_drops();
        action
    }

    fn drop_fragment(&mut self, frame: &Frame, reason: &str) -> Action {
        self.stats.incr(Counter::fragments_dropped);
        tracing::warn!(
            message_id = frame.header(MESSAGE_ID).unwrap_or(""),
            trace_id = frame.header(TRACE_ID).unwrap_or(""),
            sum = frame.header(SUM).unwrap_or(""),
            seq = frame.header(SEQ).unwrap_or(""),
            reason,
            "dropping an event fragment (not acked; the server will redeliver)"
        );
        Action::None
    }

    fn unknown(&self, frame: &Frame, what: &str) {
        self.stats.incr(Counter::unknown_frames);
        tracing::warn!(
            method = frame.method,
            r#type = frame.header(crate::protocol::headers::TYPE).unwrap_or(""),
            "skipping a frame with an {what} (not acked)"
        );
    }

    /// Adds incomplete messages the reassembler dropped since the last call.
    fn count_drops(&mut self) {
        let dropped = self.reassembler.dropped();
        self.stats
            .add(Counter::fragments_dropped, dropped - self.seen_dropped);
        self.seen_dropped = dropped;
    }
}

/// A decimal header; `default` when absent, `None` when present but not a number.
fn parse_number(value: Option<&str>, default: u32) -> Option<u32> {
    match value {
        None => Some(default),
        Some(v) => v.trim().parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{encode_frame, Header};

    fn data(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
        encode_frame(&Frame {
            seq_id: 1,
            log_id: 2,
            service: 3,
            method: 1,
            headers: headers.iter().map(|(k, v)| Header::new(*k, *v)).collect(),
            payload: Some(payload.to_vec()),
            ..Default::default()
        })
    }

    fn inbound() -> (Inbound, Arc<ConnectionStats>) {
        let stats = ConnectionStats::new();
        (Inbound::new(stats.clone()), stats)
    }

    #[test]
    fn junk_is_counted_and_skipped() {
        let (mut ib, stats) = inbound();
        let now = Instant::now();
        assert!(matches!(ib.on_text(3), Action::None));
        assert!(matches!(
            ib.on_binary(&[0xff, 0xff, 0xff], now),
            Action::None
        ));
        let mut unknown_method = Frame {
            method: 7,
            ..Default::default()
        };
        unknown_method.push_header("type", "event");
        assert!(matches!(
            ib.on_binary(&encode_frame(&unknown_method), now),
            Action::None
        ));
        assert!(matches!(
            ib.on_binary(&data(&[("type", "weird")], b"{}"), now),
            Action::None
        ));
        assert!(matches!(ib.on_binary(&data(&[], b"{}"), now), Action::None));
        assert!(matches!(
            ib.on_binary(&data(&[("type", "card")], b"{}"), now),
            Action::None
        ));
        assert!(matches!(
            ib.on_binary(&data(&[("type", "card")], b"{}"), now),
            Action::None
        ));
        let s = stats.snapshot();
        assert_eq!(s.text_messages_skipped, 1);
        assert_eq!(s.undecodable_frames, 1);
        assert_eq!(s.unknown_frames, 3);
        assert_eq!(s.card_frames_ignored, 2);
        assert_eq!(s.frames_received, 5);
    }

    #[test]
    fn missing_sum_seq_and_message_id_mean_a_whole_message() {
        let (mut ib, _) = inbound();
        match ib.on_binary(&data(&[("type", "event")], b"{\"a\":1}"), Instant::now()) {
            Action::Complete {
                payload,
                completing,
            } => {
                assert_eq!(payload, b"{\"a\":1}");
                assert_eq!(completing.seq_id, 1);
            }
            other => panic!("expected a complete message, got {other:?}"),
        }
    }

    #[test]
    fn fragments_without_message_id_or_with_bad_numbers_are_dropped() {
        let (mut ib, stats) = inbound();
        let now = Instant::now();
        let a = ib.on_binary(
            &data(&[("type", "event"), ("sum", "2"), ("seq", "0")], b"x"),
            now,
        );
        assert!(matches!(a, Action::None));
        let b = ib.on_binary(&data(&[("type", "event"), ("sum", "two")], b"x"), now);
        assert!(matches!(b, Action::None));
        assert_eq!(stats.snapshot().fragments_dropped, 2);
    }

    #[test]
    fn out_of_order_fragments_complete_on_the_last_arrival_and_expiry_is_counted() {
        let (mut ib, stats) = inbound();
        let now = Instant::now();
        let frag = |seq: &str, body: &[u8]| {
            data(
                &[
                    ("type", "event"),
                    ("message_id", "m"),
                    ("sum", "3"),
                    ("seq", seq),
                ],
                body,
            )
        };
        assert!(matches!(ib.on_binary(&frag("2", b"c"), now), Action::None));
        assert!(matches!(ib.on_binary(&frag("0", b"a"), now), Action::None));
        match ib.on_binary(&frag("1", b"b"), now) {
            Action::Complete {
                payload,
                completing,
            } => {
                assert_eq!(payload, b"abc");
                assert_eq!(completing.header("seq"), Some("1"));
            }
            other => panic!("expected completion, got {other:?}"),
        }
        // An incomplete message expires on the sweep.
        assert!(matches!(ib.on_binary(&frag("0", b"a"), now), Action::None));
        ib.sweep(now + limits::REASSEMBLY_TTL + std::time::Duration::from_millis(1));
        assert_eq!(stats.snapshot().fragments_dropped, 1);
    }

    #[test]
    fn pongs_are_counted_and_returned() {
        let (mut ib, stats) = inbound();
        let pong =
            crate::protocol::control::pong_frame(&crate::protocol::control::ping_frame(5), None);
        assert!(matches!(
            ib.on_binary(&encode_frame(&pong), Instant::now()),
            Action::Pong(_)
        ));
        assert_eq!(stats.snapshot().pongs_received, 1);
    }
}
