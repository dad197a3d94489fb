//! The dev console: a page served at `/_console/` (its HTML, JavaScript and CSS are embedded in
//! the binary; no framework, nothing fetched at run time) and the small JSON API under
//! `/_console/api/` it uses besides the control API of `/_emulator/`:
//!
//! | request | effect / answer |
//! |---|---|
//! | `GET /_console/api/samples` | `[{"name", "envelope"}]`: the sample events given with `--samples DIR` |
//! | `POST /_console/api/push`, body = an envelope | pushes it like `/_emulator/events`; a message event is added to its chat; `{"delivery": id}` |
//! | `POST /_console/api/chat`, body `{"chat_id", "text", "user"?, "chat_type"?}` | a user types `text` into the chat: an `im.message.receive_v1` envelope is made and pushed; `{"delivery", "message_id", "event_id"}` |
//! | `POST /_console/api/card-action`, body `{"message_id", "value", "chat_id"?, "user"?}` | a user clicks a card button: a `card.action.trigger` callback is made and pushed; `{"delivery", "event_id"}` (the answer comes back in that delivery's ack) |
//! | `GET /_console/api/chats` | `{"chats": [{"chat_id", "messages": [{"from": "user"\|"bot", "message_id", "msg_type", "content", "text", "at_ms", "reply_to"}]}]}`: what users said (through the console) and what the bot sent, per chat |
//! | `GET`/`POST /_console/api/app/…` | forwarded to the app attached with [`crate::Emulator::set_console_app`] ([`crate::console_app`]); 503 without one |
//!
//! The emulator only ever listens on 127.0.0.1, so the console does too.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::PushOptions;
use crate::console_app::{AppRequest, ConsoleApp};
use crate::state::{random_hex, Shared};

const INDEX_HTML: &str = include_str!("console/index.html");
const CONSOLE_JS: &str = include_str!("console/console.js");
const CONSOLE_CSS: &str = include_str!("console/console.css");

/// The tenant of the messages and clicks the console makes.
const TENANT: &str = "2ca1d211f64f6438";
/// The user who types and clicks when the request names none.
const DEFAULT_USER: &str = "ou_console_user";

/// One sample event offered by the composer.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its file name, e.g. `im.message.receive_v1.json`.
    pub name: String,
    /// The envelope (JSON text).
    pub envelope: String,
}

/// A user's message the console knows of (typed, or a pushed message event).
#[derive(Debug, Clone)]
struct UserMessage {
    chat_id: String,
    message_id: String,
    msg_type: String,
    content: String,
    at: Instant,
}

/// What the console adds to the emulator's state.
#[derive(Default)]
pub(crate) struct ConsoleState {
    samples: Vec<Sample>,
    user_messages: Vec<UserMessage>,
    app: Option<Arc<dyn ConsoleApp>>,
}

/// The console's own state, shared by its routes and [`crate::Emulator`].
pub(crate) type Console = Arc<Mutex<ConsoleState>>;

/// Replaces the samples the composer offers.
pub(crate) fn set_samples(console: &Console, samples: Vec<Sample>) {
    lock(console).samples = samples;
}

/// Attaches the app whose status, journal and dead letters the page shows.
pub(crate) fn set_app(console: &Console, app: Arc<dyn ConsoleApp>) {
    lock(console).app = Some(app);
}

/// The `/_console` routes.
pub(crate) fn router(console: Console) -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", CONSOLE_JS) }),
        )
        .route(
            "/console.css",
            get(|| async { asset("text/css; charset=utf-8", CONSOLE_CSS) }),
        )
        .route("/api/samples", get(samples))
        .route("/api/push", post(push))
        .route("/api/chat", post(chat))
        .route("/api/card-action", post(card_action))
        .route("/api/chats", get(chats))
        .route("/api/app/*path", any(app))
        .layer(Extension(console))
}

/// The page (served at `/_console` and `/_console/`).
pub(crate) async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn bad(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

fn now_ms() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string()
}

fn lock(c: &Console) -> std::sync::MutexGuard<'_, ConsoleState> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

/// Forwards a request to the attached app.
async fn app(
    Extension(console): Extension<Console>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let attached = lock(&console).app.clone();
    let Some(app) = attached else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "error": "no app is attached to this console (`aviary dev -m aviary.toml` runs one with it)"
            })),
        )
            .into_response();
    };
    let answer = app
        .request(AppRequest {
            method: method.to_string(),
            path,
            query,
            body: body.to_vec(),
        })
        .await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, Json(answer.body)).into_response()
}

