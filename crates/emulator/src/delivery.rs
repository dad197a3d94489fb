//! Event delivery (§5, §7): each pushed message is sent to one random live connection (cluster
//! mode), split into fragments when large, with a fresh `message_id` per attempt; acks are
//! matched by `message_id`; a missing, late or non-200 ack leads to redelivery on the
//! [`RedeliveryPolicy`](super::RedeliveryPolicy) ladder. Messages wait (never dropped) while no
//! connection is live.
//!
//! The logic is synchronous methods on [`State`] with time passed in; [`run_engine`] is the thin
//! task that calls [`State::step`] whenever something is due or changed.

use std::cmp::Reverse;
use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use super::config::PushOptions;
use super::records::{
    AckRecord, AttemptOutcome, AttemptRecord, DeliveryId, DeliveryRecord, DeliveryStatus, NonAck,
    NonAckRecord,
};
use super::state::{push_bounded, random_hex, Outbound, Shared, State};
use crate::limits;
use aviary_protocol::ack::parse_ack_payload;
use aviary_protocol::envelope::event_id_of;
use aviary_protocol::fragment::{fragment_count, fragment_frames, DataMessage};
use aviary_protocol::headers::{BIZ_RT, MESSAGE_ID};
use aviary_protocol::{encode_frame, Frame, MessageType};

/// One pushed message with what is needed to (re)send it.
pub(crate) struct DeliveryEntry {
    pub record: DeliveryRecord,
    payload: Arc<Vec<u8>>,
    opts: PushOptions,
    retries_done: usize,
    phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Send when `due` has passed and a connection is live.
    Waiting { due: Instant },
    /// Sent as `message_id`; failed unless acked by `deadline`.
    InFlight {
        message_id: String,
        deadline: Instant,
    },
    /// Nothing more to do.
    Done,
}

impl State {
    /// Queues a message for delivery. It is sent by the next [`State::step`].
    pub(crate) fn enqueue(
        &mut self,
        payload: Vec<u8>,
        opts: PushOptions,
        now: Instant,
    ) -> DeliveryId {
        self.evict_finished_deliveries();
        let id = DeliveryId(self.next_delivery);
        self.next_delivery += 1;
        let event_id = event_id_of(&payload);
        let record = DeliveryRecord {
            id,
            event_id,
            message_type: opts.message_type,
            attempts: Vec::new(),
            acked: false,
            last_code: None,
            status: DeliveryStatus::Waiting,
        };
        self.deliveries.insert(
            id,
            DeliveryEntry {
                record,
                payload: Arc::new(payload),
                opts,
                retries_done: 0,
                phase: Phase::Waiting { due: now },
            },
        );
        self.active.insert(id);
        self.schedule(now, id);
        id
    }

    /// Keeps the delivery log bounded by forgetting the oldest finished deliveries.
    fn evict_finished_deliveries(&mut self) {
        while self.deliveries.len() >= limits::MAX_RECORDS {
            let Some(old) = self
                .deliveries
                .keys()
                .copied()
                .find(|id| !self.active.contains(id))
            else {
                return;
            };
            if let Some(entry) = self.deliveries.remove(&old) {
                for attempt in &entry.record.attempts {
                    self.message_index.remove(&attempt.message_id);
                }
            }
        }
    }

