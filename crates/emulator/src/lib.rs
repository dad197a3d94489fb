//! The Feishu side of the long connection, on 127.0.0.1, for tests, the demo and benchmarks.
//! It speaks the protocol of `docs/protocol.md` (§n below; usage: `docs/emulator.md`) well enough
//! that the official Python and Node SDKs run against it unmodified
//! (`tests/tests/official_sdks.rs`).
//!
//! # What it serves
//!
//! Two ports on 127.0.0.1: an HTTP port ([`Emulator::domain`], what clients use as their
//! domain) and a WebSocket gateway port (only ever reached through the URLs the endpoint hands
//! out).
//!
//! HTTP port:
//! - `POST /callback/ws/endpoint` (§1): checks `AppID`/`AppSecret`, answers per
//!   [`Emulator::set_endpoint_answers`] (default: code 0, a one-time
//!   `ws://127.0.0.1:P/ws/v2?fpid=493&aid=552564&device_id=…&access_key=…&service_id=…&ticket=…`
//!   URL and all four ClientConfig keys). Wrong credentials: code 10003 with `"data": {}`.
//! - `POST /open-apis/auth/v3/tenant_access_token/internal`,
//!   `POST /open-apis/im/v1/messages?receive_id_type=…`,
//!   `POST /open-apis/im/v1/messages/{message_id}/reply` (§9): validated stubs, recorded in
//!   [`Emulator::openapi_calls`]. Bad token: 99991663; missing token: 99991661; invalid body:
//!   99992402. Send and reply honour `uuid` as Feishu does: a uuid already used within 1 hour
//!   gets the first request's answer and creates no message (counted in
//!   [`Emulator::duplicate_messages_suppressed`]); created messages are in
//!   [`Emulator::sent_messages`]. More than Feishu's 5 sends per second to one receiver (a
//!   reply: to one parent message), or more than the app's 50 per second or 1,000 per minute
//!   ([`EmulatorConfig::app_send_limits`]), are answered HTTP 429, code 99991400, with
//!   `x-ogw-ratelimit-reset` ([`Emulator::rate_limited_sends`]). Any other request to the HTTP port (outside the endpoint and
//!   the control API) is recorded there too and answered 404, so nothing a client sends to
//!   the wrong place goes unseen.
//! - The dev console at `/_console/` ([`console`]): a page embedded in the binary, and its
//!   small API under `/_console/api/`.
//! - The control API under `/_emulator/` (JSON; times are milliseconds since start):
//!
//! | request | effect / answer |
//! |---|---|
//! | `POST /_emulator/events[?fragments=N&type=card&connection=ID&redeliver=false]`, body = envelope | queue a push; `{"delivery": id}` |
//! | `GET /_emulator/acks` | every ack: connection, code, data (UTF-8), biz_rt, message_id, delivery, headers |
//! | `GET /_emulator/deliveries` | every push: id, event_id, type, status, acked, last_code, attempts |
//! | `GET /_emulator/state` | live connections, totals of connections, pings, endpoint requests, acks, junk |
//! | `POST /_emulator/ack-loss`, body `{"rate":0.5}` | throw away that share of later acks (redelivery storm); `{"rate": r}` |
//! | `POST /_emulator/fault`, body `{"kind":"close","code":1000}` / `{"kind":"abrupt"}` / `{"kind":"drop"}` | fault every live connection; `{"connections": n}` |
//! | `GET /_emulator/openapi-calls` | every OpenAPI call: method, path, query, body |
//! | `GET /_emulator/messages` | `{"messages": [...], "duplicates_suppressed": n}`: every message send/reply created (message_id, reply_to, receive_id_type, receive_id, msg_type, content, uuid) |
//! | `GET /_emulator/cards` | every CardKit card: card_id, created_at_ms, card (current JSON), ops (at_ms, kind, element_id, value, sequence) |
//! | `GET /_emulator/card-updates` | every deferred card update accepted (at_ms, token, card) |
//! | `GET /_emulator/uploads` | every file the upload APIs accepted (at_ms, path, key, fields, file_field, file_name, bytes, sha256) |
//!
//! Gateway port: `GET /ws/v2?…&ticket=…` upgrades (§2) if the ticket is fresh (one-time) and
//! fewer than `max_connections` are live (else `Handshake-Status: 514`,
//! `Handshake-Autherrcode: 1000040350`); scripted refusals via
//! [`Emulator::set_handshake_answers`]. On a connection: every `ping` frame is recorded and
//! answered per [`PongMode`]; data frames from the client are acks, matched to deliveries by
//! `message_id`; anything else is recorded as junk ([`Emulator::received_non_acks`]) and never
//! ends the connection.
//!
//! # Delivery (§5, §7)
//!
//! [`Emulator::push`] queues a message; each attempt goes to one uniformly random live
//! connection (cluster mode) with a fresh `message_id`, headers `type, message_id, sum, seq,
//! trace_id` plus extras, split into fragments above `fragment_size`. Without a code-200 ack
//! within `ack_timeout × scale` (or with a 500), it is sent again after the next ladder step ×
//! scale, at most `ladder.len()` times. `type=card` expects no ack. With no live connection a
//! message waits; it is never dropped.
//!
//! # CLI
//!
//! `aviary emulator` runs all this until SIGINT/SIGTERM; see [`cli::EmulatorArgs`] for flags.
//! It prints `emulator listening on http://127.0.0.1:PORT` on stdout first; logs go to stderr
//! (`RUST_LOG` respected).

