//! The WebSocket gateway (§2–§4): admits upgrades (one-time ticket, connection limit, scripted
//! refusals with `Handshake-*` headers), answers protocol pings with pongs, hands data frames
//! to the delivery logic, records junk, and carries out pushes, raw injections and faults.
//!
//! RFC 6455 pings are answered by tungstenite itself; permessage-deflate offers are declined by
//! not echoing the extension.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::SplitSink;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{
    Callback, ErrorResponse, Request, Response,
};
use tokio_tungstenite::tungstenite::http::{self, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use super::config::{Fault, HandshakeAnswer, PongMode, RawMessage};
use super::records::{ConnectionInfo, NonAck, NonAckRecord, PingRecord};
use super::state::{push_bounded, LiveConnection, Outbound, Shared, State};
use crate::limits;
use aviary_protocol::control::pong_frame;
use aviary_protocol::handshake::{
    AUTH_EXCEED_CONN_LIMIT, HANDSHAKE_AUTH_ERR_CODE, HANDSHAKE_MSG, HANDSHAKE_STATUS,
    STATUS_AUTH_FAILED,
};
use aviary_protocol::{
    decode_frame, encode_frame, ClientConfigUpdate, Frame, FrameType, MessageType,
};

/// Path of the gateway's WebSocket endpoint (as in production URLs).
pub const WS_PATH: &str = "/ws/v2";

/// `Handshake-Autherrcode` for an unknown or reused ticket. The real value is unknown; this one
/// is emulator-chosen and deliberately not 1000040350, so every SDK retries (§2).
pub const AUTH_INVALID_TICKET: i64 = 1000040351;

type Ws = WebSocketStream<TcpStream>;

/// Accepts TCP connections until cancelled.
pub(crate) async fn run_gateway(
    listener: TcpListener,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(handle_socket(stream, peer, Arc::clone(&shared), cancel.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "gateway accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// What the handshake callback decided for an admitted upgrade.
struct Admitted {
    device_id: String,
    service_id: i32,
}

async fn handle_socket(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let mut admitted: Option<Admitted> = None;
    let callback = Admission {
        shared: &shared,
        admitted: &mut admitted,
    };
    let config = WebSocketConfig {
        max_message_size: Some(limits::MAX_CLIENT_MESSAGE_BYTES),
        max_frame_size: Some(limits::MAX_CLIENT_MESSAGE_BYTES),
        ..Default::default()
    };
    let accepted = tokio::time::timeout(
        limits::UPGRADE_TIMEOUT,
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)),
    )
    .await;
    let ws = match accepted {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            release_slot(&shared, admitted.is_some());
            tracing::info!(%peer, error = %e, "upgrade not completed");
            return;
        }
        Err(_) => {
            release_slot(&shared, admitted.is_some());
            tracing::info!(%peer, "upgrade timed out");
            return;
        }
    };
    let Some(admitted) = admitted else {
        return; // cannot happen: a refused upgrade never yields a stream
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let id = {
        let mut state = shared.lock();
        state.pending_upgrades = state.pending_upgrades.saturating_sub(1);
        let id = state.next_connection;
        state.next_connection += 1;
        state.connections_total += 1;
        state.connections.insert(
            id,
            LiveConnection {
                info: ConnectionInfo {
                    id,
                    device_id: admitted.device_id.clone(),
                    service_id: admitted.service_id,
                    connected_at: Instant::now(),
                },
                tx,
            },
        );
        id
    };
    tracing::info!(connection = id, %peer, device_id = %admitted.device_id, "client connected");
    shared.changed();
    shared.engine.notify_one();

    serve(&shared, id, ws, rx, cancel).await;

    shared.lock().connections.remove(&id);
    tracing::info!(connection = id, "client disconnected");
    shared.changed();
    shared.engine.notify_one();
}

fn release_slot(shared: &Shared, admitted: bool) {
    if admitted {
        let mut state = shared.lock();
        state.pending_upgrades = state.pending_upgrades.saturating_sub(1);
    }
}

/// The handshake callback: runs [`admit`] and remembers what it admitted.
struct Admission<'a> {
    shared: &'a Shared,
    admitted: &'a mut Option<Admitted>,
}

impl Callback for Admission<'_> {
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        let admitted = admit(self.shared, request)?;
        *self.admitted = Some(admitted);
        Ok(response)
    }
}

