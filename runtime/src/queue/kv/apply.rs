//! Applying writes and pruning expired entries, once for the backends written in Rust: the
//! disk and memory backends implement [`Entries`] over their tables and call [`apply`] and
//! [`prune`] inside their commit. `lua/kv.lua` is the same for Redis.

use crate::kv::write::{add_to, entry_bytes};
use crate::kv::{Usage, Write, WriteSet};

/// A backend's key-value tables, inside one transaction.
pub trait Entries {
    /// The backend's error.
    type Error;
    /// The stored entry (value, expiry in ms since the epoch, 0: none), expired or not.
    fn entry(&mut self, ns: &str, key: &str) -> Result<Option<(String, u64)>, Self::Error>;
    /// Stores an entry.
    fn put(&mut self, ns: &str, key: &str, value: &str, expires_at: u64)
        -> Result<(), Self::Error>;
    /// Removes an entry.
    fn remove(&mut self, ns: &str, key: &str) -> Result<(), Self::Error>;
    /// A namespace's usage.
    fn usage(&mut self, ns: &str) -> Result<Usage, Self::Error>;
    /// Stores a namespace's usage.
    fn set_usage(&mut self, ns: &str, usage: Usage) -> Result<(), Self::Error>;
    /// Indexes an expiry.
    fn add_expiry(&mut self, at: u64, ns: &str, key: &str) -> Result<(), Self::Error>;
    /// Removes an expiry from the index.
    fn remove_expiry(&mut self, at: u64, ns: &str, key: &str) -> Result<(), Self::Error>;
    /// Up to `max` indexed expiries at or before `now`, oldest first.
    fn expired(&mut self, now: u64, max: usize) -> Result<Vec<(u64, String, String)>, Self::Error>;
}

/// Applies `writes` in order at time `now`.
pub fn apply<T: Entries>(t: &mut T, writes: &WriteSet, now: u64) -> Result<(), T::Error> {
    for w in &writes.writes {
        let (ns, key) = (w.namespace.as_str(), w.key.as_str());
        let old = live(t, ns, key, now)?;
        let (value, expires_at) = match &w.write {
            Write::Delete => {
                if let Some((v, at)) = old {
                    drop_entry(t, ns, key, &v, at)?;
                }
                continue;
            }
            Write::Set { value, ttl_secs } => {
                let at = if *ttl_secs == 0 {
                    0
                } else {
                    now + u64::from(*ttl_secs) * 1000
                };
                (value.clone(), at)
            }
            Write::Add(delta) => (
                add_to(old.as_ref().map(|(v, _)| v.as_str()), *delta),
                old.as_ref().map_or(0, |(_, at)| *at),
            ),
        };
        let mut usage = t.usage(ns)?;
        match &old {
            Some((v, at)) => {
                usage.bytes = usage.bytes - entry_bytes(key, v) + entry_bytes(key, &value);
                if *at != 0 && *at != expires_at {
                    t.remove_expiry(*at, ns, key)?;
                }
            }
            None => {
                usage.keys += 1;
                usage.bytes += entry_bytes(key, &value);
            }
        }
        if expires_at != 0 {
            t.add_expiry(expires_at, ns, key)?;
        }
        t.put(ns, key, &value, expires_at)?;
        t.set_usage(ns, usage)?;
    }
    Ok(())
}

/// Removes up to `max` entries that expired at or before `now`.
pub fn prune<T: Entries>(t: &mut T, now: u64, max: usize) -> Result<(), T::Error> {
    for (at, ns, key) in t.expired(now, max)? {
        match t.entry(&ns, &key)? {
            Some((v, stored_at)) if stored_at == at => drop_entry(t, &ns, &key, &v, at)?,
            _ => t.remove_expiry(at, &ns, &key)?,
        }
    }
    Ok(())
}

/// The entry, unless it expired (then it is removed now).
fn live<T: Entries>(
    t: &mut T,
    ns: &str,
    key: &str,
    now: u64,
) -> Result<Option<(String, u64)>, T::Error> {
    match t.entry(ns, key)? {
        Some((v, at)) if at != 0 && at <= now => {
            drop_entry(t, ns, key, &v, at)?;
            Ok(None)
        }
        other => Ok(other),
    }
}

fn drop_entry<T: Entries>(
    t: &mut T,
    ns: &str,
    key: &str,
    value: &str,
    at: u64,
) -> Result<(), T::Error> {
    t.remove(ns, key)?;
    if at != 0 {
        t.remove_expiry(at, ns, key)?;
    }
    let mut usage = t.usage(ns)?;
    usage.keys = usage.keys.saturating_sub(1);
    usage.bytes = usage.bytes.saturating_sub(entry_bytes(key, value));
    t.set_usage(ns, usage)
}

/// Whether an entry that expires at `at` (0: never) is visible at `now`.
pub fn visible(at: u64, now: u64) -> bool {
    at == 0 || at > now
}
