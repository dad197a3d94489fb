//! Host bindings generated from `wit/handler.wit` (world `handler`).
//!
//! Exports are async (the call runs on a fiber so epoch ticks can yield to the executor and a
//! timeout can drop it); the two imports are plain synchronous functions, because neither
//! blocks.

wasmtime::component::bindgen!({
    world: "handler",
    path: "../wit/handler.wit",
    exports: { default: async },
});

pub(crate) use self::aviary::handler::types::EventKind;
