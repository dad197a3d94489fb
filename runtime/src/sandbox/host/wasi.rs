//! WASI p2 with everything denied: every toolchain's output imports `wasi:cli`/`wasi:io`, so
//! WASI must be linked, but a handler gets no preopened directories, no environment, no
//! arguments, empty stdin, no sockets (TCP, UDP and name lookup refused) and no host stdio:
//! stdout/stderr are captured into the call's log. Clocks and random are allowed.

use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::handler::LogStream;
use crate::sandbox::host::stdio::CapturedOutput;
use crate::sandbox::logs::LogSink;
use crate::sandbox::state::HostState;

/// A deny-all WASI context whose stdout/stderr go to `logs`.
pub(crate) fn deny_all(logs: &LogSink) -> WasiCtx {
    WasiCtxBuilder::new()
        .stdout(CapturedOutput::new(logs.clone(), LogStream::Stdout))
        .stderr(CapturedOutput::new(logs.clone(), LogStream::Stderr))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .build()
}

/// Links WASI p2 (async, so a guest blocked in e.g. `poll` can be cancelled by the timeout).
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A fresh resource table for a store.
pub(crate) fn table() -> ResourceTable {
    ResourceTable::new()
}
