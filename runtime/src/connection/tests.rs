//! Focused network tests of the client against a tiny in-test fake: an axum endpoint and a
//! tokio-tungstenite gateway on 127.0.0.1. The full scenario suite runs against the emulator.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::dispatch::{EventSink, HandleFuture, HandlerResult, InboundEvent, LogSink};
use crate::protocol::ack::parse_ack_payload;
use crate::protocol::{decode_frame, encode_frame, Frame, Header};

const WAIT: Duration = Duration::from_secs(5);

/// What the fake endpoint answers.
#[derive(Clone, Copy)]
enum Reply {
    Ok,
    Code(i64),
}

/// How the fake gateway answers an upgrade.
#[derive(Clone, Copy)]
enum Upgrade {
    Accept,
    Refuse403,
}

#[derive(Clone)]
struct FakeState {
    hits: Arc<AtomicUsize>,
    reply: Arc<Mutex<Reply>>,
    requests: Arc<Mutex<Vec<(HeaderMap, serde_json::Value)>>>,
    ws_port: u16,
}

/// One accepted WebSocket connection, seen from the server.
struct Conn {
    from_client: mpsc::UnboundedReceiver<Message>,
    to_client: mpsc::UnboundedSender<Message>,
}

impl Conn {
    /// The next binary frame from the client.
    async fn frame(&mut self) -> Frame {
        loop {
            let m = tokio::time::timeout(WAIT, self.from_client.recv())
                .await
                .expect("client frame in time")
                .expect("connection open");
            if let Message::Binary(b) = m {
                return decode_frame(&b).expect("client frames decode");
            }
        }
    }

    /// The next data frame (an ack), skipping pings.
    async fn ack(&mut self) -> Frame {
        loop {
            let f = self.frame().await;
            if f.method == 1 {
                return f;
            }
        }
    }

    fn send(&self, frame: &Frame) {
        self.to_client
            .send(Message::Binary(encode_frame(frame)))
            .unwrap();
    }
}

struct Fake {
    base: String,
    state: FakeState,
    conns: mpsc::UnboundedReceiver<Conn>,
}

impl Fake {
    async fn start(upgrade: Upgrade) -> Fake {
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let state = FakeState {
            hits: Arc::default(),
            reply: Arc::new(Mutex::new(Reply::Ok)),
            requests: Arc::default(),
            ws_port: ws.local_addr().unwrap().port(),
        };
        let base = format!("http://{}", http_listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/callback/ws/endpoint", axum::routing::post(endpoint))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(http_listener, app).await });
        let (conn_tx, conns) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws.accept().await {
                let conn_tx = conn_tx.clone();
                tokio::spawn(serve_ws(tcp, upgrade, conn_tx));
            }
        });
        Fake { base, state, conns }
    }

    async fn conn(&mut self) -> Conn {
        tokio::time::timeout(WAIT, self.conns.recv())
            .await
            .expect("a connection in time")
            .unwrap()
    }

    fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    fn options(&self) -> ConnectionOptions {
        let mut o = ConnectionOptions::new(self.base.clone(), "cli_test", "top-secret");
        o.settings.reconnect_delay = Some(Duration::ZERO);
        o.settings.reconnect_jitter = Some(Duration::ZERO);
        o.settings
            .set_connection_timeout(Duration::from_secs(2))
            .unwrap();
        o
    }
}

