//! Callbacks answered through every SDK (Rust, Go, JavaScript on QuickJS and StarlingMonkey,
//! Python), through the real path: `url.preview.get` answered with an inline preview, a card
//! action answered with a toast, one answered with a toast and the card replaced in the
//! answer, and one whose work takes longer than Feishu's 3 s: the runtime acks at its
//! callback deadline without an answer, and the guest then updates the card through the
//! OpenAPI with the callback's token (Feishu's deferred update), which the emulator records.

use std::time::Duration;

use aviary_test_support::{envelope, repo_root};
use serde_json::{json, Value};

mod sdk_support;
use sdk_support::{Lang, Stack};

fn card_action(event_id: &str, token: &str, choice: &str) -> Value {
    envelope(
        "card.action.trigger",
        event_id,
        json!({
            "operator": {"open_id": "ou_1", "tenant_key": "tenant-1"},
            "token": token,
            "action": {"value": {"choice": choice}, "tag": "button"},
            "context": {"open_message_id": "om_card", "open_chat_id": "oc_1"}
        }),
    )
}

fn card(text: &str) -> Value {
    json!({"schema": "2.0", "body": {"elements": [{"tag": "markdown", "content": text}]}})
}

async fn callbacks(lang: Lang) {
    let stack = Stack::start(
        lang,
        &["POST /open-apis/interactive/v1/card/update"],
        Duration::from_secs(20),
        |_| {},
    )
    .await;
    let t = lang.tag();
    let preview: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("examples/events/url.preview.get.json")).unwrap(),
    )
    .unwrap();
    let acks = stack
        .run(
            &[
                preview,
                card_action("ev_toast", "c-toast", "toast"),
                card_action("ev_update", "c-update", "update"),
            ],
            Duration::from_secs(60),
        )
        .await;
    let answers: Vec<Value> = acks
        .iter()
        .map(|a| serde_json::from_slice(a.data.as_deref().expect("an answer")).unwrap())
        .collect();
    let expected = [
        json!({"inline": {"title": format!("{t}: https://tickets.example.com/T-1042")}}),
        json!({"toast": {"type": "info", "content": format!("{t} toast")}}),
        json!({
            "toast": {"type": "success", "content": format!("{t} saved")},
            "card": {"type": "raw", "data": card(&format!("{t} updated"))}
        }),
    ];
    for want in expected {
        assert!(answers.contains(&want), "{want} not in {answers:?}");
    }

    // Work past the deadline: acked in time without an answer, the card updated afterwards.
    let slow = card_action("ev_slow", "c-slow", "slow");
    let acks = stack.run(&[slow], Duration::from_secs(60)).await;
    let ack = &acks[0];
    assert_eq!(
        ack.data, None,
        "acked at the deadline, before the answer was known"
    );
    let delivery = stack
        .emu
        .deliveries()
        .into_iter()
        .find(|d| d.event_id.as_deref() == Some("ev_slow"))
        .unwrap();
    let sent = delivery.attempts[0].sent_at;
    assert!(
        ack.at.duration_since(sent) < Duration::from_secs(3),
        "acked {:?} after it was sent: inside Feishu's 3 s",
        ack.at.duration_since(sent)
    );
    let emu = &stack.emu;
    aviary_test_support::eventually("the deferred card update", Duration::from_secs(30), || {
        !emu.card_updates().is_empty()
    })
    .await;
    let updates = emu.card_updates();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].token, "c-slow");
    assert_eq!(updates[0].card, card(&format!("{t} done later")));
    assert!(updates[0].at > ack.at, "the update came after the ack");
    let emu = stack.stop();
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_answers_callbacks_and_updates_cards_later() {
    callbacks(Lang::Rust).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_sdk_answers_callbacks_and_updates_cards_later() {
    callbacks(Lang::Go).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_quickjs_sdk_answers_callbacks_and_updates_cards_later() {
    callbacks(Lang::QuickJs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_starlingmonkey_sdk_answers_callbacks_and_updates_cards_later() {
    callbacks(Lang::StarlingMonkey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_answers_callbacks_and_updates_cards_later() {
    callbacks(Lang::Python).await;
}
