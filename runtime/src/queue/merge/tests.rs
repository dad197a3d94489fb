//! The turn rule on hand-made lanes: what joins, what ends a turn, when it is closed.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::queue::store::{HandlerState, NewJob};

const W: u64 = 1500;

fn settings(max: usize, same_sender: bool) -> MergeSettings {
    MergeSettings {
        window: Duration::from_millis(W),
        max_events: max,
        same_sender,
    }
}

/// Job `id` of type `event_type`, persisted at `at`, routed to `handlers` (all pending).
fn job(id: u64, at: u64, event_type: &str, handlers: &[&str]) -> JobRecord {
    JobRecord::new(
        id,
        at,
        NewJob {
            dedupe_id: format!("om_{id}"),
            event_id: format!("ev-{id}"),
            event_type: event_type.into(),
            chat_id: Some("oc_1".into()),
            trace_id: String::new(),
            envelope: "{}".into(),
            handlers: handlers.iter().map(|h| h.to_string()).collect(),
        },
    )
}

fn msg(id: u64, at: u64) -> JobRecord {
    job(id, at, MERGEABLE_EVENT_TYPE, &["h", "other"])
}

fn lane<'a>(jobs: &'a [JobRecord], senders: &'a [&'a str]) -> Vec<LaneJob<'a>> {
    jobs.iter()
        .enumerate()
        .map(|(i, record)| LaneJob {
            record,
            sender: senders.get(i).copied(),
        })
        .collect()
}

#[test]
fn messages_within_the_window_join_and_the_turn_waits_for_the_fence() {
    let jobs = [msg(1, 1000), msg(2, 1200), msg(3, 2500)];
    let l = lane(&jobs, &[]);
    assert_eq!(
        turn("h", &settings(10, false), l.clone(), 0),
        Turn::Open { until_ms: 2500 }
    );
    assert_eq!(
        turn("h", &settings(10, false), l.clone(), 2499),
        Turn::Open { until_ms: 2500 },
        "the writer has not yet stamped past the window"
    );
    assert_eq!(
        turn("h", &settings(10, false), l.clone(), 2500),
        Turn::Closed(vec![1, 2, 3])
    );
}

#[test]
fn a_later_message_closes_the_turn_without_a_fence() {
    let jobs = [msg(1, 1000), msg(2, 2000), msg(3, 2501), msg(4, 2502)];
    assert_eq!(
        turn("h", &settings(10, false), lane(&jobs, &[]), 0),
        Turn::Closed(vec![1, 2]),
        "persisted after the window: the turn is over"
    );
}

#[test]
fn max_events_and_bytes_bound_a_turn() {
    let jobs = [msg(1, 1000), msg(2, 1001), msg(3, 1002), msg(4, 1003)];
    let l = lane(&jobs, &[]);
    assert_eq!(
        turn("h", &settings(3, false), l.clone(), 0),
        Turn::Closed(vec![1, 2, 3])
    );
    assert_eq!(
        turn("h", &settings(2, false), l[..2].to_vec(), 0),
        Turn::Closed(vec![1, 2]),
        "full: no later job can join, no fence needed"
    );
    assert_eq!(
        turn("h", &settings(1, false), l.clone(), 0),
        Turn::Closed(vec![1])
    );
    let mut big = msg(2, 1001);
    big.job.envelope = "x".repeat(crate::limits::merge::MAX_TURN_BYTES);
    let jobs = [msg(1, 1000), big, msg(3, 1002)];
    assert_eq!(
        turn("h", &settings(10, false), lane(&jobs, &[]), 0),
        Turn::Closed(vec![1]),
        "the turn stays within MAX_TURN_BYTES"
    );
}

#[test]
fn other_events_of_the_handler_end_a_turn_others_are_skipped() {
    let jobs = [
        msg(1, 1000),
        // Not routed to `h`: skipped.
        job(2, 1001, "im.message.message_read_v1", &["other"]),
        msg(3, 1002),
        // Routed to `h` but not a message: ends the turn (order is kept).
        job(4, 1003, "im.message.reaction.created_v1", &["h"]),
        msg(5, 1004),
    ];
    assert_eq!(
        turn("h", &settings(10, false), lane(&jobs, &[]), 0),
        Turn::Closed(vec![1, 3])
    );
    // A message `h` already ran (done) is skipped too.
    let mut done = msg(2, 1001);
    done.states[0].status = HandlerStatus::Done;
    let jobs = [msg(1, 1000), done, msg(3, 1002)];
    assert_eq!(
        turn("h", &settings(10, false), lane(&jobs, &[]), 5000),
        Turn::Closed(vec![1, 3])
    );
}

