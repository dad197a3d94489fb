//! A reload of the durable queue's handlers ([`Queue::set_handlers`]): a job running when the
//! set is replaced finishes every one of its handlers from the set it was launched with; jobs
//! launched afterwards run the new set; a job for a handler the new set lacks has that part
//! dead-lettered with a reason naming it; a handler whose `max_concurrency` is unchanged keeps
//! its bound across the swap.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aviary::dispatch::DispatchMode;
use aviary::handler::{GuestEvent, Invocation, Invoke, InvokeFuture, Outcome};
use aviary::queue::engine::QueueConfig;
use aviary::queue::memory::MemoryStore;
use aviary::queue::retry::RetryPolicy;
use aviary::queue::store::{HandlerStatus, NewJob};
use aviary::queue::{Queue, QueueHandler, QueueStore};
use aviary_test_support::eventually;

const WAIT: Duration = Duration::from_secs(30);

/// Every run: (handler, version, event id, started, ended).
type Runs = Arc<Mutex<Vec<(String, u32, String, Instant, Instant)>>>;

struct Versioned {
    name: &'static str,
    version: u32,
    delay: Duration,
    runs: Runs,
}

impl Invoke for Versioned {
    fn name(&self) -> &str {
        self.name
    }
    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            tokio::time::sleep(self.delay).await;
            self.runs.lock().unwrap().push((
                self.name.to_string(),
                self.version,
                event.event_id.clone(),
                started,
                Instant::now(),
            ));
            Invocation {
                result: Ok(Outcome::Done),
                fuel_used: None,
                kv: None,
                peak_memory_bytes: 0,
                wall: Duration::ZERO,
                logs: Vec::new(),
            }
        })
    }
}

fn handler(name: &'static str, version: u32, delay_ms: u64, runs: &Runs) -> QueueHandler {
    QueueHandler {
        handler: Arc::new(Versioned {
            name,
            version,
            delay: Duration::from_millis(delay_ms),
            runs: runs.clone(),
        }),
        max_concurrency: 1,
        retry: RetryPolicy {
            max_attempts: 1,
            backoff: Duration::from_millis(10),
            backoff_max: Duration::from_millis(10),
        },
        filter: None,
        merge: None,
    }
}

fn job(id: &str, handlers: &[&str]) -> NewJob {
    NewJob {
        dedupe_id: id.into(),
        event_id: id.into(),
        event_type: "im.message.receive_v1".into(),
        chat_id: None,
        trace_id: String::new(),
        envelope: format!(
            r#"{{"schema":"2.0","header":{{"event_id":"{id}","event_type":"im.message.receive_v1"}},"event":{{}}}}"#
        ),
        handlers: handlers.iter().map(|s| s.to_string()).collect(),
    }
}

fn config() -> QueueConfig {
    QueueConfig {
        capacity: 1000,
        dedupe_window: Duration::from_secs(60),
        dedupe_max_entries: 1000,
        max_in_flight: 8,
        mode: DispatchMode::Parallel,
    }
}

fn version_of(runs: &Runs, handler: &str, event: &str) -> Vec<u32> {
    runs.lock()
        .unwrap()
        .iter()
        .filter(|r| r.0 == handler && r.2 == event)
        .map(|r| r.1)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_the_set_current_when_they_are_launched() {
    let runs: Runs = Arc::default();
    let store: Arc<dyn QueueStore> = Arc::new(MemoryStore::new());
    let queue = Queue::start(
        store.clone(),
        vec![handler("a", 1, 400, &runs), handler("b", 1, 0, &runs)],
        config(),
    )
    .await
    .unwrap();
    // e1 runs a v1 (400 ms) and b v1; the reload comes while a v1 is still running.
    queue.admit(job("e1", &["a", "b"])).await.unwrap();
    eventually("b ran e1", WAIT, || version_of(&runs, "b", "e1") == [1]).await;
    // A second job for `a` waits behind e1 (max_concurrency 1) and is launched before the
    // swap: it keeps v1 too.
    queue.admit(job("e2", &["a"])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    queue.set_handlers(
        vec![handler("a", 2, 0, &runs), handler("c", 2, 0, &runs)],
        DispatchMode::Parallel,
        8,
        1,
    );
    assert_eq!(queue.handler_names(), vec!["a", "c"]);
    // After the swap: a v2 and c v2; b is gone.
    queue.admit(job("e3", &["a", "b", "c"])).await.unwrap();
    eventually("e1, e2 and e3 settled", WAIT, || {
        let s = queue.stats().snapshot();
        s.completed + s.dead_lettered == 3
    })
    .await;
    assert_eq!(
        version_of(&runs, "a", "e1"),
        [1],
        "in flight: finished on v1"
    );
    assert_eq!(
        version_of(&runs, "a", "e2"),
        [1],
        "launched before the swap"
    );
    assert_eq!(version_of(&runs, "a", "e3"), [2]);
    assert_eq!(version_of(&runs, "c", "e3"), [2]);
    assert!(version_of(&runs, "b", "e3").is_empty());
    // e2 waited for e1's call of `a`: the slot (max_concurrency = 1) was the same.
    let all = runs.lock().unwrap().clone();
    let end_e1 = all.iter().find(|r| r.0 == "a" && r.2 == "e1").unwrap().4;
    let start_e3 = all.iter().find(|r| r.0 == "a" && r.2 == "e3").unwrap().3;
    assert!(
        start_e3 >= end_e1,
        "a v2 ran beside a v1 despite max_concurrency = 1"
    );

    let dead = store.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let b = dead[0].states.iter().find(|s| s.name == "b").unwrap();
    assert_eq!(b.status, HandlerStatus::Dead);
    assert!(
        b.last_error
            .as_deref()
            .unwrap()
            .contains("handler `b` is not in the manifest any more"),
        "{b:?}"
    );
    let others: Vec<HandlerStatus> = dead[0]
        .states
        .iter()
        .filter(|s| s.name != "b")
        .map(|s| s.status)
        .collect();
    assert_eq!(others, [HandlerStatus::Done, HandlerStatus::Done]);
    queue.shutdown().await;
}
