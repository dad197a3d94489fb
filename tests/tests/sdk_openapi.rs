//! The OpenAPI wrappers of every SDK (Rust, Go, JavaScript on QuickJS and StarlingMonkey,
//! Python) through the real path: the emulator pushes messages, the runtime runs the
//! language's test guest (tests/guests/sdk-guest, tests/go-guests/sdk, tests/guests-js/sdk.js,
//! tests/guests-py/sdk_guest.py: one script), the guest replies, sends, uploads and calls
//! the OpenAPI through its SDK, and the emulator records what arrived. Each language must
//! produce the same effects, with the host's idempotency `uuid` on every message.

use std::time::Duration;

use aviary_test_support::message_event;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod sdk_support;
use sdk_support::{Lang, Stack};

/// The script: each command is one message, `om_<cmd>` in chat `oc_sdk`.
const COMMANDS: [&str; 6] = ["reply", "send", "post", "upload", "raw", "denied"];

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn script(lang: Lang) {
    let stack = Stack::start(
        lang,
        &["POST /open-apis/im/v1"],
        Duration::from_secs(20),
        |_| {},
    )
    .await;
    let envelopes: Vec<Value> = COMMANDS
        .iter()
        .map(|c| message_event(&format!("ev_{c}"), &format!("om_{c}"), "oc_sdk", c))
        .collect();
    stack.run(&envelopes, Duration::from_secs(120)).await;
    let emu = stack.stop();
    let t = lang.tag();
    let sent = emu.sent_messages();
    let replies_to = |parent: &str| -> Vec<(String, Value)> {
        sent.iter()
            .filter(|m| m.reply_to.as_deref() == Some(parent))
            .map(|m| {
                (
                    m.msg_type.clone(),
                    serde_json::from_str(&m.content).unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        replies_to("om_reply"),
        [("text".to_string(), json!({"text": format!("{t} reply")}))]
    );
    let sends: Vec<_> = sent.iter().filter(|m| m.receiver.is_some()).collect();
    assert_eq!(sends.len(), 1, "{sent:?}");
    assert_eq!(
        sends[0].receiver,
        Some(("chat_id".to_string(), "oc_sdk".to_string()))
    );
    assert_eq!(
        sends[0].content,
        json!({"text": format!("{t} send")}).to_string()
    );
    let post = replies_to("om_post");
    assert_eq!(post.len(), 1);
    assert_eq!(post[0].0, "post");
    assert_eq!(post[0].1["zh_cn"]["title"], t);
    assert_eq!(
        replies_to("om_raw"),
        [("text".to_string(), json!({"text": format!("{t} raw")}))]
    );

    // Uploads: the image's bytes arrived intact, and the replies carry the keys answered.
    let uploads = emu.uploads();
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    let image: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(uploads[0].path, "/open-apis/im/v1/images");
    assert_eq!(uploads[0].sha256, hex_sha256(&image));
    assert_eq!(uploads[1].path, "/open-apis/im/v1/files");
    assert_eq!(uploads[1].file_name, "notes.txt");
    assert_eq!(
        uploads[1].sha256,
        hex_sha256(format!("{t} file").as_bytes())
    );
    assert_eq!(
        replies_to("om_upload"),
        [
            ("image".to_string(), json!({"image_key": uploads[0].key})),
            ("file".to_string(), json!({"file_key": uploads[1].key})),
        ]
    );

    // The denial came back to the guest as an error naming the handler and the key.
    let denied = replies_to("om_denied");
    assert_eq!(denied.len(), 1);
    let text = denied[0].1["text"].as_str().unwrap();
    let expected = format!(
        "{t} error: denied: handler `{}` may not call GET /open-apis/contact/v3/users/ou_1",
        lang.handler()
    );
    assert!(text.starts_with(&expected), "{text}");
    assert!(text.contains("manifest key `openapi`"), "{text}");

    // Every message carries the host's uuid: 32 hex characters, no two alike.
    let mut uuids: Vec<&str> = sent.iter().map(|m| m.uuid.as_deref().unwrap()).collect();
    assert!(uuids
        .iter()
        .all(|u| u.len() == 32 && u.chars().all(|c| c.is_ascii_hexdigit())));
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), sent.len());
    assert_eq!(sent.len(), 7, "{sent:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_replies_sends_and_uploads_through_the_host() {
    script(Lang::Rust).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_sdk_replies_sends_and_uploads_through_the_host() {
    script(Lang::Go).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_quickjs_sdk_replies_sends_and_uploads_through_the_host() {
    script(Lang::QuickJs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_starlingmonkey_sdk_replies_sends_and_uploads_through_the_host() {
    script(Lang::StarlingMonkey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_replies_sends_and_uploads_through_the_host() {
    script(Lang::Python).await;
}