#[test]
fn same_sender_ends_a_turn_at_another_sender() {
    let jobs = [msg(1, 1000), msg(2, 1001), msg(3, 1002), msg(4, 1003)];
    let l = lane(&jobs, &["ou_a", "ou_a", "ou_b", "ou_a"]);
    assert_eq!(
        turn("h", &settings(10, true), l.clone(), 0),
        Turn::Closed(vec![1, 2])
    );
    assert_eq!(
        turn("h", &settings(10, false), l.clone(), 5000),
        Turn::Closed(vec![1, 2, 3, 4]),
        "without same_sender every sender joins"
    );
}

#[test]
fn mergeable_needs_a_pending_message() {
    let m = msg(1, 0);
    assert!(mergeable(&m, "h"));
    assert!(!mergeable(&m, "nobody"));
    assert!(!mergeable(&job(2, 0, "card.action.trigger", &["h"]), "h"));
    let mut dead = msg(3, 0);
    dead.states[0] = HandlerState {
        status: HandlerStatus::Dead,
        ..dead.states[0].clone()
    };
    assert!(!mergeable(&dead, "h"));
}

#[test]
fn the_merged_envelope_lists_the_originals_in_order() {
    let a = json!({"schema": "2.0", "header": {"event_id": "e1"}, "event": {"message": {"message_id": "om_1"}}}).to_string();
    let b = json!({"schema": "2.0", "header": {"event_id": "e2"}, "event": {"message": {"message_id": "om_2"}}}).to_string();
    let text = merged_envelope(
        TurnHeader {
            event_id: "e1",
            create_time: "1700000000000",
            app_id: "cli_1",
            tenant_key: "t",
            chat_id: "oc_\"quoted\"",
        },
        &[&a, &b],
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v["header"]["event_type"], MERGED_EVENT_TYPE);
    assert_eq!(v["header"]["event_id"], "e1");
    assert_eq!(v["event"]["chat_id"], "oc_\"quoted\"");
    assert_eq!(v["event"]["count"], 2);
    assert_eq!(
        v["event"]["events"][0]["event"]["message"]["message_id"],
        "om_1"
    );
    assert_eq!(v["event"]["events"][1]["header"]["event_id"], "e2");
}

#[test]
fn sender_and_checks() {
    let e = json!({"event": {"sender": {"sender_id": {"open_id": "ou_x"}}}}).to_string();
    assert_eq!(sender_of(&e).as_deref(), Some("ou_x"));
    assert_eq!(sender_of("{}"), None);
    assert_eq!(sender_of("not json"), None);
    assert_eq!(
        MergeSettings::check_window_ms(60_001)
            .unwrap_err()
            .to_string(),
        "must be between 1 and 60000 (got 60001)"
    );
    assert!(MergeSettings::check_max_events(0).is_err());
    assert_eq!(MergeSettings::check_max_events(10), Ok(10));
}

/// `examples/events/aviary.message.merged_v1.json`, the sample every SDK's tests read, is what
/// `merged_envelope` builds from its messages.
#[test]
fn the_sdk_sample_has_the_runtime_shape() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/events/aviary.message.merged_v1.json");
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let h = &sample["header"];
    let members: Vec<String> = sample["event"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let built = merged_envelope(
        TurnHeader {
            event_id: h["event_id"].as_str().unwrap(),
            create_time: h["create_time"].as_str().unwrap(),
            app_id: h["app_id"].as_str().unwrap(),
            tenant_key: h["tenant_key"].as_str().unwrap(),
            chat_id: sample["event"]["chat_id"].as_str().unwrap(),
        },
        &refs,
    );
    let built: serde_json::Value = serde_json::from_str(&built).unwrap();
    assert_eq!(built, sample);
}
