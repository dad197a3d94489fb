//! The emulator's shared state: settings that can change at run time, live connections, issued
//! tickets and tokens, and the record logs. One mutex guards it all; it is never held across an
//! `.await`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::{mpsc, watch, Notify};

use super::config::{
    EmulatorConfig, EndpointAnswer, Fault, HandshakeAnswer, PongMode, PushOptions, RawMessage,
};
use super::delivery::DeliveryEntry;
use super::records::{
    AckRecord, ConnectionInfo, DeliveryId, EndpointRequestRecord, NonAckRecord, OpenApiCall,
    PingRecord, SentMessage,
};
use crate::limits;

/// What a connection task is asked to do.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// Send these bytes as one binary message (an encoded frame).
    Frame(Vec<u8>),
    /// Send this verbatim.
    Raw(RawMessage),
    /// End the connection this way.
    Fault(Fault),
}

/// A live connection as the state sees it.
pub(crate) struct LiveConnection {
    pub info: ConnectionInfo,
    pub tx: mpsc::UnboundedSender<Outbound>,
}

/// A one-time connection ticket minted by an endpoint answer.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub device_id: String,
    pub service_id: i32,
    pub issued: Instant,
}

/// Everything mutable.
pub(crate) struct State {
    pub config: EmulatorConfig,
    pub pong_mode: PongMode,
    pub endpoint_script: VecDeque<EndpointAnswer>,
    pub endpoint_then: EndpointAnswer,
    pub handshake_script: VecDeque<HandshakeAnswer>,
    pub handshake_then: HandshakeAnswer,

    pub tickets: HashMap<String, Ticket>,
    pub ticket_order: VecDeque<String>,
    pub tokens: HashMap<String, Instant>,
    pub current_token: Option<(String, Instant)>,

    pub connections: BTreeMap<u64, LiveConnection>,
    /// Upgrades being accepted: counted against the limit before they are live.
    pub pending_upgrades: usize,
    pub next_connection: u64,
    pub connections_total: u64,
    /// RFC 6455 pongs received from clients.
    pub ws_pongs_received: u64,

    pub deliveries: BTreeMap<DeliveryId, DeliveryEntry>,
    pub active: BTreeSet<DeliveryId>,
    /// When to look at a delivery again (send when due, or time out an attempt); min-heap.
    pub timers: BinaryHeap<Reverse<(Instant, DeliveryId)>>,
    /// Due deliveries that found no connection, in push order.
    pub blocked: VecDeque<DeliveryId>,
    pub message_index: HashMap<String, DeliveryId>,
    pub next_delivery: u64,
    pub next_seq_id: u64,
    pub next_log_id: u64,

    pub endpoint_requests: VecDeque<EndpointRequestRecord>,
    pub pings: VecDeque<PingRecord>,
    pub acks: VecDeque<AckRecord>,
    pub acks_ok_total: u64,
    /// Acks thrown away by [`super::Emulator::set_ack_loss`] (never matched to a delivery).
    pub acks_lost_total: u64,
    /// Probability that an arriving ack is thrown away (0 = none).
    pub ack_loss: f64,
    pub non_acks: VecDeque<NonAckRecord>,
    pub openapi_calls: VecDeque<OpenApiCall>,
    /// Messages created by send and reply (bounded log).
    pub sent_messages: VecDeque<SentMessage>,
    /// Send/reply `uuid`s seen within the last hour: when, and the first request's answer.
    pub message_uuids: HashMap<String, (Instant, serde_json::Value)>,
    /// Send/reply arrivals per receiver, judged against Feishu's per-receiver limit.
    pub send_limit: crate::send_limit::SendLimit,
    /// Send/reply arrivals of the app, judged against its per-second and per-minute limits.
    pub app_limit: crate::rate_limits::AppLimit,
    /// CardKit operations per card, judged against the per-card limit.
    pub card_limit: crate::rate_limits::CardLimit,
    /// Send/reply requests answered 429 (code 99991400) for exceeding a limit.
    pub rate_limited_sends: u64,
    /// Card operations answered 429 for exceeding the per-card limit.
    pub rate_limited_card_ops: u64,
    /// Files accepted by the upload APIs (bounded log).
    pub uploads: VecDeque<super::uploads::UploadRecord>,
    /// Deferred card updates accepted (bounded log), and the tokens they used.
    pub card_updates: VecDeque<super::cards::CardUpdateRecord>,
    pub card_tokens: super::cards::CardTokens,
    /// CardKit card entities by id (bounded; the oldest is dropped first).
    pub cards: HashMap<String, super::cards::CardRecord>,
    /// Send/reply requests answered from `message_uuids` instead of creating a message.
    pub duplicate_messages_suppressed: u64,
}