async fn samples(Extension(console): Extension<Console>) -> Json<Value> {
    let list: Vec<Value> = lock(&console)
        .samples
        .iter()
        .map(|s| json!({ "name": s.name, "envelope": s.envelope }))
        .collect();
    Json(Value::Array(list))
}

/// Remembers the message of an `im.message.receive_v1` envelope, for the chat view.
fn remember_message(console: &Console, envelope: &Value) {
    if envelope["header"]["event_type"] != "im.message.receive_v1" {
        return;
    }
    let m = &envelope["event"]["message"];
    let field = |k: &str| m[k].as_str().unwrap_or_default().to_string();
    let mut state = lock(console);
    let kept = &mut state.user_messages;
    kept.push(UserMessage {
        chat_id: field("chat_id"),
        message_id: field("message_id"),
        msg_type: field("message_type"),
        content: field("content"),
        at: Instant::now(),
    });
    // Bounded like the emulator's records: the oldest go first.
    if kept.len() > crate::limits::MAX_RECORDS {
        let over = kept.len() - crate::limits::MAX_RECORDS;
        kept.drain(..over);
    }
}

async fn push(
    AxumState(shared): AxumState<Arc<Shared>>,
    Extension(console): Extension<Console>,
    body: Bytes,
) -> Response {
    let envelope: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(format!("the envelope is not JSON: {e}")),
    };
    remember_message(&console, &envelope);
    let id = shared.push(body.to_vec(), PushOptions::default());
    Json(json!({ "delivery": id.0 })).into_response()
}

/// Body of `POST /_console/api/chat`.
#[derive(Debug, Deserialize)]
struct ChatBody {
    chat_id: String,
    text: String,
    user: Option<String>,
    chat_type: Option<String>,
}

/// The `im.message.receive_v1` envelope of a typed text message.
pub fn message_envelope(
    app_id: &str,
    event_id: &str,
    message_id: &str,
    chat_id: &str,
    chat_type: &str,
    user: &str,
    text: &str,
) -> Value {
    let now = now_ms();
    json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id, "event_type": "im.message.receive_v1", "create_time": now,
            "token": "", "app_id": app_id, "tenant_key": TENANT,
        },
        "event": {
            "sender": {
                "sender_id": { "open_id": user, "union_id": "", "user_id": "" },
                "sender_type": "user", "tenant_key": TENANT,
            },
            "message": {
                "message_id": message_id, "root_id": "", "parent_id": "",
                "create_time": now, "update_time": now, "chat_id": chat_id,
                "chat_type": chat_type, "message_type": "text",
                "content": json!({ "text": text }).to_string(), "mentions": [],
            },
        },
    })
}

async fn chat(
    AxumState(shared): AxumState<Arc<Shared>>,
    Extension(console): Extension<Console>,
    body: Bytes,
) -> Response {
    let b: ChatBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad(format!("expected {{\"chat_id\", \"text\"}}: {e}")),
    };
    if b.chat_id.trim().is_empty() || b.text.is_empty() {
        return bad("chat_id and text must not be empty".into());
    }
    let chat_type = b.chat_type.as_deref().unwrap_or("group");
    if chat_type != "group" && chat_type != "p2p" {
        return bad(format!("chat_type must be group or p2p, not {chat_type:?}"));
    }
    let (event_id, message_id, app_id) = {
        let mut rng = rand::thread_rng();
        let app_id = shared.lock().config.app_id.clone();
        (
            random_hex(&mut rng, 32),
            format!("om_{}", random_hex(&mut rng, 32)),
            app_id,
        )
    };
    let user = b.user.as_deref().unwrap_or(DEFAULT_USER);
    let envelope = message_envelope(
        &app_id,
        &event_id,
        &message_id,
        &b.chat_id,
        chat_type,
        user,
        &b.text,
    );
    remember_message(&console, &envelope);
    let id = shared.push(envelope.to_string().into_bytes(), PushOptions::default());
    Json(json!({ "delivery": id.0, "message_id": message_id, "event_id": event_id }))
        .into_response()
}

/// Body of `POST /_console/api/card-action`.
#[derive(Debug, Deserialize)]
struct CardActionBody {
    message_id: String,
    value: Value,
    chat_id: Option<String>,
    user: Option<String>,
}

