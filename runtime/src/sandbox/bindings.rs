//! Host bindings generated from `wit/handler.wit` (world `handler`).
//!
//! Exports are async (the call runs on a fiber so epoch ticks can yield to the executor and a
//! timeout can drop it). `log` and `config-get` are plain synchronous functions, because
//! neither blocks; `feishu-request` is async (network I/O; the guest blocks, the executor
//! does not).

use wasmtime::component::{ComponentType, Lower, TypedFunc};

use crate::handler::GuestEvent;
use crate::protocol::envelope::EventKind as HostEventKind;

wasmtime::component::bindgen!({
    world: "handler",
    path: "../wit/handler.wit",
    imports: { "feishu-request": async },
    exports: { default: async },
});

pub(crate) use self::aviary::handler::types::EventKind;

/// The WIT `event` record borrowed from a [`GuestEvent`]: the generated [`Event`] owns its
/// strings, so passing it would copy the whole envelope on every call; this lowers the same
/// record straight from the host's strings. Field names and order are the WIT record's; the
/// type is checked against the component's own `handle` export (see [`handle_func`]).
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct EventRef<'a> {
    #[component(name = "dedupe-id")]
    dedupe_id: &'a str,
    #[component(name = "event-id")]
    event_id: &'a str,
    #[component(name = "event-type")]
    event_type: &'a str,
    kind: EventKind,
    #[component(name = "app-id")]
    app_id: &'a str,
    #[component(name = "tenant-key")]
    tenant_key: &'a str,
    #[component(name = "create-time")]
    create_time: &'a str,
    attempt: u32,
    envelope: &'a str,
}

impl<'a> EventRef<'a> {
    pub(crate) fn new(e: &'a GuestEvent) -> Self {
        EventRef {
            dedupe_id: &e.dedupe_id,
            event_id: &e.event_id,
            event_type: &e.event_type,
            kind: match e.kind {
                HostEventKind::Event => EventKind::Event,
                HostEventKind::Callback => EventKind::Callback,
            },
            app_id: &e.app_id,
            tenant_key: &e.tenant_key,
            create_time: &e.create_time,
            attempt: e.attempt,
            envelope: &e.envelope,
        }
    }
}

/// The `handle` export of `instance`, typed to take an [`EventRef`]. Type-checked against the
/// component (a few hundred ns, so it is done on every call rather than trusted).
pub(crate) fn handle_func<'a>(
    instance: &Handler,
    store: impl wasmtime::AsContext,
) -> wasmtime::Result<TypedFunc<(EventRef<'a>,), (Outcome,)>> {
    instance.func_handle().func().typed(store)
}