impl State {
    pub fn new(config: EmulatorConfig) -> Self {
        let app_send_limits = config.app_send_limits;
        State {
            config,
            pong_mode: PongMode::Config,
            endpoint_script: VecDeque::new(),
            endpoint_then: EndpointAnswer::Ok,
            handshake_script: VecDeque::new(),
            handshake_then: HandshakeAnswer::Accept,
            tickets: HashMap::new(),
            ticket_order: VecDeque::new(),
            tokens: HashMap::new(),
            current_token: None,
            connections: BTreeMap::new(),
            pending_upgrades: 0,
            next_connection: 1,
            connections_total: 0,
            ws_pongs_received: 0,
            deliveries: BTreeMap::new(),
            active: BTreeSet::new(),
            timers: BinaryHeap::new(),
            blocked: VecDeque::new(),
            message_index: HashMap::new(),
            next_delivery: 1,
            next_seq_id: 1,
            next_log_id: 1,
            endpoint_requests: VecDeque::new(),
            pings: VecDeque::new(),
            acks: VecDeque::new(),
            acks_ok_total: 0,
            acks_lost_total: 0,
            ack_loss: 0.0,
            non_acks: VecDeque::new(),
            openapi_calls: VecDeque::new(),
            sent_messages: VecDeque::new(),
            message_uuids: HashMap::new(),
            send_limit: Default::default(),
            app_limit: crate::rate_limits::AppLimit::new(app_send_limits),
            card_limit: Default::default(),
            rate_limited_sends: 0,
            rate_limited_card_ops: 0,
            uploads: VecDeque::new(),
            card_updates: VecDeque::new(),
            card_tokens: Default::default(),
            cards: HashMap::new(),
            duplicate_messages_suppressed: 0,
        }
    }

    /// Mints a one-time ticket for a new URL.
    pub fn mint_ticket(&mut self, now: Instant) -> (String, Ticket) {
        self.expire_tickets(now);
        let mut rng = rand::thread_rng();
        let ticket = Ticket {
            device_id: rng.gen_range(1u64 << 62..u64::MAX).to_string(),
            service_id: self.config.service_id,
            issued: now,
        };
        let id = uuid_like(&mut rng);
        while self.ticket_order.len() >= limits::MAX_OUTSTANDING_TICKETS {
            if let Some(old) = self.ticket_order.pop_front() {
                self.tickets.remove(&old);
            }
        }
        self.tickets.insert(id.clone(), ticket.clone());
        self.ticket_order.push_back(id.clone());
        (id, ticket)
    }

    /// Takes a ticket: valid once.
    pub fn take_ticket(&mut self, id: &str, now: Instant) -> Option<Ticket> {
        self.expire_tickets(now);
        let ticket = self.tickets.remove(id)?;
        self.ticket_order.retain(|t| t != id);
        Some(ticket)
    }

