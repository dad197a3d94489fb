//! What the sandbox needs of one handler: where its component is, its limits and reuse policy
//! ([`HandlerLimits`], the sandbox's part of a `[[handler]]`), its settings and its OpenAPI
//! access.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::kv::stats::HandlerCalls;
use crate::kv::{KvQuotas, KvStore};
use crate::openapi::{FeishuClient, OpenApiGrant};
use crate::outbound::OutboundHttp;

use crate::limits::sandbox as defaults;
use crate::limits::{within, OutOfRange};

/// One handler to load: [`crate::sandbox::Sandbox::load`] turns it into a
/// [`crate::sandbox::LoadedHandler`].
#[derive(Debug, Clone)]
pub struct HandlerSpec {
    /// The handler's name from the manifest (used in logs and errors).
    pub name: String,
    /// Path of the `.wasm` component.
    pub component: PathBuf,
    /// Per-call limits and the reuse policy (valid by construction).
    pub limits: HandlerLimits,
    /// Settings the guest reads with `config-get` (`[handler.config]` in the manifest).
    pub config: BTreeMap<String, String>,
    /// The `feishu-request` import: the app's client and what this handler may call.
    /// `None`: every call is denied.
    pub openapi: Option<OpenApiAccess>,
    /// The `http-send` import: the handler's allow-list, limits, client and counters
    /// (manifest key `allowed_outbound_hosts`). `None`: every call is denied (and counted).
    pub http: Option<Arc<OutboundHttp>>,
    /// The `kv-*` imports: the namespace and the store. `None`: every call is denied.
    pub kv: Option<KvAccess>,
    /// Where this handler's `kv-*` calls are counted (by operation and outcome).
    pub kv_calls: Arc<HandlerCalls>,
}

/// What a handler may do with the `kv-*` imports.
#[derive(Clone)]
pub struct KvAccess {
    /// The namespace its calls use (manifest `kv`).
    pub namespace: Arc<str>,
    /// Committed state (the queue backend's).
    pub store: Arc<dyn KvStore>,
    /// The bounds its writes are checked against.
    pub quotas: KvQuotas,
}

impl std::fmt::Debug for KvAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvAccess")
            .field("namespace", &self.namespace)
            .field("store", &self.store.describe())
            .field("quotas", &self.quotas)
            .finish()
    }
}

/// What a handler may do with the `feishu-request` import.
#[derive(Debug, Clone)]
pub struct OpenApiAccess {
    /// The app's OpenAPI client (shared by the app's handlers: one token cache).
    pub client: Arc<FeishuClient>,
    /// The methods and path prefixes granted (manifest key `openapi`).
    pub grant: OpenApiGrant,
}

impl HandlerSpec {
    /// A spec with default limits, no reuse and no config.
    #[cfg(any(test, feature = "internals"))]
    pub fn new(name: impl Into<String>, component: impl Into<PathBuf>) -> Self {
        HandlerSpec {
            name: name.into(),
            component: component.into(),
            limits: HandlerLimits::default(),
            config: BTreeMap::new(),
            openapi: None,
            http: None,
            kv: None,
            kv_calls: Arc::default(),
        }
    }
}

/// What one handler may use per call, and how long an instance lives: the sandbox's settings
/// of a `[[handler]]` (`fuel`, `timeout_ms`, `memory_mb`, `reuse`). Valid by construction: each
/// `with_*` checks its bound once, so [`crate::sandbox::Sandbox::load`] need not (it checks
/// only what depends on its own configuration, the pool's slot size). Every call starts with
/// the full budget. The defaults are the manifest's ([`crate::limits::dispatch::HANDLER_TIMEOUT`],
/// [`crate::limits::dispatch::HANDLER_MEMORY_MB`]; no fuel; the guest's default reuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerLimits {
    fuel: Option<u64>,
    timeout: Duration,
    memory_bytes: u64,
    reuse: Option<u32>,
}

/// A handler limit out of its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// A count (milliseconds, MiB, bytes, events) outside its range.
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    /// A timeout given as a duration outside `1 ns..=`[`defaults::MAX_TIMEOUT`].
    #[error("timeout {0:?} is outside 1 ns..={max:?}", max = defaults::MAX_TIMEOUT)]
    Timeout(Duration),
    /// A fuel budget of 0, which would fail every call.
    #[error("must be greater than 0 (omit it to turn fuel metering off)")]
    ZeroFuel,
}

impl Default for HandlerLimits {
    fn default() -> Self {
        HandlerLimits {
            fuel: defaults::DEFAULT_FUEL,
            timeout: crate::limits::dispatch::HANDLER_TIMEOUT,
            memory_bytes: crate::limits::dispatch::HANDLER_MEMORY_MB * MIB,
            reuse: None,
        }
    }
}

