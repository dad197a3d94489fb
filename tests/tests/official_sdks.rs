//! The proof that the emulator speaks Feishu: the official, unmodified Python (`lark-oapi`
//! 1.7.5) and Node (`@larksuiteoapi/node-sdk` 1.74.0) clients connect to it, ping, and ack a
//! plain event, a fragmented event and a card callback exactly as the spec says, ignore a
//! `type=card` frame and junk, and reconnect after a server close
//! (`docs/protocol.md` §1–§5, §8, §10 scenarios 1, 9, 11, 12, 15,
//! 17, 19, 23).
//!
//! Needs `bash scripts/install-peers.sh` first; without the SDKs these tests fail (never skip).

use std::time::Duration;

use aviary::protocol::{ClientConfig, Frame, MessageType};
use aviary_emulator::{
    AckRecord, DeliveryId, DeliveryRecord, DeliveryStatus, Emulator, EmulatorConfig, Fault,
    PushOptions, RawMessage,
};
use aviary_test_support::peers::{Peer, PeerKind};
use serde_json::{json, Value};

const APP_ID: &str = "cli_0123456789abcdef";
const APP_SECRET: &str = "emulator-secret";
const SERVICE_ID: i32 = 33554678;
/// Peer start-up (interpreter, imports, endpoint request, handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to watch for a second (wrong) ack after the first.
const SETTLE: Duration = Duration::from_millis(500);

fn message_event(event_id: &str, text: &str) -> Value {
    json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "event_type": "im.message.receive_v1",
            "create_time": "1700000000000",
            "token": "",
            "app_id": APP_ID,
            "tenant_key": "tenant-1",
        },
        "event": {
            "sender": {
                "sender_id": {"open_id": "ou_1", "union_id": "on_1", "user_id": "u_1"},
                "sender_type": "user",
                "tenant_key": "tenant-1",
            },
            "message": {
                "message_id": format!("om_{event_id}"),
                "chat_id": "oc_1",
                "chat_type": "p2p",
                "message_type": "text",
                "content": json!({"text": text}).to_string(),
                "create_time": "1700000000000",
                "update_time": "1700000000000",
            },
        },
    })
}

