//! The manifest exactly as written: serde types with spans, used only by [`super::parse`].
//! Unknown keys are refused here (`deny_unknown_fields`), and every value keeps its span so
//! validation errors can name the line.

use serde::Deserialize;
use toml::Spanned;

/// Keys allowed at the top level.
pub(super) const TOP_KEYS: &[&str] = &[
    "feishu",
    "connection",
    "dispatch",
    "queue",
    "handler",
    "admin",
    "log",
];
/// Keys allowed in `[feishu]`.
pub(super) const FEISHU_KEYS: &[&str] = &[
    "app_id",
    "app_secret",
    "domain",
    "encrypt_key",
    "bot_open_id",
    // Per-app send limits (sdk).
    "app_sends_per_second",
    "app_sends_per_minute",
];
/// Keys allowed in `[connection]`.
pub(super) const CONNECTION_KEYS: &[&str] = &[
    "auto_reconnect",
    "max_reconnect_attempts",
    "reconnect_delay_ms",
    "reconnect_jitter_ms",
    "heartbeat_interval_ms",
    "liveness",
    "liveness_grace_ms",
    "connection_timeout_ms",
    "receive_queue_capacity",
];

/// Keys allowed in `[dispatch]`.
pub(super) const DISPATCH_KEYS: &[&str] = &[
    "mode",
    "per_chat_ordering",
    "max_in_flight",
    "callback_deadline_ms",
];
/// Keys allowed in `[queue]`.
pub(super) const QUEUE_KEYS: &[&str] = &[
    "backend",
    "path",
    "capacity",
    "dedupe_window_secs",
    "dedupe_max_entries",
    "ack",
    "claim_idle_secs",
    "instance",
    "tls_ca",
];
/// Keys allowed in each `[[handler]]`.
pub(super) const HANDLER_KEYS: &[&str] = &[
    "name",
    "component",
    "events",
    "default",
    "fuel",
    "timeout_ms",
    "memory_mb",
    "max_concurrency",
    "reuse",
    "max_attempts",
    "backoff_ms",
    "backoff_max_ms",
    "openapi",
    "config",
    // Filters (dispatch::filter).
    "chat_types",
    "require_mention",
    "ignore_senders",
    "max_event_age_secs",
    "chats",
    "users",
    // Burst merge (queue::merge).
    "merge",
    "kv",
    "build",
    // Outbound HTTP (`crate::outbound`).
    "allowed_outbound_hosts",
    "http",
];
/// Keys allowed in a handler's `merge` table.
pub(super) const MERGE_KEYS: &[&str] = &["window_ms", "max_events", "same_sender"];

/// Keys allowed in `[admin]`.
pub(super) const ADMIN_KEYS: &[&str] = &["listen", "token"];
/// Keys allowed in `[log]`.
pub(super) const LOG_KEYS: &[&str] = &["format"];
/// Keys allowed in `[handler.http]` (outbound HTTP limits, `crate::outbound`).
pub(super) const HANDLER_HTTP_KEYS: &[&str] = &[
    "max_request_bytes",
    "max_response_bytes",
    "timeout_ms",
    "max_requests",
    "tls_ca",
    "allow_private_addresses",
];
/// Keys allowed in `[handler.build]`.
pub(super) const BUILD_KEYS: &[&str] = &["source", "lang", "command"];

/// The allowed keys of a table, by dotted table name ("" = top level).
pub(super) fn allowed_keys(table: &str) -> &'static [&'static str] {
    match table {
        "" => TOP_KEYS,
        "feishu" => FEISHU_KEYS,
        "connection" => CONNECTION_KEYS,
        "dispatch" => DISPATCH_KEYS,
        "queue" => QUEUE_KEYS,
        "handler" => HANDLER_KEYS,
        "handler.merge" => MERGE_KEYS,
        "admin" => ADMIN_KEYS,
        "log" => LOG_KEYS,
        "handler.build" => BUILD_KEYS,
        "handler.http" => HANDLER_HTTP_KEYS,
        _ => &[],
    }
}

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    pub feishu: RawFeishu,
    #[serde(default)]
    pub connection: RawConnection,
    #[serde(default)]
    pub dispatch: RawDispatch,
    #[serde(default)]
    pub queue: RawQueue,
    #[serde(default)]
    pub handler: Vec<RawHandler>,
    #[serde(default)]
    pub admin: RawAdmin,
    #[serde(default)]
    pub log: RawLog,
}

