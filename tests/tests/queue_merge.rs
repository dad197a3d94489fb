//! Burst merge per chat through the real path with scripted handlers: emulator → connection →
//! QueueSink → store → scheduler (windows, fences) → one call per turn → settle. A recording
//! handler reads the merged envelope the guest would see; a plain handler on the same events
//! still gets each event on its own.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aviary::dispatch::router::{EventPattern, Router};
use aviary::dispatch::{DispatchMode, DispatchSettings, Dispatcher, EventSink};
use aviary::handler::{GuestEvent, Invocation, Invoke, InvokeFuture, Outcome};
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
/// `retry-once`.
struct Rec {
    name: String,
    calls: Arc<Mutex<Vec<Call>>>,
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
                ids,
            ));
            let result = if event.envelope.contains("retry-once") && event.attempt == 1 {
                Ok(Outcome::Retry("scripted".into()))
            } else {
                Ok(Outcome::Done)
            };
            Invocation {
                result,
                fuel_used: None,
                peak_memory_bytes: 0,
                wall: Duration::ZERO,
                logs: Vec::new(),
                kv: None,
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
/// event, fed by the emulator.
async fn start(store: Arc<dyn QueueStore>, settings: MergeSettings) -> Running {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let handler = |name: &str, merge: Option<MergeSettings>| QueueHandler {
        handler: Arc::new(Rec {
            name: name.into(),
            calls: calls.clone(),
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
    let r = start(store.clone(), settings).await;
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
