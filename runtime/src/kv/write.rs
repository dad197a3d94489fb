//! What a run writes: one [`Write`] per key it touched (its operations on that key folded into
//! one), and the one meaning of applying a write to a stored entry, shared by every backend
//! (the Redis backend repeats it in Lua; the backends' common tests hold them to it).

use serde::{Deserialize, Serialize};

/// The net effect of a run on one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Write {
    /// The key holds `value`, expiring `ttl_secs` after the commit (`0`: never).
    Set {
        /// The new value.
        value: String,
        /// Seconds from the commit to expiry; `0`: no expiry.
        ttl_secs: u32,
    },
    /// The key is removed.
    Delete,
    /// The key's integer is increased by this much **at commit time**, on whatever value is
    /// committed then (so two runs that add concurrently both count). An absent key counts as
    /// 0; the key's expiry, if it has one, is kept.
    Add(i64),
}

/// One key's write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWrite {
    /// The namespace (`kv = true`: the handler's name; `kv = "name"`: that name).
    pub namespace: String,
    /// The key.
    pub key: String,
    /// What happens to it.
    pub write: Write,
}

/// The writes one run (or several handlers' runs of one job) leaves, applied in order in one
/// transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteSet {
    /// In the order they are applied.
    pub writes: Vec<KeyWrite>,
}

impl WriteSet {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Appends `other`'s writes after this one's (a job's handlers, in the order they ran).
    pub fn extend(&mut self, other: WriteSet) {
        self.writes.extend(other.writes);
    }
}

/// A value as a counter: the canonical decimal form of an `i64` (no sign `+`, no leading
/// zeros, no spaces — the form Redis's `INCRBY` accepts), else `None`.
pub fn as_integer(value: &str) -> Option<i64> {
    value.parse::<i64>().ok().filter(|n| n.to_string() == value)
}

/// The value after adding `delta` to `old` at commit (`None`: absent). An absent value counts
/// as 0; a value that is not an integer (only possible when a concurrent run set one after this
/// run checked) is replaced by `delta`; the sum saturates at the `i64` bounds.
pub fn add_to(old: Option<&str>, delta: i64) -> String {
    match old {
        None => delta.to_string(),
        Some(v) => match as_integer(v) {
            Some(n) => n.saturating_add(delta).to_string(),
            None => delta.to_string(),
        },
    }
}

/// Bytes an entry counts against its namespace's quota: key plus value.
pub fn entry_bytes(key: &str, value: &str) -> u64 {
    (key.len() + value.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_integers_count() {
        assert_eq!(as_integer("42"), Some(42));
        assert_eq!(as_integer("-7"), Some(-7));
        assert_eq!(as_integer("0"), Some(0));
        for bad in [
            "",
            "+1",
            "01",
            "-0",
            " 1",
            "1.0",
            "x",
            "99999999999999999999",
        ] {
            assert_eq!(as_integer(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn adding_counts_absent_as_zero_replaces_text_and_saturates() {
        assert_eq!(add_to(None, 3), "3");
        assert_eq!(add_to(Some("4"), -6), "-2");
        assert_eq!(add_to(Some("hello"), 2), "2");
        assert_eq!(add_to(Some(&i64::MAX.to_string()), 1), i64::MAX.to_string());
        assert_eq!(
            add_to(Some(&i64::MIN.to_string()), -1),
            i64::MIN.to_string()
        );
    }
}