async fn card_action(
    AxumState(shared): AxumState<Arc<Shared>>,
    Extension(console): Extension<Console>,
    body: Bytes,
) -> Response {
    let b: CardActionBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad(format!("expected {{\"message_id\", \"value\"}}: {e}")),
    };
    let chat_id = b
        .chat_id
        .clone()
        .unwrap_or_else(|| chat_of(&shared, &console, &b.message_id).unwrap_or_default());
    let (event_id, token, app_id) = {
        let mut rng = rand::thread_rng();
        let app_id = shared.lock().config.app_id.clone();
        (
            random_hex(&mut rng, 32),
            format!("c-{}", random_hex(&mut rng, 40)),
            app_id,
        )
    };
    let user = b.user.as_deref().unwrap_or(DEFAULT_USER);
    let envelope = json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id, "event_type": "card.action.trigger", "create_time": now_ms(),
            "token": "", "app_id": app_id, "tenant_key": TENANT,
        },
        "event": {
            "operator": { "tenant_key": TENANT, "user_id": "", "open_id": user, "union_id": "" },
            "token": token,
            "action": { "value": b.value, "tag": "button" },
            "host": "im_message",
            "context": { "open_message_id": b.message_id, "open_chat_id": chat_id },
        },
    });
    let id = shared.push(envelope.to_string().into_bytes(), PushOptions::default());
    Json(json!({ "delivery": id.0, "event_id": event_id })).into_response()
}

/// The chat a message (the user's or the bot's) belongs to.
fn chat_of(shared: &Shared, console: &Console, message_id: &str) -> Option<String> {
    let users = lock(console);
    if let Some(m) = users
        .user_messages
        .iter()
        .find(|m| m.message_id == message_id)
    {
        return Some(m.chat_id.clone());
    }
    let state = shared.lock();
    let sent = state
        .sent_messages
        .iter()
        .find(|m| m.message_id == message_id)?;
    match (&sent.reply_to, &sent.receiver) {
        (Some(parent), _) => users
            .user_messages
            .iter()
            .find(|m| &m.message_id == parent)
            .map(|m| m.chat_id.clone()),
        (None, Some((kind, id))) if kind == "chat_id" => Some(id.clone()),
        _ => None,
    }
}

/// Plain text of a message's content, for the chat view (text and post titles; else empty).
fn text_of(msg_type: &str, content: &str) -> String {
    let v: Value = serde_json::from_str(content).unwrap_or(Value::Null);
    match msg_type {
        "text" => v["text"].as_str().unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

async fn chats(
    AxumState(shared): AxumState<Arc<Shared>>,
    Extension(console): Extension<Console>,
) -> Json<Value> {
    let started = shared.started;
    let ms = |at: Instant| at.saturating_duration_since(started).as_millis() as u64;
    let mut entries: Vec<(String, u64, Value)> = Vec::new();
    {
        let users = lock(&console);
        for m in &users.user_messages {
            entries.push((
                m.chat_id.clone(),
                ms(m.at),
                json!({
                    "from": "user", "message_id": m.message_id, "msg_type": m.msg_type,
                    "content": m.content, "text": text_of(&m.msg_type, &m.content),
                    "at_ms": ms(m.at), "reply_to": null,
                }),
            ));
        }
        let state = shared.lock();
        for m in &state.sent_messages {
            let chat = match (&m.reply_to, &m.receiver) {
                (Some(parent), _) => users
                    .user_messages
                    .iter()
                    .find(|u| &u.message_id == parent)
                    .map(|u| u.chat_id.clone()),
                (None, Some((kind, id))) if kind == "chat_id" => Some(id.clone()),
                (None, Some((_, id))) => Some(format!("direct: {id}")),
                _ => None,
            }
            .unwrap_or_else(|| "(a chat the console has not seen)".into());
            entries.push((
                chat,
                ms(m.at),
                json!({
                    "from": "bot", "message_id": m.message_id, "msg_type": m.msg_type,
                    "content": m.content, "text": text_of(&m.msg_type, &m.content),
                    "at_ms": ms(m.at), "reply_to": m.reply_to,
                }),
            ));
        }
    }
    entries.sort_by_key(|(_, at, _)| *at);
    let mut chats: Vec<(String, Vec<Value>)> = Vec::new();
    for (chat, _, msg) in entries {
        match chats.iter_mut().find(|(c, _)| *c == chat) {
            Some((_, list)) => list.push(msg),
            None => chats.push((chat, vec![msg])),
        }
    }
    let list: Vec<Value> = chats
        .into_iter()
        .map(|(chat_id, messages)| json!({ "chat_id": chat_id, "messages": messages }))
        .collect();
    Json(json!({ "chats": list }))
}

#[cfg(test)]
mod tests;
