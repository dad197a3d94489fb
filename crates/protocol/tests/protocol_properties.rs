//! Property tests: bad input to the pure protocol never panics, bounds always hold, and valid
//! input round-trips. These stand in for fuzzing in CI (fast, deterministic seeds per run).

use std::time::{Duration, Instant};

use aviary_protocol::ack::parse_ack_payload;
use aviary_protocol::control::parse_pong;
use aviary_protocol::endpoint::{classify_endpoint_response, connection_ids};
use aviary_protocol::envelope::{decrypt, parse_envelope};
use aviary_protocol::reassembly::{Fragment, Reassembler, ReassemblyLimits};
use aviary_protocol::{decode_frame, encode_frame, Frame, Header};
use proptest::prelude::*;

fn header() -> impl Strategy<Value = Header> {
    (".{0,12}", ".{0,24}").prop_map(|(k, v)| Header::new(k, v))
}

fn frame() -> impl Strategy<Value = Frame> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<i32>(),
        any::<i32>(),
        prop::collection::vec(header(), 0..8),
        prop::option::of(".{0,8}"),
        prop::option::of(".{0,8}"),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..256)),
        prop::option::of(".{0,8}"),
    )
        .prop_map(
            |(seq_id, log_id, service, method, headers, pe, pt, payload, lin)| Frame {
                seq_id,
                log_id,
                service,
                method,
                headers,
                payload_encoding: pe,
                payload_type: pt,
                payload,
                log_id_new: lin,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_frame_round_trips(f in frame()) {
        prop_assert_eq!(decode_frame(&encode_frame(&f)).unwrap(), f);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_frame(&bytes);
    }

    #[test]
    fn mutated_valid_frames_never_panic(f in frame(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), cut in any::<prop::sample::Index>()) {
        let mut bytes = encode_frame(&f);
        for (i, b) in flips {
            let i = i.index(bytes.len().max(1));
            if i < bytes.len() { bytes[i] ^= b; }
        }
        let _ = decode_frame(&bytes);
        let cut = cut.index(bytes.len() + 1);
        let _ = decode_frame(&bytes[..cut]);
    }

    #[test]
    fn truncated_frames_are_errors(f in frame(), cut in any::<prop::sample::Index>()) {
        let bytes = encode_frame(&f);
        // Every strict prefix that drops part of a field must not decode into the same frame.
        let cut = cut.index(bytes.len());
        if let Ok(g) = decode_frame(&bytes[..cut]) { prop_assert_ne!(g, f); }
    }

    #[test]
    fn payload_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), text in ".{0,64}", status in any::<u16>()) {
        let _ = parse_envelope(&bytes, None);
        let _ = parse_envelope(text.as_bytes(), Some("k"));
        let _ = parse_ack_payload(&bytes);
        let _ = classify_endpoint_response(status, &bytes);
        let _ = connection_ids(&text);
        let _ = decrypt(&text, "k");
        let pong = Frame { payload: Some(bytes), ..Default::default() };
        let _ = parse_pong(&pong);
    }

    #[test]
    fn json_shaped_envelopes_never_panic(v in json_value()) {
        let text = serde_json::to_string(&serde_json::json!({"schema": "2.0", "header": v.clone(), "event": v.clone(), "uuid": v})).unwrap();
        let _ = parse_envelope(text.as_bytes(), None);
    }

    #[test]
    fn reassembly_of_any_permutation_completes_exactly_once(
        parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..32), 2..10),
        order in any::<u64>(),
    ) {
        let sum = parts.len() as u32;
        let mut idx: Vec<usize> = (0..parts.len()).collect();
        // deterministic shuffle from the drawn seed
        let mut s = order;
        for i in (1..idx.len()).rev() { s = s.wrapping_mul(6364136223846793005).wrapping_add(1); idx.swap(i, (s >> 33) as usize % (i + 1)); }
        // Room for the largest message drawn (9 parts of 31 bytes), so nothing is rejected.
        let mut r = Reassembler::new(ReassemblyLimits { max_message_bytes: 512, max_pending_bytes: 512, ..limits() });
        let t = Instant::now();
        let mut completions = Vec::new();
        for (n, &i) in idx.iter().enumerate() {
            match r.offer("m", sum, i as u32, &parts[i], t) {
                Fragment::Complete(p) => completions.push((n, p)),
                Fragment::Pending => {}
                Fragment::Rejected(e) => prop_assert!(false, "rejected: {e}"),
            }
        }
        prop_assert_eq!(completions.len(), 1);
        prop_assert_eq!(completions[0].0, idx.len() - 1, "only the last fragment completes");
        prop_assert_eq!(&completions[0].1, &parts.concat());
        prop_assert_eq!(r.pending_messages(), 0);
    }

    #[test]
    fn hostile_fragment_streams_stay_within_bounds(
        ops in prop::collection::vec((0u8..12, any::<u32>(), any::<u32>(), 0usize..40, 0u64..20), 0..300)
    ) {
        let l = limits();
        let mut r = Reassembler::new(l);
        let t0 = Instant::now();
        for (id, sum, seq, len, secs) in ops {
            let _ = r.offer(&format!("m{id}"), sum % 12, seq % 14, &vec![0u8; len], t0 + Duration::from_secs(secs));
            prop_assert!(r.pending_messages() <= l.max_pending_messages);
            prop_assert!(r.pending_bytes() <= l.max_pending_bytes);
        }
    }
}

fn limits() -> ReassemblyLimits {
    ReassemblyLimits {
        max_parts: 10,
        max_message_bytes: 256,
        max_pending_messages: 4,
        max_pending_bytes: 96,
        ttl: Duration::from_secs(5),
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("event_type".to_string()),
                    Just("event_id".to_string()),
                    Just("message".to_string()),
                    Just("type".to_string()),
                    ".{0,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
