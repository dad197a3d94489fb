//! The OpenAPI stubs handlers need for replies (§9): tenant_access_token, send message, reply
//! to message, and the bot info the filters ask for. Every `/open-apis/...` request (and any
//! request routed nowhere else) is recorded; unknown paths get a 404 JSON error.
//! Send and reply honour `uuid` as Feishu does (§9.2): the same uuid within
//! [`MESSAGE_UUID_WINDOW`] (1 h) gets the first request's answer and creates no second
//! message; every created message is recorded in `State::sent_messages`.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::endpoint::header_pairs;
use super::records::{OpenApiCall, SentMessage};
use super::state::{push_bounded, random_hex, Shared, State};
use super::{cards, uploads};
use crate::limits::{CARD_OPS_LIMIT, MESSAGE_UUID_WINDOW, RATE_LIMITED_CODE, RECEIVER_SEND_LIMIT};
use crate::rate_limits::card_of;
use crate::send_limit::receiver;

/// Path of the self-built app token API.
pub const TENANT_TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
/// Path of the send-message API.
pub const MESSAGES_PATH: &str = "/open-apis/im/v1/messages";
/// Path of the bot info API (`GET`): the bot's open_id.
pub const BOT_INFO_PATH: &str = "/open-apis/bot/v3/info";
/// The open_id the emulator's bot has (the bot info API's answer); events a test pushes
/// mention it to @-mention the bot.
pub const BOT_OPEN_ID: &str = "ou_aviary_emulator_bot";

/// Token API: the app id is unknown.
pub const CODE_INVALID_APP_ID: i64 = 10003;
/// Token API: the secret does not match.
pub const CODE_INVALID_APP_SECRET: i64 = 10014;
/// No `Authorization: Bearer` header.
pub const CODE_MISSING_TOKEN: i64 = 99991661;
/// A token this emulator did not issue, or an expired one.
pub const CODE_INVALID_TOKEN: i64 = 99991663;
/// The request body or query failed validation.
pub const CODE_FIELD_VALIDATION: i64 = 99992402;

const RECEIVE_ID_TYPES: [&str; 5] = ["open_id", "union_id", "user_id", "email", "chat_id"];
const MSG_TYPES: [&str; 10] = [
    "text",
    "post",
    "image",
    "file",
    "audio",
    "media",
    "sticker",
    "interactive",
    "share_chat",
    "share_user",
];

/// The axum handler for everything under `/open-apis/`, and the fallback for every path not
/// routed elsewhere (recorded, then 404: `route` emulates only `/open-apis/` paths).
pub(crate) async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = Instant::now();
    // Uploads (sdk): a multipart body is parsed into its form; the log keeps a summary.
    let mut form = None;
    let body_json = if uploads::is_multipart(&headers) {
        match uploads::parse(&method, &uri, &headers, body).await {
            Ok(f) => {
                let summary = f.summary();
                form = Some(f);
                summary
            }
            Err(why) => json!({"multipart_error": why}),
        }
    } else if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let call = OpenApiCall {
        at: now,
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: header_pairs(&headers),
        body: body_json,
    };
    let mut state = shared.lock();
    let limited = rate_limit(&mut state, &call, now);
    let (status, answer) = match limited {
        Some(_) => error(
            StatusCode::TOO_MANY_REQUESTS,
            RATE_LIMITED_CODE,
            "request trigger frequency limit",
        ),
        None => uploads::route(&mut state, &call, form.as_ref(), now)
            .or_else(|| cards::route(&mut state, &call, now))
            .unwrap_or_else(|| route(&mut state, &call, now)),
    };
    tracing::info!(method = %call.method, path = %call.path, status = status.as_u16(), code = %answer["code"], "openapi call");
    push_bounded(&mut state.openapi_calls, call);
    drop(state);
    shared.changed();
    let mut response = (status, axum::Json(answer)).into_response();
    if let Some((reset, limit)) = limited {
        let headers = response.headers_mut();
        headers.insert("x-ogw-ratelimit-limit", limit.into());
        headers.insert("x-ogw-ratelimit-reset", reset.into());
    }
    response
}

/// Feishu's limits on send and reply (per receiver; per app, per second and per minute) and
/// on CardKit operations (per card): `Some((seconds until a slot frees, the limit))` when this
/// request exceeds one (counted, answered 429), `None` when it may go on (and it is counted in
/// every window that applies).
fn rate_limit(state: &mut State, call: &OpenApiCall, now: Instant) -> Option<(u64, usize)> {
    let (wait, limit) = if let Some(card) = card_of(&call.path) {
        let wait = state.card_limit.arrive(card, now)?;
        state.rate_limited_card_ops += 1;
        (wait, CARD_OPS_LIMIT)
    } else {
        if call.method != "POST" {
            return None;
        }
        let receiver = receiver(&call.path, &call.query, &call.body)?;
        // The app's windows are checked first and counted last, so a refused send is counted
        // in none of them.
        let refused = match state.app_limit.check(now) {
            Some(app) => Some(app),
            None => state
                .send_limit
                .arrive(&receiver, now)
                .map(|w| (w, RECEIVER_SEND_LIMIT)),
        };
        match refused {
            None => {
                state.app_limit.count(now);
                return None;
            }
            Some(r) => {
                state.rate_limited_sends += 1;
                r
            }
        }
    };
    // Whole seconds, rounded up, as the header carries them.
    Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0), limit))
}