mod cards;
pub mod cli;
pub mod config;
pub mod console;
mod control;
mod delivery;
mod endpoint;
mod gateway;
pub mod limits;
mod openapi;
mod rate_limits;
pub mod records;
mod send_limit;
mod state;
#[cfg(test)]
mod tests;
mod uploads;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::routing::{any, get};
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use cards::{CardOp, CardRecord, CardUpdateRecord};
pub use config::{
    AppSendLimits, EmulatorConfig, EndpointAnswer, Fault, HandshakeAnswer, PongMode, PushOptions,
    RawMessage, RedeliveryPolicy,
};
pub use console::Sample;
pub use endpoint::CODE_WRONG_CREDENTIALS;
pub use gateway::{AUTH_INVALID_TICKET, WS_PATH};
pub use openapi::BOT_OPEN_ID;
pub use records::{
    AckRecord, AttemptOutcome, AttemptRecord, ConnectionInfo, DeliveryId, DeliveryRecord,
    DeliveryStatus, EndpointRequestRecord, NonAck, NonAckRecord, OpenApiCall, PingRecord,
    SentMessage,
};
pub use uploads::UploadRecord;

use aviary_protocol::endpoint::ENDPOINT_PATH;
use aviary_protocol::{ClientConfig, ClientConfigUpdate};
use state::{Outbound, Shared};

/// A running emulator. Dropping it (or [`Emulator::shutdown`]) stops every task and closes
/// both ports; live connections get a 1001 close.
pub struct Emulator {
    shared: Arc<Shared>,
    console: console::Console,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    http_addr: SocketAddr,
    gateway_addr: SocketAddr,
}

impl Emulator {
    /// Starts on free ports of 127.0.0.1.
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<Emulator> {
        Self::start_on(config, 0, 0).await
    }

