use std::time::Duration;

use super::*;
use crate::handler::{Failure, HostCall};
use crate::protocol::envelope::EventKind;

fn event(id: &str, attempt: u32) -> GuestEvent {
    GuestEvent {
        dedupe_id: id.into(),
        event_id: id.into(),
        event_type: "im.message.receive_v1".into(),
        kind: EventKind::Event,
        app_id: "cli_x".into(),
        tenant_key: "t".into(),
        create_time: "0".into(),
        attempt,
        envelope: "{\"header\":{\"token\":\"verification-token\"}}".into(),
    }
}

fn invocation(result: Result<Outcome, Failure>, logs: usize) -> Invocation {
    Invocation {
        result,
        fuel_used: Some(1234),
        peak_memory_bytes: 65536,
        wall: Duration::from_millis(7),
        logs: (0..logs)
            .map(|i| GuestLog {
                level: LogLevel::Info,
                message: format!("line {i}"),
                stream: LogStream::Log,
            })
            .collect(),
        kv: None,
        calls: vec![HostCall {
            import: "feishu-request",
            method: "POST".into(),
            target: "/open-apis/im/v1/messages/om_1/reply".into(),
            ok: true,
            status: None,
            answer: "code 0 (success), message_id om_2".into(),
            duration: Duration::from_millis(3),
        }],
    }
}

