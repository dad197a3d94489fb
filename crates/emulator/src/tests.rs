//! End-to-end tests of the emulator over real sockets, with a minimal hand-written client.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

use super::*;
use aviary_protocol::ack::{build_ack, AckBody};
use aviary_protocol::control::{parse_pong, ping_frame, PongPayload};
use aviary_protocol::{decode_frame, encode_frame, Frame};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;
const WAIT: Duration = Duration::from_secs(5);

async fn endpoint(emu: &Emulator, app_secret: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/callback/ws/endpoint", emu.domain()))
        .header("locale", "zh")
        .json(&json!({"AppID": "cli_0123456789abcdef", "AppSecret": app_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn url(emu: &Emulator) -> String {
    let answer = endpoint(emu, "emulator-secret").await;
    answer["data"]["URL"].as_str().unwrap().to_string()
}

async fn next_frame(ws: &mut Client) -> Frame {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("stream open")
            .expect("no error");
        if let Message::Binary(bytes) = message {
            return decode_frame(&bytes).unwrap();
        }
    }
}

async fn ping(ws: &mut Client) -> PongPayload {
    ws.send(Message::Binary(encode_frame(&ping_frame(33554678))))
        .await
        .unwrap();
    let pong = next_frame(ws).await;
    assert_eq!(pong.header("type"), Some("pong"));
    parse_pong(&pong)
}

#[tokio::test]
async fn endpoint_gateway_ping_push_ack_and_faults() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();

    let wrong = endpoint(&emu, "wrong").await;
    assert_eq!(wrong["code"], CODE_WRONG_CREDENTIALS);
    assert_eq!(wrong["data"], json!({}));

    let url = url(&emu).await;
    let (mut ws, _) = connect_async(&url).await.unwrap();
    emu.wait_for_connections(1, WAIT).await.unwrap();
    assert_eq!(emu.connections_total(), 1);
    assert_eq!(emu.endpoint_requests().len(), 2);
    assert_eq!(emu.endpoint_requests()[1].header("locale"), Some("zh"));

    // Ping → pong with all four keys.
    let PongPayload::Config(config) = ping(&mut ws).await else {
        panic!("pong without config");
    };
    assert_eq!(config, emu.client_config_update());
    let pings = emu.wait_for_pings(1, WAIT).await.unwrap();
    assert_eq!((pings[0].service, pings[0].seq_id), (33554678, 0));

    // A reused ticket is refused, retryably.
    let refused = connect_async(&url).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = refused else {
        panic!("expected an HTTP refusal, got {refused:?}");
    };
    assert_eq!(response.headers()["handshake-status"], "514");
    assert_eq!(
        response.headers()["handshake-autherrcode"],
        AUTH_INVALID_TICKET.to_string().as_str()
    );

    // Fragmented push out of order; ack the completing fragment.
    let id = emu.push(
        br#"{"schema":"2.0","header":{"event_id":"e1","event_type":"im.message.receive_v1"},"event":{}}"#
            .to_vec(),
        PushOptions {
            fragments: Some(3),
            fragment_order: Some(vec![2, 0, 1]),
            ..Default::default()
        },
    );
    let frames = [
        next_frame(&mut ws).await,
        next_frame(&mut ws).await,
        next_frame(&mut ws).await,
    ];
    let seqs: Vec<_> = frames.iter().map(|f| f.header("seq").unwrap()).collect();
    assert_eq!(seqs, ["2", "0", "1"]);
    let ack = build_ack(&frames[2], 3, &AckBody::Ok);
    ws.send(Message::Binary(encode_frame(&ack))).await.unwrap();
    let record = emu.wait_for_delivery(id, WAIT).await.unwrap();
    assert!(record.acked);
    assert_eq!(record.event_id.as_deref(), Some("e1"));
    let acks = emu.acks();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].delivery, Some(id));
    assert_eq!(acks[0].biz_rt.as_deref(), Some("3"));

    // Junk is recorded and the connection survives it.
    ws.send(Message::Text("hello".into())).await.unwrap();
    ws.send(Message::Binary(vec![0xff; 8])).await.unwrap();
    assert!(matches!(ping(&mut ws).await, PongPayload::Config(_)));
    assert_eq!(emu.received_non_acks().len(), 2);

    // RFC 6455 pings are answered (Python's websockets sends one every 20 s).
    ws.send(Message::Ping(b"keepalive".to_vec())).await.unwrap();
    let pong = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(Ok(Message::Pong(data))) = ws.next().await {
                return data;
            }
        }
    })
    .await
    .expect("an RFC 6455 pong");
    assert_eq!(pong, b"keepalive");

    // Pong modes.
    emu.set_pong_mode(PongMode::Empty);
    assert_eq!(ping(&mut ws).await, PongPayload::Empty);
    emu.set_pong_mode(PongMode::InvalidJson);
    assert!(matches!(ping(&mut ws).await, PongPayload::Invalid(_)));
    emu.set_pong_mode(PongMode::Config);

    // Connection limit: a second client is refused with 514/1000040350.
    emu.set_max_connections(1);
    let second = url_refusal(&emu).await;
    assert_eq!(second.0, "514");
    assert_eq!(second.1, "1000040350");
    emu.set_max_connections(50);

    // Close 1000 reaches the client as a close frame.
    assert_eq!(emu.fault(Fault::Close(1000)), 1);
    let mut code = None;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(WAIT, ws.next()).await {
        if let Message::Close(Some(frame)) = message {
            code = Some(u16::from(frame.code));
        }
    }
    assert_eq!(code, Some(1000));
    emu.shared
        .wait_until(WAIT, |s| s.connections.is_empty().then_some(()))
        .await
        .expect("connection gone");
    emu.shutdown().await;
}

