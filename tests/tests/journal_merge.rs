//! The run journal with burst merge: emulator → connection → QueueSink → a queue started with
//! a journal ([`aviary::queue::Queue::start_journaled`]) → one merged call per turn. Every
//! message of a turn is persisted on its own timeline; the turn's other messages say which
//! event's timeline holds the run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aviary::dispatch::router::{EventPattern, Router};
use aviary::dispatch::{DispatchMode, DispatchSettings, Dispatcher, EventSink};
use aviary::handler::{GuestEvent, Invocation, Invoke, InvokeFuture, Outcome};
use aviary::journal::{Journal, What};
use aviary::queue::engine::QueueConfig;
use aviary::queue::merge::{MergeSettings, MERGED_EVENT_TYPE};
use aviary::queue::retry::RetryPolicy;
use aviary::queue::{Queue, QueueHandler, QueueSink};
use aviary_test_support::*;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

/// Records the event ids it was called with.
struct Rec(Arc<Mutex<Vec<(String, String)>>>);

impl Invoke for Rec {
    fn name(&self) -> &str {
        "merged"
    }
    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            let call = (event.event_id.clone(), event.event_type.clone());
            self.0.lock().unwrap().push(call);
            Invocation {
                result: Ok(Outcome::Done),
                fuel_used: None,
                peak_memory_bytes: 0,
                wall: Duration::ZERO,
                logs: Vec::new(),
                kv: None,
                calls: Vec::new(),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_turns_other_messages_point_to_the_event_that_holds_the_run() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let journal = Arc::new(Journal::new());
    let queue = Queue::start_journaled(
        Arc::new(aviary::queue::memory::MemoryStore::new()),
        vec![QueueHandler {
            handler: Arc::new(Rec(calls.clone())),
            max_concurrency: 4,
            retry: RetryPolicy::default(),
            filter: None,
            merge: Some(MergeSettings {
                window: Duration::from_millis(500),
                max_events: 10,
                same_sender: false,
            }),
        }],
        QueueConfig {
            capacity: 1000,
            dedupe_window: Duration::from_secs(3600),
            dedupe_max_entries: 1000,
            max_in_flight: 4,
            mode: DispatchMode::Parallel,
        },
        Some(journal.clone()),
    )
    .await
    .unwrap();
    let all = EventPattern::parse("*").unwrap();
    let sink: Arc<dyn EventSink> = Arc::new(
        QueueSink::new(
            queue.clone(),
            Router::new(vec![vec![all]], None),
            vec!["merged".into()],
            false,
            Arc::new(Dispatcher::new(DispatchSettings::default(), vec![])),
        )
        .with_merging(vec![true]),
    );
    let emu = start_emulator(|_| {}).await;
    let shutdown = CancellationToken::new();
    tokio::spawn(aviary::connection::run(
        options_for(&emu),
        sink,
        aviary::connection::ConnectionStats::new(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, WAIT).await.unwrap();

    for i in 0..3 {
        emu.push_event(&message_event(
            &format!("ev-{i}"),
            &format!("om_{i}"),
            "oc_burst",
            "hi",
        ));
    }
    eventually("one merged call for the burst", WAIT, || {
        !calls.lock().unwrap().is_empty()
    })
    .await;
    let mut gauge = queue.gauge();
    within(
        "queue drained",
        WAIT,
        gauge.wait_for(|g| g.jobs == 0 && g.running == 0),
    )
    .await
    .unwrap();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "one turn: {calls:?}");
    let (front, ty) = &calls[0];
    assert_eq!(ty, MERGED_EVENT_TYPE);

    let snap = journal.since(0);
    assert_eq!(snap.events.len(), 3);
    for ev in &snap.events {
        assert!(
            ev.steps
                .iter()
                .any(|s| matches!(s.what, What::Persisted { .. })),
            "{} persisted on its own",
            ev.event_id
        );
        let merged: Vec<_> = ev
            .steps
            .iter()
            .filter_map(|s| match &s.what {
                What::Merged {
                    handler,
                    into,
                    messages,
                } => Some((handler.as_str(), into.as_str(), *messages)),
                _ => None,
            })
            .collect();
        if &ev.event_id == front {
            assert!(merged.is_empty(), "the front event holds the run itself");
        } else {
            assert_eq!(merged, [("merged", front.as_str(), 3)], "{}", ev.event_id);
        }
    }
    shutdown.cancel();
}
