//! What a store holds for one instance: the deny-all WASI context, the memory limiter, the
//! call's log and deadline, the handler's config, and what `feishu-request` needs (the
//! handler's OpenAPI access and the current call's identity).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::WasiCtx;

use crate::kv::run::RunState;
use crate::kv::stats::HandlerCalls;
use crate::openapi::stream::CardStream;
use crate::outbound::OutboundHttp;
use crate::sandbox::host;
use crate::sandbox::limiter::TotalMemoryLimiter;
use crate::sandbox::logs::LogSink;
use crate::sandbox::spec::{KvAccess, OpenApiAccess};

/// Who is calling, for `feishu-request`: the handler, the event, and how many OpenAPI calls
/// this run has made so far (the index of the next one; reset at the start of every call).
#[derive(Debug, Clone, Default)]
pub(crate) struct CallContext {
    pub(crate) handler: Arc<str>,
    pub(crate) dedupe_id: String,
    pub(crate) next_request: u32,
    /// `http-send` calls this run has made so far.
    pub(crate) http_requests: u32,
}

/// The `T` of every `Store<T>` the sandbox creates.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: TotalMemoryLimiter,
    pub(crate) logs: LogSink,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    /// When the current call must end; checked by the epoch callback on every tick.
    pub(crate) deadline: Instant,
    /// The handler's `feishu-request` grant and client; `None`: denied.
    pub(crate) openapi: Option<OpenApiAccess>,
    /// The handler's `http-send` grant, client and counters (an empty grant denies all).
    pub(crate) http: Arc<OutboundHttp>,
    /// The handler's `kv-*` grant and store; `None`: denied.
    pub(crate) kv: Option<KvAccess>,
    /// Where its `kv-*` calls are counted.
    pub(crate) kv_calls: Arc<HandlerCalls>,
    /// The current call's key-value writes (reset at the start of every call).
    pub(crate) kv_run: RunState,
    /// The current call.
    pub(crate) call: CallContext,
    /// The card streams of the current call, by card id (their senders outlive it).
    pub(crate) streams: HashMap<String, Arc<CardStream>>,
}

impl HostState {
    pub(crate) fn new(
        memory_limit: u64,
        config: Arc<BTreeMap<String, String>>,
        openapi: Option<OpenApiAccess>,
        http: Arc<OutboundHttp>,
        kv: (Option<KvAccess>, Arc<HandlerCalls>),
        handler: Arc<str>,
    ) -> Self {
        let logs = LogSink::default();
        HostState {
            wasi: host::wasi::deny_all(&logs),
            table: host::wasi::table(),
            limiter: TotalMemoryLimiter::new(memory_limit),
            logs,
            config,
            deadline: Instant::now(),
            openapi,
            http,
            kv: kv.0,
            kv_calls: kv.1,
            kv_run: RunState::default(),
            call: CallContext {
                handler,
                ..CallContext::default()
            },
            streams: HashMap::new(),
        }
    }

    /// The state of a store whose call finished cleanly, made ready for the next store (and
    /// its fresh instance): a fresh resource table (whatever the guest left in it is dropped),
    /// limiter, call identity, and fresh WASI random generators and clocks (reseeded, so no
    /// generator state, which a guest advances by drawing, carries from one event to the
    /// next). The rest of the deny-all WASI context (no environment, arguments, files or
    /// sockets; stdio into the log sink) holds nothing a call can change, and the log sink is
    /// emptied; keeping them saves building a `WasiCtx` per event.
    pub(crate) fn recycle(mut self, memory_limit: u64) -> Self {
        *self.wasi.random() = wasmtime_wasi::random::WasiRandomCtx::default();
        *self.wasi.clocks() = wasmtime_wasi::clocks::WasiClocksCtx::default();
        self.table = host::wasi::table();
        self.limiter = TotalMemoryLimiter::new(memory_limit);
        let _ = self.logs.take();
        self.call.dedupe_id.clear();
        self.call.next_request = 0;
        self.streams.clear();
        self.call.http_requests = 0;
        self.kv_run.reset();
        self
    }
}