    /// Times out overdue attempts and sends every due message that can be sent now. Returns
    /// the next instant at which something becomes due (None: only a new connection, push or
    /// ack can change anything).
    ///
    /// Work is proportional to what came due, not to what is outstanding: timers sit in a heap
    /// (stale ones, whose delivery moved on, are skipped), and due messages that found no
    /// connection wait in `blocked`, in push order, until one is live. A burst of 100k events
    /// therefore costs O(n log n), not O(n²).
    pub(crate) fn step(&mut self, now: Instant, rng: &mut impl Rng) -> Option<Instant> {
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            match self.deliveries.get(&id).map(|e| &e.phase) {
                Some(Phase::InFlight { deadline, .. }) if *deadline == at => {
                    self.fail_attempt(id, AttemptOutcome::TimedOut, now);
                }
                Some(Phase::Waiting { due }) if *due == at => self.blocked.push_back(id),
                _ => {} // stale: acked, failed or rescheduled since
            }
        }
        if !self.connections.is_empty() && self.send_due(now, rng) {
            return Some(now); // more to send: step again after letting acks in
        }
        self.next_wake()
    }

    /// Sends due messages in push order, at most [`limits::SEND_BATCH`] per call, so the
    /// state lock is released between slices of a large burst and acks are matched while it
    /// goes out. Messages that cannot be sent now (their connection is gone) keep their place.
    /// Returns whether sendable messages are left for another call.
    fn send_due(&mut self, now: Instant, rng: &mut impl Rng) -> bool {
        let mut unsent = Vec::new();
        let mut sent = 0;
        while sent < limits::SEND_BATCH {
            let Some(id) = self.blocked.pop_front() else {
                break;
            };
            if self.try_send(id, now, rng) {
                sent += 1;
            } else {
                unsent.push(id);
            }
        }
        let more = sent == limits::SEND_BATCH && !self.blocked.is_empty();
        for id in unsent.into_iter().rev() {
            self.blocked.push_front(id);
        }
        more
    }

    /// Schedules `id` to be looked at when `at` comes.
    fn schedule(&mut self, at: Instant, id: DeliveryId) {
        self.timers.push(Reverse((at, id)));
    }

    /// The earliest live timer, dropping stale ones from the top of the heap.
    fn next_wake(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            let live = match self.deliveries.get(&id).map(|e| &e.phase) {
                Some(Phase::InFlight { deadline, .. }) => *deadline == at,
                Some(Phase::Waiting { due }) => *due == at,
                _ => false,
            };
            if live {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    /// Sends one attempt if a suitable connection is live. Returns whether it was sent.
    fn try_send(&mut self, id: DeliveryId, now: Instant, rng: &mut impl Rng) -> bool {
        let Some(entry) = self.deliveries.get(&id) else {
            return false;
        };
        let opts = entry.opts.clone();
        let payload = Arc::clone(&entry.payload);
        let connection = match opts.connection {
            Some(c) if self.connections.contains_key(&c) => c,
            Some(_) => return false,
            None if self.connections.is_empty() => return false,
            None => {
                let index = rng.gen_range(0..self.connections.len());
                *self.connections.keys().nth(index).expect("index in range")
            }
        };
        let parts = opts
            .fragments
            .unwrap_or_else(|| fragment_count(payload.len(), self.config.fragment_size))
            .max(1);
        let seq_id = opts.seq_id.unwrap_or_else(|| {
            let s = self.next_seq_id;
            self.next_seq_id += parts as u64;
            s
        });
        let log_id = opts.log_id.unwrap_or_else(|| {
            let l = self.next_log_id;
            self.next_log_id += 1;
            l
        });
        let message_id = random_hex(rng, 32);
        let trace_id = random_hex(rng, 32);
        let live = &self.connections[&connection];
        let mut frames = fragment_frames(
            &DataMessage {
                message_type: opts.message_type,
                message_id: &message_id,
                trace_id: &trace_id,
                service: live.info.service_id,
                seq_id,
                log_id,
                extra_headers: &opts.extra_headers,
            },
            &payload,
            parts,
        );
        for frame in &mut frames {
            frame
                .headers
                .retain(|h| !opts.omit_headers.contains(&h.key));
        }
        let mut sent: Vec<Frame> = match &opts.fragment_order {
            Some(order) => order
                .iter()
                .filter_map(|&i| frames.get(i).cloned())
                .collect(),
            None => frames,
        };
        for frame in &mut sent {
            if live.tx.send(Outbound::Frame(encode_frame(frame))).is_err() {
                // The connection task is gone; it unregisters itself and wakes the engine.
                return false;
            }
            frame.payload = None;
        }
        tracing::debug!(delivery = %id, connection, %message_id, fragments = sent.len(), "sent");
        let expects_ack = opts.message_type == MessageType::Event;
        let ack_timeout = self.config.redelivery.scaled_ack_timeout();
        self.message_index.insert(message_id.clone(), id);
        let entry = self.deliveries.get_mut(&id).expect("checked above");
        entry.record.attempts.push(AttemptRecord {
            message_id: message_id.clone(),
            connection,
            sent_at: now,
            frames: sent,
            outcome: if expects_ack {
                AttemptOutcome::Pending
            } else {
                AttemptOutcome::NoAckExpected
            },
        });
        if expects_ack {
            let deadline = now + ack_timeout;
            entry.phase = Phase::InFlight {
                message_id,
                deadline,
            };
            entry.record.status = DeliveryStatus::InFlight;
            self.schedule(deadline, id);
        } else {
            entry.phase = Phase::Done;
            entry.record.status = DeliveryStatus::Sent;
            self.active.remove(&id);
        }
        true
    }

    /// Marks the in-flight attempt failed and schedules the next retry, or gives up.
    fn fail_attempt(&mut self, id: DeliveryId, outcome: AttemptOutcome, now: Instant) {
        let policy = self.config.redelivery.clone();
        let Some(entry) = self.deliveries.get_mut(&id) else {
            return;
        };
        if let Some(last) = entry.record.attempts.last_mut() {
            last.outcome = outcome;
        }
        let delay = if entry.opts.redeliver {
            policy.next_retry_delay(entry.retries_done)
        } else {
            None
        };
        match delay {
            Some(delay) => {
                entry.retries_done += 1;
                entry.phase = Phase::Waiting { due: now + delay };
                entry.record.status = DeliveryStatus::Waiting;
                tracing::info!(delivery = %id, ?outcome, ?delay, "attempt failed; redelivering later");
                self.schedule(now + delay, id);
            }
            None => {
                entry.phase = Phase::Done;
                entry.record.status = DeliveryStatus::Failed;
                self.active.remove(&id);
                tracing::warn!(delivery = %id, ?outcome, "attempt failed; giving up");
            }
        }
    }

    /// Handles a data frame from a client: an ack if its payload parses as one (recorded and
    /// matched to its delivery by `message_id`), junk otherwise. Returns whether the engine
    /// must look again (a failed attempt scheduled a redelivery); a 200 ack only completes its
    /// delivery, whose timer is then skipped as stale.
    #[must_use]
    pub(crate) fn on_data_frame(&mut self, connection: u64, frame: Frame, now: Instant) -> bool {
        let (code, data) = match parse_ack_payload(frame.payload_bytes()) {
            Ok(parsed) => parsed,
            Err(reason) => {
                tracing::warn!(connection, %reason, "data frame from client is not an ack");
                push_bounded(
                    &mut self.non_acks,
                    NonAckRecord {
                        connection,
                        at: now,
                        kind: NonAck::UnexpectedFrame { frame, reason },
                    },
                );
                return false;
            }
        };
        if self.ack_loss > 0.0 && rand::random::<f64>() < self.ack_loss {
            // A lost (or hopelessly late) ack: the attempt times out and is redelivered.
            self.acks_lost_total += 1;
            tracing::debug!(connection, "ack thrown away (ack loss)");
            return false;
        }
        let message_id = frame.header(MESSAGE_ID).unwrap_or("").to_string();
        let biz_rt = frame.header(BIZ_RT).map(str::to_string);
        let delivery = self.message_index.get(&message_id).copied();
        if code == 200 {
            self.acks_ok_total += 1;
        }
        tracing::debug!(connection, %message_id, code, ?delivery, "ack");
        push_bounded(
            &mut self.acks,
            AckRecord {
                connection,
                at: now,
                frame,
                code,
                data,
                biz_rt,
                message_id: message_id.clone(),
                delivery,
            },
        );
        let Some(id) = delivery else {
            return false;
        };
        let Some(entry) = self.deliveries.get_mut(&id) else {
            return false;
        };
        entry.record.last_code = Some(code);
        let in_time = matches!(
            &entry.phase,
            Phase::InFlight { message_id: m, deadline } if *m == message_id && now <= *deadline
        );
        if !in_time {
            return false; // late or repeated: recorded only
        }
        if code == 200 {
            if let Some(last) = entry.record.attempts.last_mut() {
                last.outcome = AttemptOutcome::Acked;
            }
            entry.record.acked = true;
            entry.record.status = DeliveryStatus::Acked;
            entry.phase = Phase::Done;
            self.active.remove(&id);
            false
        } else {
            self.fail_attempt(id, AttemptOutcome::Failed(code), now);
            true
        }
    }
}

/// The delivery task: steps the state whenever something is due or changed.
pub(crate) async fn run_engine(shared: Arc<Shared>, cancel: CancellationToken) {
    let mut rng = StdRng::from_entropy();
    loop {
        let now = Instant::now();
        let next = shared.lock().step(now, &mut rng);
        shared.changed();
        if next.is_some_and(|at| at <= now) {
            // A burst is going out in slices: let the gateway's tasks run in between.
            tokio::task::yield_now().await;
            continue;
        }
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = shared.engine.notified() => {}
            _ = sleep => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EmulatorConfig, RedeliveryPolicy};
    use crate::records::ConnectionInfo;
    use crate::state::LiveConnection;
    use aviary_protocol::ack::{build_ack, AckBody};
    use aviary_protocol::decode_frame;
    use std::time::Duration;
    use tokio::sync::mpsc;

    fn state() -> State {
        State::new(EmulatorConfig {
            fragment_size: 8,
            redelivery: RedeliveryPolicy {
                ack_timeout: Duration::from_secs(3),
                ladder: vec![Duration::from_secs(15), Duration::from_secs(300)],
                scale: 1.0,
                enabled: true,
            },
            ..Default::default()
        })
    }

    fn connect(s: &mut State, id: u64) -> mpsc::UnboundedReceiver<Outbound> {
        let (tx, rx) = mpsc::unbounded_channel();
        s.connections.insert(
            id,
            LiveConnection {
                info: ConnectionInfo {
                    id,
                    device_id: "d".into(),
                    service_id: 7,
                    connected_at: Instant::now(),
                },
                tx,
            },
        );
        rx
    }

    fn frames(rx: &mut mpsc::UnboundedReceiver<Outbound>) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Ok(Outbound::Frame(bytes)) = rx.try_recv() {
            out.push(decode_frame(&bytes).unwrap());
        }
        out
    }

    const ENVELOPE: &[u8] =
        br#"{"schema":"2.0","header":{"event_id":"ev1","event_type":"im.message.receive_v1"},"event":{}}"#;

    #[test]
    fn waits_for_a_connection_then_sends_fragments_in_the_given_order() {
        let mut s = state();
        let mut rng = StdRng::seed_from_u64(1);
        let now = Instant::now();
        let id = s.enqueue(
            ENVELOPE.to_vec(),
            PushOptions {
                fragments: Some(3),
                fragment_order: Some(vec![2, 0, 1]),
                extra_headers: vec![("timestamp".into(), "1".into())],
                omit_headers: vec!["trace_id".into()],
                ..Default::default()
            },
            now,
        );
        assert_eq!(s.step(now, &mut rng), None, "no connection: nothing due");
        assert_eq!(s.deliveries[&id].record.event_id.as_deref(), Some("ev1"));
        let mut rx = connect(&mut s, 1);
        let deadline = s.step(now, &mut rng).unwrap();
        assert_eq!(deadline, now + Duration::from_secs(3));
        let sent = frames(&mut rx);
        let seqs: Vec<_> = sent.iter().map(|f| f.header("seq").unwrap()).collect();
        assert_eq!(seqs, ["2", "0", "1"]);
        let keys: Vec<_> = sent[0].headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, ["type", "message_id", "sum", "seq", "timestamp"]);
        assert_eq!(sent[0].service, 7);
        let whole: Vec<u8> = [&sent[1], &sent[2], &sent[0]]
            .iter()
            .flat_map(|f| f.payload_bytes().to_vec())
            .collect();
        assert_eq!(whole, ENVELOPE);
    }

    #[test]
    fn large_payloads_are_split_at_fragment_size() {
        let mut s = state();
        let mut rng = StdRng::seed_from_u64(2);
        let mut rx = connect(&mut s, 1);
        let now = Instant::now();
        s.enqueue(ENVELOPE.to_vec(), PushOptions::default(), now);
        s.step(now, &mut rng);
        let sent = frames(&mut rx);
        assert_eq!(sent.len(), ENVELOPE.len().div_ceil(8));
        assert!(sent.iter().all(|f| f.payload_bytes().len() <= 8));
    }

    #[test]
    fn ack_200_in_time_completes_and_late_or_500_redelivers() {
        let mut s = state();
        let mut rng = StdRng::seed_from_u64(3);
        let mut rx = connect(&mut s, 1);
        let now = Instant::now();
        let ok = s.enqueue(ENVELOPE.to_vec(), PushOptions::default(), now);
        s.step(now, &mut rng);
        let sent = frames(&mut rx);
        let wake = s.on_data_frame(1, build_ack(&sent[sent.len() - 1], 1, &AckBody::Ok), now);
        assert!(
            !wake,
            "a 200 ack completes its delivery without waking the engine"
        );
        let record = &s.deliveries[&ok].record;
        assert!(record.acked);
        assert_eq!(record.status, DeliveryStatus::Acked);
        assert_eq!(s.acks.back().unwrap().delivery, Some(ok));

        // A 500 ack: retried after ladder[0] with a new message_id.
        let failing = s.enqueue(ENVELOPE.to_vec(), PushOptions::default(), now);
        s.step(now, &mut rng);
        let first = frames(&mut rx);
        let wake = s.on_data_frame(
            1,
            build_ack(first.last().unwrap(), 1, &AckBody::Failed),
            now,
        );
        assert!(
            wake,
            "a failed attempt schedules a redelivery the engine must see"
        );
        assert_eq!(
            s.deliveries[&failing].record.status,
            DeliveryStatus::Waiting
        );
        assert_eq!(s.step(now, &mut rng), Some(now + Duration::from_secs(15)));
        let t1 = now + Duration::from_secs(15);
        s.step(t1, &mut rng);
        let second = frames(&mut rx);
        assert_ne!(
            first[0].header("message_id"),
            second[0].header("message_id")
        );
        // No ack: times out, retried after ladder[1]; then the ladder is exhausted.
        let t2 = t1 + Duration::from_secs(3);
        assert_eq!(s.step(t2, &mut rng), Some(t2 + Duration::from_secs(300)));
        let t3 = t2 + Duration::from_secs(300);
        s.step(t3, &mut rng);
        assert_eq!(frames(&mut rx).len(), second.len());
        s.step(t3 + Duration::from_secs(3), &mut rng);
        let record = &s.deliveries[&failing].record;
        assert_eq!(record.status, DeliveryStatus::Failed);
        assert_eq!(
            record
                .attempts
                .iter()
                .map(|a| a.outcome)
                .collect::<Vec<_>>(),
            [
                AttemptOutcome::Failed(500),
                AttemptOutcome::TimedOut,
                AttemptOutcome::TimedOut
            ]
        );
        // A late ack is recorded but changes nothing.
        assert!(!s.on_data_frame(1, build_ack(second.last().unwrap(), 1, &AckBody::Ok), t3));
        assert!(!s.deliveries[&failing].record.acked);
        assert_eq!(s.acks.back().unwrap().delivery, Some(failing));
    }

    #[test]
    fn cards_expect_no_ack_and_junk_is_recorded() {
        let mut s = state();
        let mut rng = StdRng::seed_from_u64(4);
        let mut rx = connect(&mut s, 1);
        let now = Instant::now();
        let card = s.enqueue(
            b"{}".to_vec(),
            PushOptions {
                message_type: MessageType::Card,
                ..Default::default()
            },
            now,
        );
        assert_eq!(s.step(now, &mut rng), None);
        assert_eq!(frames(&mut rx)[0].header("type"), Some("card"));
        assert_eq!(s.deliveries[&card].record.status, DeliveryStatus::Sent);
        let junk = Frame {
            method: 1,
            payload: Some(b"not json".to_vec()),
            ..Default::default()
        };
        assert!(!s.on_data_frame(1, junk, now));
        assert_eq!(s.non_acks.len(), 1);
        assert!(s.acks.is_empty());
    }

    #[test]
    fn a_burst_goes_out_in_slices_and_a_message_for_a_gone_connection_keeps_its_place() {
        let mut s = state();
        let mut rng = StdRng::seed_from_u64(6);
        let mut rx = connect(&mut s, 1);
        let now = Instant::now();
        let stuck = s.enqueue(
            b"{}".to_vec(),
            PushOptions {
                connection: Some(9),
                ..Default::default()
            },
            now,
        );
        for _ in 0..limits::SEND_BATCH + 5 {
            s.enqueue(b"{}".to_vec(), PushOptions::default(), now);
        }
        assert_eq!(
            s.step(now, &mut rng),
            Some(now),
            "more to send: step again now"
        );
        assert_eq!(frames(&mut rx).len(), limits::SEND_BATCH);
        let next = s.step(now, &mut rng);
        assert_eq!(frames(&mut rx).len(), 5);
        assert_eq!(
            next,
            Some(now + Duration::from_secs(3)),
            "then the ack deadline"
        );
        assert_eq!(s.blocked.iter().copied().collect::<Vec<_>>(), [stuck]);
        assert_eq!(s.deliveries[&stuck].record.status, DeliveryStatus::Waiting);
        // The targeted connection appears: the waiting message goes out.
        let mut rx9 = connect(&mut s, 9);
        s.step(now, &mut rng);
        assert_eq!(frames(&mut rx9).len(), 1);
        assert!(s.blocked.is_empty());
    }

    #[test]
    fn cluster_mode_spreads_over_connections_and_targets_work() {
        let mut s = state();
        let mut rng = StdRng::seed_from_u64(5);
        let mut rx1 = connect(&mut s, 1);
        let mut rx2 = connect(&mut s, 2);
        let now = Instant::now();
        for _ in 0..40 {
            s.enqueue(b"{}".to_vec(), PushOptions::default(), now);
        }
        s.step(now, &mut rng);
        let (a, b) = (frames(&mut rx1).len(), frames(&mut rx2).len());
        assert_eq!(a + b, 40);
        assert!(a > 5 && b > 5, "{a} / {b}");
        s.enqueue(
            b"{}".to_vec(),
            PushOptions {
                connection: Some(2),
                ..Default::default()
            },
            now,
        );
        s.step(now, &mut rng);
        assert_eq!((frames(&mut rx1).len(), frames(&mut rx2).len()), (0, 1));
    }
}