/// Decides an upgrade: scripted answer, then the one-time ticket, then the connection limit.
#[allow(clippy::result_large_err)] // the error is tungstenite's response type, built once
fn admit(shared: &Shared, request: &Request) -> Result<Admitted, ErrorResponse> {
    if request.uri().path() != WS_PATH {
        return Err(refusal(404, None, None, Some("no such gateway path")));
    }
    let now = Instant::now();
    let mut state = shared.lock();
    let answer = state
        .handshake_script
        .pop_front()
        .unwrap_or_else(|| state.handshake_then.clone());
    if let HandshakeAnswer::Refuse {
        http_status,
        status,
        auth_code,
        msg,
    } = answer
    {
        tracing::info!(
            http_status,
            ?status,
            ?auth_code,
            "refusing upgrade (scripted)"
        );
        return Err(refusal(http_status, status, auth_code, msg.as_deref()));
    }
    let ticket = url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let Some(ticket) = state.take_ticket(&ticket, now) else {
        tracing::info!("refusing upgrade: unknown or reused ticket");
        return Err(refusal(
            401,
            Some(STATUS_AUTH_FAILED),
            Some(AUTH_INVALID_TICKET),
            Some("ticket is unknown, expired or already used"),
        ));
    };
    if state.occupied_slots() >= state.config.max_connections {
        tracing::info!(
            max = state.config.max_connections,
            "refusing upgrade: connection limit"
        );
        return Err(refusal(
            429,
            Some(STATUS_AUTH_FAILED),
            Some(AUTH_EXCEED_CONN_LIMIT),
            Some("exceed connection limit"),
        ));
    }
    state.pending_upgrades += 1;
    Ok(Admitted {
        device_id: ticket.device_id,
        service_id: ticket.service_id,
    })
}

