//! The `kv-*` imports: generated bindings on wasm32, an in-memory stand-in elsewhere (see
//! [`crate::testing`]).

#[cfg(target_arch = "wasm32")]
pub(crate) mod wasm {
    use crate::host::bindings;

    pub(crate) fn kv_get(key: &str) -> Result<Option<String>, String> {
        bindings::kv_get(key)
    }

    pub(crate) fn kv_set(key: &str, value: &str, ttl_secs: u32) -> Result<(), String> {
        bindings::kv_set(key, value, ttl_secs)
    }

    pub(crate) fn kv_delete(key: &str) -> Result<(), String> {
        bindings::kv_delete(key)
    }

    pub(crate) fn kv_increment(key: &str, delta: i32) -> Result<String, String> {
        bindings::kv_increment(key, delta)
    }

    pub(crate) fn kv_list(prefix: &str, after: &str, limit: u32) -> Result<Vec<String>, String> {
        bindings::kv_list(prefix, after, limit)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod shim {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    thread_local! {
        pub(super) static KV: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
        pub(super) static DENIED: RefCell<bool> = const { RefCell::new(false) };
    }

    fn granted(op: &str) -> Result<(), String> {
        if DENIED.with(|d| *d.borrow()) {
            Err(format!("{op}: denied: handler `test` has no key-value grant"))
        } else {
            Ok(())
        }
    }

    pub(crate) fn kv_get(key: &str) -> Result<Option<String>, String> {
        granted("kv-get")?;
        Ok(KV.with(|m| m.borrow().get(key).cloned()))
    }

    pub(crate) fn kv_set(key: &str, value: &str, _ttl_secs: u32) -> Result<(), String> {
        granted("kv-set")?;
        KV.with(|m| m.borrow_mut().insert(key.into(), value.into()));
        Ok(())
    }

    pub(crate) fn kv_delete(key: &str) -> Result<(), String> {
        granted("kv-delete")?;
        KV.with(|m| m.borrow_mut().remove(key));
        Ok(())
    }

    pub(crate) fn kv_increment(key: &str, delta: i32) -> Result<String, String> {
        granted("kv-increment")?;
        KV.with(|m| {
            let mut m = m.borrow_mut();
            let n = match m.get(key) {
                None => 0,
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| n.to_string() == *v)
                    .ok_or_else(|| format!("kv-increment: the value of `{key}` is not an integer"))?,
            };
            let sum = n
                .checked_add(i64::from(delta))
                .ok_or_else(|| format!("kv-increment: `{key}` would overflow"))?;
            m.insert(key.into(), sum.to_string());
            Ok(sum.to_string())
        })
    }

    pub(crate) fn kv_list(prefix: &str, after: &str, limit: u32) -> Result<Vec<String>, String> {
        granted("kv-list")?;
        let limit = if limit == 0 { 1000 } else { limit as usize };
        Ok(KV.with(|m| {
            m.borrow()
                .keys()
                .filter(|k| k.starts_with(prefix) && k.as_str() > after)
                .take(limit)
                .cloned()
                .collect()
        }))
    }
}

/// Test helpers for [`crate::kv`] (the shim keeps the state per thread and applies writes at
/// once: there is no commit outside the runtime).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod testing {
    use super::shim::{DENIED, KV};
    use std::collections::BTreeMap;

    /// Everything [`crate::kv`] holds on this thread.
    pub fn kv_state() -> BTreeMap<String, String> {
        KV.with(|m| m.borrow().clone())
    }

    /// Empties the key-value state on this thread and grants access again.
    pub fn clear_kv() {
        KV.with(|m| m.borrow_mut().clear());
        DENIED.with(|d| *d.borrow_mut() = false);
    }

    /// Makes every [`crate::kv`] call on this thread fail as without a grant.
    pub fn deny_kv() {
        DENIED.with(|d| *d.borrow_mut() = true);
    }
}