async fn endpoint(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::Json<serde_json::Value> {
    let n = state.hits.fetch_add(1, Ordering::SeqCst) + 1;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    state.requests.lock().unwrap().push((headers, body));
    let reply = *state.reply.lock().unwrap();
    axum::Json(match reply {
        Reply::Code(code) => json!({"code": code, "msg": "no", "data": {}}),
        Reply::Ok => json!({"code": 0, "msg": "ok", "data": {
            "URL": format!("ws://127.0.0.1:{}/ws/v2?fpid=1&device_id=dev-{n}&access_key=k&service_id={}&ticket=t", state.ws_port, 1000 + n),
            "ClientConfig": {"ReconnectCount": -1, "ReconnectInterval": 0, "ReconnectNonce": 0, "PingInterval": 120}
        }}),
    })
}

// The callback's error type is tungstenite's (a whole HTTP response).
#[allow(clippy::result_large_err)]
async fn serve_ws(
    tcp: tokio::net::TcpStream,
    upgrade: Upgrade,
    conns: mpsc::UnboundedSender<Conn>,
) {
    let callback = move |_req: &http::Request<()>, resp: http::Response<()>| match upgrade {
        Upgrade::Accept => Ok(resp),
        Upgrade::Refuse403 => Err(http::Response::builder()
            .status(400)
            .header("handshake-status", "403")
            .header("handshake-msg", "banned")
            .body(None)
            .unwrap()),
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (from_tx, from_client) = mpsc::unbounded_channel();
    let (to_client, mut to_rx) = mpsc::unbounded_channel::<Message>();
    let _ = conns.send(Conn {
        from_client,
        to_client,
    });
    loop {
        tokio::select! {
            m = stream.next() => match m {
                Some(Ok(m)) => { let _ = from_tx.send(m); }
                _ => return,
            },
            out = to_rx.recv() => match out {
                Some(m) => { if sink.send(m).await.is_err() { return; } }
                None => return,
            },
        }
    }
}

fn event_frame(message_id: &str, event_id: &str) -> Frame {
    let envelope = json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "event_type": "im.message.receive_v1", "create_time": "1", "app_id": "cli_test", "tenant_key": "t"},
        "event": {"message": {"message_id": "om_1", "chat_id": "oc_1"}}
    });
    Frame {
        seq_id: 11,
        log_id: 22,
        service: 33,
        method: 1,
        headers: vec![
            Header::new("type", "event"),
            Header::new("message_id", message_id),
            Header::new("sum", "1"),
            Header::new("seq", "0"),
            Header::new("trace_id", "trace-1"),
            Header::new("instance_id", "inst-9"),
        ],
        payload: Some(envelope.to_string().into_bytes()),
        ..Default::default()
    }
}

struct Running {
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), FatalError>>,
}

impl Running {
    async fn finish(self) -> Result<(), FatalError> {
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("run returns")
            .unwrap()
    }
}

fn start(options: ConnectionOptions, sink: Arc<dyn EventSink>) -> Running {
    let stats = ConnectionStats::new();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(options, sink, stats.clone(), shutdown.clone()));
    Running {
        stats,
        shutdown,
        task,
    }
}

async fn wait_for(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("condition in time");
}

#[tokio::test]
async fn discovery_request_ping_and_ack_echo() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let r = start(fake.options(), Arc::new(LogSink));
    let mut conn = fake.conn().await;

    let ping = conn.frame().await;
    assert_eq!(ping.method, 0);
    assert_eq!(ping.header("type"), Some("ping"));
    assert_eq!(ping.service, 1001, "ping carries the URL's service_id");
    assert_eq!((ping.seq_id, ping.log_id), (0, 0));

    {
        let requests = fake.state.requests.lock().unwrap();
        let (headers, body) = &requests[0];
        assert_eq!(headers.get("locale").unwrap(), "zh");
        assert_eq!(headers.get("content-type").unwrap(), "application/json");
        assert_eq!(
            body,
            &json!({"AppID": "cli_test", "AppSecret": "top-secret"})
        );
    }

    let event = event_frame("m-1", "ev-1");
    conn.send(&event);
    let ack = conn.ack().await;
    assert_eq!((ack.seq_id, ack.log_id, ack.service), (11, 22, 33));
    let keys: Vec<_> = ack.headers.iter().map(|h| h.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "type",
            "message_id",
            "sum",
            "seq",
            "trace_id",
            "instance_id",
            "biz_rt"
        ]
    );
    assert_eq!(&ack.headers[..6], &event.headers[..]);
    let (code, data) = parse_ack_payload(ack.payload_bytes()).unwrap();
    assert_eq!((code, data), (200, None));

    assert!(matches!(
        r.stats.current_state(),
        ConnectionState::Connected { ref device_id, service_id: 1001 } if device_id == "dev-1"
    ));
    let s = r.stats.snapshot();
    assert_eq!(
        (s.endpoint_requests, s.connects, s.events_dispatched),
        (1, 1, 1)
    );
    wait_for(|| r.stats.snapshot().acks_sent == 1).await;
    r.shutdown.cancel();
    r.finish().await.unwrap();
}

