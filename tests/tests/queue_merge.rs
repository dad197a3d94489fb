//! Burst merge per chat through the real path with scripted handlers: emulator → connection →
//! QueueSink → store → scheduler (windows, fences) → one call per turn → settle. A recording
//! handler reads the merged envelope the guest would see; a plain handler on the same events
//! still gets each event on its own. With key-value state, a merged call's writes commit once
//! with its whole turn, and never for an attempt that asked for a retry.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aviary::dispatch::router::{EventPattern, Router};
use aviary::dispatch::{DispatchMode, DispatchSettings, Dispatcher, EventSink};
use aviary::handler::{GuestEvent, Invocation, Invoke, InvokeFuture, Outcome};
use aviary::kv::{KeyWrite, KvStore, PendingWrites, Write, WriteSet};
use aviary::queue::engine::QueueConfig;
use aviary::queue::merge::{MergeSettings, MERGED_EVENT_TYPE};
use aviary::queue::retry::RetryPolicy;
use aviary::queue::{Queue, QueueHandler, QueueSink, QueueStore};
use aviary_test_support::*;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

/// One call: (handler, event type, dedupe id, attempt, message ids of the turn).
type Call = (String, String, String, u32, Vec<String>);

/// Records every call; asks for a retry on the first attempt of a turn whose text contains
/// `retry-once`. With `kv`, every call also writes, as a guest granted `kv` would: the merged
/// handler adds its turn's size to `count:<chat>` and 1 to `turns:<chat>`, the plain one 1 to
/// `plain:<chat>`, and a call that asks for a retry sets `failed:<dedupe_id>:<attempt>`.
struct Rec {
    name: String,
    calls: Arc<Mutex<Vec<Call>>>,
    kv: Option<Arc<dyn KvStore>>,
}

/// The writes [`Rec`] leaves for one call (namespace `ns`).
fn rec_writes(name: &str, chat: &str, ids: &[String], retry: Option<&str>) -> WriteSet {
    let add = |key: String, n: i64| KeyWrite {
        namespace: "ns".into(),
        key,
        write: Write::Add(n),
    };
    let mut writes = if name == "merged" {
        vec![
            add(format!("count:{chat}"), ids.len() as i64),
            add(format!("turns:{chat}"), 1),
        ]
    } else {
        vec![add(format!("plain:{chat}"), 1)]
    };
    if let Some(failed) = retry {
        writes.push(KeyWrite {
            namespace: "ns".into(),
            key: failed.into(),
            write: Write::Set {
                value: "x".into(),
                ttl_secs: 0,
            },
        });
    }
    WriteSet { writes }
}

impl Invoke for Rec {
    fn name(&self) -> &str {
        &self.name
    }
    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            let v: Value = serde_json::from_str(&event.envelope).unwrap();
            let ids: Vec<String> = if event.event_type == MERGED_EVENT_TYPE {
                v["event"]["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        e["event"]["message"]["message_id"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .collect()
            } else {
                vec![event.dedupe_id.clone()]
            };
            self.calls.lock().unwrap().push((
                self.name.clone(),
                event.event_type.clone(),
                event.dedupe_id.clone(),
                event.attempt,
                ids.clone(),
            ));
            let retry = event.envelope.contains("retry-once") && event.attempt == 1;
            let result = if retry {
                Ok(Outcome::Retry("scripted".into()))
            } else {
                Ok(Outcome::Done)
            };
            let kv = self.kv.as_ref().map(|store| {
                let chat = v["event"]["chat_id"]
                    .as_str()
                    .or(v["event"]["message"]["chat_id"].as_str())
                    .unwrap();
                let failed = format!("failed:{}:{}", event.dedupe_id, event.attempt);
                PendingWrites {
                    writes: rec_writes(&self.name, chat, &ids, retry.then_some(failed.as_str())),
                    store: store.clone(),
                }
            });
            Invocation {
                result,
                fuel_used: None,
                peak_memory_bytes: 0,
                wall: Duration::ZERO,
                logs: Vec::new(),
                kv,
            }
        })
    }
}

