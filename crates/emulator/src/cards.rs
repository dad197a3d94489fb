//! Card APIs beyond sending a card:
//!
//! - Feishu's deferred update of a card after its callback
//!   (`POST /open-apis/interactive/v1/card/update`, with the callback's token), recorded in
//!   [`CardUpdateRecord`]s ([`crate::Emulator::card_updates`], `GET /_emulator/card-updates`).
//!   A token is taken for [`CARD_TOKEN_TTL`] after its first use and for
//!   [`CARD_TOKEN_UPDATES`] updates, as Feishu documents; more is refused.
//! - CardKit card entities, for streamed answers: create (`POST /open-apis/cardkit/v1/cards`,
//!   card JSON 2.0), stream an element's text (`PUT …/cards/{card_id}/elements/{element_id}/
//!   content`, only in streaming mode) and change the settings (`PATCH …/cards/{card_id}/
//!   settings`, e.g. streaming mode off). Every operation after the create must carry a
//!   `sequence` larger than the card's last one. Each card keeps its current JSON and every
//!   operation ([`CardRecord`], [`crate::Emulator::cards`], `GET /_emulator/cards`); the
//!   per-card limit of 10 operations per second is judged in [`crate::rate_limits`].

use std::collections::HashMap;
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::openapi::{check_bearer, error, CODE_FIELD_VALIDATION};
use super::records::OpenApiCall;
use super::state::{push_bounded, State};
use crate::limits::{CARD_TOKEN_TTL, CARD_TOKEN_UPDATES, MAX_CARDS, MAX_RECORDS};

/// Path of the deferred card update API.
pub const CARD_UPDATE_PATH: &str = "/open-apis/interactive/v1/card/update";

/// Feishu's code for a card token that is used up or expired.
pub const CODE_CARD_TOKEN_EXPIRED: i64 = 200_830;

/// One deferred card update accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct CardUpdateRecord {
    /// When.
    pub at: Instant,
    /// The callback's token.
    pub token: String,
    /// The new card.
    pub card: Value,
}

/// Deferred-update tokens seen: when first used, and how often.
#[derive(Debug, Default)]
pub(crate) struct CardTokens {
    uses: HashMap<String, (Instant, usize)>,
}

/// Answers a card API call, `None` for another path.
pub fn route(state: &mut State, call: &OpenApiCall, now: Instant) -> Option<(StatusCode, Value)> {
    let path = call.path.trim_end_matches('/');
    if path == CARDS_PATH || path.starts_with(CARD_PREFIX) {
        if let Err(e) = check_bearer(state, call, now) {
            return Some(e);
        }
        return Some(cardkit(state, call, path, now));
    }
    if path != CARD_UPDATE_PATH {
        return None;
    }
    if call.method != "POST" {
        return Some(error(StatusCode::NOT_FOUND, 404, "not emulated"));
    }
    if let Err(e) = check_bearer(state, call, now) {
        return Some(e);
    }
    let token = match call.body.get("token").and_then(Value::as_str) {
        Some(t) if t.starts_with("c-") => t.to_string(),
        Some(t) => {
            return Some(invalid(&format!(
                "token {t:?} is not a card callback token (c-…)"
            )))
        }
        None => return Some(invalid("token is required")),
    };
    let card = match call.body.get("card") {
        Some(c) if c.is_object() => c.clone(),
        _ => return Some(invalid("card is required and must be a JSON object")),
    };
    let tokens = &mut state.card_tokens.uses;
    if tokens.len() >= MAX_RECORDS {
        tokens.retain(|_, (first, _)| now.saturating_duration_since(*first) < CARD_TOKEN_TTL);
    }
    let (first, used) = tokens.entry(token.clone()).or_insert((now, 0));
    if now.saturating_duration_since(*first) >= CARD_TOKEN_TTL || *used >= CARD_TOKEN_UPDATES {
        return Some(error(
            StatusCode::BAD_REQUEST,
            CODE_CARD_TOKEN_EXPIRED,
            "the card token is expired or used up (30 minutes, two updates)",
        ));
    }
    *used += 1;
    push_bounded(
        &mut state.card_updates,
        CardUpdateRecord {
            at: now,
            token,
            card,
        },
    );
    Some((
        StatusCode::OK,
        json!({"code": 0, "msg": "success", "data": {}}),
    ))
}