#[tokio::test]
async fn junk_is_skipped_and_the_connection_stays_up() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let r = start(fake.options(), Arc::new(LogSink));
    let mut conn = fake.conn().await;
    conn.frame().await; // ping
    conn.to_client.send(Message::Text("hello".into())).unwrap();
    conn.to_client
        .send(Message::Binary(vec![0xff, 0x01, 0x02]))
        .unwrap();
    let mut card = event_frame("m-card", "ev-card");
    card.headers[0].value = "card".into();
    conn.send(&card);
    let mut bad = event_frame("m-bad", "ev-bad");
    bad.payload = Some(b"not json".to_vec());
    conn.send(&bad);
    let ack = conn.ack().await;
    assert_eq!(ack.header("message_id"), Some("m-bad"));
    assert_eq!(parse_ack_payload(ack.payload_bytes()).unwrap().0, 500);
    conn.send(&event_frame("m-2", "ev-2"));
    let ack = conn.ack().await;
    assert_eq!(
        ack.header("message_id"),
        Some("m-2"),
        "card frames are never acked"
    );
    let s = r.stats.snapshot();
    assert_eq!(s.text_messages_skipped, 1);
    assert_eq!(s.undecodable_frames, 1);
    assert_eq!(s.card_frames_ignored, 1);
    assert_eq!(s.events_failed, 1);
    assert_eq!(s.connects, 1);
    r.shutdown.cancel();
    r.finish().await.unwrap();
}

#[tokio::test]
async fn rfc6455_pings_are_answered_and_fragments_reassembled() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let r = start(fake.options(), Arc::new(LogSink));
    let mut conn = fake.conn().await;
    conn.frame().await; // ping
    conn.to_client.send(Message::Ping(b"hi".to_vec())).unwrap();
    let pong = loop {
        let m = tokio::time::timeout(WAIT, conn.from_client.recv())
            .await
            .unwrap()
            .unwrap();
        if let Message::Pong(p) = m {
            break p;
        }
    };
    assert_eq!(pong, b"hi");

    let whole = event_frame("m-f", "ev-f");
    let payload = whole.payload.clone().unwrap();
    let thirds = payload.len() / 3;
    let parts = [
        &payload[..thirds],
        &payload[thirds..2 * thirds],
        &payload[2 * thirds..],
    ];
    for (i, seq) in [2usize, 0, 1].into_iter().enumerate() {
        let mut f = whole.clone();
        f.seq_id = 100 + i as u64;
        f.headers[2].value = "3".into();
        f.headers[3].value = seq.to_string();
        f.payload = Some(parts[seq].to_vec());
        conn.send(&f);
    }
    let ack = conn.ack().await;
    assert_eq!(ack.seq_id, 102, "the ack copies the completing fragment");
    assert_eq!(ack.header("seq"), Some("1"));
    assert_eq!(parse_ack_payload(ack.payload_bytes()).unwrap().0, 200);
    wait_for(|| r.stats.snapshot().acks_sent == 1).await;
    assert_eq!(r.stats.snapshot().events_dispatched, 1);
    r.shutdown.cancel();
    r.finish().await.unwrap();
}

#[tokio::test]
async fn a_close_triggers_a_fresh_discovery_and_new_pings() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let r = start(fake.options(), Arc::new(LogSink));
    let mut first = fake.conn().await;
    assert_eq!(first.frame().await.service, 1001);
    first
        .to_client
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "bye".into(),
        })))
        .unwrap();
    let mut second = fake.conn().await;
    assert_eq!(
        second.frame().await.service,
        1002,
        "pings use the new service_id"
    );
    assert_eq!(fake.hits(), 2);
    let s = r.stats.snapshot();
    assert_eq!((s.connects, s.disconnects, s.reconnect_attempts), (2, 1, 1));
    r.shutdown.cancel();
    r.finish().await.unwrap();
}

#[tokio::test]
async fn auto_reconnect_off_ends_with_disconnected() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let mut options = fake.options();
    options.settings.auto_reconnect = false;
    let r = start(options, Arc::new(LogSink));
    let conn = fake.conn().await;
    drop(conn); // the fake drops the socket without a close frame
    let result = r.finish().await;
    assert!(
        matches!(result, Err(FatalError::Disconnected)),
        "{result:?}"
    );
}