    fn expire_tickets(&mut self, now: Instant) {
        while let Some(front) = self.ticket_order.front() {
            // (not `Option::is_none_or`: the workspace declares Rust 1.80)
            let fresh = matches!(
                self.tickets.get(front),
                Some(t) if now.duration_since(t.issued) <= limits::TICKET_TTL
            );
            if fresh {
                break;
            }
            let id = self.ticket_order.pop_front().expect("front exists");
            self.tickets.remove(&id);
        }
    }

    /// Issues a tenant_access_token, reusing the current one while more than a quarter of its
    /// lifetime remains (Feishu reuses it while more than 30 of 120 minutes remain, §9.1).
    /// Returns the token and its remaining lifetime.
    pub fn issue_token(&mut self, now: Instant) -> (String, Duration) {
        let ttl = self.config.tenant_token_ttl;
        self.tokens.retain(|_, expiry| *expiry > now);
        if let Some((token, expiry)) = &self.current_token {
            let left = expiry.saturating_duration_since(now);
            if left > ttl / 4 {
                return (token.clone(), left);
            }
        }
        let token = format!("t-{}", random_hex(&mut rand::thread_rng(), 40));
        let expiry = now + ttl;
        self.tokens.insert(token.clone(), expiry);
        self.current_token = Some((token.clone(), expiry));
        (token, ttl)
    }

    /// Whether this token was issued here and has not expired.
    pub fn token_valid(&self, token: &str, now: Instant) -> bool {
        self.tokens.get(token).is_some_and(|expiry| *expiry > now)
    }

    /// Live connections plus upgrades in progress.
    pub fn occupied_slots(&self) -> usize {
        self.connections.len() + self.pending_upgrades
    }
}

/// Shared between the handle and every task.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Bumped on every recorded change, so waiters can re-check their condition.
    changes: watch::Sender<u64>,
    /// Wakes the delivery engine.
    pub engine: Notify,
    /// When the emulator started (the zero of the control API's timestamps).
    pub started: Instant,
    /// Port of the WebSocket gateway, put into endpoint URLs.
    pub gateway_port: u16,
}

impl Shared {
    pub fn new(config: EmulatorConfig, gateway_port: u16) -> Self {
        Shared {
            state: Mutex::new(State::new(config)),
            changes: watch::Sender::new(0),
            engine: Notify::new(),
            started: Instant::now(),
            gateway_port,
        }
    }

    /// Locks the state. A panic while holding the lock cannot leave it unusable here: the
    /// state stays consistent record by record, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells waiters that something changed.
    pub fn changed(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A receiver that wakes on the next change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Queues a message for delivery and wakes the engine.
    pub fn push(&self, payload: Vec<u8>, opts: PushOptions) -> DeliveryId {
        self.push_many([(payload, opts)])[0]
    }

    /// Queues several messages in order (one lock, one wake-up) and returns their ids.
    pub fn push_many(
        &self,
        messages: impl IntoIterator<Item = (Vec<u8>, PushOptions)>,
    ) -> Vec<DeliveryId> {
        let now = Instant::now();
        let ids = {
            let mut state = self.lock();
            messages
                .into_iter()
                .map(|(payload, opts)| state.enqueue(payload, opts, now))
                .collect()
        };
        self.engine.notify_one();
        self.changed();
        ids
    }

    /// Sends a command to every live connection; returns how many got it.
    pub fn broadcast(&self, make: impl Fn() -> Outbound) -> usize {
        let state = self.lock();
        state
            .connections
            .values()
            .filter(|c| c.tx.send(make()).is_ok())
            .count()
    }

    /// Sends a command to one live connection; returns whether it exists.
    pub fn send_to(&self, connection: u64, command: Outbound) -> bool {
        self.lock()
            .connections
            .get(&connection)
            .is_some_and(|c| c.tx.send(command).is_ok())
    }

    /// Runs `check` until it returns `Some`, re-checking after each change, up to `timeout`.
    pub async fn wait_until<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.subscribe();
        loop {
            if let Some(found) = check(&self.lock()) {
                return Some(found);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return check(&self.lock()),
            }
        }
    }
}