pub(super) fn error(status: StatusCode, code: i64, msg: &str) -> (StatusCode, Value) {
    (status, json!({"code": code, "msg": msg}))
}

fn route(state: &mut State, call: &OpenApiCall, now: Instant) -> (StatusCode, Value) {
    let path = call.path.trim_end_matches('/');
    if call.method == "GET" && path == BOT_INFO_PATH {
        return bot_info(state, call, now);
    }
    if call.method != "POST" {
        return error(StatusCode::NOT_FOUND, 404, "not emulated");
    }
    if path == TENANT_TOKEN_PATH {
        return tenant_token(state, &call.body, now);
    }
    let reply_to = path
        .strip_prefix(MESSAGES_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_suffix("/reply"))
        .filter(|id| !id.is_empty() && !id.contains('/'));
    if path != MESSAGES_PATH && reply_to.is_none() {
        return error(StatusCode::NOT_FOUND, 404, "not emulated");
    }
    if let Err(e) = check_bearer(state, call, now) {
        return e;
    }
    let validated = match reply_to {
        None => validate_send(call),
        Some(_) => validate_reply(&call.body),
    };
    let (msg_type, content, chat_id) = match validated {
        Ok(v) => v,
        Err(reason) => return error(StatusCode::BAD_REQUEST, CODE_FIELD_VALIDATION, &reason),
    };
    // A card message that shows a CardKit card must name one that exists (sdk).
    if let Err(reason) = cards::check_card_reference(state, &msg_type, &content) {
        return error(StatusCode::BAD_REQUEST, CODE_FIELD_VALIDATION, &reason);
    }
    let uuid = call
        .body
        .get("uuid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    if let Some(u) = &uuid {
        let fresh = |at: &Instant| now.saturating_duration_since(*at) < MESSAGE_UUID_WINDOW;
        if let Some((_, first)) = state.message_uuids.get(u).filter(|(at, _)| fresh(at)) {
            let first = first.clone();
            state.duplicate_messages_suppressed += 1;
            return (StatusCode::OK, first);
        }
        if state.message_uuids.len() >= crate::limits::MAX_RECORDS {
            state.message_uuids.retain(|_, (at, _)| fresh(at));
        }
    }
    let receiver = reply_to.is_none().then(|| {
        let id_type = url::form_urlencoded::parse(call.query.as_bytes())
            .find(|(k, _)| k == "receive_id_type")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let id = call.body["receive_id"].as_str().unwrap_or("").to_string();
        (id_type, id)
    });
    let mut rng = rand::thread_rng();
    let message_id = format!("om_{}", random_hex(&mut rng, 32));
    let chat_id = chat_id.unwrap_or_else(|| format!("oc_{}", random_hex(&mut rng, 32)));
    let parent = reply_to.unwrap_or("").to_string();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        .to_string();
    let answer = json!({
            "code": 0,
            "msg": "success",
            "data": {
                "message_id": message_id,
                "root_id": parent,
                "parent_id": parent,
                "thread_id": "",
                "msg_type": msg_type,
                "create_time": now_ms,
                "update_time": now_ms,
                "deleted": false,
                "updated": false,
                "chat_id": chat_id,
                "sender": {
                    "id": state.config.app_id,
                    "id_type": "app_id",
                    "sender_type": "app",
                    "tenant_key": "emulator-tenant",
                },
                "body": {"content": content},
                "mentions": [],
                "upper_message_id": "",
            }
    });
    push_bounded(
        &mut state.sent_messages,
        SentMessage {
            at: now,
            message_id,
            reply_to: reply_to.map(str::to_string),
            receiver,
            msg_type,
            content,
            uuid: uuid.clone(),
        },
    );
    if let Some(u) = uuid {
        state.message_uuids.insert(u, (now, answer.clone()));
    }
    (StatusCode::OK, answer)
}

