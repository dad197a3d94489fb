//! What a store holds for one instance: the deny-all WASI context, the memory limiter, the
//! call's log and deadline, and the handler's config.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::WasiCtx;

use crate::sandbox::host;
use crate::sandbox::limiter::TotalMemoryLimiter;
use crate::sandbox::logs::LogSink;

/// The `T` of every `Store<T>` the sandbox creates.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: TotalMemoryLimiter,
    pub(crate) logs: LogSink,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    /// When the current call must end; checked by the epoch callback on every tick.
    pub(crate) deadline: Instant,
}

impl HostState {
    pub(crate) fn new(memory_limit: u64, config: Arc<BTreeMap<String, String>>) -> Self {
        let logs = LogSink::default();
        HostState {
            wasi: host::wasi::deny_all(&logs),
            table: host::wasi::table(),
            limiter: TotalMemoryLimiter::new(memory_limit),
            logs,
            config,
            deadline: Instant::now(),
        }
    }
}
