//! Host bindings generated from `wit/handler.wit` (world `handler`).
//!
//! Exports are async (the call runs on a fiber so epoch ticks can yield to the executor and a
//! timeout can drop it). `log` and `config-get` are plain synchronous functions, because
//! neither blocks; `feishu-request` is async (network I/O; the guest blocks, the executor
//! does not).

wasmtime::component::bindgen!({
    world: "handler",
    path: "../wit/handler.wit",
    imports: { "feishu-request": async },
    exports: { default: async },
});

pub(crate) use self::aviary::handler::types::EventKind;