/// Path of the CardKit card create API.
pub const CARDS_PATH: &str = "/open-apis/cardkit/v1/cards";
const CARD_PREFIX: &str = "/open-apis/cardkit/v1/cards/";

/// CardKit: no card with this id.
pub const CODE_CARD_NOT_FOUND: i64 = 300_301;
/// CardKit: the card is not in streaming mode (streamed text needs it).
pub const CODE_NOT_STREAMING: i64 = 300_309;
/// CardKit: `sequence` is not larger than the card's last one.
pub const CODE_SEQUENCE: i64 = 300_317;
/// CardKit: no element with this `element_id` in the card.
pub const CODE_ELEMENT_NOT_FOUND: i64 = 300_302;

/// One CardKit operation after the create.
#[derive(Debug, Clone, PartialEq)]
pub struct CardOp {
    /// When it was accepted.
    pub at: Instant,
    /// `content` (streamed text of an element) or `settings`.
    pub kind: String,
    /// The element (for `content`).
    pub element_id: Option<String>,
    /// The text (for `content`) or the settings JSON (for `settings`).
    pub value: String,
    /// Its `sequence`.
    pub sequence: i64,
}

/// One card entity and what was done to it.
#[derive(Debug, Clone, PartialEq)]
pub struct CardRecord {
    /// The id answered at creation.
    pub card_id: String,
    /// When it was created.
    pub created_at: Instant,
    /// The card JSON as it is now (streamed texts and settings applied).
    pub card: Value,
    /// Every accepted operation, in order.
    pub ops: Vec<CardOp>,
}

impl CardRecord {
    /// The current `content` of the element `element_id` (searched in the whole card).
    pub fn element_content(&self, element_id: &str) -> Option<String> {
        find_element(&self.card, element_id)
            .and_then(|e| e.get("content"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// Whether the card is in streaming mode (`config.streaming_mode`).
    pub fn streaming(&self) -> bool {
        self.card["config"]["streaming_mode"].as_bool() == Some(true)
    }

    fn last_sequence(&self) -> i64 {
        self.ops.last().map_or(0, |o| o.sequence)
    }
}

fn find_element<'a>(v: &'a Value, id: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => {
            if m.get("element_id").and_then(Value::as_str) == Some(id) {
                return Some(v);
            }
            m.values().find_map(|x| find_element(x, id))
        }
        Value::Array(a) => a.iter().find_map(|x| find_element(x, id)),
        _ => None,
    }
}

fn find_element_mut<'a>(v: &'a mut Value, id: &str) -> Option<&'a mut Value> {
    if v.get("element_id").and_then(Value::as_str) == Some(id) {
        return Some(v);
    }
    match v {
        Value::Object(m) => m.values_mut().find_map(|x| find_element_mut(x, id)),
        Value::Array(a) => a.iter_mut().find_map(|x| find_element_mut(x, id)),
        _ => None,
    }
}

