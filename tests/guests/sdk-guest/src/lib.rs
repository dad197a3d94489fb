//! The OpenAPI script of tests/tests/sdk_openapi.rs in Rust: the text of a message names what
//! to do (`reply`, `send`, `post`, `upload`, `raw`, `denied`); every language's guest does the
//! same, so the test checks the same effects for each.

use aviary_guest::prelude::*;
use serde_json::json;

const LANG: &str = "rust";

/// The bytes every guest uploads as its image: 0, 1, …, 250, 0, 1, … (600 bytes).
fn image_bytes() -> Vec<u8> {
    (0..600u32).map(|i| (i % 251) as u8).collect()
}

struct Guest;

impl Handler for Guest {
    fn handle(event: Event) -> Outcome {
        let m = match event.typed() {
            Ok(TypedEvent::MessageReceive(m)) => m,
            Ok(TypedEvent::UrlPreview(p)) => {
                return Outcome::url_preview(format!("{LANG}: {}", p.url()))
            }
            Ok(TypedEvent::CardAction(a)) => return card_action(&a),
            _ => return Outcome::done(),
        };
        let id = m.message.message_id.as_str();
        let chat = m.message.chat_id.as_str();
        let text = m.text().unwrap_or_default();
        let done = |r: Result<String, String>| match r {
            Ok(_) => Outcome::done(),
            Err(e) => Outcome::retry(e),
        };
        match text.as_str() {
            "reply" => done(feishu::reply_text(id, &format!("{LANG} reply"))),
            "send" => done(feishu::send_text("chat_id", chat, &format!("{LANG} send"))),
            "post" => done(feishu::reply(
                id,
                "post",
                &json!({"zh_cn": {"title": LANG, "content": [[{"tag": "text", "text": "post"}]]}}),
            )),
            "upload" => done((|| {
                let image = feishu::upload_image(&image_bytes(), "message")?;
                let file =
                    feishu::upload_file(format!("{LANG} file").as_bytes(), "stream", "notes.txt")?;
                feishu::reply(id, "image", &json!({ "image_key": image }))?;
                feishu::reply(id, "file", &json!({ "file_key": file }))
            })()),
            "raw" => {
                let body = json!({"msg_type": "text", "content": json!({"text": format!("{LANG} raw")}).to_string()});
                done(
                    feishu::request_json(
                        "POST",
                        &format!("/open-apis/im/v1/messages/{id}/reply"),
                        Some(&body),
                    )
                    .map(|v| v.to_string()),
                )
            }
            "stream" => done((|| {
                let mut answer = aviary_guest::stream::CardStream::reply(id)?;
                for i in 0..CHUNKS {
                    answer.push(&format!("chunk {i:03} "))?;
                    std::thread::sleep(std::time::Duration::from_millis(CHUNK_MS));
                }
                answer.finish()
            })()),
            "denied" => match feishu::request("GET", "/open-apis/contact/v3/users/ou_1", "") {
                Ok(_) => Outcome::reject("the call was not denied"),
                Err(e) => done(feishu::reply_text(id, &format!("{LANG} error: {e}"))),
            },
            _ => Outcome::done(),
        }
    }
}

/// The callback script: `toast`, `update` (the card in the answer), `slow` (past the
/// callback deadline, then a deferred update with the callback's token).
fn card_action(a: &events::CardAction) -> Outcome {
    match a.value_str("choice") {
        Some("toast") => Outcome::toast_info(format!("{LANG} toast")),
        Some("update") => CardResponse::toast(Toast::success(format!("{LANG} saved")))
            .with_card(CardUpdate::raw(card(&format!("{LANG} updated"))))
            .into(),
        Some("slow") => {
            std::thread::sleep(std::time::Duration::from_millis(SLOW_MS));
            match feishu::update_card(&a.token, &card(&format!("{LANG} done later"))) {
                Ok(()) => Outcome::done(),
                Err(e) => Outcome::retry(e),
            }
        }
        _ => Outcome::done(),
    }
}

/// The stream: this many chunks, one every `CHUNK_MS`.
const CHUNKS: u32 = 200;
const CHUNK_MS: u64 = 5;

/// How long `slow` works: past the runtime's 2.5 s callback deadline and Feishu's 3 s.
const SLOW_MS: u64 = 3200;

fn card(text: &str) -> serde_json::Value {
    json!({"schema": "2.0", "body": {"elements": [{"tag": "markdown", "content": text}]}})
}

aviary_guest::export_handler!(Guest);