/// `[feishu]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeishu {
    pub app_id: Spanned<String>,
    pub app_secret: Spanned<String>,
    pub domain: Option<Spanned<String>>,
    pub encrypt_key: Option<Spanned<String>>,
    pub bot_open_id: Option<Spanned<String>>,
    // Per-app send limits (sdk).
    pub app_sends_per_second: Option<Spanned<u64>>,
    pub app_sends_per_minute: Option<Spanned<u64>>,
}

/// `[connection]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnection {
    pub auto_reconnect: Option<Spanned<bool>>,
    pub max_reconnect_attempts: Option<Spanned<i64>>,
    pub reconnect_delay_ms: Option<Spanned<u64>>,
    pub reconnect_jitter_ms: Option<Spanned<u64>>,
    pub heartbeat_interval_ms: Option<Spanned<u64>>,
    pub liveness: Option<Spanned<bool>>,
    pub liveness_grace_ms: Option<Spanned<u64>>,
    pub connection_timeout_ms: Option<Spanned<u64>>,
    pub receive_queue_capacity: Option<Spanned<u64>>,
}

/// `[dispatch]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDispatch {
    pub mode: Option<Spanned<String>>,
    pub per_chat_ordering: Option<Spanned<bool>>,
    pub max_in_flight: Option<Spanned<u64>>,
    pub callback_deadline_ms: Option<Spanned<u64>>,
}

/// `[queue]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub backend: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub capacity: Option<Spanned<u64>>,
    pub dedupe_window_secs: Option<Spanned<u64>>,
    pub dedupe_max_entries: Option<Spanned<u64>>,
    pub ack: Option<Spanned<String>>,
    pub claim_idle_secs: Option<Spanned<u64>>,
    pub instance: Option<Spanned<String>>,
    pub tls_ca: Option<Spanned<String>>,
}

/// One `[[handler]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHandler {
    pub name: Spanned<String>,
    pub component: Spanned<String>,
    pub events: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(rename = "default")]
    pub is_default: Option<Spanned<bool>>,
    pub fuel: Option<Spanned<u64>>,
    pub timeout_ms: Option<Spanned<u64>>,
    pub memory_mb: Option<Spanned<u64>>,
    pub max_concurrency: Option<Spanned<u64>>,
    pub reuse: Option<Spanned<u64>>,
    pub max_attempts: Option<Spanned<u64>>,
    pub backoff_ms: Option<Spanned<u64>>,
    pub backoff_max_ms: Option<Spanned<u64>>,
    pub openapi: Option<Spanned<Vec<Spanned<String>>>>,
    pub config: Option<std::collections::BTreeMap<String, Spanned<String>>>,
    // Filters (dispatch::filter).
    pub chat_types: Option<Spanned<Vec<Spanned<String>>>>,
    pub require_mention: Option<Spanned<bool>>,
    pub ignore_senders: Option<Spanned<Vec<Spanned<String>>>>,
    pub max_event_age_secs: Option<Spanned<u64>>,
    pub chats: Option<Spanned<Vec<Spanned<String>>>>,
    pub users: Option<Spanned<Vec<Spanned<String>>>>,
    // Burst merge (queue::merge).
    pub merge: Option<Spanned<RawMerge>>,
    /// `true`, `false` or a namespace name (checked in `kv.rs`).
    pub kv: Option<Spanned<toml::Value>>,
    pub build: Option<Spanned<RawBuild>>,
    // Outbound HTTP (`crate::outbound`).
    pub allowed_outbound_hosts: Option<Spanned<Vec<Spanned<String>>>>,
    pub http: Option<RawHandlerHttp>,
}

/// A handler's `merge = { window_ms, max_events, same_sender }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMerge {
    pub window_ms: Option<Spanned<u64>>,
    pub max_events: Option<Spanned<u64>>,
    pub same_sender: Option<Spanned<bool>>,
}

/// `[handler.build]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuild {
    pub source: Option<Spanned<String>>,
    pub lang: Option<Spanned<String>>,
    pub command: Option<Spanned<String>>,
}

/// `[handler.http]`: limits of the handler's outbound HTTP.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHandlerHttp {
    pub max_request_bytes: Option<Spanned<u64>>,
    pub max_response_bytes: Option<Spanned<u64>>,
    pub timeout_ms: Option<Spanned<u64>>,
    pub max_requests: Option<Spanned<u64>>,
    pub tls_ca: Option<Spanned<String>>,
    pub allow_private_addresses: Option<Spanned<bool>>,
}

/// `[admin]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    pub listen: Option<Spanned<String>>,
    pub token: Option<Spanned<String>>,
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    pub format: Option<Spanned<String>>,
}
