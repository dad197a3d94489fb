//! Streamed replies through every SDK (Rust, Go, JavaScript on QuickJS and StarlingMonkey,
//! Python), through the real path: a message asks the language's test guest to stream, the
//! guest creates a CardKit card, replies with it and pushes 200 chunks (one every 5 ms) through
//! its SDK's `CardStream`, then finishes. The host coalesces and paces the updates; the
//! emulator, which refuses more than 10 operations per second on one card, records them.
//! Checked: the final card text is the whole text, no second holds more than 10 operations,
//! Feishu never had to refuse one, the updates were coalesced, sequences grow, and streaming
//! mode is off at the end.

use std::time::Duration;

use aviary_test_support::message_event;
use serde_json::{json, Value};

mod sdk_support;
use sdk_support::{Lang, Stack};

async fn stream(lang: Lang) {
    let stack = Stack::start(
        lang,
        &[
            "POST /open-apis/im/v1/messages",
            "/open-apis/cardkit/v1/cards",
        ],
        Duration::from_secs(30),
        |_| {},
    )
    .await;
    stack
        .run(
            &[message_event("ev_stream", "om_stream", "oc_sdk", "stream")],
            Duration::from_secs(120),
        )
        .await;
    let emu = stack.stop();
    let full: String = (0..200).map(|i| format!("chunk {i:03} ")).collect();
    let cards = emu.cards();
    assert_eq!(cards.len(), 1, "{cards:?}");
    let card = &cards[0];
    assert_eq!(
        card.element_content("aviary_stream").as_deref(),
        Some(full.as_str())
    );
    assert!(!card.streaming(), "streaming mode is off at the end");

    // The reply shows the card.
    let replies: Vec<_> = emu
        .sent_messages()
        .into_iter()
        .filter(|m| m.reply_to.as_deref() == Some("om_stream"))
        .collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].msg_type, "interactive");
    let content: Value = serde_json::from_str(&replies[0].content).unwrap();
    assert_eq!(
        content,
        json!({"type": "card", "data": {"card_id": card.card_id}})
    );

    // At most 10 operations in any second, none refused, updates coalesced, the last text
    // the whole one, sequences growing, and the settings last.
    let ops = &card.ops;
    for (i, op) in ops.iter().enumerate() {
        let in_window = ops[i..]
            .iter()
            .take_while(|o| o.at.duration_since(op.at) < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 10,
            "{in_window} operations within 1 s from op {i}"
        );
    }
    assert_eq!(emu.rate_limited_card_ops(), 0, "Feishu never refused one");
    let contents: Vec<&str> = ops
        .iter()
        .filter(|o| o.kind == "content")
        .map(|o| o.value.as_str())
        .collect();
    assert!(
        contents.len() >= 2 && contents.len() < 200,
        "{} content updates for 200 chunks",
        contents.len()
    );
    assert_eq!(*contents.last().unwrap(), full);
    assert!(ops.windows(2).all(|w| w[0].sequence < w[1].sequence));
    assert_eq!(ops.last().unwrap().kind, "settings");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_streams_200_chunks_into_one_card_within_feishus_limit() {
    stream(Lang::Rust).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_sdk_streams_200_chunks_into_one_card_within_feishus_limit() {
    stream(Lang::Go).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_quickjs_sdk_streams_200_chunks_into_one_card_within_feishus_limit() {
    stream(Lang::QuickJs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_starlingmonkey_sdk_streams_200_chunks_into_one_card_within_feishus_limit() {
    stream(Lang::StarlingMonkey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_streams_200_chunks_into_one_card_within_feishus_limit() {
    stream(Lang::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_update_without_its_grant_is_denied_and_nothing_is_sent() {
    // Creating the card is granted, updating its content (PUT) is not.
    let stack = Stack::start(
        Lang::Rust,
        &[
            "POST /open-apis/im/v1/messages",
            "POST /open-apis/cardkit/v1/cards",
        ],
        Duration::from_secs(30),
        |_| {},
    )
    .await;
    stack
        .emu
        .push_event(&message_event("ev_denied", "om_denied", "oc_sdk", "stream"));
    let acks = stack
        .emu
        .wait_for_acks(1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        acks[0].code, 500,
        "the guest answered retry with the denial"
    );
    let emu = stack.stop();
    let puts = emu
        .openapi_calls()
        .into_iter()
        .filter(|c| c.method == "PUT")
        .count();
    assert_eq!(puts, 0, "nothing was sent for the denied update");
    let cards = emu.cards();
    assert_eq!(cards.len(), 1);
    assert!(cards[0].ops.is_empty());
    emu.shutdown().await;
}
