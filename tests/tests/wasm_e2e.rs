//! The whole path with real WebAssembly: emulator → connection → dedupe → dispatcher → sandboxed
//! component → ack checked by the emulator. Hostile components subscribed to the same events are
//! contained and classified while a well-behaved one keeps succeeding, and the connection stays up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aviary::connection::{ConnectionStats, StatsSnapshot};
use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::DispatchSettings;
use aviary::dispatch::{Dispatcher, EventSink, HandlerEntry};
use aviary::handler::Invoke;
use aviary::sandbox::{HandlerLimits, HandlerSpec, Sandbox, SandboxConfig};
use aviary_emulator::Emulator;
use aviary_test_support::guests::guest;
use aviary_test_support::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

fn sandbox() -> Sandbox {
    let cache = std::env::temp_dir().join(format!("aviary-wasm-e2e-{}", std::process::id()));
    Sandbox::new(SandboxConfig {
        cache_dir: Some(cache),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts")
}

fn handler(sandbox: &Sandbox, name: &str, guest_name: &str, limits: HandlerLimits) -> HandlerEntry {
    let mut spec = HandlerSpec::new(name, guest(guest_name));
    spec.limits = limits;
    spec.config = BTreeMap::from([(
        "greeting".to_string(),
        "hello from the manifest".to_string(),
    )]);
    let loaded: Arc<dyn Invoke> = Arc::new(sandbox.load(spec).expect("component loads"));
    HandlerEntry::new(loaded, vec![EventPattern::parse("*").unwrap()])
}

async fn run(
    emu: &Emulator,
    sink: Arc<dyn EventSink>,
) -> (Arc<ConnectionStats>, CancellationToken) {
    let stats = ConnectionStats::new();
    let shutdown = CancellationToken::new();
    tokio::spawn(aviary::connection::run(
        options_for(emu),
        sink,
        stats.clone(),
        shutdown.clone(),
    ));
    (stats, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_handler_acks_events_and_answers_card_callbacks() {
    let sandbox = sandbox();
    let well = handler(&sandbox, "well", "well-behaved", HandlerLimits::default());
    let dispatcher = Arc::new(Dispatcher::new(DispatchSettings::default(), vec![well]));
    let emu = start_emulator(|c| c.redelivery.enabled = false).await;
    let (stats, shutdown) = run(&emu, Arc::new(Deduplicating::new(dispatcher.clone()))).await;
    emu.wait_for_connections(1, WAIT).await.unwrap();
    emu.push_event(&message_event("ev-w1", "om_w1", "oc_1", "hi"));
    emu.push_event(&card_event("ev-w2", json!({"choice": "approve"})));
    let acks = emu.wait_for_acks(2, WAIT).await.unwrap();
    let by_id = |id: &str| {
        let d = emu
            .deliveries()
            .into_iter()
            .find(|d| d.event_id.as_deref() == Some(id))
            .unwrap();
        acks.iter()
            .find(|a| a.delivery == Some(d.id))
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("ev-w1").code, 200);
    let card = by_id("ev-w2");
    assert_eq!(card.code, 200);
    let answer: serde_json::Value =
        serde_json::from_slice(card.data.as_ref().expect("callback answer")).unwrap();
    assert_eq!(
        answer,
        json!({"greeting": "hello from the manifest", "event_id": "ev-w2"})
    );
    let d = dispatcher.stats().snapshot();
    assert_eq!((d.done, d.responded, d.failed), (1, 1, 0));
    assert_eq!(stats.snapshot().connects, 1);
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_handlers_are_contained_while_a_good_one_keeps_succeeding() {
    let sandbox = sandbox();
    // Only the infinite loop is meant to hit its timeout. The others get a long one, so that on a
    // loaded machine (six loops burning both cores for their 500 ms) a memory bomb still paging
    // in its 32 MiB is not cut short and counted as a timeout instead of a memory-limit failure.
    let hostile = HandlerLimits::default()
        .with_timeout(Duration::from_secs(10))
        .and_then(|l| l.with_memory_bytes(32 * 1024 * 1024))
        .unwrap();
    let looping = hostile.with_timeout(Duration::from_millis(500)).unwrap();
    let handlers = vec![
        handler(&sandbox, "well", "well-behaved", HandlerLimits::default()),
        handler(&sandbox, "loop", "infinite-loop", looping),
        handler(&sandbox, "bomb", "memory-bomb", hostile),
        handler(&sandbox, "panics", "panicker", hostile),
        handler(
            &sandbox,
            "burner",
            "fuel-burner",
            hostile.with_fuel(Some(5_000_000)).unwrap(),
        ),
        handler(&sandbox, "recursion", "deep-recursion", hostile),
    ];
    let dispatcher = Arc::new(Dispatcher::new(DispatchSettings::default(), handlers));
    let emu = start_emulator(|c| c.redelivery.enabled = false).await;
    let (stats, shutdown) = run(&emu, Arc::new(Deduplicating::new(dispatcher.clone()))).await;
    emu.wait_for_connections(1, WAIT).await.unwrap();
    let events = 6;
    for i in 0..events {
        emu.push_event(&message_event(
            &format!("ev-h{i}"),
            &format!("om_h{i}"),
            &format!("oc_{}", i % 2),
            "x",
        ));
    }
    let acks = emu.wait_for_acks(events, WAIT).await.unwrap();
    assert!(
        acks.iter().all(|a| a.code == 500),
        "an event whose handlers failed is acked 500 for redelivery"
    );
    let d = dispatcher.stats().snapshot();
    assert_eq!(
        d.done, events as u64,
        "the well-behaved handler succeeded on every event"
    );
    assert_eq!(
        d.failed,
        5 * events as u64,
        "every hostile call failed and was counted"
    );
    for kind in [
        "timeout",
        "memory_limit",
        "panic",
        "out_of_fuel",
        "stack_overflow",
    ] {
        assert_eq!(
            d.failures.get(kind),
            events as u64,
            "{kind}: {:?}",
            d.failures
        );
    }
    let s: StatsSnapshot = stats.snapshot();
    assert_eq!(s.connects, 1, "the connection stayed up");
    assert_eq!(s.disconnects, 0);
    // Still healthy afterwards: a callback is answered by the good handler alone in time.
    emu.push_event(&card_event("ev-h-card", json!({})));
    let acks = emu.wait_for_acks(events + 1, WAIT).await.unwrap();
    assert!(
        acks.iter().any(|a| a.data.is_some()),
        "the callback got the good handler's answer"
    );
    shutdown.cancel();
}
