//! Bounded fragment reassembly, §5.1. Fragments of one logical message share `message_id`; each
//! carries its 0-based index `seq` out of `sum`. Payloads are concatenated in `seq` order.
//!
//! Unlike the SDKs this cache is bounded: a hostile or broken peer cannot grow memory past
//! [`ReassemblyLimits`]. A completed entry is evicted at once (the Node SDK's behaviour): a
//! repeated fragment after completion starts a new set instead of re-dispatching the old one;
//! redeliveries are caught by event dedupe, not here. Time is passed in, never read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Hard bounds on reassembly state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Largest accepted `sum`.
    pub max_parts: u32,
    /// Largest accepted total size of one message's payload.
    pub max_message_bytes: usize,
    /// Most incomplete messages held at once; the oldest is dropped to make room.
    pub max_pending_messages: usize,
    /// Most bytes held over all incomplete messages; the oldest are dropped to make room.
    pub max_pending_bytes: usize,
    /// An incomplete message is dropped this long after its last fragment (refreshed by each
    /// fragment, as in Go/Python).
    pub ttl: Duration,
}

/// Result of offering one fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    /// The message is complete: here is its payload. The fragment just offered completed it.
    Complete(Vec<u8>),
    /// More fragments are needed.
    Pending,
    /// The fragment was refused (and any partial state for its message dropped).
    Rejected(RejectReason),
}

/// Why a fragment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("fragment metadata invalid: sum={sum} seq={seq}")]
    BadMetadata { sum: u32, seq: u32 },
    #[error("sum changed from {was} to {now} within one message")]
    SumChanged { was: u32, now: u32 },
    #[error("sum {sum} exceeds the limit of {limit} parts")]
    TooManyParts { sum: u32, limit: u32 },
    #[error("message exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("fragment seq {seq} was already received")]
    Duplicate { seq: u32 },
}

struct Partial {
    sum: u32,
    parts: Vec<Option<Vec<u8>>>,
    received: u32,
    bytes: usize,
    last_touched: Instant,
    first_seen: u64,
}

/// The reassembly cache. Not thread-safe by design: one per session.
pub struct Reassembler {
    limits: ReassemblyLimits,
    pending: HashMap<String, Partial>,
    pending_bytes: usize,
    arrivals: u64,
    dropped: u64,
}

