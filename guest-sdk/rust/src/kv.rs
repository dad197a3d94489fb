//! Key-value state whose writes are exactly-once with the event, through the `kv-*` host
//! imports.
//!
//! The handler must be granted a namespace in the manifest (denied by default):
//!
//! ```toml
//! [[handler]]
//! name = "counter"
//! # …
//! kv = true          # its own namespace; or kv = "shared-name" to share one
//! ```
//!
//! A run reads the committed state plus its own writes. Its writes take effect only when it
//! returns `done` or `respond`, in the same transaction that records the outcome: a run that
//! panics, times out, returns `retry` or is cut off by a crash leaves nothing behind, and its
//! re-run starts from the same state. [`increment`] is added at commit time, so concurrent runs
//! never lose one. With `per_chat_ordering`, state keyed by the chat id needs no locks: one
//! event per chat runs at a time, and the next starts after this one's writes are committed.
//!
//! ```no_run
//! use aviary_guest::kv;
//! # fn f(chat_id: &str) -> Result<(), String> {
//! let seen = kv::increment(&format!("seen:{chat_id}"), 1)?;
//! kv::set_json(&format!("last:{chat_id}"), &serde_json::json!({"seen": seen}))?;
//! let keys = kv::list("seen:", "", 100)?;
//! # let _ = keys; Ok(()) }
//! ```
//!
//! Errors (a denial, a quota, a bad argument, the store) are `Err(message)`, never a trap.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The value of `key` as this run sees it (`None`: absent or expired).
pub fn get(key: &str) -> Result<Option<String>, String> {
    crate::host::kv_get(key)
}

/// Sets `key` to `value`.
pub fn set(key: &str, value: &str) -> Result<(), String> {
    crate::host::kv_set(key, value, 0)
}

/// Sets `key` to `value`, expiring `ttl_secs` seconds after the run's commit (`0`: never).
pub fn set_with_ttl(key: &str, value: &str, ttl_secs: u32) -> Result<(), String> {
    crate::host::kv_set(key, value, ttl_secs)
}

/// Deletes `key` (absent: nothing to do).
pub fn delete(key: &str) -> Result<(), String> {
    crate::host::kv_delete(key)
}

/// Adds `delta` to the integer at `key` (absent: 0) and returns the value this run now sees.
/// At commit the delta is added to whatever is committed then.
pub fn increment(key: &str, delta: i32) -> Result<i64, String> {
    let text = crate::host::kv_increment(key, delta)?;
    text.parse()
        .map_err(|e| format!("kv-increment: the host answered `{text}`: {e}"))
}

/// Up to `limit` keys (0: the most one call returns, 1,000) that start with `prefix` and sort
/// after `after` (byte order; `""` for the first page: pass the last key to continue).
pub fn list(prefix: &str, after: &str, limit: u32) -> Result<Vec<String>, String> {
    crate::host::kv_list(prefix, after, limit)
}

/// The value of `key` parsed as JSON into `T` (`None`: absent).
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, String> {
    match get(key)? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("kv: the value of `{key}` is not the expected JSON: {e}")),
    }
}

/// Sets `key` to `value` serialized as JSON.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), String> {
    let text = serde_json::to_string(value)
        .map_err(|e| format!("kv: cannot serialize the value of `{key}`: {e}"))?;
    set(key, &text)
}