const MIB: u64 = 1024 * 1024;

impl HandlerLimits {
    /// Fuel (roughly, wasm instructions) per call; `None`: no fuel budget.
    pub fn fuel(&self) -> Option<u64> {
        self.fuel
    }

    /// Wall-clock budget per call: instantiation, guest code and time blocked in host calls.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Most bytes of linear memory the instance may hold, summed over all its memories.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    /// Events one instance serves. `None` (default): the guest's default — a fresh instance
    /// per event, except for components marked as JavaScript, Python or Go, which reuse
    /// instances (see [`crate::guest_abi::section`]). `Some(1)`: always fresh. `Some(n)`: an
    /// instance serves up to `n` events, so guest globals persist between those events; an
    /// instance that trapped or timed out is never reused. See the module doc of
    /// [`crate::sandbox`].
    pub fn reuse(&self) -> Option<u32> {
        self.reuse
    }

    /// With a fuel budget (`None`: none); 0 is refused.
    pub fn with_fuel(self, fuel: Option<u64>) -> Result<Self, LimitError> {
        if fuel == Some(0) {
            return Err(LimitError::ZeroFuel);
        }
        Ok(HandlerLimits { fuel, ..self })
    }

    /// With a timeout in `1 ns..=`[`defaults::MAX_TIMEOUT`].
    pub fn with_timeout(self, timeout: Duration) -> Result<Self, LimitError> {
        if timeout.is_zero() || timeout > defaults::MAX_TIMEOUT {
            return Err(LimitError::Timeout(timeout));
        }
        Ok(HandlerLimits { timeout, ..self })
    }

    /// With a `timeout_ms` in `1..=`[`defaults::MAX_TIMEOUT`] (in milliseconds).
    pub fn with_timeout_ms(self, ms: u64) -> Result<Self, LimitError> {
        let ms = within(ms, defaults::MAX_TIMEOUT.as_millis() as u64)?;
        self.with_timeout(Duration::from_millis(ms))
    }

    /// With a memory limit in `1..=`[`defaults::MAX_MEMORY_BYTES`] bytes.
    pub fn with_memory_bytes(self, bytes: u64) -> Result<Self, LimitError> {
        let memory_bytes = within(bytes, defaults::MAX_MEMORY_BYTES)?;
        Ok(HandlerLimits {
            memory_bytes,
            ..self
        })
    }

    /// With a `memory_mb` in `1..=`[`defaults::MAX_MEMORY_BYTES`] (in MiB, the pool's slot size).
    pub fn with_memory_mb(self, mb: u64) -> Result<Self, LimitError> {
        let mb = within(mb, defaults::MAX_MEMORY_BYTES / MIB)?;
        self.with_memory_bytes(mb * MIB)
    }

    /// With a `reuse` in `1..=`[`defaults::MAX_REUSE`], or `None` for the guest's default.
    pub fn with_reuse(self, reuse: Option<u64>) -> Result<Self, LimitError> {
        let reuse = match reuse {
            None => None,
            Some(n) => Some(within(n, defaults::MAX_REUSE as u64)? as u32),
        };
        Ok(HandlerLimits { reuse, ..self })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bound_is_checked_where_the_value_is_set() {
        let d = HandlerLimits::default();
        assert_eq!(d.with_fuel(Some(0)), Err(LimitError::ZeroFuel));
        assert_eq!(d.with_fuel(Some(1)).unwrap().fuel(), Some(1));
        assert!(d.with_timeout(Duration::ZERO).is_err());
        assert!(d
            .with_timeout(defaults::MAX_TIMEOUT + Duration::from_nanos(1))
            .is_err());
        assert_eq!(
            d.with_timeout_ms(300_001).unwrap_err().to_string(),
            "must be between 1 and 300000 (got 300001)"
        );
        assert_eq!(
            d.with_timeout_ms(300_000).unwrap().timeout(),
            defaults::MAX_TIMEOUT
        );
        assert!(d.with_memory_mb(0).is_err());
        assert!(d.with_memory_mb(1025).is_err());
        assert_eq!(d.with_memory_mb(1024).unwrap().memory_bytes(), 1 << 30);
        assert!(d.with_memory_bytes((1 << 30) + 1).is_err());
        assert!(d.with_reuse(Some(0)).is_err());
        assert!(d.with_reuse(Some(10_001)).is_err());
        assert_eq!(d.with_reuse(Some(10_000)).unwrap().reuse(), Some(10_000));
        assert_eq!(d.with_reuse(None).unwrap().reuse(), None);
    }
}
