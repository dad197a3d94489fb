//! The same key-value behaviour from every backend (memory, disk, Redis): writes applied with
//! the settlement that carries them, reads, listing, usage, expiry, increments at commit.

use std::sync::Arc;
use std::time::Duration;

use super::KvCommit;
use crate::kv::{KeyWrite, KvStore, Usage, Write, WriteSet};
use crate::queue::store::{now_ms, Admission, Batch, NewJob, QueueStore, Settle};

fn job(id: &str) -> NewJob {
    NewJob {
        dedupe_id: id.into(),
        event_id: id.into(),
        event_type: "im.message.receive_v1".into(),
        chat_id: None,
        trace_id: String::new(),
        envelope: "{}".into(),
        handlers: vec!["h".into()],
    }
}

fn batch(admit: Vec<NewJob>, settle: Vec<Settle>, kv: Vec<KvCommit>) -> Batch {
    Batch {
        admit,
        settle,
        now_ms: now_ms(),
        dedupe_window: Duration::from_secs(60),
        dedupe_max_entries: 1000,
        capacity: 1000,
        kv,
    }
}

pub(crate) fn set(ns: &str, key: &str, value: &str, ttl_secs: u32) -> KeyWrite {
    KeyWrite {
        namespace: ns.into(),
        key: key.into(),
        write: Write::Set {
            value: value.into(),
            ttl_secs,
        },
    }
}

pub(crate) fn add(ns: &str, key: &str, d: i64) -> KeyWrite {
    KeyWrite {
        namespace: ns.into(),
        key: key.into(),
        write: Write::Add(d),
    }
}

pub(crate) fn del(ns: &str, key: &str) -> KeyWrite {
    KeyWrite {
        namespace: ns.into(),
        key: key.into(),
        write: Write::Delete,
    }
}

fn ws(writes: Vec<KeyWrite>) -> WriteSet {
    WriteSet { writes }
}

/// Admits one job per write set and settles them all done in one batch, carrying the sets.
async fn settle_with(store: &dyn QueueStore, tag: &str, sets: Vec<WriteSet>) {
    let jobs: Vec<NewJob> = (0..sets.len())
        .map(|i| job(&format!("{tag}-{i}")))
        .collect();
    let admitted = store.commit(batch(jobs, vec![], vec![])).await.unwrap();
    let ids: Vec<u64> = admitted
        .iter()
        .map(|a| match a {
            Admission::Accepted(r) => r.id,
            other => panic!("{other:?}"),
        })
        .collect();
    let kv = ids
        .iter()
        .zip(sets)
        .map(|(&job, writes)| KvCommit { job, writes })
        .collect();
    let settle = ids.iter().map(|&id| Settle::Done(id)).collect();
    store.commit(batch(vec![], settle, kv)).await.unwrap();
}

async fn get(kv: &dyn KvStore, key: &str) -> Option<String> {
    kv.get("ns", key).await.unwrap()
}

/// Usage as the live entries add up (keys + values).
async fn counted(kv: &dyn KvStore, ns: &str) -> Usage {
    let keys = kv.list(ns, "", "", 10_000).await.unwrap();
    let mut u = Usage::default();
    for k in keys {
        let v = kv.get(ns, &k).await.unwrap().unwrap();
        u.keys += 1;
        u.bytes += (k.len() + v.len()) as u64;
    }
    u
}

