//! Idempotency keys for OpenAPI calls that take one (`uuid` in the JSON body of send
//! `POST /open-apis/im/v1/messages` and reply `POST /open-apis/im/v1/messages/{id}/reply`).
//!
//! The key is `hex(SHA-256("aviary-uuid-v1" ‖ app_id ‖ handler ‖ dedupe_id ‖ index))`, cut to
//! [`crate::limits::openapi::UUID_HEX_CHARS`] characters, with each part length-prefixed so
//! no two different tuples hash the same input. `index` counts the `feishu-request` calls of
//! one handler run (0 for the first), so the run's n-th call gets the same key on every re-run
//! of that (event, handler): after a SIGKILL, a timeout or a `retry` outcome (the attempt
//! number is deliberately not part of it). Feishu sends at most one message per uuid within
//! **1 hour**; a re-run later than that sends again.
//!
//! A guest-provided `uuid` is kept as it is.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::limits::openapi::UUID_HEX_CHARS;

const MESSAGES: &str = "/open-apis/im/v1/messages";

/// Which message-creating API a POST path (query allowed) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageApi<'a> {
    /// `POST /open-apis/im/v1/messages`.
    Send,
    /// `POST /open-apis/im/v1/messages/{id}/reply`, with the parent message id.
    Reply(&'a str),
}

/// The message API `path` names, if any (see [`MessageApi`]).
pub(crate) fn message_api(path: &str) -> Option<MessageApi<'_>> {
    let path = path.split('?').next().unwrap_or("").trim_end_matches('/');
    if path == MESSAGES {
        return Some(MessageApi::Send);
    }
    path.strip_prefix(MESSAGES)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_suffix("/reply"))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .map(MessageApi::Reply)
}

/// Whether this request takes a `uuid` in its JSON body: send and reply message.
pub fn takes_uuid(method: &str, path: &str) -> bool {
    method.eq_ignore_ascii_case("POST") && message_api(path).is_some()
}

/// The key of call `index` of `handler`'s run on the event `dedupe_id` of app `app_id`.
pub fn derive_uuid(app_id: &str, handler: &str, dedupe_id: &str, index: u32) -> String {
    let mut h = Sha256::new();
    h.update(b"aviary-uuid-v1");
    for part in [app_id.as_bytes(), handler.as_bytes(), dedupe_id.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(index.to_be_bytes());
    let digest = h.finalize();
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex.truncate(UUID_HEX_CHARS);
    hex
}

/// `body` with `"uuid": uuid` added unless it has one. The body must be a JSON object.
pub fn with_uuid(body: &str, uuid: &str) -> Result<String, String> {
    let mut value: Value = serde_json::from_str(body)
        .map_err(|e| format!("the body is not JSON ({e}); send and reply take a JSON object"))?;
    let Some(object) = value.as_object_mut() else {
        return Err("the body must be a JSON object".to_string());
    };
    if object.contains_key("uuid") {
        return Ok(body.to_string());
    }
    object.insert("uuid".to_string(), Value::String(uuid.to_string()));
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_and_reply_take_a_uuid_nothing_else() {
        assert!(takes_uuid(
            "POST",
            "/open-apis/im/v1/messages?receive_id_type=chat_id"
        ));
        assert!(takes_uuid("post", "/open-apis/im/v1/messages/om_1/reply"));
        assert!(!takes_uuid("GET", "/open-apis/im/v1/messages"));
        assert!(!takes_uuid("POST", "/open-apis/im/v1/messages/om_1"));
        assert!(!takes_uuid("POST", "/open-apis/im/v1/messages//reply"));
        assert!(!takes_uuid("POST", "/open-apis/im/v1/chats"));
    }

    #[test]
    fn keys_are_deterministic_short_and_distinct() {
        let k = derive_uuid("cli_1", "echo", "om_1", 0);
        assert_eq!(k, derive_uuid("cli_1", "echo", "om_1", 0));
        assert_eq!(k.len(), UUID_HEX_CHARS);
        assert!(k.len() <= 50 && k.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(k, derive_uuid("cli_1", "echo", "om_1", 1));
        assert_ne!(k, derive_uuid("cli_1", "echo2", "om_1", 0));
        assert_ne!(k, derive_uuid("cli_2", "echo", "om_1", 0));
        assert_ne!(k, derive_uuid("cli_1", "echo", "om_2", 0));
        // Length prefixes: moving a character between parts changes the key.
        assert_ne!(
            derive_uuid("ab", "c", "d", 0),
            derive_uuid("a", "bc", "d", 0)
        );
    }

    #[test]
    fn a_guest_uuid_is_kept_and_bad_bodies_are_named() {
        let added = with_uuid(r#"{"msg_type":"text"}"#, "k").unwrap();
        let v: Value = serde_json::from_str(&added).unwrap();
        assert_eq!(v["uuid"], "k");
        let mine = r#"{"uuid":"mine","msg_type":"text"}"#;
        assert_eq!(with_uuid(mine, "k").unwrap(), mine);
        assert!(with_uuid("[1]", "k").unwrap_err().contains("JSON object"));
        assert!(with_uuid("nope", "k").unwrap_err().contains("not JSON"));
    }
}
