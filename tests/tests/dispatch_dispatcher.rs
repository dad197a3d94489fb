//! The Dispatcher with fake handlers: routing, order, isolation, ack mapping, card callbacks,
//! per-chat lanes, concurrency bounds and backpressure.

mod dispatch_fakes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aviary::dispatch::router::EventPattern;
use aviary::dispatch::{DispatchMode, DispatchSettings};
use aviary::dispatch::{Dispatcher, EventSink, HandlerEntry, HandlerResult};
use aviary::handler::{Invoke, Outcome};
use dispatch_fakes::*;

fn pats(list: &[&str]) -> Vec<EventPattern> {
    list.iter()
        .map(|p| EventPattern::parse(p).unwrap())
        .collect()
}

fn entry(fake: &Arc<Fake>, events: &[&str]) -> HandlerEntry {
    HandlerEntry::new(fake.clone() as Arc<dyn Invoke>, pats(events))
}

fn settings(mode: DispatchMode) -> DispatchSettings {
    DispatchSettings {
        mode,
        ..DispatchSettings::default()
    }
}

const MSG: &str = "im.message.receive_v1";
const CARD: &str = "card.action.trigger";

#[tokio::test]
async fn routing_exact_prefix_star_default_and_no_match() {
    let j = Journal::default();
    let exact = Fake::done("exact", &j, 0);
    let prefix = Fake::done("prefix", &j, 0);
    let star_less = Fake::done("contact", &j, 0);
    let fallback = Fake::done("fallback", &j, 0);
    let d = Dispatcher::new(
        DispatchSettings::default(),
        vec![
            entry(&exact, &[MSG]),
            entry(&prefix, &["im.message.*"]),
            entry(&star_less, &["contact.user.created_v3"]),
            entry(&fallback, &[]).as_default(),
        ],
    );
    assert_eq!(
        d.handle(inbound(MSG, "e1", None)).await,
        HandlerResult::Done
    );
    assert_eq!(j.handlers_for("e1").len(), 2);
    assert!(j.handlers_for("e1").contains(&"exact".to_string()));
    d.handle(inbound("im.message.read_v1", "e2", None)).await;
    assert_eq!(j.handlers_for("e2"), vec!["prefix"]);
    d.handle(inbound("contact.user.created_v3", "e3", None))
        .await;
    assert_eq!(j.handlers_for("e3"), vec!["contact"]);
    d.handle(inbound("drive.file.edit_v1", "e4", None)).await;
    assert_eq!(j.handlers_for("e4"), vec!["fallback"]);

    let star = Fake::done("star", &j, 0);
    let d = Dispatcher::new(
        DispatchSettings::default(),
        vec![entry(&exact, &[MSG]), entry(&star, &["*"])],
    );
    d.handle(inbound("anything.at_all", "e5", None)).await;
    assert_eq!(j.handlers_for("e5"), vec!["star"]);

    let d = Dispatcher::new(DispatchSettings::default(), vec![entry(&exact, &[MSG])]);
    assert_eq!(
        d.handle(inbound("drive.file.edit_v1", "e6", None)).await,
        HandlerResult::NoHandler
    );
    d.handle(inbound("drive.file.edit_v1", "e7", None)).await;
    assert!(j.handlers_for("e6").is_empty());
    let s = d.stats().snapshot();
    assert_eq!((s.events, s.no_handler, s.invocations), (2, 2, 0));
}

#[tokio::test]
async fn parallel_mode_overlaps_handlers() {
    let j = Journal::default();
    let a = Fake::done("a", &j, 200);
    let b = Fake::done("b", &j, 200);
    let d = Dispatcher::new(
        settings(DispatchMode::Parallel),
        vec![entry(&a, &[MSG]), entry(&b, &[MSG])],
    );
    let t = Instant::now();
    assert_eq!(
        d.handle(inbound(MSG, "e1", None)).await,
        HandlerResult::Done
    );
    assert!(
        t.elapsed() < Duration::from_millis(390),
        "{:?}",
        t.elapsed()
    );
    let calls = j.calls();
    assert_eq!(calls.len(), 2);
    assert!(calls[0].started < calls[1].ended && calls[1].started < calls[0].ended);
}