fn card_event(event_id: &str) -> Value {
    json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "event_type": "card.action.trigger",
            "create_time": "1700000000000",
            "token": "",
            "app_id": APP_ID,
            "tenant_key": "tenant-1",
        },
        "event": {
            "operator": {"tenant_key": "tenant-1", "open_id": "ou_1", "union_id": "on_1", "user_id": "u_1"},
            "token": "c-token",
            "action": {"value": {"choice": "yes"}, "tag": "button"},
            "host": "im_message",
            "context": {"open_message_id": "om_1", "open_chat_id": "oc_1"},
        },
    })
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Waits for the delivery to be acked and returns it with its only ack (checking that no
/// second ack arrives).
async fn single_ack(emu: &Emulator, peer: &Peer, id: DeliveryId) -> (DeliveryRecord, AckRecord) {
    let record = emu
        .wait_for_delivery(id, STEP_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\npeer log:\n{}", peer.log_tail()));
    assert!(
        record.acked,
        "delivery {id} not acked: {record:?}\npeer log:\n{}",
        peer.log_tail()
    );
    assert_eq!(record.attempts.len(), 1, "redelivered: {record:?}");
    tokio::time::sleep(SETTLE).await;
    let acks: Vec<AckRecord> = emu
        .acks()
        .into_iter()
        .filter(|a| a.delivery == Some(id))
        .collect();
    assert_eq!(acks.len(), 1, "exactly one ack per message: {acks:#?}");
    (record, acks.into_iter().next().unwrap())
}

/// Waits for a ping frame on this connection.
async fn wait_for_ping_on(emu: &Emulator, peer: &Peer, connection: u64) {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    while !emu.pings().iter().any(|p| p.connection == connection) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no ping on connection {connection}\npeer log:\n{}",
            peer.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The ack is a copy of `sent` with every field and header echoed in order, plus `biz_rt`.
fn assert_echoes(ack: &Frame, sent: &Frame) {
    assert_eq!(
        (ack.seq_id, ack.log_id, ack.service, ack.method),
        (sent.seq_id, sent.log_id, sent.service, sent.method),
        "fields echoed"
    );
    let n = sent.headers.len();
    assert_eq!(ack.headers.len(), n + 1, "one header appended: {ack:?}");
    assert_eq!(
        ack.headers[..n],
        sent.headers[..],
        "headers echoed in order"
    );
    let biz_rt = &ack.headers[n];
    assert_eq!(biz_rt.key, "biz_rt");
    // Node 1.74 sends start-end (negative), §5.3; only the shape is checked.
    biz_rt
        .value
        .parse::<i64>()
        .unwrap_or_else(|_| panic!("biz_rt is not an integer: {:?}", biz_rt.value));
}

async fn conformance(kind: PeerKind) {
    let emu = Emulator::start(EmulatorConfig {
        // Reconnect within about a second after the fault below (Feishu's defaults: 30 s / 120 s),
        // and ping every 2 s: Python's ping loop is one per client and keeps its schedule across
        // reconnects (no immediate ping on the new connection, unlike Node), §4.
        client_config: ClientConfig {
            reconnect_nonce: Duration::from_secs(1),
            reconnect_interval: Duration::from_secs(1),
            ping_interval: Duration::from_secs(2),
            ..ClientConfig::default()
        },
        ..Default::default()
    })
    .await
    .expect("emulator starts");
    let mut peer = Peer::spawn(kind, &emu.domain()).unwrap_or_else(|e| panic!("{e:#}"));
    let name = kind.name();

    // §1.1: the endpoint request.
    let requests = emu
        .wait_for_endpoint_requests(1, CONNECT_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\npeer log:\n{}", peer.log_tail()));
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/callback/ws/endpoint");
    assert_eq!(request.header("locale"), Some("zh"));
    let body = request.json().expect("endpoint body is JSON");
    assert_eq!(body["AppID"], APP_ID);
    assert_eq!(body["AppSecret"], APP_SECRET);

    // §2, §4: the upgrade and the first ping.
    emu.wait_for_connections(1, CONNECT_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\npeer log:\n{}", peer.log_tail()));
    let connection = emu.connections()[0].clone();
    assert_eq!(connection.service_id, SERVICE_ID);
    let pings = emu
        .wait_for_pings(1, STEP_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\npeer log:\n{}", peer.log_tail()));
    let ping = &pings[0];
    assert_eq!(ping.connection, connection.id);
    assert_eq!(
        (ping.service, ping.seq_id, ping.log_id),
        (SERVICE_ID, 0, 0),
        "ping frame fields"
    );

    // §5.3, scenario 11: a single-frame event with custom ids and extra headers.
    let plain_id = format!("ev-plain-{name}");
    let plain = emu.push(
        bytes(&message_event(&plain_id, "hello")),
        PushOptions {
            seq_id: Some(1000),
            log_id: Some(2000),
            extra_headers: vec![
                ("timestamp".into(), "1700000000000".into()),
                ("instance_id".into(), "emulator-instance-1".into()),
            ],
            ..Default::default()
        },
    );
    let (record, ack) = single_ack(&emu, &peer, plain).await;
    assert_eq!(ack.code, 200);
    assert_eq!(ack.data, None, "a plain event answers no data");
    let sent = &record.attempts[0].frames;
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].seq_id, sent[0].log_id), (1000, 2000));
    assert_echoes(&ack.frame, &sent[0]);

    // §5.1, scenario 12: three fragments sent as seq 2, 0, 1 → one ack, the completing copy.
    let fragmented_id = format!("ev-fragmented-{name}");
    let long_text = "fragment me ".repeat(200);
    let fragmented = emu.push(
        bytes(&message_event(&fragmented_id, &long_text)),
        PushOptions {
            fragments: Some(3),
            fragment_order: Some(vec![2, 0, 1]),
            ..Default::default()
        },
    );
    let (record, ack) = single_ack(&emu, &peer, fragmented).await;
    assert_eq!(ack.code, 200);
    let sent = &record.attempts[0].frames;
    let order: Vec<_> = sent.iter().map(|f| f.header("seq").unwrap()).collect();
    assert_eq!(order, ["2", "0", "1"]);
    assert_eq!(
        ack.frame.header("seq"),
        Some("1"),
        "ack copies the completing fragment"
    );
    assert_eq!(ack.frame.header("sum"), Some("3"));
    assert_echoes(&ack.frame, &sent[2]);

    // §5.3, scenario 15: a card callback answers a toast in `data`.
    let card_id = format!("ev-card-{name}");
    let card = emu.push(bytes(&card_event(&card_id)), PushOptions::default());
    let (record, ack) = single_ack(&emu, &peer, card).await;
    assert_eq!(ack.code, 200);
    let data = ack.data.as_deref().expect("callback ack carries data");
    let answer: Value = serde_json::from_slice(data).expect("data is JSON");
    assert_eq!(answer, json!({"toast": {"type": "info", "content": "ok"}}));
    assert_echoes(&ack.frame, &record.attempts[0].frames[0]);

    // The handlers really ran, with the reassembled envelopes.
    for (event_id, event_type) in [
        (&plain_id, "im.message.receive_v1"),
        (&fragmented_id, "im.message.receive_v1"),
        (&card_id, "card.action.trigger"),
    ] {
        let line = peer
            .wait_for_line(STEP_TIMEOUT, |l| l["event_id"] == event_id.as_str())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(line["peer"], name);
        assert_eq!(line["event_type"], event_type);
    }

    // Nothing but pings and acks came from the SDK, on the one connection it opened.
    let junk = emu.received_non_acks();
    assert!(
        junk.is_empty(),
        "unexpected messages from the SDK: {junk:#?}"
    );
    assert_eq!(emu.connections_total(), 1);

    // Scenarios 17 and 19: a type=card frame gets no ack; junk does not break the connection.
    let legacy_card = emu.push(
        bytes(&card_event(&format!("ev-legacy-card-{name}"))),
        PushOptions {
            message_type: MessageType::Card,
            ..Default::default()
        },
    );
    emu.send_raw(RawMessage::Text("not a frame".into()));
    emu.send_raw(RawMessage::Binary(vec![0xff, 0x00, 0x13, 0x37]));
    let after_junk = emu.push(
        bytes(&message_event(
            &format!("ev-after-junk-{name}"),
            "still there?",
        )),
        PushOptions::default(),
    );
    let (record, _) = single_ack(&emu, &peer, after_junk).await;
    assert_eq!(record.attempts[0].connection, connection.id);
    assert_eq!(
        emu.delivery(legacy_card).unwrap().status,
        DeliveryStatus::Sent
    );
    assert!(
        emu.acks().iter().all(|a| a.delivery != Some(legacy_card)),
        "type=card must not be acked"
    );

    // Scenario 23: a server close 1000 → a new endpoint request, a new upgrade, a new ping,
    // and events flow on the new connection.
    assert_eq!(emu.fault(Fault::Close(1000)), 1);
    emu.wait_for_endpoint_requests(2, STEP_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\npeer log:\n{}", peer.log_tail()));
    emu.wait_for_connections(1, STEP_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\npeer log:\n{}", peer.log_tail()));
    assert_eq!(emu.connections_total(), 2);
    let second = emu.connections()[0].clone();
    assert_ne!(second.id, connection.id);
    assert_ne!(second.device_id, connection.device_id);
    wait_for_ping_on(&emu, &peer, second.id).await;
    let after_reconnect = emu.push(
        bytes(&message_event(&format!("ev-reconnected-{name}"), "again")),
        PushOptions::default(),
    );
    let (record, _) = single_ack(&emu, &peer, after_reconnect).await;
    assert_eq!(record.attempts[0].connection, second.id);
    assert!(peer.is_running(), "peer died:\n{}", peer.log_tail());
    peer.kill().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn python_sdk_lark_oapi_conforms() {
    conformance(PeerKind::Python).await;
}

#[tokio::test]
async fn node_sdk_conforms() {
    conformance(PeerKind::Node).await;
}
