//! The durable queue's throughput: persisted + acked events per second.
//!
//! ```sh
//! cargo bench -p aviary-tests --bench queue            # 50,000 events per row
//! cargo bench -p aviary-tests --bench queue -- 20000   # fewer
//! ```
//!
//! (1) **Store**: N events admitted through [`Queue::admit`] by 2,048 concurrent callers (the
//!     connection's receive queue is 1,024 per connection), each resolving once its group commit
//!     is durable (fsync) — the queue alone, without the network. Handlers (a no-op) drain it
//!     concurrently, so settlements share the commits as in production.
//! (2) **End to end**: the emulator pushes a burst of N `im.message.receive_v1` events to the
//!     real connection with the [`QueueSink`]; events/s = N / (last code-200 ack − first push).
//!     The emulator runs in the same process on the same cores, so this row is also bounded by
//!     it (see the `events` bench's ceiling row).
//!
//! Both rows for the disk backend (redb, fsync per commit) and the memory backend; row (1) also
//! for the Redis backend on a local `redis-server` the bench starts (without persistence, and
//! with `appendfsync always`), row (2) for Redis with `appendfsync always`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aviary::connection::{ConnectionOptions, ConnectionStats};
use aviary::dispatch::router::{EventPattern, Router};
use aviary::dispatch::{DispatchMode, DispatchSettings};
use aviary::dispatch::{Dispatcher, EventSink};
use aviary::handler::{GuestEvent, Invocation, Invoke, InvokeFuture, Outcome};
use aviary::queue::engine::QueueConfig;
use aviary::queue::redis::{RedisStore, RedisUrl};
use aviary::queue::retry::RetryPolicy;
use aviary::queue::{NewJob, Queue, QueueHandler, QueueSink, QueueStore};
use aviary_emulator::{Emulator, EmulatorConfig};
use aviary_redis_test_server::RedisServer;
use tokio_util::sync::CancellationToken;

struct Noop;

