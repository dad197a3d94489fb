//! The interop scenarios of spec §10, one test each (the number is in the name), run with the
//! real connection supervisor against the in-process emulator: emulator → runtime → sink → ack.

use std::time::{Duration, Instant};

use aviary::connection::FatalError;
use aviary::protocol::envelope::encrypt;
use aviary::protocol::fragment::{fragment_frames, DataMessage};
use aviary::protocol::{
    encode_frame, ClientConfig, ClientConfigUpdate, Frame, Header, MessageType,
};
use aviary_emulator::{EndpointAnswer, Fault, HandshakeAnswer, PongMode, PushOptions, RawMessage};
use aviary_test_support::*;
use base64::Engine;
use serde_json::json;

const SHORT: Duration = Duration::from_secs(10);

fn headers_of(frame: &Frame) -> Vec<(String, String)> {
    frame
        .headers
        .iter()
        .map(|h| (h.key.clone(), h.value.clone()))
        .collect()
}

#[tokio::test]
async fn s01_endpoint_happy_path_request_shape() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    let (device_id, service_id) = client.wait_connected(SHORT).await;
    assert_eq!(service_id, 33554678);
    assert!(!device_id.is_empty());
    let requests = emu.endpoint_requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/callback/ws/endpoint");
    assert!(
        r.headers.iter().any(|(k, v)| k == "locale" && v == "zh"),
        "{:?}",
        r.headers
    );
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["AppID"], "cli_0123456789abcdef");
    assert_eq!(body["AppSecret"], "emulator-secret");
    assert_eq!(
        client.stats.config().ping_interval,
        Duration::from_secs(30),
        "ClientConfig from the endpoint applied"
    );
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s02_system_busy_and_internal_error_are_retried_after_the_interval() {
    let emu = start_emulator(|_| {}).await;
    emu.set_endpoint_answers(
        vec![
            EndpointAnswer::Code {
                code: 1,
                data_null: false,
            },
            EndpointAnswer::Code {
                code: 1000040343,
                data_null: true,
            },
        ],
        EndpointAnswer::Ok,
    );
    // No ClientConfig has arrived yet, so the SDK defaults (30 s jitter, 120 s interval) would
    // apply; the manifest pins make the test fast.
    let mut opts = options_for(&emu);
    opts.settings.reconnect_delay = Some(Duration::from_millis(300));
    opts.settings.reconnect_jitter = Some(Duration::ZERO);
    let client = start_client(opts, RecordingSink::new());
    client.wait_connected(SHORT).await;
    let requests = emu.endpoint_requests();
    assert_eq!(requests.len(), 3);
    // §8.3: after the failure, one jitter (pinned to 0 here), the first attempt, then attempts
    // spaced by ReconnectInterval (pinned to 300 ms).
    assert!(
        requests[2].at.duration_since(requests[1].at) >= Duration::from_millis(300),
        "failed attempts are spaced by the interval"
    );
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s03_other_codes_are_fatal_with_data_object_or_null() {
    for data_null in [false, true] {
        let emu = start_emulator(|_| {}).await;
        emu.set_endpoint_answers(
            vec![],
            EndpointAnswer::Code {
                code: 10003,
                data_null,
            },
        );
        let client = start_client(options_for(&emu), RecordingSink::new());
        let err = client.outcome(SHORT).await.unwrap_err();
        assert!(
            matches!(err, FatalError::Endpoint { code: 10003, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("10003"),
            "the error names the code: {err}"
        );
        assert_eq!(
            emu.endpoint_requests().len(),
            1,
            "no retry after a fatal code"
        );
    }
}

#[tokio::test]
async fn s03_wrong_credentials_are_fatal_and_the_secret_is_not_printed() {
    let emu = start_emulator(|_| {}).await;
    let mut opts = options_for(&emu);
    opts.app_secret = "not-the-secret-xyz".to_string().into();
    let client = start_client(opts, RecordingSink::new());
    let err = client.outcome(SHORT).await.unwrap_err();
    assert!(matches!(err, FatalError::Endpoint { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-secret-xyz"));
}

#[tokio::test]
async fn s04_http_500_and_non_json_are_retried() {
    let emu = start_emulator(|_| {}).await;
    emu.set_endpoint_answers(
        vec![EndpointAnswer::HttpStatus(500), EndpointAnswer::NonJson],
        EndpointAnswer::Ok,
    );
    let mut opts = options_for(&emu);
    opts.settings.reconnect_delay = Some(Duration::from_millis(50));
    opts.settings.reconnect_jitter = Some(Duration::ZERO);
    let client = start_client(opts, RecordingSink::new());
    client.wait_connected(SHORT).await;
    assert_eq!(emu.endpoint_requests().len(), 3);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s05_missing_client_config_or_keys_keep_old_values() {
    let emu = start_emulator(|_| {}).await;
    emu.set_endpoint_answers(
        vec![EndpointAnswer::WithoutClientConfig],
        EndpointAnswer::Ok,
    );
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    assert_eq!(
        client.stats.config(),
        ClientConfig::default(),
        "no ClientConfig: SDK defaults stay"
    );
    // Next connection: only PingInterval is sent; the other three keep their values.
    emu.set_endpoint_answers(
        vec![EndpointAnswer::PartialClientConfig(ClientConfigUpdate {
            ping_interval: Some(7),
            ..Default::default()
        })],
        EndpointAnswer::Ok,
    );
    client.stop().await.unwrap();
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    let c = client.stats.config();
    assert_eq!(c.ping_interval, Duration::from_secs(7));
    assert_eq!(
        c.reconnect_interval,
        ClientConfig::default().reconnect_interval
    );
    assert_eq!(c.reconnect_count, -1);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s06_reconnect_count_bounds_the_attempts() {
    for (count, expected_attempts) in [(0i64, 0usize), (2, 2)] {
        let emu = start_emulator(|c| c.client_config.reconnect_count = count).await;
        let client = start_client(options_for(&emu), RecordingSink::new());
        client.wait_connected(SHORT).await;
        emu.set_endpoint_answers(
            vec![],
            EndpointAnswer::Code {
                code: 1,
                data_null: false,
            },
        );
        emu.fault(Fault::Close(1000));
        let err = client.outcome(SHORT).await.unwrap_err();
        assert!(
            matches!(err, FatalError::ReconnectExhausted { .. }),
            "count {count}: {err}"
        );
        assert_eq!(
            emu.endpoint_requests().len(),
            1 + expected_attempts,
            "ReconnectCount={count}"
        );
    }
    // Negative: unlimited. It keeps trying well past any small number.
    let emu = start_emulator(|c| c.client_config.reconnect_count = -1).await;
    let mut opts = options_for(&emu);
    opts.settings.reconnect_delay = Some(Duration::from_millis(10));
    let client = start_client(opts, RecordingSink::new());
    client.wait_connected(SHORT).await;
    emu.set_endpoint_answers(
        vec![],
        EndpointAnswer::Code {
            code: 1,
            data_null: false,
        },
    );
    emu.fault(Fault::Close(1000));
    eventually("many attempts", SHORT, || {
        emu.endpoint_requests().len() > 12
    })
    .await;
    assert!(!client.is_finished());
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s07_handshake_403_is_fatal() {
    let emu = start_emulator(|_| {}).await;
    emu.set_handshake_answers(
        vec![],
        HandshakeAnswer::Refuse {
            http_status: 403,
            status: Some(403),
            auth_code: None,
            msg: Some("banned".into()),
        },
    );
    let client = start_client(options_for(&emu), RecordingSink::new());
    let err = client.outcome(SHORT).await.unwrap_err();
    assert!(
        matches!(err, FatalError::Handshake { code: 403, .. }),
        "{err}"
    );
    assert_eq!(emu.endpoint_requests().len(), 1);
}

#[tokio::test]
async fn s08_handshake_514_conn_limit_is_fatal_other_codes_retry() {
    let emu = start_emulator(|_| {}).await;
    emu.set_handshake_answers(
        vec![],
        HandshakeAnswer::Refuse {
            http_status: 400,
            status: Some(514),
            auth_code: Some(1000040350),
            msg: None,
        },
    );
    let client = start_client(options_for(&emu), RecordingSink::new());
    let err = client.outcome(SHORT).await.unwrap_err();
    assert!(
        matches!(
            err,
            FatalError::Handshake {
                code: 1000040350,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("1000040350"));

    let emu = start_emulator(|_| {}).await;
    emu.set_handshake_answers(
        vec![
            HandshakeAnswer::Refuse {
                http_status: 400,
                status: Some(514),
                auth_code: Some(1),
                msg: None,
            },
            HandshakeAnswer::Refuse {
                http_status: 500,
                status: None,
                auth_code: None,
                msg: None,
            },
        ],
        HandshakeAnswer::Accept,
    );
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    assert_eq!(
        emu.endpoint_requests().len(),
        3,
        "each attempt is a fresh discovery"
    );
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s08_real_connection_limit_of_the_emulator_is_fatal_for_the_extra_client() {
    let emu = start_emulator(|c| c.max_connections = 1).await;
    let first = start_client(options_for(&emu), RecordingSink::new());
    first.wait_connected(SHORT).await;
    let second = start_client(options_for(&emu), RecordingSink::new());
    let err = second.outcome(SHORT).await.unwrap_err();
    assert!(
        matches!(
            err,
            FatalError::Handshake {
                code: 1000040350,
                ..
            }
        ),
        "{err}"
    );
    first.stop().await.unwrap();
}

#[tokio::test]
async fn s09_ping_at_once_then_pong_config_moves_the_interval() {
    let emu = start_emulator(|c| c.client_config.ping_interval = Duration::from_secs(4)).await;
    let fast = ClientConfig {
        ping_interval: Duration::from_secs(1),
        ..emu_client_config()
    };
    emu.set_pong_mode(PongMode::Custom(
        serde_json::to_vec(&ClientConfigUpdate::full(&fast)).unwrap(),
    ));
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    let connected = Instant::now();
    eventually("first ping", Duration::from_secs(2), || {
        !emu.pings().is_empty()
    })
    .await;
    assert!(
        connected.elapsed() < Duration::from_secs(2),
        "first ping is immediate, not after PingInterval=4"
    );
    let p = &emu.pings()[0];
    assert_eq!((p.service, p.seq_id, p.log_id), (33554678, 0, 0));
    // With the pong's 1 s interval, 6 pings take ~4 + 4 s; with the endpoint's 4 s, 20 s.
    eventually(
        "six pings at the new interval",
        Duration::from_secs(14),
        || emu.pings().len() >= 6,
    )
    .await;
    assert_eq!(client.stats.config().ping_interval, Duration::from_secs(1));
    // Empty pong and invalid JSON pong: no change, connection kept.
    emu.set_pong_mode(PongMode::Empty);
    let n = emu.pings().len();
    eventually("pings continue", Duration::from_secs(4), || {
        emu.pings().len() >= n + 2
    })
    .await;
    emu.set_pong_mode(PongMode::InvalidJson);
    let n = emu.pings().len();
    eventually("pings continue", Duration::from_secs(4), || {
        emu.pings().len() >= n + 2
    })
    .await;
    assert_eq!(client.stats.config().ping_interval, Duration::from_secs(1));
    let s = client.snapshot();
    assert_eq!(
        s.connects, 1,
        "connection kept through empty and invalid pongs"
    );
    assert!(s.pongs_received >= 6);
    client.stop().await.unwrap();
}

fn emu_client_config() -> ClientConfig {
    emulator_config().client_config
}

#[tokio::test]
async fn s10_silent_server_is_detected_by_liveness_and_replaced() {
    let emu = start_emulator(|c| c.client_config.ping_interval = Duration::from_secs(1)).await;
    emu.set_pong_mode(PongMode::Silent);
    let mut opts = options_for(&emu);
    opts.settings.liveness_grace = Duration::from_millis(500);
    let client = start_client(opts, RecordingSink::new());
    client.wait_connected(SHORT).await;
    let s = client
        .wait_stats("a liveness timeout", SHORT, |s| {
            s.liveness_timeouts >= 1 && s.connects >= 2
        })
        .await;
    assert!(s.liveness_timeouts >= 1);
    assert!(
        emu.connections_total() >= 2,
        "a new connection replaced the silent one"
    );
    assert!(emu.endpoint_requests().len() >= 2);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s10_rfc6455_pings_from_the_server_are_answered_and_do_not_disturb() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    emu.send_raw(RawMessage::Ping(b"are-you-there".to_vec()));
    eventually("the client answered the RFC 6455 ping", SHORT, || {
        emu.ws_pongs_received() >= 1
    })
    .await;
    assert_eq!(client.snapshot().connects, 1);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s11_single_frame_event_ack_echoes_everything_in_order() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    let opts = PushOptions {
        seq_id: Some(4242),
        log_id: Some(777),
        extra_headers: vec![
            ("timestamp".into(), "1700000000000".into()),
            ("instance_id".into(), "inst-9".into()),
        ],
        ..Default::default()
    };
    let payload = serde_json::to_vec(&message_event("ev-11", "om_11", "oc_1", "hello")).unwrap();
    emu.push(payload, opts);
    let acks = emu.wait_for_acks(1, SHORT).await.unwrap();
    let ack = &acks[0];
    assert_eq!(ack.code, 200);
    assert_eq!(
        (ack.frame.seq_id, ack.frame.log_id, ack.frame.method),
        (4242, 777, 1)
    );
    let h = headers_of(&ack.frame);
    let keys: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "type",
            "message_id",
            "sum",
            "seq",
            "trace_id",
            "timestamp",
            "instance_id",
            "biz_rt"
        ]
    );
    assert_eq!(h[0].1, "event");
    assert_eq!(h[5].1, "1700000000000");
    assert_eq!(h[6].1, "inst-9");
    assert!(
        h[7].1.parse::<u64>().is_ok(),
        "biz_rt is a non-negative integer: {}",
        h[7].1
    );
    let events = client.sink.wait_for_events(1, SHORT).await;
    assert_eq!(events[0].meta.event_id, "ev-11");
    assert_eq!(events[0].meta.dedupe_id, "om_11");
    never("a second ack", Duration::from_millis(300), || {
        emu.acks().len() > 1
    })
    .await;
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s12_fragments_out_of_order_give_one_dispatch_and_one_ack_from_the_completing_fragment() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    let payload =
        serde_json::to_vec(&message_event("ev-12", "om_12", "oc_1", &"x".repeat(3000))).unwrap();
    emu.push(
        payload.clone(),
        PushOptions {
            fragments: Some(3),
            fragment_order: Some(vec![2, 0, 1]),
            ..Default::default()
        },
    );
    let acks = emu.wait_for_acks(1, SHORT).await.unwrap();
    assert_eq!(acks[0].code, 200);
    assert_eq!(
        acks[0].frame.header("seq"),
        Some("1"),
        "the ack copies the fragment that completed the set"
    );
    assert_eq!(acks[0].frame.header("sum"), Some("3"));
    let events = client.sink.wait_for_events(1, SHORT).await;
    assert_eq!(events[0].json.as_bytes(), &payload[..]);
    never(
        "a second dispatch or ack",
        Duration::from_millis(300),
        || emu.acks().len() > 1 || client.sink.events().len() > 1,
    )
    .await;
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s13_incomplete_fragment_set_is_never_dispatched_and_expires() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    let payload = serde_json::to_vec(&message_event("ev-13", "om_13", "oc_1", "late")).unwrap();
    // The same fragment frames the emulator sends, built by hand here so one can be held back.
    let message = DataMessage {
        message_type: MessageType::Event,
        message_id: "mid-13",
        trace_id: "t-13",
        service: 33554678,
        seq_id: 1,
        log_id: 1,
        extra_headers: &[],
    };
    let parts: Vec<Vec<u8>> = fragment_frames(&message, &payload, 3)
        .iter()
        .map(encode_frame)
        .collect();
    assert_eq!(parts.len(), 3);
    emu.send_raw(RawMessage::Binary(parts[0].clone()));
    emu.send_raw(RawMessage::Binary(parts[1].clone()));
    never(
        "dispatch of an incomplete set",
        Duration::from_secs(1),
        || !client.sink.events().is_empty(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await; // 6 s after the last fragment: past the 5 s TTL
    emu.send_raw(RawMessage::Binary(parts[2].clone()));
    never("dispatch after expiry", Duration::from_secs(1), || {
        !client.sink.events().is_empty()
    })
    .await;
    assert!(emu.acks().is_empty(), "no ack for an expired set");
    assert!(client.snapshot().fragments_dropped >= 1);
    assert_eq!(client.snapshot().connects, 1);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s14_duplicate_delivery_same_event_new_message_id_runs_the_handler_once() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    let event = envelope(
        "contact.user.created_v3",
        "ev-14",
        json!({"object": {"open_id": "ou_2"}}),
    );
    emu.push_event(&event);
    emu.push_event(&event);
    let acks = emu.wait_for_acks(2, SHORT).await.unwrap();
    assert!(
        acks.iter().all(|a| a.code == 200),
        "both deliveries are acked 200"
    );
    assert_ne!(acks[0].message_id, acks[1].message_id);
    never("a second handler run", Duration::from_millis(300), || {
        client.sink.events().len() > 1
    })
    .await;
    assert_eq!(client.sink.events().len(), 1);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s15_card_callback_answer_is_base64_data_in_the_ack() {
    let emu = start_emulator(|_| {}).await;
    let sink = RecordingSink::new();
    let toast = json!({"toast": {"type": "info", "content": "ok"}});
    sink.on("card.action.trigger", Behaviour::Respond(toast.clone()));
    let client = start_client(options_for(&emu), sink);
    client.wait_connected(SHORT).await;
    emu.push_event(&card_event("ev-15", json!({"choice": "approve"})));
    let acks = emu.wait_for_acks(1, SHORT).await.unwrap();
    assert_eq!(acks[0].code, 200);
    let data: serde_json::Value =
        serde_json::from_slice(acks[0].data.as_ref().expect("data present")).unwrap();
    assert_eq!(data, toast);
    let raw: serde_json::Value = serde_json::from_slice(acks[0].frame.payload_bytes()).unwrap();
    let b64 = raw["data"].as_str().unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
        serde_json::to_vec(&toast).unwrap()
    );
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s16_handler_failure_and_unknown_type_ack_500() {
    let emu = start_emulator(|c| c.redelivery.enabled = false).await;
    let sink = RecordingSink::new();
    sink.on("im.message.receive_v1", Behaviour::Fail);
    sink.on("mystery.event_v9", Behaviour::NoHandler);
    let client = start_client(options_for(&emu), sink);
    client.wait_connected(SHORT).await;
    emu.push_event(&message_event("ev-16a", "om_16", "oc_1", "boom"));
    let acks = emu.wait_for_acks(1, SHORT).await.unwrap();
    assert_eq!(acks[0].code, 500);
    assert!(acks[0].biz_rt.is_some(), "500 acks carry biz_rt too");
    emu.push_event(&envelope("mystery.event_v9", "ev-16b", json!({})));
    let acks = emu.wait_for_acks(2, SHORT).await.unwrap();
    assert_eq!(acks[1].code, 500);
    assert!(client.snapshot().events_failed >= 2);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s17_type_card_frames_are_not_acked_and_do_not_hurt() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    let payload = serde_json::to_vec(&card_event("ev-17", json!({}))).unwrap();
    emu.push(
        payload,
        PushOptions {
            message_type: MessageType::Card,
            ..Default::default()
        },
    );
    client
        .wait_stats("card frame counted", SHORT, |s| s.card_frames_ignored == 1)
        .await;
    never(
        "an ack for a type=card frame",
        Duration::from_millis(500),
        || !emu.acks().is_empty(),
    )
    .await;
    assert!(client.sink.events().is_empty());
    emu.push_event(&message_event("ev-17b", "om_17", "oc_1", "still alive"));
    assert_eq!(emu.wait_for_acks(1, SHORT).await.unwrap()[0].code, 200);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s18_missing_trace_id_sum_seq_headers_are_tolerated() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    for (i, omit) in [vec!["trace_id"], vec!["sum", "seq"]]
        .into_iter()
        .enumerate()
    {
        let payload = serde_json::to_vec(&message_event(
            &format!("ev-18-{i}"),
            &format!("om_18_{i}"),
            "oc",
            "h",
        ))
        .unwrap();
        emu.push(
            payload,
            PushOptions {
                omit_headers: omit.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        );
    }
    let acks = emu.wait_for_acks(2, SHORT).await.unwrap();
    assert!(acks.iter().all(|a| a.code == 200));
    assert!(
        acks.iter().any(|a| a.frame.header("trace_id").is_none()),
        "absent headers are not invented in the ack"
    );
    client.sink.wait_for_events(2, SHORT).await;
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s19_malformed_frames_are_counted_and_skipped_the_connection_stays() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    emu.send_raw(RawMessage::Binary(vec![
        0xde, 0xad, 0xbe, 0xef, 0xff, 0x00, 0x13,
    ]));
    emu.send_raw(RawMessage::Binary(vec![0x08, 0x01, 0x10, 0x02, 0x20, 0x01])); // no `service`
    emu.send_raw(RawMessage::Text("{\"hello\":\"text\"}".into()));
    let mut unknown_method = Frame {
        method: 7,
        headers: vec![Header::new("type", "event")],
        ..Default::default()
    };
    unknown_method.payload = Some(b"{}".to_vec());
    emu.send_raw(RawMessage::Binary(encode_frame(&unknown_method)));
    let unknown_type = Frame {
        method: 1,
        headers: vec![
            Header::new("type", "gossip"),
            Header::new("message_id", "m"),
        ],
        ..Default::default()
    };
    emu.send_raw(RawMessage::Binary(encode_frame(&unknown_type)));
    let s = client
        .wait_stats("junk counted", SHORT, |s| {
            s.undecodable_frames >= 2 && s.text_messages_skipped >= 1 && s.unknown_frames >= 2
        })
        .await;
    assert_eq!(s.connects, 1, "the connection stayed up");
    emu.push_event(&message_event("ev-19", "om_19", "oc_1", "after junk"));
    let acks = emu.wait_for_acks(1, SHORT).await.unwrap();
    assert_eq!(acks.len(), 1, "junk got no ack; the real event did");
    assert_eq!(acks[0].code, 200);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s20_non_json_and_non_utf8_payloads_are_acked_500_and_survived() {
    let emu = start_emulator(|c| c.redelivery.enabled = false).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    emu.push(b"this is not json".to_vec(), PushOptions::default());
    emu.push(vec![0xff, 0xfe, 0x7b, 0x7d], PushOptions::default());
    let acks = emu.wait_for_acks(2, SHORT).await.unwrap();
    assert!(acks.iter().all(|a| a.code == 500));
    assert!(client.sink.events().is_empty());
    emu.push_event(&message_event("ev-20", "om_20", "oc_1", "ok"));
    assert_eq!(emu.wait_for_acks(3, SHORT).await.unwrap()[2].code, 200);
    assert_eq!(client.snapshot().connects, 1);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s21_encrypted_payloads_decrypt_with_a_key_and_fail_without() {
    let plain = message_event("ev-21", "om_21", "oc_1", "secret words").to_string();
    let wrapped = json!({ "encrypt": encrypt(&plain, "my-encrypt-key", [3; 16]) });
    for (key, code) in [(Some("my-encrypt-key"), 200), (None, 500)] {
        let emu = start_emulator(|c| c.redelivery.enabled = false).await;
        let mut opts = options_for(&emu);
        opts.encrypt_key = key.map(|k| k.to_string().into());
        let client = start_client(opts, RecordingSink::new());
        client.wait_connected(SHORT).await;
        emu.push_event(&wrapped);
        let acks = emu.wait_for_acks(1, SHORT).await.unwrap();
        assert_eq!(acks[0].code, code, "key {key:?}");
        if code == 200 {
            assert_eq!(client.sink.events()[0].meta.event_id, "ev-21");
            assert_eq!(client.sink.events()[0].json, plain);
        }
        client.stop().await.unwrap();
    }
}

#[tokio::test]
async fn s22_v1_envelope_is_routed_by_event_type_and_deduped_by_uuid() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    let v1 = json!({"uuid": "uuid-22", "token": "t", "ts": "1608725989.000", "type": "event_callback",
        "event": {"type": "message", "app_id": "cli_0123456789abcdef", "tenant_key": "tk", "open_chat_id": "oc_22", "text": "hi"}});
    emu.push_event(&v1);
    assert_eq!(emu.wait_for_acks(1, SHORT).await.unwrap()[0].code, 200);
    let events = client.sink.wait_for_events(1, SHORT).await;
    assert_eq!(events[0].meta.event_type, "message");
    assert_eq!(events[0].meta.dedupe_id, "uuid-22");
    assert_eq!(events[0].meta.create_time, "1608725989.000");
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s23_close_1000_1001_reset_and_silent_drop_all_reconnect_with_fresh_discovery() {
    let emu = start_emulator(|c| c.client_config.reconnect_nonce = Duration::from_secs(1)).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    for (i, fault) in [
        Fault::Close(1000),
        Fault::Close(1001),
        Fault::Abrupt,
        Fault::DropWithoutClose,
    ]
    .into_iter()
    .enumerate()
    {
        let before = emu.connections_total();
        let requested = emu.endpoint_requests().len();
        let at = Instant::now();
        emu.fault(fault);
        eventually("a new connection", SHORT, || {
            emu.connections_total() > before && emu.connections().len() == 1
        })
        .await;
        assert_eq!(
            emu.endpoint_requests().len(),
            requested + 1,
            "fault {i}: exactly one new endpoint request"
        );
        assert!(
            at.elapsed() < Duration::from_secs(5),
            "fault {i}: reconnected within the 1 s nonce (+ slack)"
        );
        let conn = emu.connections()[0].id;
        eventually("immediate ping on the new connection", SHORT, || {
            emu.pings().iter().any(|p| p.connection == conn)
        })
        .await;
    }
    let s = client.snapshot();
    assert_eq!(s.connects, 5);
    assert_eq!(s.disconnects, 4);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s24_new_service_id_after_reconnect_is_used_in_pings() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    emu.set_service_id(424242);
    emu.fault(Fault::Close(1000));
    eventually("reconnected", SHORT, || {
        emu.connections_total() == 2 && emu.connections().len() == 1
    })
    .await;
    let conn = emu.connections()[0].id;
    eventually("ping on the new connection", SHORT, || {
        emu.pings().iter().any(|p| p.connection == conn)
    })
    .await;
    assert!(emu
        .pings()
        .iter()
        .filter(|p| p.connection == conn)
        .all(|p| p.service == 424242));
    assert_eq!(client.wait_connected(SHORT).await.1, 424242);
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s25_slow_handler_is_redelivered_and_still_handled_once() {
    // ack timeout 3 s × 0.1 = 300 ms; the handler takes 1.5 s.
    let emu = start_emulator(|_| {}).await;
    let sink = RecordingSink::new();
    sink.on(
        "approval.approval.approved_v1",
        Behaviour::Slow(Duration::from_millis(1500)),
    );
    let client = start_client(options_for(&emu), sink);
    client.wait_connected(SHORT).await;
    let id = emu.push_event(&envelope(
        "approval.approval.approved_v1",
        "ev-25",
        json!({"approval_code": "A"}),
    ));
    eventually("a redelivery", SHORT, || {
        emu.deliveries()
            .iter()
            .any(|d| d.id == id && d.attempts.len() >= 2)
    })
    .await;
    eventually("the late acks arrive", SHORT, || emu.acks().len() >= 2).await;
    assert!(emu.acks().iter().all(|a| a.code == 200));
    assert_eq!(
        client.sink.events().len(),
        1,
        "the redelivery waited for the running handler instead of running twice"
    );
    client.stop().await.unwrap();
}

#[tokio::test]
async fn s26_two_clients_share_the_events_each_delivered_to_exactly_one() {
    let emu = start_emulator(|_| {}).await;
    let a = start_client(options_for(&emu), RecordingSink::new());
    let b = start_client(options_for(&emu), RecordingSink::new());
    a.wait_connected(SHORT).await;
    b.wait_connected(SHORT).await;
    emu.wait_for_connections(2, SHORT).await.unwrap();
    for i in 0..30 {
        emu.push_event(&message_event(
            &format!("ev-26-{i}"),
            &format!("om_26_{i}"),
            "oc",
            "hi",
        ));
    }
    let acks = emu.wait_for_acks(30, SHORT).await.unwrap();
    assert_eq!(acks.len(), 30);
    assert!(acks.iter().all(|a| a.code == 200));
    let (na, nb) = (a.sink.events().len(), b.sink.events().len());
    assert_eq!(na + nb, 30, "each event went to exactly one client");
    assert!(
        na > 0 && nb > 0,
        "cluster mode spreads events over both clients ({na}/{nb})"
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn s27_large_message_is_fragmented_by_the_server_and_reassembled() {
    let emu = start_emulator(|_| {}).await;
    let client = start_client(options_for(&emu), RecordingSink::new());
    client.wait_connected(SHORT).await;
    let big = message_event("ev-27", "om_27", "oc_1", &"大".repeat(700_000)); // ~2.1 MB of UTF-8
    let payload = serde_json::to_vec(&big).unwrap();
    assert!(payload.len() > 2 * 1024 * 1024);
    emu.push(payload.clone(), PushOptions::default());
    let acks = emu.wait_for_acks(1, Duration::from_secs(20)).await.unwrap();
    assert_eq!(acks[0].code, 200);
    assert!(
        acks[0].frame.header("sum").unwrap().parse::<u32>().unwrap() > 1,
        "the emulator fragmented it"
    );
    let events = client.sink.wait_for_events(1, SHORT).await;
    assert_eq!(events[0].json.len(), payload.len());
    client.stop().await.unwrap();
}
