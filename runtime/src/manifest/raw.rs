//! The manifest exactly as written: serde types with spans, used only by [`super::parse`].
//! Unknown keys are refused here (`deny_unknown_fields`), and every value keeps its span so
//! validation errors can name the line.

use serde::Deserialize;
use toml::Spanned;

/// Keys allowed at the top level. `[[handler]]` tables come with the next issue and are unknown
/// keys until then.
pub(super) const TOP_KEYS: &[&str] = &["feishu", "connection"];
/// Keys allowed in `[feishu]`.
pub(super) const FEISHU_KEYS: &[&str] = &["app_id", "app_secret", "domain", "encrypt_key"];
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

/// The allowed keys of a table, by dotted table name ("" = top level).
pub(super) fn allowed_keys(table: &str) -> &'static [&'static str] {
    match table {
        "" => TOP_KEYS,
        "feishu" => FEISHU_KEYS,
        "connection" => CONNECTION_KEYS,
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
}

/// `[feishu]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeishu {
    pub app_id: Spanned<String>,
    pub app_secret: Spanned<String>,
    pub domain: Option<Spanned<String>>,
    pub encrypt_key: Option<Spanned<String>>,
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