fn cardkit(state: &mut State, call: &OpenApiCall, path: &str, now: Instant) -> (StatusCode, Value) {
    if path == CARDS_PATH {
        if call.method != "POST" {
            return error(StatusCode::NOT_FOUND, 404, "not emulated");
        }
        return create_card(state, &call.body, now);
    }
    let rest = &path[CARD_PREFIX.len()..];
    let parts: Vec<&str> = rest.split('/').collect();
    let (card_id, op) = match (call.method.as_str(), parts.as_slice()) {
        ("PUT", [card, "elements", element, "content"]) => {
            (*card, Op::Content(element.to_string()))
        }
        ("PATCH", [card, "settings"]) => (*card, Op::Settings),
        _ => return error(StatusCode::NOT_FOUND, 404, "not emulated"),
    };
    let Some(card) = state.cards.get_mut(card_id) else {
        return error(
            StatusCode::BAD_REQUEST,
            CODE_CARD_NOT_FOUND,
            "no card with this card_id",
        );
    };
    let Some(sequence) = call.body.get("sequence").and_then(Value::as_i64) else {
        return invalid("sequence is required and must be an integer");
    };
    if sequence <= card.last_sequence() {
        return error(
            StatusCode::BAD_REQUEST,
            CODE_SEQUENCE,
            &format!(
                "sequence {sequence} is not larger than the card's last {}",
                card.last_sequence()
            ),
        );
    }
    let (kind, element_id, value) = match op {
        Op::Content(element) => {
            let Some(text) = call.body.get("content").and_then(Value::as_str) else {
                return invalid("content is required and must be a string");
            };
            if !card.streaming() {
                return error(
                    StatusCode::BAD_REQUEST,
                    CODE_NOT_STREAMING,
                    "the card is not in streaming mode",
                );
            }
            let Some(e) = find_element_mut(&mut card.card, &element) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    CODE_ELEMENT_NOT_FOUND,
                    &format!("no element {element:?} in the card"),
                );
            };
            e["content"] = Value::String(text.to_string());
            ("content", Some(element), text.to_string())
        }
        Op::Settings => {
            let settings = call.body.get("settings").and_then(Value::as_str);
            let Some(parsed) = settings.and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
                return invalid("settings is required and must be a string holding a JSON object");
            };
            if let Some(config) = parsed.get("config").and_then(Value::as_object) {
                for (k, v) in config {
                    card.card["config"][k] = v.clone();
                }
            }
            ("settings", None, settings.unwrap_or_default().to_string())
        }
    };
    card.ops.push(CardOp {
        at: now,
        kind: kind.to_string(),
        element_id,
        value,
        sequence,
    });
    (
        StatusCode::OK,
        json!({"code": 0, "msg": "success", "data": {}}),
    )
}

enum Op {
    Content(String),
    Settings,
}

fn create_card(state: &mut State, body: &Value, now: Instant) -> (StatusCode, Value) {
    if body.get("type").and_then(Value::as_str) != Some("card_json") {
        return invalid("type must be \"card_json\"");
    }
    let Some(card) = body
        .get("data")
        .and_then(Value::as_str)
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .filter(Value::is_object)
    else {
        return invalid("data must be a string holding the card JSON object");
    };
    if card.get("schema").and_then(Value::as_str) != Some("2.0") {
        return invalid("card entities take card JSON 2.0 (\"schema\": \"2.0\")");
    }
    if state.cards.len() >= MAX_CARDS {
        let oldest = state
            .cards
            .values()
            .min_by_key(|c| c.created_at)
            .map(|c| c.card_id.clone());
        if let Some(id) = oldest {
            state.cards.remove(&id);
        }
    }
    let mut rng = rand::thread_rng();
    let card_id = format!(
        "7{}",
        rand::Rng::gen_range(&mut rng, 10u64.pow(17)..10u64.pow(18))
    );
    state.cards.insert(
        card_id.clone(),
        CardRecord {
            card_id: card_id.clone(),
            created_at: now,
            card,
            ops: Vec::new(),
        },
    );
    (
        StatusCode::OK,
        json!({"code": 0, "msg": "success", "data": {"card_id": card_id}}),
    )
}

/// An `interactive` message whose content is `{"type": "card", "data": {"card_id": …}}` must
/// name a card entity created here; other contents are not checked.
pub(crate) fn check_card_reference(
    state: &State,
    msg_type: &str,
    content: &str,
) -> Result<(), String> {
    if msg_type != "interactive" {
        return Ok(());
    }
    let Ok(v) = serde_json::from_str::<Value>(content) else {
        return Ok(());
    };
    if v.get("type").and_then(Value::as_str) != Some("card") {
        return Ok(());
    }
    match v["data"]["card_id"].as_str() {
        Some(id) if state.cards.contains_key(id) => Ok(()),
        Some(id) => Err(format!("card_id {id:?} is not a card entity of this app")),
        None => Err("a card message needs data.card_id".to_string()),
    }
}

