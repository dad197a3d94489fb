//! The durable queue through the real path: emulator → connection → QueueSink → disk store →
//! scheduler → handlers → settle, with recording handlers that script per-attempt outcomes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aviary::dispatch::router::{EventPattern, Router};
use aviary::dispatch::{DispatchMode, DispatchSettings};
use aviary::dispatch::{Dispatcher, EventSink};
use aviary::handler::{GuestEvent, Invocation, Invoke, InvokeFuture, Outcome};
use aviary::queue::engine::QueueConfig;
use aviary::queue::retry::RetryPolicy;
use aviary::queue::{Queue, QueueHandler, QueueSink, QueueStore};
use aviary_test_support::*;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

/// Every run: (handler, dedupe id, attempt).
type Runs = Arc<Mutex<Vec<(String, String, u32)>>>;

/// A handler whose outcome depends on the attempt: `fail_until` attempts ask for a retry;
/// events whose envelope contains `reject` are rejected.
struct Recorder {
    name: String,
    runs: Runs,
    fail_until: u32,
    delay: Duration,
}

impl Invoke for Recorder {
    fn name(&self) -> &str {
        &self.name
    }
    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.runs.lock().unwrap().push((
                self.name.clone(),
                event.dedupe_id.clone(),
                event.attempt,
            ));
            let result = if event.envelope.contains("reject") {
                Ok(Outcome::Reject("scripted".into()))
            } else if event.attempt <= self.fail_until {
                Ok(Outcome::Retry("scripted".into()))
            } else {
                Ok(Outcome::Done)
            };
            Invocation {
                result,
                fuel_used: None,
                kv: None,
                peak_memory_bytes: 0,
                wall: Duration::ZERO,
                logs: Vec::new(),
            }
        })
    }
}

fn temp_queue(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aviary-queue-e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("queue.redb")
}

struct Setup {
    queue: Queue,
    sink: Arc<dyn EventSink>,
}

async fn setup(
    store: Arc<dyn QueueStore>,
    handlers: Vec<(Arc<dyn Invoke>, RetryPolicy)>,
    per_chat_ordering: bool,
) -> Setup {
    let names: Vec<String> = handlers.iter().map(|(h, _)| h.name().to_string()).collect();
    let all = EventPattern::parse("*").unwrap();
    let queue = Queue::start(
        store,
        handlers
            .iter()
            .map(|(h, retry)| QueueHandler {
                handler: h.clone(),
                max_concurrency: 8,
                retry: *retry,
                filter: None,
                merge: None,
            })
            .collect(),
        QueueConfig {
            capacity: 100_000,
            dedupe_window: Duration::from_secs(3600),
            dedupe_max_entries: 1_000_000,
            max_in_flight: 32,
            mode: DispatchMode::Parallel,
        },
    )
    .await
    .expect("queue starts");
    let router = Router::new(vec![vec![all]; names.len()], None);
    let dispatcher = Dispatcher::new(DispatchSettings::default(), vec![]);
    let sink = QueueSink::new(
        queue.clone(),
        router,
        names,
        per_chat_ordering,
        Arc::new(dispatcher),
    );
    Setup {
        queue,
        sink: Arc::new(sink),
    }
}

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        backoff: Duration::from_millis(20),
        backoff_max: Duration::from_millis(50),
    }
}

