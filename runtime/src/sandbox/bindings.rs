//! Host bindings generated from `wit/handler.wit` (world `handler`).
//!
//! Exports are async (the call runs on a fiber so epoch ticks can yield to the executor and a
//! timeout can drop it). `log` and `config-get` are plain synchronous functions, because
//! neither blocks; `feishu-request` is async (network I/O; the guest blocks, the executor
//! does not).

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{
    ComponentExportIndex, ComponentType, Func, InstancePre, Lower, TypedFunc,
};
use wasmtime::Store;

use crate::handler::GuestEvent;
use crate::protocol::envelope::EventKind as HostEventKind;

wasmtime::component::bindgen!({
    world: "handler",
    path: "../wit/handler.wit",
    imports: {
        "feishu-request": async,
        "feishu-upload": async,
        "card-stream-flush": async,
        "http-send": async,
        "kv-get": async,
        "kv-set": async,
        "kv-delete": async,
        "kv-increment": async,
        "kv-list": async,
    },
    exports: { default: async },
});

pub(crate) use self::aviary::handler::types::EventKind;

/// The WIT `event` record borrowed from a [`GuestEvent`]: the generated [`Event`] owns its
/// strings, so passing it would copy the whole envelope on every call; this lowers the same
/// record straight from the host's strings. Field names and order are the WIT record's; the
/// type is checked against the component's own `handle` export at load (see [`HandlePre`]).
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

/// The pre-instantiated component with its `handle` export found and type-checked once, at
/// load, against [`EventRef`] and [`Outcome`]: a call then neither looks the export up by name
/// nor type-checks it again (the generated bindings do both on every instantiation).
pub(crate) struct HandlePre<T: 'static> {
    pre: InstancePre<T>,
    handle: ComponentExportIndex,
}

impl<T: 'static> Clone for HandlePre<T> {
    fn clone(&self) -> Self {
        HandlePre {
            pre: self.pre.clone(),
            handle: self.handle,
        }
    }
}

impl<T: Send + 'static> HandlePre<T> {
    /// Checks the `handle` export of a component that already passed the world check.
    pub(crate) fn new(world: &HandlerPre<T>) -> wasmtime::Result<Self> {
        let pre = world.instance_pre().clone();
        let (item, handle) = pre
            .component()
            .get_export(None, "handle")
            .ok_or_else(|| wasmtime::format_err!("no export `handle` found"))?;
        match item {
            ComponentItem::ComponentFunc(func) => func
                .typecheck::<(EventRef<'_>,), (Outcome,)>(&pre.instance_type())
                .map_err(|e| e.context("type-checking export func `handle`"))?,
            _ => wasmtime::bail!("export `handle` is not a function"),
        }
        Ok(HandlePre { pre, handle })
    }

    /// The component.
    pub(crate) fn component(&self) -> &wasmtime::component::Component {
        self.pre.component()
    }

    /// A fresh instance in `store`, and its `handle`.
    pub(crate) async fn instantiate_async(
        &self,
        store: &mut Store<T>,
    ) -> wasmtime::Result<HandleExport> {
        let instance = self.pre.instantiate_async(&mut *store).await?;
        let func = instance
            .get_func(&mut *store, self.handle)
            .ok_or_else(|| wasmtime::format_err!("no export `handle` found"))?;
        Ok(HandleExport(func))
    }
}

/// The `handle` export of one instance made by [`HandlePre::instantiate_async`].
#[derive(Clone, Copy)]
pub(crate) struct HandleExport(Func);

impl HandleExport {
    /// The export, typed to take an [`EventRef`].
    pub(crate) fn typed<'a>(self) -> TypedFunc<(EventRef<'a>,), (Outcome,)> {
        // SAFETY: `self.0` is the `handle` export of an instance of the component whose
        // `handle` was type-checked against exactly these parameter and result types in
        // `HandlePre::new` (an instance cannot change its component's types).
        unsafe { TypedFunc::new_unchecked(self.0) }
    }
}