async fn behaves(store: Arc<dyn QueueStore>) {
    let kv = store.kv().expect("every backend keeps key-value state");
    let kv = kv.as_ref();
    assert_eq!(get(kv, "a").await, None);
    settle_with(
        store.as_ref(),
        "first",
        vec![ws(vec![
            set("ns", "a", "1", 0),
            set("ns", "short", "x", 1),
            add("ns", "count", 5),
            set("ns", "p/1", "one", 0),
            set("ns", "p/2", "two", 0),
            set("ns", "q/1", "three", 0),
            set("other", "a", "elsewhere", 0),
        ])],
    )
    .await;
    assert_eq!(get(kv, "a").await.as_deref(), Some("1"));
    assert_eq!(get(kv, "count").await.as_deref(), Some("5"));
    assert_eq!(
        kv.get("other", "a").await.unwrap().as_deref(),
        Some("elsewhere")
    );
    assert_eq!(kv.list("ns", "p/", "", 10).await.unwrap(), ["p/1", "p/2"]);
    assert_eq!(kv.list("ns", "p/", "p/1", 10).await.unwrap(), ["p/2"]);
    assert_eq!(kv.list("ns", "p/", "", 1).await.unwrap(), ["p/1"]);
    assert_eq!(kv.list("ns", "p/", "a", 10).await.unwrap(), ["p/1", "p/2"]);
    assert_eq!(
        kv.list("ns", "", "", 100).await.unwrap(),
        ["a", "count", "p/1", "p/2", "q/1", "short"]
    );
    assert_eq!(kv.list("ns", "", "p/2", 2).await.unwrap(), ["q/1", "short"]);
    assert_eq!(kv.usage("ns").await.unwrap(), counted(kv, "ns").await);
    assert_eq!(kv.usage("ns").await.unwrap().keys, 6);

    // Two runs' increments of one key in one batch both count (deltas, added at commit); an
    // add keeps the key's expiry; an add to text replaces it; an add saturates.
    settle_with(
        store.as_ref(),
        "adds",
        vec![
            ws(vec![add("ns", "count", 1), add("ns", "short", 2)]),
            ws(vec![
                add("ns", "count", 10),
                set("ns", "max", &i64::MAX.to_string(), 0),
            ]),
        ],
    )
    .await;
    assert_eq!(get(kv, "count").await.as_deref(), Some("16"));
    assert_eq!(get(kv, "short").await.as_deref(), Some("2"));
    kv.apply(&ws(vec![add("ns", "max", 1), add("ns", "fresh", -3)]))
        .await
        .unwrap();
    assert_eq!(get(kv, "max").await, Some(i64::MAX.to_string()));
    assert_eq!(get(kv, "fresh").await.as_deref(), Some("-3"));

    // Delete, and a set that replaces a value of another length.
    kv.apply(&ws(vec![
        del("ns", "a"),
        set("ns", "p/1", "a longer value", 0),
        del("ns", "nothing"),
    ]))
    .await
    .unwrap();
    assert_eq!(get(kv, "a").await, None);
    assert_eq!(kv.usage("ns").await.unwrap(), counted(kv, "ns").await);

    // `short` expires one second after its set (the add kept that expiry): invisible to reads
    // at once, removed (and uncounted) by the next commit.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(get(kv, "short").await, None);
    assert!(!kv
        .list("ns", "", "", 100)
        .await
        .unwrap()
        .contains(&"short".to_string()));
    settle_with(
        store.as_ref(),
        "later",
        vec![ws(vec![set("ns", "z", "", 0)])],
    )
    .await;
    assert_eq!(kv.usage("ns").await.unwrap(), counted(kv, "ns").await);
    assert_eq!(
        kv.list("ns", "", "", 100).await.unwrap(),
        ["count", "fresh", "max", "p/1", "p/2", "q/1", "z"]
    );
    // A set without a ttl clears an expiry; an expired key set again is new.
    kv.apply(&ws(vec![set("ns", "t", "1", 1), set("ns", "t", "2", 0)]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(get(kv, "t").await.as_deref(), Some("2"));

    // Deleting everything leaves no usage behind.
    let all = kv.list("ns", "", "", 100).await.unwrap();
    kv.apply(&ws(all.iter().map(|k| del("ns", k)).collect()))
        .await
        .unwrap();
    assert_eq!(kv.usage("ns").await.unwrap(), Usage::default());
    assert_eq!(
        kv.list("ns", "", "", 100).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn memory_backend() {
    behaves(Arc::new(crate::queue::memory::MemoryStore::new())).await;
}

#[tokio::test]
async fn disk_backend() {
    let dir = std::env::temp_dir().join(format!("aviary-kv-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("q.redb");
    behaves(Arc::new(
        crate::queue::disk::DiskStore::open(&path).unwrap(),
    ))
    .await;
    // Committed state survives a reopen.
    let store = crate::queue::disk::DiskStore::open(&path).unwrap();
    let kv = store.kv_store();
    kv.apply(&ws(vec![set("ns", "kept", "yes", 0)]))
        .await
        .unwrap();
    drop((kv, store));
    let store = crate::queue::disk::DiskStore::open(&path).unwrap();
    assert_eq!(
        store.kv_store().get("ns", "kept").await.unwrap().as_deref(),
        Some("yes")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_backend() {
    use crate::queue::redis::{RedisStore, RedisUrl};
    use aviary_redis_test_server::RedisServer;
    let server = RedisServer::start();
    let url = RedisUrl::new(server.url(0));
    let store = RedisStore::open(&url, "cli_kv", "one", Duration::from_secs(30))
        .await
        .unwrap();
    behaves(Arc::new(store)).await;
    // A process without a queue reads and writes the same state.
    let alone = super::redis::RedisKv::connect(&url, "cli_kv")
        .await
        .unwrap();
    alone
        .apply(&ws(vec![set("ns", "shared", "v", 0)]))
        .await
        .unwrap();
    let again = RedisStore::open(&url, "cli_kv", "two", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        again
            .kv()
            .unwrap()
            .get("ns", "shared")
            .await
            .unwrap()
            .as_deref(),
        Some("v")
    );
    assert_eq!(
        alone.get("ns", "shared").await.unwrap().as_deref(),
        Some("v"),
        "and another app's keys are apart"
    );
    let other_app = super::redis::RedisKv::connect(&url, "cli_other")
        .await
        .unwrap();
    assert_eq!(other_app.get("ns", "shared").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_the_writes_of_a_settlement_that_is_refused_are_refused_too() {
    use crate::queue::redis::{RedisStore, RedisUrl};
    use aviary_redis_test_server::RedisServer;
    let server = RedisServer::start();
    let url = RedisUrl::new(server.url(0));
    let idle = Duration::from_millis(600);
    let stalled = RedisStore::open(&url, "cli_kv", "stalled", idle)
        .await
        .unwrap();
    let claimer = RedisStore::open(&url, "cli_kv", "claimer", idle)
        .await
        .unwrap();
    let out = stalled
        .commit(batch(vec![job("j")], vec![], vec![]))
        .await
        .unwrap();
    let Admission::Accepted(j) = &out[0] else {
        panic!("{out:?}")
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(claimer.claim().await.unwrap().len(), 1);
    // The stalled instance finishes its (cut off) run: its outcome and its writes are dropped.
    stalled
        .commit(batch(
            vec![],
            vec![Settle::Done(j.id)],
            vec![KvCommit {
                job: j.id,
                writes: ws(vec![add("ns", "n", 1)]),
            }],
        ))
        .await
        .unwrap();
    let kv = claimer.kv().unwrap();
    assert_eq!(
        kv.get("ns", "n").await.unwrap(),
        None,
        "the stalled run's write is dropped"
    );
    // The new owner's run commits its own.
    claimer
        .commit(batch(
            vec![],
            vec![Settle::Done(j.id)],
            vec![KvCommit {
                job: j.id,
                writes: ws(vec![add("ns", "n", 1)]),
            }],
        ))
        .await
        .unwrap();
    assert_eq!(kv.get("ns", "n").await.unwrap().as_deref(), Some("1"));
    assert!(claimer.pending().await.unwrap().is_empty());
}
