//! A reload of the synchronous dispatcher ([`Dispatcher::successor`]): events already handed to
//! the old dispatcher finish on the old handlers, later ones run on the new handlers, a chat's
//! order holds across the swap, and a handler keeps its concurrency bound when its
//! `max_concurrency` is unchanged.

mod dispatch_fakes;

use std::sync::Arc;

use aviary::dispatch::router::EventPattern;
use aviary::dispatch::{DispatchSettings, Dispatcher, EventSink, HandlerEntry, HandlerResult};
use aviary::handler::Invoke;
use dispatch_fakes::*;

const MSG: &str = "im.message.receive_v1";

fn entry(fake: &Arc<Fake>, events: &[&str]) -> HandlerEntry {
    HandlerEntry::new(
        fake.clone() as Arc<dyn Invoke>,
        events
            .iter()
            .map(|p| EventPattern::parse(p).unwrap())
            .collect(),
    )
}

fn ordered() -> DispatchSettings {
    DispatchSettings {
        per_chat_ordering: true,
        ..DispatchSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successor_takes_new_events_while_old_ones_finish_in_chat_order() {
    let j = Journal::default();
    let v1 = Fake::done("echo", &j, 300);
    let v2 = Fake::done("echo", &j, 0);
    let added = Fake::done("added", &j, 0);
    let old = Dispatcher::new(ordered(), vec![entry(&v1, &[MSG])]);
    // e1 is running on v1 (300 ms) when the reload happens.
    let first = tokio::spawn({
        let old = old.clone();
        async move { old.handle(inbound(MSG, "e1", Some("oc_1"))).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let new = old.successor(
        ordered(),
        vec![entry(&v2, &[MSG]), entry(&added, &["contact.*"])],
    );
    // Same chat: must wait for e1 although it went to the old dispatcher.
    let second = new.handle(inbound(MSG, "e2", Some("oc_1"))).await;
    let other = new
        .handle(inbound("contact.user.created_v3", "e3", None))
        .await;
    assert_eq!(first.await.unwrap(), HandlerResult::Done);
    assert_eq!((second, other), (HandlerResult::Done, HandlerResult::Done));
    assert_eq!((v1.calls(), v2.calls(), added.calls()), (1, 1, 1));
    let calls = j.calls();
    let e1 = calls.iter().find(|c| c.event_id == "e1").unwrap();
    let e2 = calls.iter().find(|c| c.event_id == "e2").unwrap();
    assert!(
        e2.started >= e1.ended,
        "the chat's second event started before its first ended"
    );
    // The old dispatcher knows nothing of the new handler; the counters carried over.
    assert_eq!(
        old.handle(inbound("contact.user.created_v3", "e4", None))
            .await,
        HandlerResult::NoHandler
    );
    assert_eq!(new.stats().snapshot().events, 3);
    assert_eq!(new.handler_names(), vec!["echo", "added"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_bound_holds_across_the_swap() {
    let j = Journal::default();
    let v1 = Fake::done("slow", &j, 200);
    let v2 = Fake::done("slow", &j, 200);
    let old = Dispatcher::new(
        DispatchSettings::default(),
        vec![entry(&v1, &[MSG]).with_max_concurrency(1)],
    );
    let new = old.successor(
        DispatchSettings::default(),
        vec![entry(&v2, &[MSG]).with_max_concurrency(1)],
    );
    let (a, b) = tokio::join!(
        old.handle(inbound(MSG, "a", None)),
        new.handle(inbound(MSG, "b", None))
    );
    assert_eq!((a, b), (HandlerResult::Done, HandlerResult::Done));
    let calls = j.calls();
    let (x, y) = (&calls[0], &calls[1]);
    assert!(
        y.started >= x.ended,
        "two calls of a handler with max_concurrency = 1 overlapped across the reload"
    );
}