/// Waits until `finished` jobs (done or dead-lettered) have settled since `queue` started and
/// nothing is held or running. Counting first matters: an ack only says the job is persisted,
/// and the scheduler may not have taken it yet, so an empty gauge alone can come too early.
async fn drained(queue: &Queue, finished: u64) {
    let stats = queue.stats();
    eventually("every job settled", WAIT, || {
        let s = stats.snapshot();
        s.completed + s.dead_lettered >= finished
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_storm_each_event_handled_once_and_a_retry_reruns_only_the_failed_handler() {
    let runs: Runs = Runs::default();
    let a: Arc<dyn Invoke> = Arc::new(Recorder {
        name: "a".into(),
        runs: runs.clone(),
        fail_until: 0,
        delay: Duration::from_millis(5),
    });
    let b: Arc<dyn Invoke> = Arc::new(Recorder {
        name: "b".into(),
        runs: runs.clone(),
        fail_until: 1,
        delay: Duration::ZERO,
    });
    let path = temp_queue("storm");
    let store = Arc::new(aviary::queue::disk::DiskStore::open(&path).unwrap());
    let Setup { queue, sink } =
        setup(store.clone(), vec![(a, policy(3)), (b, policy(3))], true).await;
    // Short ladder so even a delivery whose acks are lost four times finishes quickly.
    let emu = start_emulator(|c| {
        c.redelivery.scale = 1.0;
        c.redelivery.ack_timeout = Duration::from_millis(300);
        c.redelivery.ladder = vec![Duration::from_millis(200); 4];
    })
    .await;
    emu.set_ack_loss(0.4);
    let shutdown = CancellationToken::new();
    let stats = aviary::connection::ConnectionStats::new();
    tokio::spawn(aviary::connection::run(
        options_for(&emu),
        sink,
        stats.clone(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, WAIT).await.unwrap();
    let n = 300;
    for i in 0..n {
        emu.push_event(&message_event(
            &format!("ev-{i}"),
            &format!("om_{i}"),
            &format!("oc_{}", i % 7),
            "hi",
        ));
    }
    // Wait for the storm to settle: every delivery acked or given up, the queue drained.
    eventually("every delivery finished", WAIT, || {
        emu.deliveries().iter().all(|d| {
            !matches!(
                d.status,
                aviary_emulator::DeliveryStatus::Waiting
                    | aviary_emulator::DeliveryStatus::InFlight
            )
        })
    })
    .await;
    drained(&queue, n as u64).await;
    let redelivered = emu
        .deliveries()
        .iter()
        .filter(|d| d.attempts.len() > 1)
        .count();
    assert!(
        redelivered > 20,
        "the storm redelivered only {redelivered} events"
    );
    let q = queue.stats().snapshot();
    assert!(q.duplicates >= redelivered as u64 / 2, "{q:?}");
    assert_eq!(q.accepted, n as u64, "{q:?}");

    let mut per: HashMap<(String, String), Vec<u32>> = HashMap::new();
    for (h, id, attempt) in runs.lock().unwrap().iter() {
        per.entry((h.clone(), id.clone()))
            .or_default()
            .push(*attempt);
    }
    for i in 0..n {
        let id = format!("om_{i}");
        assert_eq!(per[&("a".to_string(), id.clone())], vec![1], "a on {id}");
        assert_eq!(
            per[&("b".to_string(), id.clone())],
            vec![1, 2],
            "b on {id}: retried once, alone"
        );
    }
    assert_eq!(per.len(), 2 * n);
    // Per-chat order held through the storm: each chat's events ran in arrival order.
    let order: Vec<usize> = runs
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, _, _)| h == "a")
        .map(|(_, id, _)| id[3..].parse().unwrap())
        .collect();
    for chat in 0..7 {
        let in_chat: Vec<usize> = order.iter().copied().filter(|i| i % 7 == chat).collect();
        let mut sorted = in_chat.clone();
        sorted.sort();
        assert_eq!(in_chat, sorted, "chat oc_{chat} ran out of order");
    }
    assert!(store.pending().await.unwrap().is_empty());
    assert!(store.dead_letters().await.unwrap().is_empty());
    shutdown.cancel();
    queue.shutdown().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_and_exhausted_retries_are_dead_letters_and_replay_runs_only_the_failed_handler() {
    let runs: Runs = Runs::default();
    let ok: Arc<dyn Invoke> = Arc::new(Recorder {
        name: "ok".into(),
        runs: runs.clone(),
        fail_until: 0,
        delay: Duration::ZERO,
    });
    let flaky: Arc<dyn Invoke> = Arc::new(Recorder {
        name: "flaky".into(),
        runs: runs.clone(),
        fail_until: 3,
        delay: Duration::ZERO,
    });
    let path = temp_queue("dlq");
    let store = Arc::new(aviary::queue::disk::DiskStore::open(&path).unwrap());
    let Setup { queue, sink } = setup(
        store.clone(),
        vec![(ok.clone(), policy(5)), (flaky.clone(), policy(2))],
        false,
    )
    .await;
    let emu = start_emulator(|_| {}).await;
    let shutdown = CancellationToken::new();
    tokio::spawn(aviary::connection::run(
        options_for(&emu),
        sink,
        aviary::connection::ConnectionStats::new(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, WAIT).await.unwrap();
    emu.push_event(&message_event("ev-1", "om_1", "oc_1", "fine"));
    emu.push_event(&message_event("ev-2", "om_2", "oc_1", "please reject"));
    emu.wait_for_acks(2, WAIT).await.unwrap();
    assert!(
        emu.acks().iter().all(|a| a.code == 200),
        "acked once persisted"
    );
    drained(&queue, 2).await;
    let dead = store.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 2, "{dead:#?}");
    let exhausted = dead.iter().find(|d| d.job.dedupe_id == "om_1").unwrap();
    let states: Vec<_> = exhausted
        .states
        .iter()
        .map(|s| (s.name.as_str(), s.status, s.attempts))
        .collect();
    use aviary::queue::HandlerStatus::*;
    assert_eq!(states, vec![("ok", Done, 1), ("flaky", Dead, 2)]);
    assert!(exhausted.states[1]
        .last_error
        .as_deref()
        .unwrap()
        .contains("attempt 2 of 2"));
    let rejected = dead.iter().find(|d| d.job.dedupe_id == "om_2").unwrap();
    assert!(rejected
        .states
        .iter()
        .all(|s| s.status == Dead && s.attempts == 1));
    shutdown.cancel();
    queue.shutdown().await;
    drop(queue);

    // Replay om_1 and restart on the same store: only `flaky` runs again, from attempt 1.
    let moved = store
        .replay(Some(&[exhausted.id]), aviary::queue::store::now_ms())
        .await
        .unwrap();
    assert_eq!(moved, vec![exhausted.id]);
    runs.lock().unwrap().clear();
    let Setup { queue, .. } = setup(
        store.clone(),
        vec![(ok, policy(5)), (flaky, policy(5))],
        false,
    )
    .await;
    drained(&queue, 1).await;
    let after: Vec<_> = runs.lock().unwrap().clone();
    assert_eq!(
        after,
        vec![
            ("flaky".to_string(), "om_1".to_string(), 1),
            ("flaky".to_string(), "om_1".to_string(), 2),
            ("flaky".to_string(), "om_1".to_string(), 3),
            ("flaky".to_string(), "om_1".to_string(), 4),
        ]
    );
    assert_eq!(
        store.dead_letters().await.unwrap().len(),
        1,
        "the rejected one stays"
    );
    queue.shutdown().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_not_acked_and_the_redelivery_is_taken_later() {
    let runs: Runs = Runs::default();
    let slow: Arc<dyn Invoke> = Arc::new(Recorder {
        name: "slow".into(),
        runs: runs.clone(),
        fail_until: 0,
        delay: Duration::from_millis(1500),
    });
    let store = Arc::new(aviary::queue::memory::MemoryStore::new());
    let queue = Queue::start(
        store,
        vec![QueueHandler {
            handler: slow.clone(),
            max_concurrency: 1,
            retry: policy(1),
            filter: None,
            merge: None,
        }],
        QueueConfig {
            capacity: 1,
            dedupe_window: Duration::from_secs(3600),
            dedupe_max_entries: 1000,
            max_in_flight: 1,
            mode: DispatchMode::Parallel,
        },
    )
    .await
    .unwrap();
    let sink = QueueSink::new(
        queue.clone(),
        Router::new(vec![vec![EventPattern::Any]], None),
        vec!["slow".into()],
        false,
        Arc::new(Dispatcher::new(DispatchSettings::default(), vec![])),
    );
    let emu = start_emulator(|_| {}).await;
    let shutdown = CancellationToken::new();
    tokio::spawn(aviary::connection::run(
        options_for(&emu),
        Arc::new(sink),
        aviary::connection::ConnectionStats::new(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, WAIT).await.unwrap();
    let first = emu.push_event(&message_event("ev-1", "om_1", "oc_1", "a"));
    emu.wait_for_acks(1, WAIT).await.unwrap();
    let second = emu.push_event(&message_event("ev-2", "om_2", "oc_1", "b"));
    // The second arrives while the first still holds the only slot: refused, not acked.
    eventually("refused as full", WAIT, || {
        queue.stats().snapshot().refused_full >= 1
    })
    .await;
    let acks_for_second = emu
        .acks()
        .iter()
        .filter(|a| a.delivery == Some(second))
        .count();
    assert_eq!(acks_for_second, 0, "no ack for an event that was not taken");
    // Feishu's redelivery (1.5 s later with the fast ladder) finds room.
    let record = emu.wait_for_delivery(second, WAIT).await.unwrap();
    assert!(record.acked && record.attempts.len() >= 2, "{record:?}");
    assert!(emu.delivery(first).unwrap().acked);
    eventually("both handled", WAIT, || runs.lock().unwrap().len() == 2).await;
    shutdown.cancel();
    queue.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_left_by_a_previous_run_resume_in_chat_order_and_a_retry_holds_the_chat() {
    use aviary::queue::store::{now_ms, Batch, NewJob};
    let path = temp_queue("resume");
    let store = Arc::new(aviary::queue::disk::DiskStore::open(&path).unwrap());
    // A previous run persisted four events (and was killed before running them).
    let job = |id: &str, chat: &str, text: &str| NewJob {
        dedupe_id: id.into(),
        event_id: id.into(),
        event_type: "im.message.receive_v1".into(),
        chat_id: Some(chat.into()),
        trace_id: String::new(),
        envelope: message_event(id, id, chat, text).to_string(),
        handlers: vec!["h".into()],
    };
    store
        .commit(Batch {
            admit: vec![
                job("m1", "c1", "x"),
                job("m2", "c1", "x"),
                job("m3", "c2", "x"),
                job("m4", "c1", "x"),
            ],
            settle: vec![],
            now_ms: now_ms(),
            dedupe_window: Duration::from_secs(3600),
            dedupe_max_entries: 100,
            kv: Vec::new(),
            capacity: 100,
        })
        .await
        .unwrap();
    drop(store);
    let store = Arc::new(aviary::queue::disk::DiskStore::open(&path).unwrap());
    let runs: Runs = Runs::default();
    // Every event fails its first attempt: m2 and m4 must wait for m1's retry.
    let h: Arc<dyn Invoke> = Arc::new(Recorder {
        name: "h".into(),
        runs: runs.clone(),
        fail_until: 1,
        delay: Duration::from_millis(10),
    });
    let Setup { queue, .. } = setup(store.clone(), vec![(h, policy(3))], true).await;
    drained(&queue, 4).await;
    let c1: Vec<(String, u32)> = runs
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, id, _)| id != "m3")
        .map(|(_, id, a)| (id.clone(), *a))
        .collect();
    let want: Vec<(String, u32)> = ["m1", "m1", "m2", "m2", "m4", "m4"]
        .iter()
        .zip([1, 2, 1, 2, 1, 2])
        .map(|(id, a)| (id.to_string(), a))
        .collect();
    assert_eq!(
        c1, want,
        "chat c1 in order, each event finished before the next"
    );
    assert!(
        runs.lock()
            .unwrap()
            .iter()
            .any(|(_, id, a)| id == "m3" && *a == 2),
        "chat c2 ran too"
    );
    assert!(store.pending().await.unwrap().is_empty());
    queue.shutdown().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