/// Appends to a record log, dropping the oldest entry past [`limits::MAX_RECORDS`].
pub(crate) fn push_bounded<T>(log: &mut VecDeque<T>, item: T) {
    if log.len() >= limits::MAX_RECORDS {
        log.pop_front();
    }
    log.push_back(item);
}

/// Lower-case hex of `len` random nibbles.
pub(crate) fn random_hex(rng: &mut impl Rng, len: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(len);
    let mut bits = 0u64;
    for i in 0..len {
        // One 64-bit draw gives 16 digits (the delivery engine makes two ids per event).
        if i % 16 == 0 {
            bits = rng.gen();
        }
        out.push(HEX[(bits & 0xf) as usize] as char);
        bits >>= 4;
    }
    out
}

/// A random UUID-shaped string (8-4-4-4-12 hex).
pub(crate) fn uuid_like(rng: &mut impl Rng) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        random_hex(rng, 8),
        random_hex(rng, 4),
        random_hex(rng, 4),
        random_hex(rng, 4),
        random_hex(rng, 12)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_one_time() {
        let mut s = State::new(EmulatorConfig::default());
        let now = Instant::now();
        let (id, t) = s.mint_ticket(now);
        assert_eq!(t.service_id, crate::limits::SERVICE_ID);
        assert!(s.take_ticket(&id, now).is_some());
        assert!(s.take_ticket(&id, now).is_none());
        assert!(s.take_ticket("nope", now).is_none());
    }

    #[test]
    fn tickets_expire() {
        let mut s = State::new(EmulatorConfig::default());
        let now = Instant::now();
        let (id, _) = s.mint_ticket(now);
        let later = now + crate::limits::TICKET_TTL + Duration::from_secs(1);
        assert!(s.take_ticket(&id, later).is_none());
    }

    #[test]
    fn tokens_are_reused_while_fresh_and_expire() {
        let mut s = State::new(EmulatorConfig {
            tenant_token_ttl: Duration::from_secs(100),
            ..Default::default()
        });
        let now = Instant::now();
        let (a, ttl) = s.issue_token(now);
        assert_eq!(ttl, Duration::from_secs(100));
        assert!(a.starts_with("t-"));
        let (b, left) = s.issue_token(now + Duration::from_secs(10));
        assert_eq!(a, b);
        assert_eq!(left, Duration::from_secs(90));
        let (c, _) = s.issue_token(now + Duration::from_secs(80));
        assert_ne!(a, c);
        assert!(s.token_valid(&a, now + Duration::from_secs(99)));
        assert!(!s.token_valid(&a, now + Duration::from_secs(100)));
        assert!(!s.token_valid("t-forged", now));
    }

    #[test]
    fn random_hex_has_the_length_asked_and_varies() {
        let mut rng = rand::thread_rng();
        for len in [0, 4, 15, 16, 17, 32, 40] {
            let h = random_hex(&mut rng, len);
            assert_eq!(h.len(), len);
            assert!(h
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
        let ids: std::collections::HashSet<_> =
            (0..1000).map(|_| random_hex(&mut rng, 32)).collect();
        assert_eq!(ids.len(), 1000);
        // Every digit appears in every position over many draws (no stuck nibble).
        let many: Vec<String> = (0..2000).map(|_| random_hex(&mut rng, 32)).collect();
        for pos in 0..32 {
            let seen: std::collections::HashSet<u8> =
                many.iter().map(|h| h.as_bytes()[pos]).collect();
            assert_eq!(seen.len(), 16, "position {pos}");
        }
    }

    #[test]
    fn record_logs_are_bounded() {
        let mut log = VecDeque::new();
        for i in 0..limits::MAX_RECORDS + 5 {
            push_bounded(&mut log, i);
        }
        assert_eq!(log.len(), limits::MAX_RECORDS);
        assert_eq!(log.front(), Some(&5));
    }
}
