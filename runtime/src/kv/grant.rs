//! Who may use which namespace (manifest `kv`), and the quotas every namespace is held to.

use crate::limits::kv as lim;

/// A handler's key-value grant: `kv = true` (its own namespace, named after it) or
/// `kv = "name"` (the namespace `name`, shared by every handler that names it). No grant: every
/// call is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvGrant {
    /// The namespace its calls read and write.
    pub namespace: String,
    /// Whether it was named (`kv = "name"`), so other handlers may share it.
    pub shared: bool,
}

impl KvGrant {
    /// `kv = true` for `handler`: its own namespace.
    pub fn own(handler: &str) -> KvGrant {
        KvGrant {
            namespace: handler.to_string(),
            shared: false,
        }
    }

    /// `kv = "name"`: the shared namespace `name`, once [`KvGrant::check_namespace`] accepts it.
    pub fn shared(name: &str) -> Result<KvGrant, String> {
        KvGrant::check_namespace(name)?;
        Ok(KvGrant {
            namespace: name.to_string(),
            shared: true,
        })
    }

    /// A namespace name: letters, digits, `-` and `_` (like handler names), not empty.
    pub fn check_namespace(name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("a namespace name must not be empty".into());
        }
        match name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            Some(bad) => Err(format!(
                "namespace `{name}` contains `{bad}`; use letters, digits, `-` and `_`"
            )),
            None => Ok(()),
        }
    }
}

/// The rule that a handler's own namespace (`kv = true`) is never shared by accident: for each
/// grant of `grants` (handler name, grant) that names the own namespace of another handler,
/// its index and the message. Manifest and code-added handlers go through it together.
pub fn own_namespace_clashes(grants: &[(&str, &KvGrant)]) -> Vec<(usize, String)> {
    grants
        .iter()
        .enumerate()
        .filter(|(_, (_, g))| g.shared)
        .filter_map(|(i, (handler, g))| {
            let (owner, _) = grants
                .iter()
                .find(|(_, o)| !o.shared && o.namespace == g.namespace)?;
            Some((
                i,
                format!(
                    "handler `{handler}`: namespace `{}` is the own namespace of handler \
                     `{owner}` (kv = true); name another, or give `{owner}` kv = \"{}\" to share it",
                    g.namespace, g.namespace
                ),
            ))
        })
        .collect()
}

/// The one-line description of a handler's grant (`aviary check`, `aviary invoke`).
pub fn grant_summary(grant: Option<&KvGrant>) -> String {
    let q = KvQuotas::default();
    match grant {
        None => "denied (no `kv` key)".into(),
        Some(g) => format!(
            "namespace `{}` ({}); quotas: key {} B, value {} B, {} keys, {} bytes",
            g.namespace,
            if g.shared { "shared" } else { "own" },
            q.max_key_bytes,
            q.max_value_bytes,
            q.max_keys,
            q.max_bytes
        ),
    }
}

/// The bounds a namespace's writes are checked against (defaults in [`crate::limits::kv`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvQuotas {
    /// Longest key, in bytes.
    pub max_key_bytes: usize,
    /// Largest value, in bytes.
    pub max_value_bytes: usize,
    /// Most keys in the namespace.
    pub max_keys: u64,
    /// Most bytes (keys + values) in the namespace.
    pub max_bytes: u64,
    /// Most distinct keys one run may write.
    pub max_writes_per_run: usize,
    /// Most keys one list call returns.
    pub max_list_keys: u32,
}

impl Default for KvQuotas {
    fn default() -> Self {
        KvQuotas {
            max_key_bytes: lim::MAX_KEY_BYTES,
            max_value_bytes: lim::MAX_VALUE_BYTES,
            max_keys: lim::MAX_KEYS_PER_NAMESPACE,
            max_bytes: lim::MAX_BYTES_PER_NAMESPACE,
            max_writes_per_run: lim::MAX_WRITES_PER_RUN,
            max_list_keys: lim::MAX_LIST_KEYS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names_are_checked() {
        assert!(KvGrant::shared("chat-state_2").unwrap().shared);
        assert!(KvGrant::shared("")
            .unwrap_err()
            .contains("must not be empty"));
        assert!(KvGrant::shared("a:b").unwrap_err().contains("contains `:`"));
        assert_eq!(KvGrant::own("echo").namespace, "echo");
        assert!(grant_summary(None).contains("denied"));
        assert!(grant_summary(Some(&KvGrant::own("echo"))).contains("namespace `echo` (own)"));
        let (own, shared, other) = (
            KvGrant::own("echo"),
            KvGrant::shared("echo").unwrap(),
            KvGrant::shared("common").unwrap(),
        );
        let clashes = own_namespace_clashes(&[("echo", &own), ("b", &other), ("c", &shared)]);
        assert_eq!(clashes.len(), 1);
        assert_eq!(clashes[0].0, 2);
        assert!(clashes[0]
            .1
            .starts_with("handler `c`: namespace `echo` is the own namespace of handler `echo`"));
    }
}
