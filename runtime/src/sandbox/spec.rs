//! What the manifest says about one handler: where its component is, its limits, its reuse
//! policy and its settings.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::kv::stats::HandlerCalls;
use crate::kv::{KvQuotas, KvStore};
use crate::openapi::{FeishuClient, OpenApiGrant};

use crate::limits::sandbox as defaults;

/// One handler to load: [`crate::sandbox::Sandbox::load`] turns it into a
/// [`crate::sandbox::LoadedHandler`].
#[derive(Debug, Clone)]
pub struct HandlerSpec {
    /// The handler's name from the manifest (used in logs and errors).
    pub name: String,
    /// Path of the `.wasm` component.
    pub component: PathBuf,
    /// Per-call limits.
    pub limits: HandlerLimits,
    /// `None` (default): the guest's default — a fresh instance per event, except for
    /// components marked as JavaScript or Python, which reuse instances (see
    /// [`crate::guest_abi::section`]). `Some(1)`: always fresh. `Some(n)`: an instance serves up to `n`
    /// events, so guest globals persist between those events; an instance that trapped or
    /// timed out is never reused. See the module doc of [`crate::sandbox`].
    pub reuse: Option<u32>,
    /// Settings the guest reads with `config-get` (`[handler.config]` in the manifest).
    pub config: BTreeMap<String, String>,
    /// The `feishu-request` import: the app's client and what this handler may call.
    /// `None`: every call is denied.
    pub openapi: Option<OpenApiAccess>,
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
    pub fn new(name: impl Into<String>, component: impl Into<PathBuf>) -> Self {
        HandlerSpec {
            name: name.into(),
            component: component.into(),
            limits: HandlerLimits::default(),
            reuse: None,
            config: BTreeMap::new(),
            openapi: None,
            kv: None,
            kv_calls: Arc::default(),
        }
    }
}

/// Per-call limits of one handler. Every call starts with the full budget. The defaults are
/// the manifest's (`crate::limits::dispatch::HANDLER_TIMEOUT`, `HANDLER_MEMORY_MB`; no fuel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerLimits {
    /// Fuel (roughly, wasm instructions) per call; `None`: no fuel budget.
    pub fuel: Option<u64>,
    /// Wall-clock budget per call: instantiation, guest code and time blocked in host calls.
    pub timeout: Duration,
    /// Most bytes of linear memory the instance may hold, summed over all its memories.
    pub memory_bytes: u64,
}

impl Default for HandlerLimits {
    fn default() -> Self {
        HandlerLimits {
            fuel: defaults::DEFAULT_FUEL,
            timeout: crate::limits::dispatch::HANDLER_TIMEOUT,
            memory_bytes: crate::limits::dispatch::HANDLER_MEMORY_MB * 1024 * 1024,
        }
    }
}

impl HandlerLimits {
    /// Checks a `timeout_ms` (`1..=`[`defaults::MAX_TIMEOUT`]).
    pub fn check_timeout_ms(ms: u64) -> Result<Duration, String> {
        crate::limits::within(ms, defaults::MAX_TIMEOUT.as_millis() as u64)
            .map(Duration::from_millis)
    }

    /// Checks a `memory_mb` (`1..=`[`defaults::MAX_MEMORY_BYTES`] in MiB, the pool's slot size).
    pub fn check_memory_mb(mb: u64) -> Result<u64, String> {
        crate::limits::within(mb, defaults::MAX_MEMORY_BYTES / (1024 * 1024))
    }

    /// Checks a `reuse` (`1..=`[`defaults::MAX_REUSE`]).
    pub fn check_reuse(n: u64) -> Result<u32, String> {
        crate::limits::within(n, defaults::MAX_REUSE as u64).map(|n| n as u32)
    }

    /// Why these limits cannot be used, if they cannot (for specs not built by the manifest,
    /// which has checked each field with the functions above).
    pub(crate) fn problem(&self, reuse: Option<u32>, max_memory_bytes: u64) -> Option<String> {
        if self.timeout.is_zero() || self.timeout > defaults::MAX_TIMEOUT {
            return Some(format!(
                "timeout {:?} is outside 1 ns..={:?}",
                self.timeout,
                defaults::MAX_TIMEOUT
            ));
        }
        if self.memory_bytes == 0 || self.memory_bytes > max_memory_bytes {
            return Some(format!(
                "memory {} bytes is outside 1..={max_memory_bytes} bytes",
                self.memory_bytes
            ));
        }
        if self.fuel == Some(0) {
            return Some("fuel 0 would fail every call; omit fuel for no budget".to_string());
        }
        match reuse {
            Some(n) if n == 0 || n > defaults::MAX_REUSE => {
                Some(format!("reuse {n} is outside 1..={}", defaults::MAX_REUSE))
            }
            _ => None,
        }
    }
}