fn message(i: usize, chat: &str, sender: &str, text: &str) -> Value {
    json!({
        "schema": "2.0",
        "header": {"event_id": format!("ev-{i}"), "event_type": "im.message.receive_v1",
                   "create_time": "1608725989000", "app_id": "cli_1", "tenant_key": "t"},
        "event": {
            "sender": {"sender_id": {"open_id": sender}, "sender_type": "user"},
            "message": {"message_id": format!("om_{i}"), "chat_id": chat, "chat_type": "group",
                        "message_type": "text", "content": json!({"text": text}).to_string()}
        }
    })
}

struct Running {
    queue: Queue,
    calls: Arc<Mutex<Vec<Call>>>,
    emu: aviary_emulator::Emulator,
    shutdown: CancellationToken,
}

/// A queue on `store` with `merged` (merging, `settings`) and `plain` (not merging) on every
/// event, fed by the emulator. With `kv`, both write to the store's key-value state.
async fn start(store: Arc<dyn QueueStore>, settings: MergeSettings, kv: bool) -> Running {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let kv = if kv { store.kv() } else { None };
    let handler = |name: &str, merge: Option<MergeSettings>| QueueHandler {
        handler: Arc::new(Rec {
            name: name.into(),
            calls: calls.clone(),
            kv: kv.clone(),
        }),
        max_concurrency: 8,
        retry: RetryPolicy {
            max_attempts: 3,
            backoff: Duration::from_millis(20),
            backoff_max: Duration::from_millis(50),
        },
        filter: None,
        merge,
    };
    let queue = Queue::start(
        store,
        vec![handler("merged", Some(settings)), handler("plain", None)],
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
    let all = EventPattern::parse("*").unwrap();
    let sink: Arc<dyn EventSink> = Arc::new(
        QueueSink::new(
            queue.clone(),
            Router::new(vec![vec![all.clone()], vec![all]], None),
            vec!["merged".into(), "plain".into()],
            false,
            Arc::new(Dispatcher::new(DispatchSettings::default(), vec![])),
        )
        .with_merging(vec![true, false]),
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
    Running {
        queue,
        calls,
        emu,
        shutdown,
    }
}

async fn drained(queue: &Queue) {
    let mut gauge = queue.gauge();
    within(
        "queue drained",
        WAIT,
        gauge.wait_for(|g| g.jobs == 0 && g.running == 0),
    )
    .await
    .unwrap();
}

/// The merged handler's turns, by chat, in call order (attempt 1 only): message ids.
fn turns_by_chat(
    calls: &[Call],
    chat_of: &HashMap<String, String>,
) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut by: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for (h, ty, _, attempt, ids) in calls {
        if h == "merged" && *attempt == 1 {
            assert_eq!(ty, MERGED_EVENT_TYPE);
            by.entry(chat_of[&ids[0]].clone())
                .or_default()
                .push(ids.clone());
        }
    }
    by
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_become_turns_in_order_and_other_handlers_still_see_each_event() {
    let settings = MergeSettings {
        window: Duration::from_millis(400),
        max_events: 4,
        same_sender: false,
    };
    let r = start(
        Arc::new(aviary::queue::memory::MemoryStore::new()),
        settings,
        false,
    )
    .await;
    // Three chats; per chat a burst of 6 (split by max_events 4 → 4 + 2), a pause, a burst
    // of 1, a pause, a burst of 3.
    let mut chat_of = HashMap::new();
    let mut sent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut i = 0;
    for burst in [6, 1, 3] {
        for chat in ["oc_a", "oc_b", "oc_c"] {
            for _ in 0..burst {
                r.emu.push_event(&message(i, chat, "ou_1", "hi"));
                chat_of.insert(format!("om_{i}"), chat.to_string());
                sent.entry(chat.into()).or_default().push(format!("om_{i}"));
                i += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    r.emu.wait_for_acks(i, WAIT).await.unwrap();
    // Acked means persisted; the scheduler takes the jobs in just after. Per chat: 4 turns
    // of the merged handler, and every event for the plain one.
    let calls = r.calls.clone();
    eventually("every call", WAIT, || {
        calls.lock().unwrap().len() >= 3 * 4 + i
    })
    .await;
    drained(&r.queue).await;
    let calls = r.calls.lock().unwrap().clone();
    let turns = turns_by_chat(&calls, &chat_of);
    for (chat, ids) in &sent {
        let got = &turns[chat];
        let flat: Vec<String> = got.iter().flatten().cloned().collect();
        assert_eq!(
            &flat, ids,
            "{chat}: every message in exactly one turn, in order"
        );
        let sizes: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(
            sizes,
            vec![4, 2, 1, 3],
            "{chat}: bursts split by max_events only"
        );
    }
    // The turn's dedupe id is its first message's.
    for (h, _, dedupe, _, ids) in &calls {
        if h == "merged" {
            assert_eq!(dedupe, &ids[0]);
        }
    }
    // The plain handler got every event once, on its own.
    let plain: Vec<&Call> = calls.iter().filter(|c| c.0 == "plain").collect();
    assert_eq!(plain.len(), i);
    assert!(plain
        .iter()
        .all(|c| c.1 == "im.message.receive_v1" && c.4.len() == 1));
    r.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_turn_runs_again_with_the_same_messages_and_same_sender_splits_turns() {
    let settings = MergeSettings {
        window: Duration::from_millis(300),
        max_events: 10,
        same_sender: true,
    };
    let path = std::env::temp_dir().join(format!("aviary-merge-{}/q.redb", std::process::id()));
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    let store = Arc::new(aviary::queue::disk::DiskStore::open(&path).unwrap());
    let r = start(store.clone(), settings, false).await;
    // Sender a, a (retry-once), b, b, a: with same_sender the turns are [0,1] [2,3] [4].
    let texts = [
        ("ou_a", "x"),
        ("ou_a", "retry-once"),
        ("ou_b", "y"),
        ("ou_b", "z"),
        ("ou_a", "w"),
    ];
    for (i, (sender, text)) in texts.iter().enumerate() {
        r.emu.push_event(&message(i, "oc_1", sender, text));
    }
    r.emu.wait_for_acks(texts.len(), WAIT).await.unwrap();
    // Acked means persisted; the scheduler takes the jobs in just after.
    let calls = r.calls.clone();
    eventually("4 merged calls and 6 plain ones", WAIT, || {
        calls.lock().unwrap().len() >= 10
    })
    .await;
    drained(&r.queue).await;
    let calls = r.calls.lock().unwrap().clone();
    let merged: Vec<(u32, Vec<String>)> = calls
        .iter()
        .filter(|c| c.0 == "merged")
        .map(|c| (c.3, c.4.clone()))
        .collect();
    let ids = |v: &[usize]| v.iter().map(|i| format!("om_{i}")).collect::<Vec<_>>();
    assert_eq!(
        merged,
        vec![
            (1, ids(&[0, 1])),
            (2, ids(&[0, 1])),
            (1, ids(&[2, 3])),
            (1, ids(&[4])),
        ],
        "the retry re-runs the same turn (attempt 2) before the chat moves on"
    );
    assert!(store.pending().await.unwrap().is_empty());
    assert!(store.dead_letters().await.unwrap().is_empty());
    r.shutdown.cancel();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_calls_kv_writes_commit_once_with_its_turn_and_never_for_a_retried_attempt() {
    let settings = MergeSettings {
        window: Duration::from_millis(400),
        max_events: 4,
        same_sender: false,
    };
    let path = std::env::temp_dir().join(format!("aviary-merge-kv-{}/q.redb", std::process::id()));
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    let store = Arc::new(aviary::queue::disk::DiskStore::open(&path).unwrap());
    let kv = store.kv().expect("the disk queue keeps key-value state");
    let r = start(store.clone(), settings, true).await;
    // Four chats; per chat bursts of 5 (its third message asks for a retry: the turn's first
    // attempt writes, then retries), 1 and 9 (turns of 4, 4, 1).
    let chats = ["oc_a", "oc_b", "oc_c", "oc_d"];
    let mut sent: BTreeMap<&str, usize> = BTreeMap::new();
    let mut i = 0;
    for burst in [5, 1, 9] {
        for chat in chats {
            for j in 0..burst {
                let text = if burst == 5 && j == 2 {
                    "retry-once"
                } else {
                    "hi"
                };
                r.emu.push_event(&message(i, chat, "ou_1", text));
                *sent.entry(chat).or_default() += 1;
                i += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    r.emu.wait_for_acks(i, WAIT).await.unwrap();
    // Per chat 6 turns (4+1, 1, 4+4+1) and 1 retried turn; the plain handler: every event,
    // and the retry-once one again.
    let calls = r.calls.clone();
    let want_calls = chats.len() * (6 + 1) + i + chats.len();
    eventually("every call", WAIT, || {
        calls.lock().unwrap().len() >= want_calls
    })
    .await;
    drained(&r.queue).await;
    let calls = r.calls.lock().unwrap().clone();
    let retried = calls.iter().filter(|c| c.0 == "merged" && c.3 == 2).count();
    assert_eq!(retried, chats.len(), "one retried turn per chat");
    for chat in chats {
        let get = |key: String| {
            let kv = kv.clone();
            async move { kv.get("ns", &key).await.unwrap() }
        };
        let n = sent[chat].to_string();
        assert_eq!(
            get(format!("count:{chat}")).await,
            Some(n.clone()),
            "{chat}: the turns' sizes add up to its messages (each turn once)"
        );
        assert_eq!(
            get(format!("turns:{chat}")).await,
            Some("6".to_string()),
            "{chat}: one write per turn, not per message nor per attempt"
        );
        assert_eq!(
            get(format!("plain:{chat}")).await,
            Some(n),
            "{chat}: the other handler's writes, once per event"
        );
    }
    let failed = kv.list("ns", "failed:", "", 100).await.unwrap();
    assert!(
        failed.is_empty(),
        "writes of attempts that asked for a retry were committed: {failed:?}"
    );
    assert!(store.pending().await.unwrap().is_empty());
    assert!(store.dead_letters().await.unwrap().is_empty());
    r.shutdown.cancel();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// `aviary check` names each merging handler's turns.
#[test]
fn check_lists_the_merge_settings() {
    let dir = std::env::temp_dir().join(format!("aviary-merge-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("h.wasm"), "").unwrap();
    let manifest = dir.join("aviary.toml");
    std::fs::write(
        &manifest,
        "[feishu]\napp_id = \"cli_1\"\napp_secret = \"s\"\n\n[queue]\nbackend = \"memory\"\n\n\
         [[handler]]\nname = \"h\"\ncomponent = \"h.wasm\"\nevents = [\"im.message.receive_v1\"]\n\
         merge = { window_ms = 800, max_events = 5, same_sender = true }\n",
    )
    .unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let loader = move || -> Result<Box<dyn aviary::app::loading::HandlerLoader>, String> {
        let calls = calls.clone();
        Ok(Box::new(
            move |h: &aviary::manifest::HandlerSettings| -> Result<Arc<dyn Invoke>, String> {
                Ok(Arc::new(Rec {
                    name: h.name.clone(),
                    calls: calls.clone(),
                    kv: None,
                }))
            },
        ))
    };
    let report = aviary::cli::check::check(&manifest, &loader);
    assert_eq!(report.code, 0, "{report:?}");
    assert!(
        report
            .summary
            .iter()
            .any(|l| l
                == "    merge: turns of up to 5 messages within 800 ms per chat, one sender each"),
        "{:?}",
        report.summary
    );
    let _ = std::fs::remove_dir_all(&dir);
}