fn tenant_token(state: &mut State, body: &Value, now: Instant) -> (StatusCode, Value) {
    let app_id = body.get("app_id").and_then(Value::as_str).unwrap_or("");
    let app_secret = body.get("app_secret").and_then(Value::as_str).unwrap_or("");
    if app_id != state.config.app_id {
        return error(
            StatusCode::BAD_REQUEST,
            CODE_INVALID_APP_ID,
            "invalid param: app_id",
        );
    }
    if app_secret != state.config.app_secret {
        return error(
            StatusCode::BAD_REQUEST,
            CODE_INVALID_APP_SECRET,
            "app secret invalid",
        );
    }
    let (token, left) = state.issue_token(now);
    (
        StatusCode::OK,
        json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": left.as_secs()}),
    )
}

/// `GET /open-apis/bot/v3/info`: the bot's identity, with a valid token.
fn bot_info(state: &State, call: &OpenApiCall, now: Instant) -> (StatusCode, Value) {
    if let Err(e) = check_bearer(state, call, now) {
        return e;
    }
    (
        StatusCode::OK,
        json!({"code": 0, "msg": "ok", "bot": {
            "activate_status": 2,
            "app_name": "Aviary emulator bot",
            "avatar_url": "",
            "ip_white_list": [],
            "open_id": BOT_OPEN_ID,
        }}),
    )
}

pub(super) fn check_bearer(
    state: &State,
    call: &OpenApiCall,
    now: Instant,
) -> Result<(), (StatusCode, Value)> {
    let Some(auth) = call.header("authorization") else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            CODE_MISSING_TOKEN,
            "Missing access token for authorization",
        ));
    };
    let token = auth.strip_prefix("Bearer ").unwrap_or("").trim();
    if state.token_valid(token, now) {
        Ok(())
    } else {
        Err(error(
            StatusCode::BAD_REQUEST,
            CODE_INVALID_TOKEN,
            "Invalid access token for authorization",
        ))
    }
}

/// `msg_type` and `content` checks shared by send and reply. Returns both.
fn validate_content(body: &Value) -> Result<(String, String), String> {
    let msg_type = body
        .get("msg_type")
        .and_then(Value::as_str)
        .ok_or("msg_type is required")?;
    if !MSG_TYPES.contains(&msg_type) {
        return Err(format!("msg_type {msg_type:?} is not one of {MSG_TYPES:?}"));
    }
    let content = body
        .get("content")
        .and_then(Value::as_str)
        .ok_or("content is required and must be a JSON string")?;
    if serde_json::from_str::<Value>(content).map_or(true, |v| !v.is_object()) {
        return Err("content must be a string holding a JSON object".into());
    }
    if let Some(uuid) = body.get("uuid") {
        if !uuid.is_string() {
            return Err("uuid must be a string".into());
        }
    }
    Ok((msg_type.to_string(), content.to_string()))
}

type Validated = (String, String, Option<String>);

