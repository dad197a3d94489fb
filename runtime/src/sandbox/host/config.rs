//! The `config-get` import: reads the handler's own settings (`[handler.config]` in the
//! manifest). A handler sees only its own map; a missing key is `none`.

use std::collections::BTreeMap;

/// Answers one `config-get` call.
pub(crate) fn get(config: &BTreeMap<String, String>, key: &str) -> Option<String> {
    config.get(key).cloned()
}
