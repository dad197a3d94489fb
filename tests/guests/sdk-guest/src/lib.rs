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
        let Ok(TypedEvent::MessageReceive(m)) = event.typed() else {
            return Outcome::done();
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
            "denied" => match feishu::request("GET", "/open-apis/contact/v3/users/ou_1", "") {
                Ok(_) => Outcome::reject("the call was not denied"),
                Err(e) => done(feishu::reply_text(id, &format!("{LANG} error: {e}"))),
            },
            _ => Outcome::done(),
        }
    }
}

aviary_guest::export_handler!(Guest);