async fn url_refusal(emu: &Emulator) -> (String, String) {
    let url = url(emu).await;
    let err = connect_async(&url).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
        panic!("expected an HTTP refusal, got {err:?}");
    };
    let h = |k: &str| response.headers()[k].to_str().unwrap().to_string();
    (h("handshake-status"), h("handshake-autherrcode"))
}

#[tokio::test]
async fn redelivery_goes_on_until_acked_and_waits_for_a_connection() {
    let emu = Emulator::start(EmulatorConfig {
        redelivery: RedeliveryPolicy {
            scale: 0.01, // 30 ms deadline, 150 ms first retry
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    // Pushed before anyone is connected: held, not dropped.
    let id = emu.push_event(&json!({"schema":"2.0","header":{"event_id":"e2","event_type":"x"}}));
    let (mut ws, _) = connect_async(url(&emu).await).await.unwrap();
    let first = next_frame(&mut ws).await; // not acked: times out
    let second = next_frame(&mut ws).await;
    assert_ne!(first.header("message_id"), second.header("message_id"));
    ws.send(Message::Binary(encode_frame(&build_ack(
        &second,
        0,
        &AckBody::Ok,
    ))))
    .await
    .unwrap();
    let record = emu.wait_for_delivery(id, WAIT).await.unwrap();
    assert!(record.acked);
    assert_eq!(record.attempts.len(), 2);
    assert_eq!(record.attempts[0].outcome, AttemptOutcome::TimedOut);
    emu.shutdown().await;
}

#[tokio::test]
async fn control_api_and_openapi_over_http() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let http = reqwest::Client::new();
    let pushed: Value = http
        .post(format!("{}/_emulator/events?fragments=2", emu.domain()))
        .body(r#"{"schema":"2.0","header":{"event_id":"e3","event_type":"x"}}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pushed["delivery"], 1);
    let deliveries: Value = http
        .get(format!("{}/_emulator/deliveries", emu.domain()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries[0]["event_id"], "e3");
    assert_eq!(deliveries[0]["status"], "waiting");
    let fault: Value = http
        .post(format!("{}/_emulator/fault", emu.domain()))
        .body(r#"{"kind":"abrupt"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fault["connections"], 0);
    let bad = http
        .post(format!("{}/_emulator/fault", emu.domain()))
        .body(r#"{"kind":"explode"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let token: Value = http
        .post(format!(
            "{}/open-apis/auth/v3/tenant_access_token/internal",
            emu.domain()
        ))
        .json(&json!({"app_id": "cli_0123456789abcdef", "app_secret": "emulator-secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["tenant_access_token"].as_str().unwrap();
    let sent: Value = http
        .post(format!(
            "{}/open-apis/im/v1/messages?receive_id_type=open_id",
            emu.domain()
        ))
        .bearer_auth(token)
        .json(&json!({"receive_id": "ou_1", "msg_type": "text", "content": "{\"text\":\"hi\"}"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["code"], 0, "{sent}");
    let calls = emu.openapi_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].query, "receive_id_type=open_id");
    assert_eq!(calls[1].body["receive_id"], "ou_1");
    let state: Value = http
        .get(format!("{}/_emulator/state", emu.domain()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["openapi_calls"], 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn abrupt_and_drop_faults_end_the_connection() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    for fault in [Fault::Abrupt, Fault::DropWithoutClose] {
        let (mut ws, _) = connect_async(url(&emu).await).await.unwrap();
        emu.wait_for_connections(1, WAIT).await.unwrap();
        assert_eq!(emu.fault(fault), 1);
        let end = tokio::time::timeout(WAIT, async {
            loop {
                match ws.next().await {
                    None | Some(Err(_)) => return,
                    Some(Ok(Message::Close(_))) => panic!("{fault:?} sent a close frame"),
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(end.is_ok(), "{fault:?} did not end the connection");
        emu.shared
            .wait_until(WAIT, |s| s.connections.is_empty().then_some(()))
            .await
            .expect("connection gone");
    }
    assert_eq!(emu.connections_total(), 2);
}

/// A client that stops reading (backpressure) while it still sends acks must not wedge the
/// gateway: its writes to that client block, but it keeps reading what the client sends. The
/// gateway once awaited each write in its only loop, so with both TCP directions full the
/// client (waiting to write acks) and the gateway (waiting to write events) waited on each
/// other forever; a 100k-event benchmark burst stalled that way.
#[tokio::test]
async fn gateway_keeps_reading_while_its_writes_to_the_client_are_blocked() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (mut ws, _) = connect_async(url(&emu).await).await.unwrap();
    emu.wait_for_connections(1, WAIT).await.unwrap();
    // 64 MiB towards a client that reads nothing: far more than the socket buffers hold, so
    // the gateway's writer is blocked from here on.
    for _ in 0..64 {
        emu.send_raw(RawMessage::Binary(vec![0; 1 << 20]));
    }
    // 16 MiB from the client, also far more than the buffers hold: this only completes if the
    // gateway reads while its write is blocked. The timeout is a hang guard, not a measurement.
    let junk = "x".repeat(64 * 1024);
    let sent = tokio::time::timeout(Duration::from_secs(60), async {
        for _ in 0..256 {
            ws.send(Message::Text(junk.clone())).await.unwrap();
        }
    })
    .await;
    assert!(
        sent.is_ok(),
        "the client could not write: the gateway stopped reading while a write was blocked"
    );
    let mut received = 0;
    for _ in 0..600 {
        received = emu.received_non_acks().len();
        if received == 256 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(received, 256, "every client message is recorded");
    drop(ws);
    emu.shutdown().await;
}

/// The gateway writes queued frames in batches and reads buffered acks in batches: a burst
/// pushed with `push_many` and a close fault queued right behind it reach the client in that
/// order (every event before the close frame), and acks the client sends in one write are all
/// matched to their deliveries.
#[tokio::test]
async fn batched_writes_keep_a_fault_behind_the_burst_and_batched_acks_all_count() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (mut ws, _) = connect_async(url(&emu).await).await.unwrap();
    emu.wait_for_connections(1, WAIT).await.unwrap();
    let n = 300; // more than one send slice and one write batch
    let envelope = |i: usize| {
        format!(
            r#"{{"schema":"2.0","header":{{"event_id":"b{i}","event_type":"t"}},"event":{{}}}}"#
        )
        .into_bytes()
    };
    let ids = emu.push_many((0..n).map(|i| (envelope(i), PushOptions::default())));
    assert_eq!(ids.len(), n);
    let mut frames = Vec::new();
    for _ in 0..n {
        frames.push(next_frame(&mut ws).await);
    }
    let event_ids: Vec<String> = frames
        .iter()
        .map(|f| {
            let v: Value = serde_json::from_slice(f.payload_bytes()).unwrap();
            v["header"]["event_id"].as_str().unwrap().to_string()
        })
        .collect();
    let expected: Vec<String> = (0..n).map(|i| format!("b{i}")).collect();
    assert_eq!(event_ids, expected, "pushed order is kept");

    // All acks in one flush: the gateway reads them as a batch.
    for frame in &frames {
        ws.feed(Message::Binary(encode_frame(&build_ack(
            frame,
            1,
            &AckBody::Ok,
        ))))
        .await
        .unwrap();
    }
    ws.flush().await.unwrap();
    for id in &ids {
        assert!(emu.wait_for_delivery(*id, WAIT).await.unwrap().acked);
    }
    assert_eq!(emu.acks().len(), n);

    // A second burst with a close fault queued behind it: every event arrives before the close.
    let more = emu.push_many((n..n + 100).map(|i| (envelope(i), PushOptions::default())));
    let last = more[more.len() - 1];
    emu.shared
        .wait_until(WAIT, |s| {
            // In flight: its frame is queued for the connection's writer.
            s.deliveries
                .get(&last)
                .filter(|d| d.record.status == DeliveryStatus::InFlight)
                .map(|_| ())
        })
        .await
        .expect("the second burst was handed to the connection");
    assert_eq!(emu.fault(Fault::Close(4000)), 1);
    let mut data_frames = 0;
    let mut close = None;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(WAIT, ws.next()).await {
        match message {
            Message::Binary(_) => {
                assert!(close.is_none(), "an event after the close frame");
                data_frames += 1;
            }
            Message::Close(Some(frame)) => close = Some(u16::from(frame.code)),
            _ => {}
        }
    }
    assert_eq!(data_frames, 100);
    assert_eq!(close, Some(4000));
    emu.shutdown().await;
}
