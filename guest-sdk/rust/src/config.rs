//! The handler's settings from `[handler.config]` in the Aviary manifest.

/// The value of `key` in this handler's `[handler.config]`, if set.
pub fn get(key: &str) -> Option<String> {
    crate::host::config_get(key)
}

/// The value of `key`, or `default` when it is not set.
pub fn get_or(key: &str, default: &str) -> String {
    get(key).unwrap_or_else(|| default.to_string())
}
