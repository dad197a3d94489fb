//! The run journal (`Runtime::builder().debug_runs(true)`, what `aviary dev`'s console shows)
//! against the emulator: each event's timeline — received, persisted, acked with its code, every
//! handler run with its outcome, the retry between two runs, a handler giving up and the dead
//! letter, a redelivery seen as a duplicate, a callback's answer in its ack — and what it never
//! holds (the envelope, so neither its tokens nor the message); still on after a hot reload.
//! Off by default.

use std::time::Duration;

use aviary::queue::retry::RetryPolicy;
use aviary::runs::{EventTrace, What};
use aviary::{ConnectionState, Event, Handler, HandlerError, NativeHandler, Outcome, Runtime};
use aviary::{RuntimeHandle, Settings};
use aviary_emulator::{Emulator, EmulatorConfig};
use aviary_test_support::{
    card_event, envelope, eventually, message_event, start_emulator, within,
};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

/// Retries `ev-retry` once, rejects `ev-reject`, answers card clicks, handles the rest.
struct Picky;

#[aviary::async_trait]
impl NativeHandler for Picky {
    async fn handle(&self, event: &Event) -> Result<Outcome, HandlerError> {
        Ok(match (event.event_id.as_str(), event.attempt) {
            ("ev-retry", 1) => Outcome::Retry("busy, try later".into()),
            ("ev-reject", _) => Outcome::Reject("not for me".into()),
            _ if event.event_type == "card.action.trigger" => {
                Outcome::Respond(r#"{"toast":{"type":"info","content":"clicked"}}"#.into())
            }
            _ => Outcome::Done,
        })
    }
}

fn settings(emu: &Emulator) -> Settings {
    let cfg = EmulatorConfig::default();
    let mut s = Settings::new(emu.domain(), cfg.app_id, cfg.app_secret);
    s.queue.backend = aviary::queue::QueueBackend::Memory;
    s
}

async fn start(emu: &Emulator, debug_runs: bool) -> RuntimeHandle {
    let runtime = Runtime::builder()
        .settings(settings(emu))
        .handler(
            Handler::native("picky", Picky)
                .events(["*"])
                .retry(RetryPolicy {
                    max_attempts: 3,
                    backoff: Duration::from_millis(20),
                    backoff_max: Duration::from_millis(20),
                }),
        )
        .debug_runs(debug_runs)
        .start()
        .await
        .expect("starts");
    let mut state = runtime.connection_state();
    within(
        "connected",
        WAIT,
        state.wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
    )
    .await
    .unwrap();
    runtime
}

fn trace(runtime: &RuntimeHandle, event_id: &str) -> Option<EventTrace> {
    let snapshot = runtime.debug_runs(0).expect("the journal is on");
    snapshot.events.into_iter().find(|e| e.event_id == event_id)
}

/// The step names of an event, in order (`run:outcome` for runs).
fn steps(t: &EventTrace) -> Vec<String> {
    t.steps
        .iter()
        .map(|s| match &s.what {
            What::Run(r) => format!("run:{}", r.outcome),
            What::Acked { code, .. } => format!("acked:{code}"),
            other => serde_json::to_value(other).unwrap()["step"]
                .as_str()
                .unwrap()
                .to_string(),
        })
        .collect()
}

/// Whether `wanted` appears in `have` in this order (other steps may come between).
fn in_order(have: &[String], wanted: &[&str]) -> bool {
    let mut it = have.iter();
    wanted.iter().all(|w| it.any(|h| h == w))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_shows_each_events_timeline_and_never_its_envelope() {
    let emu = start_emulator(|_| {}).await;
    let runtime = start(&emu, true).await;

    emu.push_event(&message_event("ev-retry", "om-1", "oc-1", "private words"));
    emu.push_event(&envelope(
        "contact.user.created_v3",
        "ev-reject",
        json!({"object": {"open_id": "ou_2", "name": "x"}}),
    ));
    emu.push_event(&card_event("ev-card", json!({"choice": "approve"})));
    let dup = message_event("ev-dup", "om-2", "oc-1", "again");
    emu.push_event(&dup);

    eventually("ev-retry handled on its second attempt", WAIT, || {
        trace(&runtime, "ev-retry").is_some_and(|t| steps(&t).contains(&"run:done".to_string()))
    })
    .await;
    let t = trace(&runtime, "ev-retry").unwrap();
    let s = steps(&t);
    assert!(
        in_order(
            &s,
            &["received", "persisted", "run:retry", "retry", "run:done"]
        ),
        "{s:?}"
    );
    assert!(s.contains(&"acked:200".to_string()), "{s:?}");
    assert_eq!(t.event_type, "im.message.receive_v1");
    let runs: Vec<_> = t
        .steps
        .iter()
        .filter_map(|s| match &s.what {
            What::Run(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(
        runs.iter()
            .map(|r| (r.handler.as_str(), r.attempt))
            .collect::<Vec<_>>(),
        [("picky", 1), ("picky", 2)]
    );
    assert_eq!(runs[0].detail.as_deref(), Some("busy, try later"));
    assert!(runs[0].limits.timeout_ms > 0, "read against its limits");
    assert_eq!(runs[0].limits.memory_bytes, None, "a native handler");

    eventually("ev-reject dead-lettered", WAIT, || {
        trace(&runtime, "ev-reject").is_some_and(|t| steps(&t).contains(&"dead_lettered".into()))
    })
    .await;
    let s = steps(&trace(&runtime, "ev-reject").unwrap());
    assert!(
        in_order(
            &s,
            &[
                "received",
                "persisted",
                "run:reject",
                "gave_up",
                "dead_lettered"
            ]
        ),
        "{s:?}"
    );

    // The callback: handled before the ack (no queue), its answer carried in the ack.
    eventually("ev-card answered", WAIT, || {
        trace(&runtime, "ev-card").is_some_and(|t| steps(&t).contains(&"acked:200".into()))
    })
    .await;
    let t = trace(&runtime, "ev-card").unwrap();
    assert!(
        in_order(&steps(&t), &["received", "run:respond", "acked:200"]),
        "{:?}",
        steps(&t)
    );
    let ack = t
        .steps
        .iter()
        .find_map(|s| match &s.what {
            What::Acked { detail, .. } => detail.clone(),
            _ => None,
        })
        .unwrap();
    assert!(ack.contains("clicked"), "{ack}");

    // A redelivery of a handled event: received again, a duplicate, nothing runs.
    eventually("ev-dup handled", WAIT, || {
        trace(&runtime, "ev-dup").is_some_and(|t| steps(&t).contains(&"run:done".into()))
    })
    .await;
    emu.push_event(&dup);
    eventually("the redelivery is a duplicate", WAIT, || {
        trace(&runtime, "ev-dup").is_some_and(|t| steps(&t).contains(&"duplicate".into()))
    })
    .await;
    let s = steps(&trace(&runtime, "ev-dup").unwrap());
    assert_eq!(s.iter().filter(|s| *s == "received").count(), 2, "{s:?}");
    assert_eq!(
        s.iter().filter(|s| s.starts_with("run:")).count(),
        1,
        "{s:?}"
    );

    // `since`: nothing changed after the latest change number.
    let all = runtime.debug_runs(0).unwrap();
    assert!(runtime.debug_runs(all.latest).unwrap().events.is_empty());

    // Never the envelope: not the message, not the card's token, not the app secret.
    let text = serde_json::to_string(&all).unwrap();
    for secret in [
        "private words",
        "c-token",
        EmulatorConfig::default().app_secret.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret:?} in the journal: {text}");
    }
    // After a hot reload (a new generation of the handlers), runs are still recorded.
    runtime.reload().await.expect("reloads");
    emu.push_event(&message_event("ev-after-reload", "om-3", "oc-1", "hi"));
    eventually("the run after the reload is recorded", WAIT, || {
        trace(&runtime, "ev-after-reload")
            .is_some_and(|t| in_order(&steps(&t), &["received", "persisted", "run:done"]))
    })
    .await;
    runtime.stop().await.unwrap();

    // Off unless asked for.
    let quiet = start(&emu, false).await;
    assert!(quiet.debug_runs(0).is_none());
    quiet.stop().await.unwrap();
}
