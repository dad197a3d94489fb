//! Key-value state: what a call costs, and what it adds to a handler end to end.
//!
//! ```sh
//! cargo bench -p aviary-tests --bench kv            # 5,000 events per end-to-end row
//! cargo bench -p aviary-tests --bench kv -- 2000    # fewer
//! ```
//!
//! (1) **Per call** (host side, what a guest's `kv-get`/`kv-set`/`kv-increment` does after the
//!     import is crossed): [`RunState`] calls against each backend's committed state with 1,000
//!     keys — a get reads the store; a set or an increment of a key the run has not touched
//!     reads its committed entry (its size, for the quotas), and the first write of a run reads
//!     the namespace's usage once. Runs of 100 calls on distinct keys; mean µs per call.
//! (2) **End to end**: the crash-test handler (the `recorder` guest, replying to every message
//!     through `feishu-request`) under the real composition (`Runtime::builder()` → connection)
//!     against the in-process emulator, per-chat ordering, 40 chats; a burst of N message
//!     events; events/s = N / (time until every event is acked and replied to). Without the
//!     key-value counter, and with it (one `kv-increment` per event, committed with the
//!     event's outcome), on the disk backend (redb, fsync per group commit) and on Redis
//!     (`appendfsync always`, a local `redis-server`).

use std::time::{Duration, Instant};

use aviary::kv::run::{RunState, Scope};
use aviary::kv::{KeyWrite, KvQuotas, KvStore, Write, WriteSet};
use aviary::manifest::Manifest;
use aviary::queue::redis::{RedisStore, RedisUrl};
use aviary::queue::QueueStore;
use aviary_emulator::Emulator;
use aviary_redis_test_server::RedisServer;
use aviary_test_support::recorder::{emulator_config, envelope, write_manifest, REPLY};
use aviary_test_support::recorder_kv::{KV_COUNTER, KV_GRANT};

async fn per_call(store: &dyn KvStore) -> (f64, f64, f64) {
    let seed = WriteSet {
        writes: (0..1000)
            .map(|i| KeyWrite {
                namespace: "bench".into(),
                key: format!("k{i}"),
                write: Write::Set {
                    value: format!("{i}"),
                    ttl_secs: 0,
                },
            })
            .collect(),
    };
    store.apply(&seed).await.unwrap();
    let quotas = KvQuotas::default();
    let s = Scope {
        store,
        namespace: "bench",
        quotas: &quotas,
    };
    let runs = 20;
    let start = Instant::now();
    let run = RunState::default();
    for r in 0..runs {
        for i in 0..100 {
            run.get(&s, &format!("k{}", (r * 100 + i) % 1000))
                .await
                .unwrap();
        }
    }
    let get = start.elapsed().as_secs_f64() * 1e6 / (runs * 100) as f64;
    let start = Instant::now();
    for r in 0..runs {
        let mut run = RunState::default();
        for i in 0..100 {
            run.set(&s, &format!("k{}", (r * 100 + i) % 1000), "value".into(), 0)
                .await
                .unwrap();
        }
    }
    let set = start.elapsed().as_secs_f64() * 1e6 / (runs * 100) as f64;
    let start = Instant::now();
    for r in 0..runs {
        let mut run = RunState::default();
        for i in 0..100 {
            run.increment(&s, &format!("n{}", (r * 100 + i) % 1000), 1)
                .await
                .unwrap();
        }
    }
    let increment = start.elapsed().as_secs_f64() * 1e6 / (runs * 100) as f64;
    (get, set, increment)
}

/// One end-to-end row: events/s of the recorder (replying, with or without the counter).
async fn end_to_end(queue_table: &str, kv: bool, n: usize, dir: &std::path::Path) -> f64 {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut config = emulator_config();
    config.redelivery.enabled = false;
    let emu = Emulator::start(config).await.expect("emulator");
    let handler = if kv {
        format!("{KV_GRANT}{REPLY}{KV_COUNTER}")
    } else {
        REPLY.to_string()
    };
    let path = write_manifest(dir, &emu, queue_table, &handler);
    let manifest = Manifest::load(&path).expect("manifest");
    let runtime = aviary::Runtime::builder()
        .manifest(&path)
        .admin(aviary::admin::AdminSettings::off())
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    emu.wait_for_connections(1, Duration::from_secs(20))
        .await
        .expect("connected");
    let payloads: Vec<serde_json::Value> = (0..n).map(|i| envelope(i, "hello")).collect();
    let start = Instant::now();
    for p in &payloads {
        emu.push_event(p);
    }
    while emu.acks_ok_total() < n as u64 || emu.sent_messages().len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "only {} acks, {} replies",
            emu.acks_ok_total(),
            emu.sent_messages().len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    runtime.stop().await.expect("stops");
    drop(runtime);
    if kv {
        // The runtime is gone (its store closed): read what it committed.
        let store = aviary::queue::open_kv(&manifest.queue, &manifest.feishu.app_id)
            .await
            .expect("the key-value store opens");
        let mut total = 0;
        for c in 0..40 {
            let v = store.get("rec", &format!("count:oc_{c}")).await.unwrap();
            total += v.map_or(0, |v| v.parse::<usize>().unwrap());
        }
        assert_eq!(total, n, "every event counted once");
    }
    emu.shutdown().await;
    rate
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = std::env::temp_dir().join(format!("aviary-bench-kv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    rt.block_on(async {
        println!("key-value state, per call (host side; mean of 2,000 calls, 1,000 committed keys)");
        println!("| backend | get µs | set µs | increment µs |");
        println!("|---|---|---|---|");
        let memory = aviary::queue::memory::MemoryStore::new();
        let (g, s, i) = per_call(memory.kv().unwrap().as_ref()).await;
        println!("| memory | {g:.2} | {s:.2} | {i:.2} |");
        let disk = aviary::queue::disk::DiskStore::open(&dir.join("calls.redb")).unwrap();
        let (g, s, i) = per_call(&disk.kv_store()).await;
        println!("| disk (redb) | {g:.2} | {s:.2} | {i:.2} |");
        let server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
        let store = RedisStore::open(
            &RedisUrl::new(server.url(0)),
            "cli_bench",
            "bench",
            Duration::from_secs(300),
        )
        .await
        .unwrap();
        let (g, s, i) = per_call(store.kv().unwrap().as_ref()).await;
        println!("| redis (local, one round trip per read) | {g:.2} | {s:.2} | {i:.2} |");
        drop(store);

        println!();
        println!("crash-test handler end to end, {n} events (recorder replying through feishu-request; per-chat ordering, 40 chats)");
        println!("| backend | without kv, events/s | with a kv-increment per event, events/s |");
        println!("|---|---|---|");
        let plain = end_to_end("path = \"q.redb\"\n", false, n, &dir.join("disk-plain")).await;
        let counted = end_to_end("path = \"q.redb\"\n", true, n, &dir.join("disk-kv")).await;
        println!("| disk | {plain:.0} | {counted:.0} |");
        let url = server.url(1);
        let plain = end_to_end(&format!("backend = \"{url}\"\n"), false, n, &dir.join("redis-plain")).await;
        let url = server.url(2);
        let counted = end_to_end(&format!("backend = \"{url}\"\n"), true, n, &dir.join("redis-kv")).await;
        println!("| redis, appendfsync always | {plain:.0} | {counted:.0} |");
    });
    let _ = std::fs::remove_dir_all(&dir);
}