/// A non-101 answer with the `Handshake-*` headers that are given.
fn refusal(
    http_status: u16,
    status: Option<i64>,
    auth_code: Option<i64>,
    msg: Option<&str>,
) -> ErrorResponse {
    let code = StatusCode::from_u16(http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = http::Response::builder().status(code);
    if let Some(status) = status {
        builder = builder.header(HANDSHAKE_STATUS, status.to_string());
    }
    if let Some(auth_code) = auth_code {
        builder = builder.header(HANDSHAKE_AUTH_ERR_CODE, auth_code.to_string());
    }
    if let Some(msg) = msg {
        // Header values must be visible ASCII; anything else is replaced.
        let clean: String = msg
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        builder = builder.header(HANDSHAKE_MSG, clean);
    }
    builder
        .body(msg.map(str::to_string))
        .unwrap_or_else(|_| http::Response::new(None))
}

/// How the writer half of a connection ended.
enum WriterEnd {
    /// The emulator is shutting down: close with 1001.
    Cancelled,
    /// A scripted fault ends the connection.
    Fault(Fault),
    /// The command queue closed or a write failed: just drop the socket.
    Stopped,
}

/// The connection loop: outbound commands and inbound messages until either side ends it.
///
/// Reading and writing run concurrently (split socket), as a real server's do: a write that
/// waits for a client whose receive buffer is full never stops the gateway from reading that
/// client's acks. With one loop that awaited each write, a client applying backpressure (it stops
/// reading while its handlers are busy, and each handler waits to queue its ack) and the
/// gateway (blocked writing, so not reading acks) waited on each other forever once both TCP
/// directions were full: a burst of 100k events stalled with no CPU in use.
async fn serve(
    shared: &Shared,
    id: u64,
    ws: Ws,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    cancel: CancellationToken,
) {
    let (mut sink, mut stream) = ws.split();
    let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let reader = async {
        let mut replies = Vec::new();
        loop {
            // The next message, then whatever is already buffered behind it (up to a batch),
            // handled together under one lock.
            let mut batch = Vec::new();
            let mut next = Some(stream.next().await);
            let mut end = false;
            while let Some(item) = next.take() {
                match item {
                    None => end = true,
                    Some(Err(e)) => {
                        tracing::info!(connection = id, error = %e, "read failed");
                        end = true;
                    }
                    Some(Ok(message)) => {
                        batch.push(message);
                        if batch.len() < limits::READ_BATCH_MESSAGES {
                            next = stream.next().now_or_never();
                        }
                    }
                }
            }
            if !batch.is_empty() {
                on_messages(shared, id, batch, &mut replies);
                for reply in replies.drain(..) {
                    let _ = reply_tx.send(reply);
                }
            }
            if end {
                return;
            }
        }
    };
    let writer = async {
        loop {
            let first = tokio::select! {
                biased;
                _ = cancel.cancelled() => return WriterEnd::Cancelled,
                reply = reply_rx.recv() => match reply {
                    Some(bytes) => Next::Send(Message::Binary(bytes)),
                    None => return WriterEnd::Stopped,
                },
                command = rx.recv() => match command {
                    None => return WriterEnd::Stopped,
                    Some(command) => Next::of(command),
                },
            };
            // Queue what is already waiting behind it (pongs first), then write it all with one
            // flush; a scripted fault still comes after everything queued before it.
            let written = tokio::select! {
                _ = cancel.cancelled() => return WriterEnd::Cancelled,
                written = write_batch(&mut sink, first, &mut reply_rx, &mut rx) => written,
            };
            match written {
                Ok(None) => {}
                Ok(Some(fault)) => return WriterEnd::Fault(fault),
                Err(e) => {
                    tracing::info!(connection = id, error = %e, "send failed");
                    return WriterEnd::Stopped;
                }
            }
        }
    };
    let end = tokio::select! {
        end = writer => end,
        () = reader => WriterEnd::Stopped,
    };
    let ws = match end {
        WriterEnd::Stopped => return,
        _ => match sink.reunite(stream) {
            Ok(ws) => ws,
            Err(_) => return, // both halves come from this socket
        },
    };
    match end {
        WriterEnd::Cancelled => close(shared, id, ws, 1001, "emulator shutting down").await,
        WriterEnd::Fault(fault) => apply_fault(shared, id, ws, fault).await,
        WriterEnd::Stopped => {}
    }
}

/// What the writer does with one queued command.
enum Next {
    Send(Message),
    Fault(Fault),
}

impl Next {
    fn of(command: Outbound) -> Next {
        match command {
            Outbound::Frame(bytes) | Outbound::Raw(RawMessage::Binary(bytes)) => {
                Next::Send(Message::Binary(bytes))
            }
            Outbound::Raw(RawMessage::Text(text)) => Next::Send(Message::Text(text)),
            Outbound::Raw(RawMessage::Ping(payload)) => Next::Send(Message::Ping(payload)),
            Outbound::Fault(fault) => Next::Fault(fault),
        }
    }
}

/// Writes `first` and up to [`limits::WRITE_BATCH_FRAMES`] − 1 messages already queued behind
/// it, then flushes once. Returns the fault met in the queue, if any (written after everything
/// queued before it, so a fault still cuts the stream where the script put it).
async fn write_batch(
    sink: &mut SplitSink<Ws, Message>,
    first: Next,
    replies: &mut mpsc::UnboundedReceiver<Vec<u8>>,
    commands: &mut mpsc::UnboundedReceiver<Outbound>,
) -> Result<Option<Fault>, tokio_tungstenite::tungstenite::Error> {
    let mut next = Some(first);
    let mut fed = 0;
    let mut fault = None;
    while let Some(item) = next.take() {
        match item {
            Next::Send(message) => sink.feed(message).await?,
            Next::Fault(f) => {
                fault = Some(f);
                break;
            }
        }
        fed += 1;
        if fed == limits::WRITE_BATCH_FRAMES {
            break;
        }
        next = match replies.try_recv() {
            Ok(bytes) => Some(Next::Send(Message::Binary(bytes))),
            Err(_) => commands.try_recv().ok().map(Next::of),
        };
    }
    sink.flush().await?;
    Ok(fault)
}

/// Ends the connection as the fault says.
async fn apply_fault(shared: &Shared, id: u64, ws: Ws, fault: Fault) {
    tracing::info!(connection = id, ?fault, "injecting fault");
    match fault {
        Fault::Close(code) => close(shared, id, ws, code, "emulator fault").await,
        Fault::Abrupt => {
            if let Err(e) = ws.get_ref().set_zero_linger() {
                tracing::warn!(connection = id, error = %e, "cannot set SO_LINGER 0");
            }
            drop(ws); // RST
        }
        Fault::DropWithoutClose => drop(ws), // FIN, no close frame
    }
}

/// Sends a close frame, waits briefly for the client's close (recording anything that still
/// arrives), then drops the TCP connection.
async fn close(shared: &Shared, id: u64, mut ws: Ws, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    };
    if ws.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let drain = async {
        while let Some(Ok(message)) = ws.next().await {
            // Pongs cannot be sent after our close frame; acks are still recorded.
            let _ = on_message(shared, id, message);
        }
    };
    let _ = tokio::time::timeout(limits::CLOSE_HANDSHAKE_TIMEOUT, drain).await;
}

/// One inbound message, decoded before the state lock is taken.
enum Inbound {
    Frame(Frame),
    Undecodable {
        bytes: Vec<u8>,
        error: String,
    },
    Text(String),
    Pong,
    /// RFC 6455 pings are answered by tungstenite; close ends the stream next.
    Ignored,
}