#[tokio::test]
async fn fatal_endpoint_code_stops_at_once() {
    let fake = Fake::start(Upgrade::Accept).await;
    *fake.state.reply.lock().unwrap() = Reply::Code(10003);
    let r = start(fake.options(), Arc::new(LogSink));
    let stats = r.stats.clone();
    let err = r.finish().await.unwrap_err();
    assert!(
        matches!(err, FatalError::Endpoint { code: 10003, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("top-secret"));
    assert_eq!(fake.hits(), 1);
    assert_eq!(stats.current_state(), ConnectionState::Stopped);
}

#[tokio::test]
async fn retryable_failures_stop_after_the_pinned_attempt_count() {
    let fake = Fake::start(Upgrade::Accept).await;
    *fake.state.reply.lock().unwrap() = Reply::Code(1);
    let mut options = fake.options();
    options.settings.max_reconnect_attempts = Some(2);
    let r = start(options, Arc::new(LogSink));
    let err = r.finish().await.unwrap_err();
    assert!(
        matches!(err, FatalError::ReconnectExhausted { attempts: 2, .. }),
        "{err}"
    );
    assert_eq!(fake.hits(), 3, "the first connect plus two attempts");
}

#[tokio::test]
async fn zero_attempts_means_no_reconnect() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let mut options = fake.options();
    options.settings.max_reconnect_attempts = Some(0);
    let r = start(options, Arc::new(LogSink));
    drop(fake.conn().await);
    let err = r.finish().await.unwrap_err();
    assert!(
        matches!(err, FatalError::ReconnectExhausted { attempts: 0, .. }),
        "{err}"
    );
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn handshake_403_is_fatal() {
    let fake = Fake::start(Upgrade::Refuse403).await;
    let r = start(fake.options(), Arc::new(LogSink));
    let err = r.finish().await.unwrap_err();
    assert!(
        matches!(err, FatalError::Handshake { code: 403, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn liveness_replaces_a_silent_connection() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let mut options = fake.options();
    options
        .settings
        .set_heartbeat_interval(Some(Duration::from_millis(50)))
        .unwrap();
    options.settings.liveness_grace = Duration::from_millis(50);
    let r = start(options, Arc::new(LogSink));
    let _first = fake.conn().await; // never answers
    let _second = fake.conn().await;
    assert!(r.stats.snapshot().liveness_timeouts >= 1);
    r.shutdown.cancel();
    r.finish().await.unwrap();
}

#[tokio::test]
async fn pong_config_applies_except_pinned_keys() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let mut options = fake.options();
    options
        .settings
        .set_heartbeat_interval(Some(Duration::from_secs(60)))
        .unwrap();
    options.settings.reconnect_delay = None;
    let r = start(options, Arc::new(LogSink));
    let mut conn = fake.conn().await;
    let ping = conn.frame().await;
    let update = crate::protocol::ClientConfigUpdate {
        reconnect_count: Some(7),
        reconnect_interval: Some(9),
        reconnect_nonce: Some(0),
        ping_interval: Some(1),
    };
    conn.send(&crate::protocol::control::pong_frame(&ping, Some(&update)));
    let mut bad = crate::protocol::control::pong_frame(&ping, None);
    bad.payload = Some(b"{not json".to_vec());
    conn.send(&bad);
    wait_for(|| r.stats.snapshot().pongs_received == 2).await;
    let c = r.stats.config();
    assert_eq!(c.reconnect_count, 7);
    assert_eq!(c.reconnect_interval, Duration::from_secs(9));
    assert_eq!(c.ping_interval, Duration::from_secs(60), "pinned");
    assert_eq!(r.stats.snapshot().config_updates, 1);
    assert!(matches!(
        r.stats.current_state(),
        ConnectionState::Connected { .. }
    ));
    r.shutdown.cancel();
    r.finish().await.unwrap();
}

#[tokio::test]
async fn a_pong_that_lowers_the_ping_interval_applies_to_the_next_ping_at_once() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let mut options = fake.options();
    options.settings.set_heartbeat_interval(None).unwrap(); // the server's PingInterval (120 s from the endpoint)
    let r = start(options, Arc::new(LogSink));
    let mut conn = fake.conn().await;
    let first = conn.frame().await;
    assert_eq!(first.header("type"), Some("ping"));
    assert_eq!(r.stats.config().ping_interval, Duration::from_secs(120));
    let update = crate::protocol::ClientConfigUpdate {
        ping_interval: Some(1),
        ..Default::default()
    };
    let lowered = tokio::time::Instant::now();
    conn.send(&crate::protocol::control::pong_frame(&first, Some(&update)));
    // The next ping comes about 1 s after the first one, not after the old 120 s (WAIT is 5 s).
    let second = conn.frame().await;
    assert_eq!(second.header("type"), Some("ping"));
    assert_eq!(r.stats.config().ping_interval, Duration::from_secs(1));
    assert!(
        lowered.elapsed() < Duration::from_secs(3),
        "{:?}",
        lowered.elapsed()
    );
    // And it keeps the new pace: a third ping within the new interval (plus slack).
    let third = conn.frame().await;
    assert_eq!(third.header("type"), Some("ping"));
    assert!(
        lowered.elapsed() < Duration::from_secs(5),
        "{:?}",
        lowered.elapsed()
    );
    r.shutdown.cancel();
    r.finish().await.unwrap();
}

/// A sink that blocks every event until a permit is released, then answers with a callback body.
struct Gate {
    release: Arc<tokio::sync::Semaphore>,
    started: Arc<AtomicUsize>,
}

impl EventSink for Gate {
    fn handle(&self, _event: InboundEvent) -> HandleFuture {
        self.started.fetch_add(1, Ordering::SeqCst);
        let release = self.release.clone();
        Box::pin(async move {
            release.acquire().await.unwrap().forget();
            HandlerResult::Respond(br#"{"toast":{"type":"info"}}"#.to_vec())
        })
    }
}

#[tokio::test]
async fn backpressure_then_graceful_shutdown_drains_and_closes_1000() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let mut options = fake.options();
    options.settings.set_receive_queue_capacity(1).unwrap();
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let gate = Gate {
        release: release.clone(),
        started: started.clone(),
    };
    let r = start(options, Arc::new(gate));
    let mut conn = fake.conn().await;
    conn.frame().await; // ping
    conn.send(&event_frame("m-1", "ev-1"));
    conn.send(&event_frame("m-2", "ev-2"));
    wait_for(|| started.load(Ordering::SeqCst) == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        started.load(Ordering::SeqCst),
        1,
        "reading pauses at capacity"
    );
    assert_eq!(r.stats.snapshot().events_dispatched, 1);

    release.add_permits(1);
    let ack = conn.ack().await;
    assert_eq!(ack.header("message_id"), Some("m-1"));
    let (code, data) = parse_ack_payload(ack.payload_bytes()).unwrap();
    assert_eq!(code, 200);
    assert_eq!(data.unwrap(), br#"{"toast":{"type":"info"}}"#);
    wait_for(|| started.load(Ordering::SeqCst) == 2).await;

    // Shut down while the second handler runs: its ack must still go out, then close 1000.
    r.shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;
    release.add_permits(1);
    let ack = conn.ack().await;
    assert_eq!(ack.header("message_id"), Some("m-2"));
    let close = loop {
        let m = tokio::time::timeout(WAIT, conn.from_client.recv())
            .await
            .unwrap()
            .expect("a close frame");
        if let Message::Close(frame) = m {
            break frame;
        }
    };
    assert_eq!(close.unwrap().code, CloseCode::Normal);
    r.finish().await.unwrap();
}

#[tokio::test]
async fn a_panicking_handler_is_acked_500() {
    struct Panics;
    impl EventSink for Panics {
        fn handle(&self, _event: InboundEvent) -> HandleFuture {
            Box::pin(async { panic!("boom") })
        }
    }
    let mut fake = Fake::start(Upgrade::Accept).await;
    let r = start(fake.options(), Arc::new(Panics));
    let mut conn = fake.conn().await;
    conn.send(&event_frame("m-1", "ev-1"));
    let ack = conn.ack().await;
    assert_eq!(parse_ack_payload(ack.payload_bytes()).unwrap().0, 500);
    assert!(ack.header("biz_rt").is_some());
    wait_for(|| r.stats.snapshot().events_failed == 1).await;
    r.shutdown.cancel();
    r.finish().await.unwrap();
}

/// Reconnect, drain and resume on request ([`super::ConnectionControl`]).
#[path = "control_tests.rs"]
mod control_tests;
#[path = "reconfigure_tests.rs"]
mod reconfigure_tests;