#[tokio::test]
async fn sequential_mode_runs_in_manifest_order() {
    let j = Journal::default();
    // The first handler is the slowest: in parallel it would finish last.
    let a = Fake::done("a", &j, 150);
    let b = Fake::failing("b", &j, 10);
    let c = Fake::done("c", &j, 0);
    let d = Dispatcher::new(
        settings(DispatchMode::Sequential),
        vec![entry(&a, &[MSG]), entry(&b, &[MSG]), entry(&c, &[MSG])],
    );
    let result = d.handle(inbound(MSG, "e1", None)).await;
    let calls = j.calls();
    let names: Vec<&str> = calls.iter().map(|c| c.handler.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"], "completion order = manifest order");
    for w in calls.windows(2) {
        assert!(w[0].ended <= w[1].started, "no overlap in sequential mode");
    }
    assert!(
        matches!(result, HandlerResult::Failed(ref why) if why.contains("`b` failed: trap")),
        "{result:?}"
    );
}

#[tokio::test]
async fn one_failure_or_panic_does_not_stop_the_others() {
    let j = Journal::default();
    let failing = Fake::failing("failing", &j, 0);
    let panicking = Fake::new("panicking", &j, 0, Script::Panic);
    let ok = Fake::done("ok", &j, 50);
    for mode in [DispatchMode::Parallel, DispatchMode::Sequential] {
        let d = Dispatcher::new(
            settings(mode),
            vec![
                entry(&failing, &[MSG]),
                entry(&panicking, &[MSG]),
                entry(&ok, &[MSG]),
            ],
        );
        let result = d.handle(inbound(MSG, &format!("{mode:?}"), None)).await;
        let HandlerResult::Failed(why) = result else {
            panic!("{result:?}")
        };
        assert!(why.contains("`failing` failed: trap"), "{why}");
        assert!(why.contains("`panicking` failed: host_error"), "{why}");
        let s = d.stats().snapshot();
        assert_eq!((s.invocations, s.failed, s.done), (3, 2, 1), "{mode:?}");
    }
    assert_eq!(ok.calls(), 2);
}

#[tokio::test]
async fn ack_mapping_done_reject_retry() {
    let j = Journal::default();
    let done = Fake::done("done", &j, 0);
    let reject = Fake::new(
        "reject",
        &j,
        0,
        Script::Return(Ok(Outcome::Reject("spam".into()))),
    );
    let retry = Fake::new(
        "retry",
        &j,
        0,
        Script::Return(Ok(Outcome::Retry("db down".into()))),
    );
    let respond = Fake::responding("respond", &j, 0, r#"{"x":1}"#);
    let d = Dispatcher::new(
        DispatchSettings::default(),
        vec![
            entry(&done, &["a.*"]),
            entry(&reject, &["a.*"]),
            entry(&retry, &["b.x"]),
            entry(&respond, &["a.x", "b.x"]),
        ],
    );
    assert_eq!(
        d.handle(inbound("a.x", "e1", None)).await,
        HandlerResult::Done,
        "done + reject + respond on a plain event → 200"
    );
    let r = d.handle(inbound("b.x", "e2", None)).await;
    assert!(
        matches!(&r, HandlerResult::Failed(why) if why.contains("retry: db down")),
        "{r:?}"
    );
    let s = d.stats().snapshot();
    assert_eq!((s.done, s.rejected, s.retried, s.responded), (1, 1, 1, 2));
}

#[tokio::test]
async fn card_callback_first_respond_in_manifest_order() {
    let j = Journal::default();
    let done = Fake::done("done", &j, 0);
    let slow_first = Fake::responding("first", &j, 150, r#"{"toast":{"content":"first"}}"#);
    let fast_second = Fake::responding("second", &j, 0, r#"{"toast":{"content":"second"}}"#);
    let failing = Fake::failing("failing", &j, 0);
    let d = Dispatcher::new(
        DispatchSettings::default(),
        vec![
            entry(&done, &[CARD]),
            entry(&slow_first, &[CARD]),
            entry(&fast_second, &[CARD]),
            entry(&failing, &[CARD]),
        ],
    );
    assert_eq!(
        d.handle(inbound(CARD, "c1", None)).await,
        HandlerResult::Respond(br#"{"toast":{"content":"first"}}"#.to_vec())
    );
}

#[tokio::test]
async fn late_card_callback_acks_200_at_the_deadline_and_finishes_in_background() {
    let j = Journal::default();
    let late = Fake::responding("late", &j, 600, r#"{"toast":{"content":"late"}}"#);
    let quick = Fake::responding("quick", &j, 0, r#"{"toast":{"content":"quick"}}"#);
    let s = DispatchSettings {
        callback_deadline: Duration::from_millis(150),
        ..DispatchSettings::default()
    };
    let d = Dispatcher::new(s, vec![entry(&late, &[CARD]), entry(&quick, &[CARD])]);
    let t = Instant::now();
    assert_eq!(
        d.handle(inbound(CARD, "c1", None)).await,
        HandlerResult::Done,
        "the earlier handler is late and might still respond: 200 without data"
    );
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(140) && waited < Duration::from_millis(500),
        "{waited:?}"
    );
    assert_eq!(d.stats().snapshot().callbacks_late, 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(late.calls(), 1, "the late handler ran to completion");
    assert_eq!(d.stats().snapshot().responded, 2);
    assert_eq!(d.stats().snapshot().in_flight, 0);

    // When the answer is already known, the deadline acks with it.
    let d = Dispatcher::new(
        DispatchSettings {
            callback_deadline: Duration::from_millis(150),
            ..DispatchSettings::default()
        },
        vec![entry(&quick, &[CARD]), entry(&late, &[CARD])],
    );
    assert_eq!(
        d.handle(inbound(CARD, "c2", None)).await,
        HandlerResult::Respond(br#"{"toast":{"content":"quick"}}"#.to_vec())
    );
}

#[tokio::test]
async fn per_chat_ordering_keeps_arrival_order_and_overlaps_chats() {
    let j = Journal::default();
    let h = Fake::done("h", &j, 40);
    let d = Dispatcher::new(
        DispatchSettings {
            per_chat_ordering: true,
            ..DispatchSettings::default()
        },
        vec![entry(&h, &[MSG])],
    );
    let mut tasks = Vec::new();
    for i in 0..5 {
        for chat in ["A", "B"] {
            // `handle` is called in arrival order; the futures then race on the runtime.
            let fut = d.handle(inbound(MSG, &format!("{chat}{i}"), Some(chat)));
            tasks.push(tokio::spawn(fut));
        }
    }
    tasks.reverse(); // await in the opposite order: must not matter
    for t in tasks {
        assert_eq!(t.await.unwrap(), HandlerResult::Done);
    }
    let calls = j.calls();
    for chat in ["A", "B"] {
        let mine: Vec<_> = calls
            .iter()
            .filter(|c| c.event_id.starts_with(chat))
            .collect();
        let ids: Vec<&str> = mine.iter().map(|c| c.event_id.as_str()).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4].map(|i| format!("{chat}{i}")));
        for w in mine.windows(2) {
            assert!(
                w[0].ended <= w[1].started,
                "{chat}: no overlap within a chat"
            );
        }
    }
    assert_eq!(h.max_running(), 2, "the two chats ran in parallel");
    assert_eq!(d.active_lanes(), 0, "idle lanes are removed");
}

#[tokio::test]
async fn without_per_chat_ordering_one_chat_runs_in_parallel() {
    let j = Journal::default();
    let h = Fake::done("h", &j, 50);
    let d = Dispatcher::new(DispatchSettings::default(), vec![entry(&h, &[MSG])]);
    let tasks: Vec<_> = (0..4)
        .map(|i| tokio::spawn(d.handle(inbound(MSG, &format!("A{i}"), Some("A")))))
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(h.max_running(), 4);
}

#[tokio::test]
async fn max_concurrency_is_respected_per_handler() {
    let j = Journal::default();
    let narrow = Fake::done("narrow", &j, 30);
    let wide = Fake::done("wide", &j, 30);
    let d = Dispatcher::new(
        DispatchSettings::default(),
        vec![
            entry(&narrow, &[MSG]).with_max_concurrency(2),
            entry(&wide, &[MSG]).with_max_concurrency(10),
        ],
    );
    let tasks: Vec<_> = (0..10)
        .map(|i| tokio::spawn(d.handle(inbound(MSG, &format!("e{i}"), None))))
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), HandlerResult::Done);
    }
    assert_eq!(narrow.calls(), 10);
    assert_eq!(narrow.max_running(), 2);
    assert_eq!(wide.max_running(), 10);
}

#[tokio::test]
async fn max_in_flight_bounds_events_and_drops_nothing() {
    let j = Journal::default();
    let h = Fake::done("h", &j, 20);
    let d = Dispatcher::new(
        DispatchSettings {
            max_in_flight: 3,
            ..DispatchSettings::default()
        },
        vec![entry(&h, &[MSG]).with_max_concurrency(100)],
    );
    let tasks: Vec<_> = (0..30)
        .map(|i| tokio::spawn(d.handle(inbound(MSG, &format!("e{i}"), None))))
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), HandlerResult::Done);
    }
    assert_eq!(h.calls(), 30, "every event handled");
    assert_eq!(h.max_running(), 3);
    let s = d.stats().snapshot();
    assert_eq!((s.events, s.done, s.in_flight), (30, 30, 0));
}

#[tokio::test]
async fn dropped_handle_future_still_runs_the_handler_and_frees_the_lane() {
    let j = Journal::default();
    let h = Fake::done("h", &j, 50);
    let d = Dispatcher::new(
        DispatchSettings {
            per_chat_ordering: true,
            ..DispatchSettings::default()
        },
        vec![entry(&h, &[MSG])],
    );
    // Never polled: the event never started and must not block its chat.
    drop(d.handle(inbound(MSG, "A0", Some("A"))));
    assert_eq!(
        tokio::time::timeout(
            Duration::from_secs(2),
            d.handle(inbound(MSG, "A1", Some("A")))
        )
        .await
        .unwrap(),
        HandlerResult::Done
    );
    assert_eq!(d.active_lanes(), 0);
}
