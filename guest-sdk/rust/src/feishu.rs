//! Calls to the Feishu/Lark OpenAPI as the app, through the `feishu-request` host import.
//!
//! The handler must be granted the paths in the manifest (denied by default):
//!
//! ```toml
//! [[handler]]
//! name = "echo"
//! # …
//! openapi = ["/open-apis/im/v1/messages"]   # send, reply, and anything else under it
//! ```
//!
//! The host adds the app's `tenant_access_token` (the handler never sees it) and, for send and
//! reply, an idempotency `uuid` derived from the app, the handler, the event and the index of
//! the call in this run: if the same event is handled again (a crash, a timeout, a `retry`),
//! the same calls in the same order carry the same keys and Feishu sends nothing twice — within
//! Feishu's 1-hour uuid window. Keep the calls of a run in a deterministic order for that. A
//! `uuid` you put in the body yourself is kept.
//!
//! ```no_run
//! use aviary_guest::feishu;
//! # fn f(message_id: &str) -> Result<(), String> {
//! let reply_id = feishu::reply_text(message_id, "got it")?;
//! feishu::send_text("chat_id", "oc_123", "hello")?;
//! let raw = feishu::request("GET", "/open-apis/im/v1/chats?page_size=20", "")?;
//! let image_key = feishu::upload_image(&[0x89, b'P', b'N', b'G'], "message")?;
//! feishu::send("chat_id", "oc_123", "image", &serde_json::json!({ "image_key": image_key }))?;
//! # let _ = (reply_id, raw); Ok(()) }
//! ```

use serde_json::{json, Value};

/// Sends `method path` with `body` (JSON text, or `""` for none) and returns the answer's
/// body (JSON text) when Feishu answered 2xx with `code` 0. `path` includes the query and
/// starts with `/open-apis/`. The error names the call and holds Feishu's code and message, or
/// why the host refused (not granted, bad path, timeout, …).
pub fn request(method: &str, path: &str, body: &str) -> Result<String, String> {
    crate::host::feishu_request(method, path, body)
}

/// [`request`] with a JSON body (`None`: no body), answering the parsed JSON.
pub fn request_json(method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let answer = request(method, path, &body)?;
    serde_json::from_str(&answer).map_err(|e| format!("{method} {path}: answer is not JSON: {e}"))
}

/// Replies to the message `message_id` with `msg_type` and `content` (the message content
/// object, e.g. `{"text": "hi"}`); returns the new message's id.
pub fn reply(message_id: &str, msg_type: &str, content: &Value) -> Result<String, String> {
    check_id("message id", message_id)?;
    let path = format!("/open-apis/im/v1/messages/{message_id}/reply");
    let body = json!({"msg_type": msg_type, "content": content.to_string()});
    message_id_of(request_json("POST", &path, Some(&body))?)
}

/// Replies to the message `message_id` with plain text; returns the new message's id.
pub fn reply_text(message_id: &str, text: &str) -> Result<String, String> {
    reply(message_id, "text", &json!({ "text": text }))
}

/// Sends a message to `receive_id` (of type `receive_id_type`: `open_id`, `union_id`,
/// `user_id`, `email` or `chat_id`); returns the new message's id.
pub fn send(
    receive_id_type: &str,
    receive_id: &str,
    msg_type: &str,
    content: &Value,
) -> Result<String, String> {
    if !RECEIVE_ID_TYPES.contains(&receive_id_type) {
        return Err(format!(
            "receive_id_type {receive_id_type:?} is not one of {}",
            RECEIVE_ID_TYPES.join(", ")
        ));
    }
    let path = format!("/open-apis/im/v1/messages?receive_id_type={receive_id_type}");
    let body =
        json!({"receive_id": receive_id, "msg_type": msg_type, "content": content.to_string()});
    message_id_of(request_json("POST", &path, Some(&body))?)
}