#[test]
fn an_event_collects_its_steps_in_order_and_since_returns_what_changed() {
    let j = Journal::new();
    j.received("ev1", "im.message.receive_v1", "tr1", "frame-1");
    j.step("ev1", "", "", What::Persisted { job: 4 });
    j.acked("ev1", Some(200), None);
    let limits = RunLimits {
        timeout_ms: 1000,
        fuel: Some(10_000),
        memory_bytes: Some(1 << 20),
    };
    j.run(
        &event("ev1", 1),
        "echo",
        limits,
        &invocation(Ok(Outcome::Retry("busy".into())), 2),
    );
    let first = j.since(0);
    assert_eq!(first.events.len(), 1);
    let ev = &first.events[0];
    assert_eq!(
        (ev.event_type.as_str(), ev.trace_id.as_str()),
        ("im.message.receive_v1", "tr1")
    );
    let kinds: Vec<String> = ev
        .steps
        .iter()
        .map(|s| {
            serde_json::to_value(s).unwrap()["step"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["received", "persisted", "acked", "run"]);
    let run = serde_json::to_value(&ev.steps[3]).unwrap();
    assert_eq!(run["outcome"], "retry");
    assert_eq!(run["detail"], "busy");
    assert_eq!(run["limits"]["fuel"], 10_000);
    assert_eq!(run["fuel_used"], 1234);
    assert_eq!(run["logs"][1]["message"], "line 1");
    assert_eq!(
        run["calls"][0]["answer"],
        "code 0 (success), message_id om_2"
    );
    let text = serde_json::to_string(&first).unwrap();
    assert!(
        !text.contains("verification-token"),
        "the envelope is never kept: {text}"
    );

    // Nothing changed since: nothing returned; a new step returns that event only.
    assert!(j.since(first.latest).events.is_empty());
    j.received("ev2", "x.y", "", "frame-2");
    j.step(
        "ev1",
        "",
        "",
        What::Retry {
            handler: "echo".into(),
            attempt: 1,
            retry_in_ms: 500,
            reason: "busy".into(),
        },
    );
    let next = j.since(first.latest);
    let ids: Vec<&str> = next.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["ev1", "ev2"], "oldest first");
    assert_eq!(next.events[0].steps.len(), 5);
}

#[test]
fn bounds_hold_for_events_steps_and_logs() {
    let j = Journal::new();
    for i in 0..MAX_EVENTS + 10 {
        j.received(&format!("ev{i}"), "t", "", "d");
    }
    let all = j.since(0);
    assert_eq!(all.events.len(), MAX_EVENTS);
    assert_eq!(all.dropped_events, 10);
    assert_eq!(all.events[0].event_id, "ev10", "the oldest went first");

    for _ in 0..MAX_STEPS_PER_EVENT + 5 {
        j.acked("ev500", Some(500), Some("x"));
    }
    let ev = j.since(0).events.pop().unwrap();
    assert_eq!(ev.event_id, "ev500");
    assert_eq!(ev.steps.len(), MAX_STEPS_PER_EVENT);
    assert_eq!(ev.steps_dropped, 5);

    j.run(
        &event("ev-logs", 1),
        "h",
        RunLimits::default(),
        &invocation(Ok(Outcome::Done), MAX_LOG_LINES_PER_RUN + 7),
    );
    let ev = j.since(0).events.pop().unwrap();
    let What::Run(run) = &ev.steps[0].what else {
        panic!("a run")
    };
    assert_eq!(run.logs.len(), MAX_LOG_LINES_PER_RUN);
    assert_eq!(run.logs_dropped, 7);

    // Big runs: the byte bound drops old events long before the count does.
    let big = Journal::new();
    let mut inv = invocation(
        Err(Failure::Trap {
            trap: "t".into(),
            backtrace: Some("b".repeat(100_000)),
        }),
        0,
    );
    inv.logs = vec![GuestLog {
        level: LogLevel::Warn,
        message: "y".repeat(100_000),
        stream: LogStream::Stderr,
    }];
    for i in 0..20 {
        for _ in 0..40 {
            big.run(&event(&format!("e{i}"), 1), "h", RunLimits::default(), &inv);
        }
    }
    let all = big.since(0);
    assert!(all.dropped_events > 0, "the byte bound dropped old events");
    let bytes: usize = serde_json::to_string(&all).unwrap().len();
    assert!(bytes <= MAX_BYTES + MAX_BYTES / 10, "{bytes} bytes");
    let What::Run(run) = &all.events[0].steps[0].what else {
        panic!("a run")
    };
    assert!(run.detail.as_ref().unwrap().len() <= MAX_DETAIL_BYTES + 3);
    assert!(run.logs[0].message.len() <= MAX_LOG_BYTES_PER_RUN + 3);
    assert_eq!(run.failure, Some("trap"));
}

#[test]
fn a_filter_given_the_journal_records_what_it_refused() {
    use crate::dispatch::filter::{FilterSettings, HandlerFilter};
    let j = std::sync::Arc::new(Journal::new());
    let settings = FilterSettings {
        chats: Some(["oc_allowed".to_string()].into()),
        ..FilterSettings::default()
    };
    let filter = HandlerFilter::new("picky", settings, None).unwrap();
    let envelope = |chat: &str| {
        serde_json::json!({
            "schema": "2.0",
            "header": {"event_id": "ev-f", "event_type": "im.message.receive_v1",
                       "create_time": now_ms().to_string(), "app_id": "cli_x", "tenant_key": "t",
                       "token": "verification-token"},
            "event": {"sender": {"sender_id": {"open_id": "ou_1"}, "sender_type": "user"},
                      "message": {"message_id": "om_1", "chat_id": chat, "chat_type": "group",
                                  "message_type": "text", "content": "{\"text\":\"hi\"}"}}
        })
        .to_string()
    };
    let mut ev = event("ev-f", 1);
    ev.envelope = envelope("oc_other");
    // Without a journal: filtered, nothing recorded anywhere.
    assert!(filter.apply(&ev, "tr").is_some());
    filter.record_into(j.clone());
    assert!(filter.apply(&ev, "tr").is_some());
    ev.envelope = envelope("oc_allowed");
    assert!(
        filter.apply(&ev, "tr").is_none(),
        "passes: nothing recorded"
    );
    let snap = j.since(0);
    assert_eq!(snap.events.len(), 1);
    let step = serde_json::to_value(&snap.events[0].steps).unwrap();
    assert_eq!(step.as_array().unwrap().len(), 1, "{step}");
    assert_eq!(step[0]["step"], "filtered");
    assert_eq!(step[0]["handler"], "picky");
    assert!(
        step[0]["detail"].as_str().unwrap().contains("oc_other"),
        "{step}"
    );
    assert!(!step.to_string().contains("verification-token"));
}