impl Invoke for Noop {
    fn name(&self) -> &str {
        "noop"
    }
    fn invoke<'a>(&'a self, _event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async {
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

async fn queue(store: Arc<dyn QueueStore>) -> Queue {
    Queue::start(
        store,
        vec![QueueHandler {
            handler: Arc::new(Noop),
            max_concurrency: 64,
            retry: RetryPolicy::default(),
            filter: None,
            merge: None,
        }],
        QueueConfig {
            capacity: 10_000_000,
            dedupe_window: Duration::from_secs(8 * 3600),
            dedupe_max_entries: 10_000_000,
            max_in_flight: 256,
            mode: DispatchMode::Parallel,
        },
    )
    .await
    .expect("queue starts")
}

fn envelope(i: usize) -> String {
    serde_json::json!({
        "schema": "2.0",
        "header": {"event_id": format!("ev-{i}"), "event_type": "im.message.receive_v1",
                   "create_time": "1608725989000", "token": "", "app_id": EmulatorConfig::default().app_id, "tenant_key": "t"},
        "event": {"sender": {"sender_id": {"open_id": "ou_1"}, "sender_type": "user"},
                  "message": {"message_id": format!("om_{i}"), "chat_id": format!("oc_{}", i % 100),
                  "chat_type": "group", "message_type": "text", "content": "{\"text\":\"hello there, a typical short message\"}"}}
    })
    .to_string()
}

fn job(i: usize) -> NewJob {
    NewJob {
        dedupe_id: format!("om_{i}"),
        event_id: format!("ev-{i}"),
        event_type: "im.message.receive_v1".into(),
        chat_id: None,
        trace_id: String::new(),
        envelope: envelope(i),
        handlers: vec!["noop".into()],
    }
}

async fn store_row(store: Arc<dyn QueueStore>, n: usize) -> (f64, u64) {
    let q = queue(store).await;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..2048)
        .map(|_| {
            let (q, next) = (q.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    q.admit(job(i)).await.expect("persisted");
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let commits = q.stats().snapshot().commits;
    q.shutdown().await;
    (rate, commits)
}

async fn end_to_end_row(store: Arc<dyn QueueStore>, n: usize) -> f64 {
    let q = queue(store).await;
    let sink: Arc<dyn EventSink> = Arc::new(QueueSink::new(
        q.clone(),
        Router::new(vec![vec![EventPattern::Any]], None),
        vec!["noop".into()],
        true,
        Arc::new(Dispatcher::new(DispatchSettings::default(), vec![])),
    ));
    let mut config = EmulatorConfig::fast();
    config.redelivery.enabled = false;
    let emu = Emulator::start(config).await.expect("emulator");
    let cfg = EmulatorConfig::default();
    let options = ConnectionOptions::new(emu.domain(), cfg.app_id, cfg.app_secret);
    let shutdown = CancellationToken::new();
    tokio::spawn(aviary::connection::run(
        options,
        sink,
        ConnectionStats::new(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, Duration::from_secs(20))
        .await
        .expect("connected");
    let payloads: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::from_str(&envelope(i)).unwrap())
        .collect();
    let start = Instant::now();
    for p in &payloads {
        emu.push_event(p);
    }
    while emu.acks_ok_total() < n as u64 {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "only {} acks",
            emu.acks_ok_total()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    shutdown.cancel();
    q.shutdown().await;
    emu.shutdown().await;
    rate
}

/// A Redis store on `server` (claims never run here: the idle timeout is long).
async fn redis_store(server: &RedisServer) -> Arc<dyn QueueStore> {
    Arc::new(
        RedisStore::open(
            &RedisUrl::new(server.url(0)),
            "cli_bench",
            "bench",
            Duration::from_secs(300),
        )
        .await
        .expect("the bench's redis-server"),
    )
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = std::env::temp_dir().join(format!("aviary-bench-queue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    rt.block_on(async {
        println!("durable queue, {n} events per row (events of ~600 B; disk = redb with fsync per group commit)");
        println!("| row | backend | persisted+acked events/s | note |");
        println!("|---|---|---|---|");
        let disk = Arc::new(aviary::queue::disk::DiskStore::open(&dir.join("store.redb")).unwrap());
        let (rate, commits) = store_row(disk, n).await;
        println!(
            "| (1) store, 2,048 concurrent admits | disk | {rate:.0} | {commits} commits, {:.0} events per commit |",
            n as f64 / commits.max(1) as f64
        );
        let (rate, _) = store_row(Arc::new(aviary::queue::memory::MemoryStore::new()), n).await;
        println!("| (1) store, 2,048 concurrent admits | memory | {rate:.0} | |");
        for (label, args) in [
            ("redis, no persistence", &["--appendonly", "no"][..]),
            ("redis, appendfsync always", &["--appendonly", "yes", "--appendfsync", "always"][..]),
        ] {
            let server = RedisServer::start_with(args);
            let store = redis_store(&server).await;
            let (rate, commits) = store_row(store, n).await;
            println!(
                "| (1) store, 2,048 concurrent admits | {label} | {rate:.0} | {commits} commits, {:.0} events per commit; redis-server on 127.0.0.1 |",
                n as f64 / commits.max(1) as f64
            );
        }
        let disk = Arc::new(aviary::queue::disk::DiskStore::open(&dir.join("e2e.redb")).unwrap());
        let rate = end_to_end_row(disk, n).await;
        println!("| (2) emulator burst → connection → queue → ack | disk | {rate:.0} | emulator in-process |");
        let rate = end_to_end_row(Arc::new(aviary::queue::memory::MemoryStore::new()), n).await;
        println!("| (2) emulator burst → connection → queue → ack | memory | {rate:.0} | emulator in-process |");
        let server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
        let rate = end_to_end_row(redis_store(&server).await, n).await;
        println!("| (2) emulator burst → connection → queue → ack | redis, appendfsync always | {rate:.0} | emulator in-process |");
    });
    let _ = std::fs::remove_dir_all(&dir);
}