/// Sends plain text to `receive_id` (see [`send`]); returns the new message's id.
pub fn send_text(receive_id_type: &str, receive_id: &str, text: &str) -> Result<String, String> {
    send(
        receive_id_type,
        receive_id,
        "text",
        &json!({ "text": text }),
    )
}

/// Updates a card after its callback was answered (Feishu's deferred update,
/// `POST /open-apis/interactive/v1/card/update`): `token` is the callback's
/// ([`crate::events::CardAction::token`]; valid 30 minutes, for two updates), `card` the whole
/// new card JSON (for a card that is not shared, `"open_ids"` in it names who sees the
/// update). The fallback when the work takes longer than the 3 s a callback may take: answer
/// with a toast (or let the runtime ack at `dispatch.callback_deadline_ms`), work, then update.
pub fn update_card(token: &str, card: &Value) -> Result<(), String> {
    if token.is_empty() {
        return Err("the callback token is empty".to_string());
    }
    let body = json!({"token": token, "card": card});
    request_json("POST", "/open-apis/interactive/v1/card/update", Some(&body)).map(|_| ())
}

/// The `receive_id_type`s of a send.
pub const RECEIVE_ID_TYPES: [&str; 5] = ["open_id", "union_id", "user_id", "email", "chat_id"];

/// Uploads a multipart form to `path` (a granted `/open-apis/…` path, by POST): the text
/// fields of `form` and one file part named `file_field` holding `bytes` as `file_name`.
/// Returns the answer's body (JSON text). The host adds the token and checks the grant as for
/// [`request`]; the file is at most 30 MiB.
pub fn upload(
    path: &str,
    form: &[(&str, &str)],
    file_field: &str,
    file_name: &str,
    bytes: &[u8],
) -> Result<String, String> {
    let fields: serde_json::Map<String, Value> = form
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    crate::host::feishu_upload(
        path,
        &Value::Object(fields).to_string(),
        file_field,
        file_name,
        bytes,
    )
}

/// Uploads an image (JPEG, PNG, WEBP, GIF, TIFF, BMP, ICO; at most 10 MB) for messages
/// (`image_type` `"message"`) or avatars (`"avatar"`); returns its `image_key` for an `image`
/// message or a card. Granted by `POST /open-apis/im/v1/images`.
pub fn upload_image(bytes: &[u8], image_type: &str) -> Result<String, String> {
    let answer = upload(
        "/open-apis/im/v1/images",
        &[("image_type", image_type)],
        "image",
        "image",
        bytes,
    )?;
    data_string(&answer, "image_key")
}

/// Uploads a file (at most 30 MB) of `file_type` (`opus`, `mp4`, `pdf`, `doc`, `xls`, `ppt`,
/// or `stream` for anything else) named `file_name`; returns its `file_key` for a `file`,
/// `audio` or `media` message. Granted by `POST /open-apis/im/v1/files`.
pub fn upload_file(bytes: &[u8], file_type: &str, file_name: &str) -> Result<String, String> {
    let answer = upload(
        "/open-apis/im/v1/files",
        &[("file_type", file_type), ("file_name", file_name)],
        "file",
        file_name,
        bytes,
    )?;
    data_string(&answer, "file_key")
}

fn data_string(answer: &str, key: &str) -> Result<String, String> {
    let v: Value =
        serde_json::from_str(answer).map_err(|e| format!("the answer is not JSON: {e}"))?;
    v["data"][key]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| format!("the answer has no data.{key}: {v}"))
}

fn message_id_of(answer: Value) -> Result<String, String> {
    answer["data"]["message_id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("the answer has no data.message_id: {answer}"))
}

/// Refuses an id that could change the path it is put into: only ASCII letters, digits, `_`
/// and `-` are taken.
pub(crate) fn check_id(what: &str, id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    match id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        Some(c) => Err(format!(
            "the {what} {id:?} holds {c:?}: only letters, digits, `_` and `-` are taken"
        )),
        None => Ok(()),
    }
}