/// `GET /_emulator/cards`: every card entity (card_id, created_at_ms, card, ops with at_ms,
/// kind, element_id, value, sequence).
pub(crate) async fn control_cards(
    axum::extract::State(shared): axum::extract::State<std::sync::Arc<super::state::Shared>>,
) -> axum::Json<Value> {
    let state = shared.lock();
    let mut cards: Vec<&CardRecord> = state.cards.values().collect();
    cards.sort_by_key(|c| c.created_at);
    let list: Vec<Value> = cards
        .into_iter()
        .map(|c| {
            json!({
                "card_id": c.card_id,
                "created_at_ms": super::control::ms(&shared, c.created_at),
                "card": c.card,
                "ops": c.ops.iter().map(|o| json!({
                    "at_ms": super::control::ms(&shared, o.at),
                    "kind": o.kind,
                    "element_id": o.element_id,
                    "value": o.value,
                    "sequence": o.sequence,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    axum::Json(Value::Array(list))
}

fn invalid(why: &str) -> (StatusCode, Value) {
    error(StatusCode::BAD_REQUEST, CODE_FIELD_VALIDATION, why)
}

/// `GET /_emulator/card-updates`: every deferred card update (at_ms, token, card).
pub(crate) async fn control_list(
    axum::extract::State(shared): axum::extract::State<std::sync::Arc<super::state::Shared>>,
) -> axum::Json<Value> {
    let state = shared.lock();
    let list: Vec<Value> = state
        .card_updates
        .iter()
        .map(|u| {
            json!({
                "at_ms": super::control::ms(&shared, u.at),
                "token": u.token,
                "card": u.card,
            })
        })
        .collect();
    axum::Json(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;

    fn call(token: &str, body: Value) -> OpenApiCall {
        OpenApiCall {
            at: Instant::now(),
            method: "POST".into(),
            path: CARD_UPDATE_PATH.into(),
            query: String::new(),
            headers: vec![("authorization".to_string(), format!("Bearer {token}"))],
            body,
        }
    }

    #[test]
    fn a_callback_token_updates_its_card_twice_within_30_minutes() {
        let mut s = State::new(EmulatorConfig::default());
        let now = Instant::now();
        let t = s.issue_token(now).0;
        let update = |n: u32| json!({"token": "c-1", "card": {"elements": [n]}});
        for n in 0..2 {
            let (status, answer) = route(&mut s, &call(&t, update(n)), now).unwrap();
            assert_eq!((status, answer["code"].clone()), (StatusCode::OK, json!(0)));
        }
        let (_, answer) = route(&mut s, &call(&t, update(2)), now).unwrap();
        assert_eq!(answer["code"], CODE_CARD_TOKEN_EXPIRED);
        assert_eq!(s.card_updates.len(), 2);
        assert_eq!(s.card_updates[1].card, json!({"elements": [1]}));
        // Another token, but late: 30 minutes after its first use.
        route(&mut s, &call(&t, json!({"token": "c-2", "card": {}})), now).unwrap();
        let later = now + CARD_TOKEN_TTL;
        let t2 = s.issue_token(later).0;
        let (_, answer) = route(
            &mut s,
            &call(&t2, json!({"token": "c-2", "card": {}})),
            later,
        )
        .unwrap();
        assert_eq!(answer["code"], CODE_CARD_TOKEN_EXPIRED);
        // Bad bodies name what is wrong.
        for (body, why) in [
            (json!({"card": {}}), "token is required"),
            (
                json!({"token": "t-1", "card": {}}),
                "not a card callback token",
            ),
            (json!({"token": "c-3", "card": "x"}), "card is required"),
        ] {
            let (status, answer) = route(&mut s, &call(&t2, body), later).unwrap();
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(answer["msg"].as_str().unwrap().contains(why), "{answer}");
        }
        assert!(route(&mut s, &call(&t2, json!({})), later).is_some());
        let mut other = call(&t2, json!({}));
        other.path = "/open-apis/im/v1/chats".into();
        assert!(route(&mut s, &other, later).is_none());
    }

    fn op(token: &str, method: &str, path: &str, body: Value) -> OpenApiCall {
        let mut c = call(token, body);
        c.method = method.into();
        c.path = path.into();
        c
    }

    #[test]
    fn a_streaming_card_takes_growing_sequences_then_settings() {
        let mut s = State::new(EmulatorConfig::default());
        let now = Instant::now();
        let t = s.issue_token(now).0;
        let card = json!({"schema": "2.0", "config": {"streaming_mode": true},
            "body": {"elements": [{"tag": "markdown", "content": "", "element_id": "md"}]}});
        let create = json!({"type": "card_json", "data": card.to_string()});
        let (_, answer) = route(&mut s, &op(&t, "POST", CARDS_PATH, create), now).unwrap();
        let id = answer["data"]["card_id"].as_str().unwrap().to_string();
        let content = format!("{CARDS_PATH}/{id}/elements/md/content");
        let put = |text: &str, seq: i64| json!({"content": text, "sequence": seq});
        let code = |s: &mut State, c: OpenApiCall| route(s, &c, now).unwrap().1["code"].clone();
        assert_eq!(code(&mut s, op(&t, "PUT", &content, put("a", 1))), 0);
        assert_eq!(code(&mut s, op(&t, "PUT", &content, put("ab", 3))), 0);
        assert_eq!(
            code(&mut s, op(&t, "PUT", &content, put("x", 3))),
            CODE_SEQUENCE
        );
        let other = format!("{CARDS_PATH}/{id}/elements/nope/content");
        assert_eq!(
            code(&mut s, op(&t, "PUT", &other, put("x", 4))),
            CODE_ELEMENT_NOT_FOUND
        );
        let missing = format!("{CARDS_PATH}/7000/elements/md/content");
        assert_eq!(
            code(&mut s, op(&t, "PUT", &missing, put("x", 4))),
            CODE_CARD_NOT_FOUND
        );
        let settings = format!("{CARDS_PATH}/{id}/settings");
        let off = json!({"settings": "{\"config\":{\"streaming_mode\":false}}", "sequence": 4});
        assert_eq!(code(&mut s, op(&t, "PATCH", &settings, off)), 0);
        assert_eq!(
            code(&mut s, op(&t, "PUT", &content, put("abc", 5))),
            CODE_NOT_STREAMING
        );
        let c = &s.cards[&id];
        assert_eq!(c.element_content("md").as_deref(), Some("ab"));
        assert!(!c.streaming());
        let seqs: Vec<i64> = c.ops.iter().map(|o| o.sequence).collect();
        assert_eq!(seqs, [1, 3, 4]);
        assert!(check_card_reference(
            &s,
            "interactive",
            &format!(r#"{{"type":"card","data":{{"card_id":"{id}"}}}}"#)
        )
        .is_ok());
        let unknown = r#"{"type":"card","data":{"card_id":"7999"}}"#;
        assert!(check_card_reference(&s, "interactive", unknown)
            .unwrap_err()
            .contains("7999"));
        assert!(check_card_reference(&s, "interactive", r#"{"schema":"2.0"}"#).is_ok());
        assert!(check_card_reference(&s, "text", unknown).is_ok());
        let bad = json!({"type": "card_json", "data": "{\"elements\":[]}"});
        assert_eq!(
            code(&mut s, op(&t, "POST", CARDS_PATH, bad)),
            CODE_FIELD_VALIDATION
        );
    }
}