fn validate_send(call: &OpenApiCall) -> Result<Validated, String> {
    let id_type = url::form_urlencoded::parse(call.query.as_bytes())
        .find(|(k, _)| k == "receive_id_type")
        .map(|(_, v)| v.into_owned())
        .ok_or("query receive_id_type is required")?;
    if !RECEIVE_ID_TYPES.contains(&id_type.as_str()) {
        return Err(format!(
            "receive_id_type {id_type:?} is not one of {RECEIVE_ID_TYPES:?}"
        ));
    }
    let receive_id = call
        .body
        .get("receive_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("receive_id is required")?;
    let (msg_type, content) = validate_content(&call.body)?;
    let chat_id = (id_type == "chat_id").then(|| receive_id.to_string());
    Ok((msg_type, content, chat_id))
}

fn validate_reply(body: &Value) -> Result<Validated, String> {
    if let Some(flag) = body.get("reply_in_thread") {
        if !flag.is_boolean() {
            return Err("reply_in_thread must be a boolean".into());
        }
    }
    let (msg_type, content) = validate_content(body)?;
    Ok((msg_type, content, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;

    fn call(path: &str, query: &str, token: Option<&str>, body: Value) -> OpenApiCall {
        OpenApiCall {
            at: Instant::now(),
            method: "POST".into(),
            path: path.into(),
            query: query.into(),
            headers: token
                .map(|t| vec![("authorization".to_string(), format!("Bearer {t}"))])
                .unwrap_or_default(),
            body,
        }
    }

    #[test]
    fn token_then_send_and_reply() {
        let mut s = State::new(EmulatorConfig::default());
        let now = Instant::now();
        let bad = call(
            TENANT_TOKEN_PATH,
            "",
            None,
            json!({"app_id": "cli_0123456789abcdef", "app_secret": "nope"}),
        );
        assert_eq!(route(&mut s, &bad, now).1["code"], CODE_INVALID_APP_SECRET);
        let good = call(
            TENANT_TOKEN_PATH,
            "",
            None,
            json!({"app_id": "cli_0123456789abcdef", "app_secret": "emulator-secret"}),
        );
        let (status, answer) = route(&mut s, &good, now);
        assert_eq!((status, answer["code"].clone()), (StatusCode::OK, json!(0)));
        assert_eq!(answer["expire"], 7200);
        let token = answer["tenant_access_token"].as_str().unwrap().to_string();

        let text =
            json!({"receive_id": "oc_1", "msg_type": "text", "content": "{\"text\":\"hi\"}"});
        let send = call(
            MESSAGES_PATH,
            "receive_id_type=chat_id",
            Some(&token),
            text.clone(),
        );
        let (status, answer) = route(&mut s, &send, now);
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert!(answer["data"]["message_id"]
            .as_str()
            .unwrap()
            .starts_with("om_"));
        assert_eq!(answer["data"]["chat_id"], "oc_1");

        let forged = call(
            MESSAGES_PATH,
            "receive_id_type=chat_id",
            Some("t-x"),
            text.clone(),
        );
        assert_eq!(route(&mut s, &forged, now).1["code"], CODE_INVALID_TOKEN);
        let anonymous = call(MESSAGES_PATH, "receive_id_type=chat_id", None, text.clone());
        assert_eq!(route(&mut s, &anonymous, now).1["code"], CODE_MISSING_TOKEN);
        let no_type = call(MESSAGES_PATH, "", Some(&token), text);
        assert_eq!(
            route(&mut s, &no_type, now).1["code"],
            CODE_FIELD_VALIDATION
        );

        let reply_path = format!("{MESSAGES_PATH}/om_parent/reply");
        let reply = call(
            &reply_path,
            "",
            Some(&token),
            json!({"msg_type": "text", "content": "{\"text\":\"re\"}", "reply_in_thread": false}),
        );
        let (status, answer) = route(&mut s, &reply, now);
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["data"]["parent_id"], "om_parent");
        let not_json = call(
            &reply_path,
            "",
            Some(&token),
            json!({"msg_type": "text", "content": "hi"}),
        );
        assert_eq!(
            route(&mut s, &not_json, now).1["code"],
            CODE_FIELD_VALIDATION
        );
        let unknown = call("/open-apis/contact/v3/users", "", Some(&token), Value::Null);
        assert_eq!(route(&mut s, &unknown, now).0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn a_uuid_sends_once_within_an_hour() {
        let mut s = State::new(EmulatorConfig::default());
        let now = Instant::now();
        let token = s.issue_token(now).0;
        let reply_path = format!("{MESSAGES_PATH}/om_parent/reply");
        let body =
            |uuid: &str| json!({"msg_type": "text", "content": "{\"text\":\"re\"}", "uuid": uuid});
        let first = route(
            &mut s,
            &call(&reply_path, "", Some(&token), body("k1")),
            now,
        );
        let again = route(
            &mut s,
            &call(&reply_path, "", Some(&token), body("k1")),
            now,
        );
        assert_eq!(first, again, "the duplicate gets the first answer");
        assert_eq!(s.sent_messages.len(), 1);
        assert_eq!(s.duplicate_messages_suppressed, 1);
        assert_eq!(s.sent_messages[0].uuid.as_deref(), Some("k1"));
        assert_eq!(s.sent_messages[0].reply_to.as_deref(), Some("om_parent"));

        // Another uuid, or no uuid, is a new message; so is the same uuid after the window.
        route(
            &mut s,
            &call(&reply_path, "", Some(&token), body("k2")),
            now,
        );
        let no_uuid = json!({"msg_type": "text", "content": "{\"text\":\"x\"}"});
        route(
            &mut s,
            &call(&reply_path, "", Some(&token), no_uuid.clone()),
            now,
        );
        route(&mut s, &call(&reply_path, "", Some(&token), no_uuid), now);
        assert_eq!(s.sent_messages.len(), 4);
        let later = now + MESSAGE_UUID_WINDOW + std::time::Duration::from_secs(1);
        let token = s.issue_token(later).0;
        let after = route(
            &mut s,
            &call(&reply_path, "", Some(&token), body("k1")),
            later,
        );
        assert_eq!(after.0, StatusCode::OK);
        assert_ne!(after.1["data"]["message_id"], first.1["data"]["message_id"]);
        assert_eq!(s.sent_messages.len(), 5);
        assert_eq!(s.duplicate_messages_suppressed, 1);

        // A send records its receiver.
        let send = json!({"receive_id": "oc_9", "msg_type": "text", "content": "{\"text\":\"s\"}", "uuid": "k3"});
        route(
            &mut s,
            &call(MESSAGES_PATH, "receive_id_type=chat_id", Some(&token), send),
            later,
        );
        let last = s.sent_messages.back().unwrap();
        assert_eq!(
            last.receiver,
            Some(("chat_id".to_string(), "oc_9".to_string()))
        );
        assert_eq!(last.reply_to, None);
    }
}