    /// Starts on the given ports of 127.0.0.1 (0 = pick a free one).
    pub async fn start_on(
        config: EmulatorConfig,
        http_port: u16,
        gateway_port: u16,
    ) -> anyhow::Result<Emulator> {
        let http = TcpListener::bind(("127.0.0.1", http_port))
            .await
            .with_context(|| format!("binding the HTTP port 127.0.0.1:{http_port}"))?;
        let gateway = TcpListener::bind(("127.0.0.1", gateway_port))
            .await
            .with_context(|| format!("binding the gateway port 127.0.0.1:{gateway_port}"))?;
        let http_addr = http.local_addr()?;
        let gateway_addr = gateway.local_addr()?;
        let shared = Arc::new(Shared::new(config, gateway_addr.port()));
        let cancel = CancellationToken::new();

        let console = console::Console::default();
        let router = Router::new()
            .route(ENDPOINT_PATH, any(endpoint::handle))
            .route(
                "/open-apis/*rest",
                any(openapi::handle).layer(axum::extract::DefaultBodyLimit::max(
                    limits::MAX_OPENAPI_BODY_BYTES,
                )),
            )
            .nest("/_emulator", control::router())
            .route("/_console/", get(console::index))
            .nest("/_console", console::router(Arc::clone(&console)))
            // Every other request is recorded as an OpenAPI call too (and answered 404), so a
            // test sees any request that escaped `/open-apis/`.
            .fallback(openapi::handle)
            .with_state(Arc::clone(&shared));
        let http_cancel = cancel.clone();
        let http_task = tokio::spawn(async move {
            let served = axum::serve(http, router)
                .with_graceful_shutdown(http_cancel.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "emulator HTTP server failed");
            }
        });
        let gateway_task = tokio::spawn(gateway::run_gateway(
            gateway,
            Arc::clone(&shared),
            cancel.clone(),
        ));
        let engine_task = tokio::spawn(delivery::run_engine(Arc::clone(&shared), cancel.clone()));
        tracing::info!(%http_addr, %gateway_addr, "emulator started");
        Ok(Emulator {
            shared,
            console,
            cancel,
            tasks: vec![http_task, gateway_task, engine_task],
            http_addr,
            gateway_addr,
        })
    }

    /// `http://127.0.0.1:PORT`: what clients use as their domain.
    pub fn domain(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `http://127.0.0.1:PORT/_console/`: the dev console ([`console`]).
    pub fn console_url(&self) -> String {
        format!("{}/_console/", self.domain())
    }

    /// The sample events the console's composer offers.
    pub fn set_console_samples(&self, samples: Vec<Sample>) {
        console::set_samples(&self.console, samples);
    }

    /// Address of the HTTP port.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Address of the WebSocket gateway.
    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway_addr
    }

    /// Pushes an event envelope with default options (one random connection, redelivered).
    pub fn push_event(&self, envelope: &serde_json::Value) -> DeliveryId {
        self.push(envelope.to_string().into_bytes(), PushOptions::default())
    }

    /// Pushes any payload bytes with full control over the frames.
    pub fn push(&self, payload: Vec<u8>, opts: PushOptions) -> DeliveryId {
        self.shared.push(payload, opts)
    }

    /// Pushes a burst at once, in order (one lock and one wake-up for all of them); returns
    /// the delivery ids in the same order.
    pub fn push_many(
        &self,
        messages: impl IntoIterator<Item = (Vec<u8>, PushOptions)>,
    ) -> Vec<DeliveryId> {
        self.shared.push_many(messages)
    }

    /// Sends a message verbatim to every live connection; returns how many.
    pub fn send_raw(&self, msg: RawMessage) -> usize {
        self.shared.broadcast(|| Outbound::Raw(msg.clone()))
    }

    /// Sends a message verbatim to one connection; false if it is not live.
    pub fn send_raw_to(&self, connection: u64, msg: RawMessage) -> bool {
        self.shared.send_to(connection, Outbound::Raw(msg))
    }

    /// Ends every live connection this way; returns how many.
    pub fn fault(&self, fault: Fault) -> usize {
        self.shared.broadcast(|| Outbound::Fault(fault))
    }

    /// Ends one connection this way; false if it is not live.
    pub fn fault_connection(&self, connection: u64, fault: Fault) -> bool {
        self.shared.send_to(connection, Outbound::Fault(fault))
    }

    /// The next endpoint requests get `script` in order, then `then` forever. Requests with
    /// wrong credentials always get [`EndpointAnswer::WrongCredentials`] and consume nothing.
    pub fn set_endpoint_answers(&self, script: Vec<EndpointAnswer>, then: EndpointAnswer) {
        let mut state = self.shared.lock();
        state.endpoint_script = script.into();
        state.endpoint_then = then;
    }

    /// The next upgrade requests get `script` in order, then `then` forever.
    pub fn set_handshake_answers(&self, script: Vec<HandshakeAnswer>, then: HandshakeAnswer) {
        let mut state = self.shared.lock();
        state.handshake_script = script.into();
        state.handshake_then = then;
    }

    /// How later pings are answered.
    pub fn set_pong_mode(&self, mode: PongMode) {
        self.shared.lock().pong_mode = mode;
    }

    /// The ClientConfig of later endpoint answers and pongs.
    pub fn set_client_config(&self, config: ClientConfig) {
        self.shared.lock().config.client_config = config;
    }

    /// The `service_id` of later endpoint URLs.
    pub fn set_service_id(&self, id: i32) {
        self.shared.lock().config.service_id = id;
    }

    /// The redelivery policy for attempts sent from now on.
    pub fn set_redelivery(&self, policy: RedeliveryPolicy) {
        self.shared.lock().config.redelivery = policy;
    }

    /// The connection limit for later upgrades.
    pub fn set_max_connections(&self, max: usize) {
        self.shared.lock().config.max_connections = max;
    }

    /// The ClientConfig currently sent, as the wire object with all four keys.
    pub fn client_config_update(&self) -> ClientConfigUpdate {
        ClientConfigUpdate::full(&self.shared.lock().config.client_config)
    }

    /// Every endpoint request so far (bounded log).
    pub fn endpoint_requests(&self) -> Vec<EndpointRequestRecord> {
        self.shared
            .lock()
            .endpoint_requests
            .iter()
            .cloned()
            .collect()
    }

    /// Waits until at least `n` endpoint requests were recorded.
    pub async fn wait_for_endpoint_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<EndpointRequestRecord>> {
        self.wait("endpoint requests", n, timeout, |s| {
            (s.endpoint_requests.len() >= n).then(|| s.endpoint_requests.iter().cloned().collect())
        })
        .await
    }

    /// Live connections, by id.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let state = self.shared.lock();
        state.connections.values().map(|c| c.info.clone()).collect()
    }

    /// Upgrades accepted since start.
    pub fn connections_total(&self) -> u64 {
        self.shared.lock().connections_total
    }

    /// RFC 6455 pongs received from clients (answers to [`RawMessage::Ping`]).
    pub fn ws_pongs_received(&self) -> u64 {
        self.shared.lock().ws_pongs_received
    }

    /// Waits until at least `n` connections are live.
    pub async fn wait_for_connections(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        self.wait("live connections", n, timeout, |s| {
            (s.connections.len() >= n).then_some(())
        })
        .await
    }

    /// Every protocol ping received (bounded log).
    pub fn pings(&self) -> Vec<PingRecord> {
        self.shared.lock().pings.iter().cloned().collect()
    }

    /// Waits until at least `n` pings were received.
    pub async fn wait_for_pings(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<PingRecord>> {
        self.wait("pings", n, timeout, |s| {
            (s.pings.len() >= n).then(|| s.pings.iter().cloned().collect())
        })
        .await
    }

    /// Every ack received (bounded log).
    pub fn acks(&self) -> Vec<AckRecord> {
        self.shared.lock().acks.iter().cloned().collect()
    }

    /// Waits until at least `n` acks were received; returns all of them.
    pub async fn wait_for_acks(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<AckRecord>> {
        self.wait("acks", n, timeout, |s| {
            (s.acks.len() >= n).then(|| s.acks.iter().cloned().collect())
        })
        .await
    }

    /// Code-200 acks received since start (not bounded by the log).
    pub fn acks_ok_total(&self) -> u64 {
        self.shared.lock().acks_ok_total
    }

    /// From now on, throw away each arriving ack with probability `rate` (0..=1), as if it were
    /// lost or late: the attempt times out and the event is redelivered (a redelivery storm).
    pub fn set_ack_loss(&self, rate: f64) {
        self.shared.lock().ack_loss = rate.clamp(0.0, 1.0);
    }

    /// Acks thrown away by [`Emulator::set_ack_loss`] so far.
    pub fn acks_lost_total(&self) -> u64 {
        self.shared.lock().acks_lost_total
    }

    /// Every pushed message with its attempts, by id.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        let state = self.shared.lock();
        state
            .deliveries
            .values()
            .map(|d| d.record.clone())
            .collect()
    }

    /// One pushed message.
    pub fn delivery(&self, id: DeliveryId) -> Option<DeliveryRecord> {
        self.shared
            .lock()
            .deliveries
            .get(&id)
            .map(|d| d.record.clone())
    }

    /// Waits until the delivery has left the waiting/in-flight states (acked, failed or sent).
    pub async fn wait_for_delivery(
        &self,
        id: DeliveryId,
        timeout: Duration,
    ) -> anyhow::Result<DeliveryRecord> {
        self.shared
            .wait_until(timeout, |s| {
                s.deliveries
                    .get(&id)
                    .map(|d| &d.record)
                    .filter(|r| {
                        !matches!(r.status, DeliveryStatus::Waiting | DeliveryStatus::InFlight)
                    })
                    .cloned()
            })
            .await
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "delivery {id} not finished after {timeout:?}: {:?}",
                    self.delivery(id)
                )
            })
    }

    /// Everything clients sent that is neither a ping nor an ack (bounded log).
    pub fn received_non_acks(&self) -> Vec<NonAckRecord> {
        self.shared.lock().non_acks.iter().cloned().collect()
    }

    /// Every OpenAPI call (bounded log).
    pub fn openapi_calls(&self) -> Vec<OpenApiCall> {
        self.shared.lock().openapi_calls.iter().cloned().collect()
    }

    /// Every request recorded besides the client's own token fetches, as
    /// (method, `path?query`): what a client's callers made it send.
    pub fn requests_besides_tokens(&self) -> Vec<(String, String)> {
        self.shared
            .lock()
            .openapi_calls
            .iter()
            .filter(|c| !(c.method == "POST" && c.path == openapi::TENANT_TOKEN_PATH))
            .map(|c| {
                let target = match c.query.as_str() {
                    "" => c.path.clone(),
                    q => format!("{}?{q}", c.path),
                };
                (c.method.clone(), target)
            })
            .collect()
    }

    /// Every message created by the send and reply stubs, in order (bounded log). A request
    /// whose `uuid` was already used within the last hour creates none (see
    /// [`Emulator::duplicate_messages_suppressed`]).
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.shared.lock().sent_messages.iter().cloned().collect()
    }

    /// How many send/reply requests carried a `uuid` already used within the last hour and so
    /// were answered with the first request's answer instead of creating a message.
    pub fn duplicate_messages_suppressed(&self) -> u64 {
        self.shared.lock().duplicate_messages_suppressed
    }

    /// How many send/reply requests were answered HTTP 429 / code 99991400 because their
    /// receiver (chat or user of a send, parent message of a reply) already had Feishu's limit
    /// of messages within the last second, or the app its limit per second or per minute.
    pub fn rate_limited_sends(&self) -> u64 {
        self.shared.lock().rate_limited_sends
    }

    /// Every CardKit card entity, oldest first, with its current JSON and operations.
    pub fn cards(&self) -> Vec<CardRecord> {
        let mut cards: Vec<CardRecord> = self.shared.lock().cards.values().cloned().collect();
        cards.sort_by_key(|c| c.created_at);
        cards
    }

    /// Every deferred card update accepted (`interactive/v1/card/update`), oldest first.
    pub fn card_updates(&self) -> Vec<CardUpdateRecord> {
        self.shared.lock().card_updates.iter().cloned().collect()
    }

    /// Every file the upload APIs accepted (`im/v1/images`, `im/v1/files`), oldest first.
    pub fn uploads(&self) -> Vec<UploadRecord> {
        self.shared.lock().uploads.iter().cloned().collect()
    }

    /// How many CardKit operations on a card (`/open-apis/cardkit/v1/cards/{card_id}/…`) were
    /// answered HTTP 429 / code 99991400 because the card already had Feishu's 10 within the
    /// last second.
    pub fn rate_limited_card_ops(&self) -> u64 {
        self.shared.lock().rate_limited_card_ops
    }

    /// Stops every task, closes the ports, and waits (briefly) for the tasks to end.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for task in self.tasks.drain(..) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(3), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    async fn wait<T>(
        &self,
        what: &str,
        n: usize,
        timeout: Duration,
        check: impl FnMut(&state::State) -> Option<T>,
    ) -> anyhow::Result<T> {
        match self.shared.wait_until(timeout, check).await {
            Some(found) => Ok(found),
            None => {
                let state = self.shared.lock();
                anyhow::bail!(
                    "timed out after {timeout:?} waiting for {n} {what}; now: {} live connections \
                     ({} ever), {} endpoint requests, {} pings, {} acks, {} junk messages",
                    state.connections.len(),
                    state.connections_total,
                    state.endpoint_requests.len(),
                    state.pings.len(),
                    state.acks.len(),
                    state.non_acks.len()
                )
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.cancel.cancel();
        for task in &self.tasks {
            task.abort();
        }
    }
}
