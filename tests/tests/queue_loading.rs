//! The durable queue with a handler that is not ready yet (its component still compiling):
//! events are persisted and acked, the ready handler takes them at once (with per-chat
//! ordering: the first event of each chat, as the later ones wait for their chat's turn), and
//! the other one takes each of them — once, on its first attempt, in chat order — when it
//! becomes ready. Emulator → connection → QueueSink → disk store → scheduler → handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aviary::dispatch::router::{EventPattern, Router};
use aviary::dispatch::{DispatchMode, DispatchSettings, Dispatcher};
use aviary::handler::{GuestEvent, Invocation, Invoke, InvokeFuture, Outcome, ReadyFuture};
use aviary::queue::engine::QueueConfig;
use aviary::queue::retry::RetryPolicy;
use aviary::queue::{Queue, QueueHandler, QueueSink};
use aviary_test_support::*;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

/// Every run: (handler, dedupe id, chat, attempt).
type Runs = Arc<Mutex<Vec<(String, String, String, u32)>>>;

/// Records its runs; ready only once `open` is true.
struct Gated {
    name: String,
    runs: Runs,
    open: watch::Receiver<bool>,
}

impl Invoke for Gated {
    fn name(&self) -> &str {
        &self.name
    }

    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            let chat = serde_json::from_str::<serde_json::Value>(&event.envelope).unwrap()["event"]
                ["message"]["chat_id"]
                .as_str()
                .unwrap()
                .to_string();
            self.runs.lock().unwrap().push((
                self.name.clone(),
                event.dedupe_id.clone(),
                chat,
                event.attempt,
            ));
            Invocation {
                result: Ok(Outcome::Done),
                fuel_used: None,
                peak_memory_bytes: 0,
                wall: Duration::ZERO,
                logs: Vec::new(),
                kv: None,
            }
        })
    }

    fn ready(&self) -> Option<ReadyFuture> {
        if *self.open.borrow() {
            return None;
        }
        let mut open = self.open.clone();
        Some(Box::pin(async move {
            let _ = open.wait_for(|o| *o).await;
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_still_loading_takes_its_jobs_when_ready_and_the_others_do_not_wait() {
    scenario(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_per_chat_ordering_a_chat_waits_for_its_first_event_in_every_handler() {
    scenario(true).await;
}

async fn scenario(per_chat_ordering: bool) {
    let runs = Runs::default();
    let (_always, open_a) = watch::channel(true);
    let (open_b, gate_b) = watch::channel(false);
    let a: Arc<dyn Invoke> = Arc::new(Gated {
        name: "a".into(),
        runs: runs.clone(),
        open: open_a,
    });
    let b: Arc<dyn Invoke> = Arc::new(Gated {
        name: "b".into(),
        runs: runs.clone(),
        open: gate_b,
    });
    let dir = std::env::temp_dir().join(format!(
        "aviary-queue-loading-{per_chat_ordering}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(aviary::queue::disk::DiskStore::open(&dir.join("queue.redb")).unwrap());
    let retry = RetryPolicy {
        max_attempts: 3,
        backoff: Duration::from_millis(20),
        backoff_max: Duration::from_millis(50),
    };
    let queue = Queue::start(
        store,
        [&a, &b]
            .into_iter()
            .map(|h| QueueHandler {
                handler: h.clone(),
                max_concurrency: 4,
                retry,
                filter: None,
                merge: None,
            })
            .collect(),
        QueueConfig {
            capacity: 100_000,
            dedupe_window: Duration::from_secs(3600),
            dedupe_max_entries: 1_000_000,
            // Fewer slots than events: parked jobs must not hold them.
            max_in_flight: 4,
            mode: DispatchMode::Parallel,
        },
    )
    .await
    .unwrap();
    let all = EventPattern::parse("*").unwrap();
    let sink = QueueSink::new(
        queue.clone(),
        Router::new(vec![vec![all.clone()], vec![all]], None),
        vec!["a".into(), "b".into()],
        per_chat_ordering,
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
    let n = 40;
    for i in 0..n {
        emu.push_event(&message_event(
            &format!("ev-{i}"),
            &format!("om_{i}"),
            &format!("oc_{}", i % 5),
            "hi",
        ));
    }
    eventually("every event acked", WAIT, || {
        emu.acks_ok_total() >= n as u64
    })
    .await;
    let ran = |name: &str| runs.lock().unwrap().iter().filter(|r| r.0 == name).count();
    // Chats oc_0..oc_4: with per-chat ordering a chat's later events wait until its first one
    // is done in every handler (as behind a retry).
    let early = if per_chat_ordering { 5 } else { n };
    eventually("the ready handler ran what it may", WAIT, || {
        ran("a") == early
    })
    .await;
    never(
        "the handler still loading runs",
        Duration::from_millis(300),
        || ran("b") > 0 || ran("a") > early,
    )
    .await;
    let held = *queue.gauge().borrow();
    assert_eq!(
        held.jobs, n,
        "the jobs are held for the handler still loading: {held:?}"
    );
    assert_eq!(held.running, 0, "parked, not running: {held:?}");

    open_b.send_replace(true);
    eventually("both handlers ran every event", WAIT, || {
        ran("a") == n && ran("b") == n
    })
    .await;
    let mut gauge = queue.gauge();
    within("drained", WAIT, gauge.wait_for(|g| g.jobs == 0))
        .await
        .unwrap();

    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 2 * n, "each handler ran each event once");
    let mut order: HashMap<String, Vec<usize>> = HashMap::new();
    for (h, id, chat, attempt) in &runs {
        assert_eq!(
            *attempt, 1,
            "{h} on {id}: waiting for a handler is not an attempt"
        );
        let i: usize = id.trim_start_matches("om_").parse().unwrap();
        order.entry(format!("{h} {chat}")).or_default().push(i);
    }
    if per_chat_ordering {
        for (who, ids) in order {
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            assert_eq!(ids, sorted, "{who}: the chat's order held");
        }
    }
    let stats = queue.stats().snapshot();
    assert_eq!(stats.completed, n as u64, "{stats:?}");
    assert_eq!(stats.retries, 0, "{stats:?}");
    shutdown.cancel();
    queue.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