impl Inbound {
    fn decode(message: Message) -> Inbound {
        match message {
            Message::Binary(bytes) => match decode_frame(&bytes) {
                Ok(frame) => Inbound::Frame(frame),
                Err(e) => Inbound::Undecodable {
                    bytes: bytes[..bytes.len().min(limits::MAX_RECORDED_JUNK_BYTES)].to_vec(),
                    error: e.to_string(),
                },
            },
            Message::Text(text) => {
                Inbound::Text(truncate_str(&text, limits::MAX_RECORDED_JUNK_BYTES))
            }
            Message::Pong(_) => Inbound::Pong,
            Message::Ping(_) | Message::Close(_) | Message::Frame(_) => Inbound::Ignored,
        }
    }
}

/// Handles one inbound message; returns a frame to send back (a pong), if any.
fn on_message(shared: &Shared, id: u64, message: Message) -> Option<Vec<u8>> {
    let mut replies = Vec::new();
    on_messages(shared, id, vec![message], &mut replies);
    replies.pop()
}

/// Handles messages in arrival order under one lock; pongs to send back go to `replies`.
fn on_messages(shared: &Shared, id: u64, messages: Vec<Message>, replies: &mut Vec<Vec<u8>>) {
    let inbound: Vec<Inbound> = messages.into_iter().map(Inbound::decode).collect();
    let now = Instant::now();
    let mut wake_engine = false;
    {
        let mut state = shared.lock();
        for message in inbound {
            match message {
                Inbound::Frame(frame) => {
                    let (reply, wake) = on_frame(&mut state, id, frame, now);
                    replies.extend(reply);
                    wake_engine |= wake;
                }
                Inbound::Undecodable { bytes, error } => {
                    tracing::warn!(connection = id, %error, "undecodable message from client");
                    record_junk(&mut state, id, now, NonAck::Undecodable { bytes, error });
                }
                Inbound::Text(text) => {
                    tracing::warn!(connection = id, "text message from client (junk)");
                    record_junk(&mut state, id, now, NonAck::Text(text));
                }
                Inbound::Pong => state.ws_pongs_received += 1,
                Inbound::Ignored => {}
            }
        }
    }
    if wake_engine {
        shared.engine.notify_one();
    }
    shared.changed();
}

/// Handles one decoded frame: a pong for a ping, an ack (or junk) for a data frame. Returns the
/// reply to send, if any, and whether the delivery engine must look again.
fn on_frame(state: &mut State, id: u64, frame: Frame, now: Instant) -> (Option<Vec<u8>>, bool) {
    match (frame.frame_type(), frame.message_type()) {
        (Some(FrameType::Control), Some(MessageType::Ping)) => {
            push_bounded(
                &mut state.pings,
                PingRecord {
                    connection: id,
                    at: now,
                    service: frame.service,
                    seq_id: frame.seq_id,
                    log_id: frame.log_id,
                },
            );
            tracing::debug!(connection = id, service = frame.service, "ping");
            let pong = match &state.pong_mode {
                PongMode::Config => pong_frame(
                    &frame,
                    Some(&ClientConfigUpdate::full(&state.config.client_config)),
                ),
                PongMode::Custom(payload) => {
                    let mut pong = pong_frame(&frame, None);
                    pong.payload = Some(payload.clone());
                    pong
                }
                PongMode::Empty => pong_frame(&frame, None),
                PongMode::InvalidJson => {
                    let mut pong = pong_frame(&frame, None);
                    pong.payload = Some(b"{\"PingInterval\": not json".to_vec());
                    pong
                }
                PongMode::Silent => return (None, false),
            };
            (Some(encode_frame(&pong)), false)
        }
        (Some(FrameType::Data), _) => (None, state.on_data_frame(id, frame, now)),
        (frame_type, message_type) => {
            let reason = match frame_type {
                None => format!("unknown method {}", frame.method),
                Some(_) => format!("control frame of type {:?}", frame.header("type")),
            };
            tracing::warn!(connection = id, ?message_type, %reason, "unexpected frame from client");
            record_junk(state, id, now, NonAck::UnexpectedFrame { frame, reason });
            (None, false)
        }
    }
}

fn record_junk(state: &mut State, connection: u64, at: Instant, kind: NonAck) {
    push_bounded(
        &mut state.non_acks,
        NonAckRecord {
            connection,
            at,
            kind,
        },
    );
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate_str(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_carries_the_handshake_headers() {
        let r = refusal(
            400,
            Some(514),
            Some(AUTH_EXCEED_CONN_LIMIT),
            Some("limit\u{7}"),
        );
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()[HANDSHAKE_STATUS], "514");
        assert_eq!(r.headers()[HANDSHAKE_AUTH_ERR_CODE], "1000040350");
        assert_eq!(r.headers()[HANDSHAKE_MSG], "limit?");
        let bare = refusal(1, None, None, None);
        assert_eq!(bare.status(), 500);
        assert!(bare.headers().is_empty());
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_str("héllo", 2), "h");
        assert_eq!(truncate_str("abc", 10), "abc");
    }
}