impl Reassembler {
    /// An empty cache.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembler {
            limits,
            pending: HashMap::new(),
            pending_bytes: 0,
            arrivals: 0,
            dropped: 0,
        }
    }

    /// Offers one fragment. `sum <= 1` means unfragmented and completes at once.
    pub fn offer(
        &mut self,
        message_id: &str,
        sum: u32,
        seq: u32,
        payload: &[u8],
        now: Instant,
    ) -> Fragment {
        self.offer_owned(message_id, sum, seq, payload.to_vec(), now)
    }

    /// [`Reassembler::offer`] taking the payload by value: an unfragmented message is handed
    /// back without a copy, and a fragment is stored as it is.
    pub fn offer_owned(
        &mut self,
        message_id: &str,
        sum: u32,
        seq: u32,
        payload: Vec<u8>,
        now: Instant,
    ) -> Fragment {
        self.expire(now);
        if payload.len() > self.limits.max_message_bytes {
            self.remove(message_id);
            return Fragment::Rejected(RejectReason::TooLarge {
                limit: self.limits.max_message_bytes,
            });
        }
        if sum <= 1 {
            if seq != 0 {
                return Fragment::Rejected(RejectReason::BadMetadata { sum, seq });
            }
            return Fragment::Complete(payload);
        }
        if seq >= sum {
            self.remove(message_id);
            return Fragment::Rejected(RejectReason::BadMetadata { sum, seq });
        }
        if sum > self.limits.max_parts {
            return Fragment::Rejected(RejectReason::TooManyParts {
                sum,
                limit: self.limits.max_parts,
            });
        }
        if let Some(entry) = self.pending.get(message_id) {
            if entry.sum != sum {
                let was = entry.sum;
                self.remove(message_id);
                return Fragment::Rejected(RejectReason::SumChanged { was, now: sum });
            }
            if entry.parts[seq as usize].is_some() {
                return Fragment::Rejected(RejectReason::Duplicate { seq });
            }
            if entry.bytes + payload.len() > self.limits.max_message_bytes {
                self.remove(message_id);
                return Fragment::Rejected(RejectReason::TooLarge {
                    limit: self.limits.max_message_bytes,
                });
            }
        }
        self.make_room(message_id, payload.len());
        if self.pending_bytes + payload.len() > self.limits.max_pending_bytes {
            // Only this message is left and it alone outgrows the pending budget (possible when
            // `max_pending_bytes` < `max_message_bytes`): drop it rather than break the bound.
            self.remove(message_id);
            return Fragment::Rejected(RejectReason::TooLarge {
                limit: self.limits.max_pending_bytes,
            });
        }
        self.arrivals += 1;
        let arrivals = self.arrivals;
        let entry = self
            .pending
            .entry(message_id.to_string())
            .or_insert_with(|| Partial {
                sum,
                parts: vec![None; sum as usize],
                received: 0,
                bytes: 0,
                last_touched: now,
                first_seen: arrivals,
            });
        let len = payload.len();
        entry.parts[seq as usize] = Some(payload);
        entry.received += 1;
        entry.bytes += len;
        entry.last_touched = now;
        self.pending_bytes += len;
        if entry.received < entry.sum {
            return Fragment::Pending;
        }
        let entry = self.pending.remove(message_id).expect("entry just touched");
        self.pending_bytes -= entry.bytes;
        let mut whole = Vec::with_capacity(entry.bytes);
        for part in entry.parts.into_iter().flatten() {
            whole.extend_from_slice(&part);
        }
        Fragment::Complete(whole)
    }

    /// Drops incomplete messages whose TTL has passed. Returns how many were dropped.
    pub fn expire(&mut self, now: Instant) -> usize {
        let ttl = self.limits.ttl;
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.last_touched) >= ttl)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &expired {
            self.remove(key);
        }
        expired.len()
    }

    /// Incomplete messages held now.
    pub fn pending_messages(&self) -> usize {
        self.pending.len()
    }

    /// Bytes held now over all incomplete messages.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Incomplete messages dropped so far (expired, evicted for room, or invalidated).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn remove(&mut self, message_id: &str) {
        if let Some(p) = self.pending.remove(message_id) {
            self.pending_bytes -= p.bytes;
            self.dropped += 1;
        }
    }

    /// Evicts the oldest other incomplete messages until one more fragment of `incoming` bytes fits.
    fn make_room(&mut self, message_id: &str, incoming: usize) {
        let is_new = !self.pending.contains_key(message_id);
        while (is_new && self.pending.len() >= self.limits.max_pending_messages)
            || self.pending_bytes + incoming > self.limits.max_pending_bytes
        {
            let oldest = self
                .pending
                .iter()
                .filter(|(k, _)| k.as_str() != message_id)
                .min_by_key(|(_, p)| p.first_seen)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(key) => self.remove(&key),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ReassemblyLimits {
        ReassemblyLimits {
            max_parts: 8,
            max_message_bytes: 64,
            max_pending_messages: 2,
            max_pending_bytes: 48,
            ttl: Duration::from_secs(5),
        }
    }

    #[test]
    fn out_of_order_fragments_complete_once_in_seq_order() {
        let mut r = Reassembler::new(limits());
        let t = Instant::now();
        assert_eq!(r.offer("m", 3, 2, b"c", t), Fragment::Pending);
        assert_eq!(r.offer("m", 3, 0, b"a", t), Fragment::Pending);
        assert_eq!(
            r.offer("m", 3, 1, b"b", t),
            Fragment::Complete(b"abc".to_vec())
        );
        assert_eq!(r.pending_messages(), 0);
        assert_eq!(r.pending_bytes(), 0);
    }

    #[test]
    fn ttl_is_refreshed_by_each_fragment_and_expiry_drops() {
        let mut r = Reassembler::new(limits());
        let t = Instant::now();
        r.offer("m", 3, 0, b"a", t);
        r.offer("m", 3, 1, b"b", t + Duration::from_secs(4));
        assert_eq!(r.expire(t + Duration::from_secs(8)), 0);
        assert_eq!(
            r.offer("m", 3, 2, b"c", t + Duration::from_secs(10)),
            Fragment::Pending
        );
        assert_eq!(r.dropped(), 1);
    }

    #[test]
    fn bad_metadata_and_limits_are_rejected() {
        let mut r = Reassembler::new(limits());
        let t = Instant::now();
        assert!(matches!(
            r.offer("m", 2, 2, b"a", t),
            Fragment::Rejected(RejectReason::BadMetadata { .. })
        ));
        assert!(matches!(
            r.offer("m", 9, 0, b"a", t),
            Fragment::Rejected(RejectReason::TooManyParts { .. })
        ));
        r.offer("n", 2, 0, b"a", t);
        assert!(matches!(
            r.offer("n", 3, 1, b"a", t),
            Fragment::Rejected(RejectReason::SumChanged { .. })
        ));
        assert_eq!(r.pending_messages(), 0);
        assert!(matches!(
            r.offer("big", 1, 0, &[0; 65], t),
            Fragment::Rejected(RejectReason::TooLarge { .. })
        ));
    }

    #[test]
    fn a_message_larger_than_the_pending_budget_is_rejected_not_held() {
        let l = ReassemblyLimits {
            max_parts: 10,
            max_message_bytes: 256,
            max_pending_messages: 4,
            max_pending_bytes: 96,
            ttl: Duration::from_secs(5),
        };
        let mut r = Reassembler::new(l);
        let t = Instant::now();
        assert!(matches!(r.offer("m", 8, 0, &[0; 22], t), Fragment::Pending));
        assert!(matches!(r.offer("m", 8, 2, &[0; 39], t), Fragment::Pending));
        assert!(matches!(
            r.offer("m", 8, 1, &[0; 36], t),
            Fragment::Rejected(RejectReason::TooLarge { limit: 96 })
        ));
        assert_eq!(r.pending_bytes(), 0);
        assert_eq!(r.pending_messages(), 0);
    }

    #[test]
    fn pending_state_is_bounded_by_evicting_the_oldest() {
        let mut r = Reassembler::new(limits());
        let t = Instant::now();
        r.offer("a", 2, 0, &[0; 20], t);
        r.offer("b", 2, 0, &[0; 20], t);
        r.offer("c", 2, 0, &[0; 20], t);
        assert_eq!(r.pending_messages(), 2);
        assert!(r.pending_bytes() <= 48);
        assert_eq!(
            r.offer("a", 2, 1, b"x", t),
            Fragment::Pending,
            "a was evicted and starts over"
        );
    }
}
