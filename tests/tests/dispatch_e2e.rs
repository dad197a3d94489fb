//! End to end with fake handlers: emulator → real connection → dedupe → Dispatcher → ack, as the
//! emulator records it.

mod dispatch_fakes;

use std::sync::Arc;
use std::time::Duration;

use aviary::connection::{ConnectionStats, FatalError};
use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::DispatchSettings;
use aviary::dispatch::{Dispatcher, EventSink, HandlerEntry};
use aviary::handler::Invoke;
use aviary_emulator::Emulator;
use aviary_test_support::{
    card_event, envelope, message_event, options_for, start_emulator, within,
};
use dispatch_fakes::{Fake, Journal};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const SHORT: Duration = Duration::from_secs(10);

fn entry(fake: &Arc<Fake>, events: &[&str]) -> HandlerEntry {
    HandlerEntry::new(
        fake.clone() as Arc<dyn Invoke>,
        events
            .iter()
            .map(|p| EventPattern::parse(p).unwrap())
            .collect(),
    )
}

struct Client {
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), FatalError>>,
}

impl Client {
    async fn stop(self) {
        self.shutdown.cancel();
        within("client stops", SHORT, self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

async fn start(emu: &Emulator, dispatcher: Dispatcher, receive_capacity: usize) -> Client {
    let mut options = options_for(emu);
    options
        .settings
        .set_receive_queue_capacity(receive_capacity as u64)
        .unwrap();
    let stats = ConnectionStats::new();
    let shutdown = CancellationToken::new();
    let sink: Arc<dyn EventSink> = Arc::new(Deduplicating::new(dispatcher));
    let task = tokio::spawn(aviary::connection::run(
        options,
        sink,
        stats.clone(),
        shutdown.clone(),
    ));
    let mut state = stats.state();
    within(
        "connected",
        SHORT,
        state.wait_for(|s| matches!(s, aviary::connection::ConnectionState::Connected { .. })),
    )
    .await
    .unwrap();
    Client { shutdown, task }
}

#[tokio::test]
async fn acks_follow_the_handlers_results() {
    let emu = start_emulator(|_| {}).await;
    let j = Journal::default();
    let echo = Fake::done("echo", &j, 0);
    let toast = r#"{"toast":{"type":"success","content":"ok"}}"#;
    let cards = Fake::responding("cards", &j, 0, toast);
    let broken = Fake::failing("broken", &j, 0);
    let dispatcher = Dispatcher::new(
        DispatchSettings::default(),
        vec![
            entry(&echo, &["im.message.*"]),
            entry(&cards, &["card.action.trigger"]),
            entry(&broken, &["drive.*"]),
        ],
    );
    let stats = dispatcher.stats();
    let client = start(&emu, dispatcher, 64).await;

    emu.push_event(&message_event("ev-1", "om_1", "oc_1", "hi"));
    let acks = emu.wait_for_acks(1, SHORT).await.unwrap();
    assert_eq!((acks[0].code, acks[0].data.clone()), (200, None));

    emu.push_event(&card_event("ev-2", json!({"choice": "approve"})));
    let acks = emu.wait_for_acks(2, SHORT).await.unwrap();
    assert_eq!(acks[1].code, 200);
    assert_eq!(acks[1].data.as_deref(), Some(toast.as_bytes()));

    emu.push_event(&envelope("drive.file.edit_v1", "ev-3", json!({})));
    let acks = emu.wait_for_acks(3, SHORT).await.unwrap();
    assert_eq!(acks[2].code, 500, "a failed handler acks 500");

    emu.push_event(&envelope("mystery.event_v9", "ev-4", json!({})));
    let acks = emu.wait_for_acks(4, SHORT).await.unwrap();
    assert_eq!(acks[3].code, 500, "no handler acks 500");

    let s = stats.snapshot();
    assert_eq!((s.done, s.responded, s.no_handler), (1, 1, 1));
    assert!(s.failed >= 1);
    client.stop().await;
}

#[tokio::test]
async fn per_chat_order_survives_the_real_connection() {
    let emu = start_emulator(|_| {}).await;
    let j = Journal::default();
    let h = Fake::done("h", &j, 30);
    let dispatcher = Dispatcher::new(
        DispatchSettings {
            per_chat_ordering: true,
            ..DispatchSettings::default()
        },
        vec![entry(&h, &["im.message.receive_v1"])],
    );
    let client = start(&emu, dispatcher, 64).await;
    let mut pushed = Vec::new();
    for i in 0..6 {
        for chat in ["oc_a", "oc_b"] {
            let id = format!("{chat}-{i}");
            emu.push_event(&message_event(&id, &format!("om_{id}"), chat, "x"));
            pushed.push((chat, id));
        }
    }
    emu.wait_for_acks(12, SHORT).await.unwrap();
    let calls = j.calls();
    for chat in ["oc_a", "oc_b"] {
        let expected: Vec<&str> = pushed
            .iter()
            .filter(|(c, _)| *c == chat)
            .map(|(_, id)| id.as_str())
            .collect();
        let mine: Vec<_> = calls
            .iter()
            .filter(|c| c.event_id.starts_with(chat))
            .collect();
        let got: Vec<&str> = mine.iter().map(|c| c.event_id.as_str()).collect();
        assert_eq!(got, expected, "{chat} handled in arrival order");
        for w in mine.windows(2) {
            assert!(w[0].ended <= w[1].started);
        }
    }
    assert_eq!(h.max_running(), 2, "the two chats overlapped");
    assert!(emu.acks().iter().all(|a| a.code == 200));
    client.stop().await;
}

#[tokio::test]
async fn backpressure_pauses_reading_and_drops_nothing() {
    let emu = start_emulator(|_| {}).await;
    let j = Journal::default();
    let h = Fake::done("h", &j, 40);
    let dispatcher = Dispatcher::new(
        DispatchSettings {
            max_in_flight: 1,
            ..DispatchSettings::default()
        },
        vec![entry(&h, &["im.message.receive_v1"])],
    );
    // Two receive slots, one running event: the connection must pause, not drop or deadlock.
    let client = start(&emu, dispatcher, 2).await;
    for i in 0..10 {
        emu.push_event(&message_event(
            &format!("ev-{i}"),
            &format!("om_{i}"),
            "oc_1",
            "x",
        ));
    }
    aviary_test_support::eventually("all 10 events handled", SHORT, || h.calls() >= 10).await;
    emu.wait_for_acks(10, SHORT).await.unwrap();
    assert_eq!(h.max_running(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.calls(),
        10,
        "each event handled exactly once (dedupe absorbs redeliveries)"
    );
    let mut ids: Vec<String> = j.calls().into_iter().map(|c| c.event_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10);
    client.stop().await;
}
