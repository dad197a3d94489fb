//! A loaded handler: the pre-instantiated component plus its limits, and the per-call path
//! (store, limits, instantiate, call, classify).

use std::collections::BTreeMap;
use std::future::{poll_fn, Future};
use std::path::PathBuf;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Instant;

use wasmtime::{Engine, Store, UpdateDeadline};

#[cfg(any(test, feature = "internals"))]
use crate::guest_abi::section::GuestInfo;
use crate::handler::{Failure, GuestEvent, Invocation, Invoke, InvokeFuture, Outcome};
use crate::kv::stats::HandlerCalls;
use crate::kv::PendingWrites;
use crate::limits::sandbox::{MAX_IDLE_REUSED_INSTANCES, UNLIMITED_FUEL};
use crate::outbound::OutboundHttp;
use crate::sandbox::bindings::{self, HandleExport, HandlePre};
use crate::sandbox::classify::classify;
use crate::sandbox::spec::{HandlerLimits, KvAccess, OpenApiAccess};
use crate::sandbox::state::HostState;

/// A handler ready to run: compiled, checked, linked and pre-instantiated. Cheap to clone (an
/// `Arc`); calls may run concurrently, each in its own instance.
#[derive(Clone)]
pub struct LoadedHandler(Arc<Inner>);

struct Inner {
    name: String,
    /// The name again, shared with every store (the `feishu-request` key derivation uses it).
    shared_name: Arc<str>,
    path: PathBuf,
    engine: Engine,
    /// Whether `engine` meters fuel (then every call gets a budget and reports its use).
    metered: bool,
    pre: HandlePre<HostState>,
    limits: HandlerLimits,
    reuse: Option<u32>,
    config: Arc<BTreeMap<String, String>>,
    openapi: Option<OpenApiAccess>,
    http: Arc<OutboundHttp>,
    kv: Option<KvAccess>,
    kv_calls: Arc<HandlerCalls>,
    from_cache: bool,
    #[cfg(any(test, feature = "internals"))]
    guest: Option<GuestInfo>,
    idle: Mutex<Vec<Warm>>,
    /// Host states of finished calls, ready for the next store (see [`HostState::recycle`]).
    spare: Mutex<Vec<HostState>>,
    /// Calls that got a fresh instance.
    created: AtomicU64,
    /// Calls served by a kept instance.
    reused: AtomicU64,
}

/// An instance kept for reuse, with the number of events it has served.
struct Warm {
    store: Store<HostState>,
    instance: HandleExport,
    served: u32,
}

pub(crate) struct LoadParts {
    pub name: String,
    pub path: PathBuf,
    pub engine: Engine,
    pub metered: bool,
    pub pre: HandlePre<HostState>,
    pub limits: HandlerLimits,
    pub reuse: Option<u32>,
    pub config: BTreeMap<String, String>,
    pub openapi: Option<OpenApiAccess>,
    pub http: Arc<OutboundHttp>,
    pub kv: Option<KvAccess>,
    pub kv_calls: Arc<HandlerCalls>,
    pub from_cache: bool,
    #[cfg(any(test, feature = "internals"))]
    pub guest: Option<GuestInfo>,
}

impl LoadedHandler {
    pub(crate) fn new(p: LoadParts) -> Self {
        LoadedHandler(Arc::new(Inner {
            shared_name: Arc::from(p.name.as_str()),
            name: p.name,
            path: p.path,
            engine: p.engine,
            metered: p.metered,
            pre: p.pre,
            limits: p.limits,
            reuse: p.reuse,
            config: Arc::new(p.config),
            openapi: p.openapi,
            http: p.http,
            kv: p.kv,
            kv_calls: p.kv_calls,
            from_cache: p.from_cache,
            #[cfg(any(test, feature = "internals"))]
            guest: p.guest,
            idle: Mutex::new(Vec::new()),
            spare: Mutex::new(Vec::new()),
            created: AtomicU64::new(0),
            reused: AtomicU64::new(0),
        }))
    }

    /// What the component's `aviary:guest` marker says (components built by the JS or Python
    /// SDK), if it has one.
    #[cfg(any(test, feature = "internals"))]
    pub fn guest(&self) -> Option<&GuestInfo> {
        self.0.guest.as_ref()
    }

    /// The handler's outbound HTTP (`http-send`): its settings and its counters per outcome.
    #[cfg(any(test, feature = "internals"))]
    pub fn outbound(&self) -> &Arc<OutboundHttp> {
        &self.0.http
    }

    /// The reuse policy in force: the manifest's `reuse`, else the guest's default
    /// (`None`: an instance per event).
    #[cfg(any(test, feature = "internals"))]
    pub fn reuse(&self) -> Option<u32> {
        self.0.reuse
    }

    /// Whether the compiled code came from the on-disk cache (no compilation at load).
    #[cfg(any(test, feature = "internals"))]
    pub fn from_cache(&self) -> bool {
        self.0.from_cache
    }

    /// Runs one call; never panics, every failure is in the result.
    async fn run(&self, event: &GuestEvent) -> Invocation {
        let inner = &*self.0;
        let start = Instant::now();
        let limits = inner.limits;
        let budget = limits.fuel().unwrap_or(UNLIMITED_FUEL);

        let (mut store, instance, served) = match self.take_idle() {
            Some(w) => {
                inner.reused.fetch_add(1, Ordering::Relaxed);
                (w.store, Some(w.instance), w.served)
            }
            None => {
                inner.created.fetch_add(1, Ordering::Relaxed);
                (self.new_store(), None, 0)
            }
        };
        // Reset every budget at the start of every call (also for a reused instance).
        store.data_mut().deadline = start + limits.timeout();
        store.data_mut().limiter.begin_call();
        let _ = store.data().logs.take();
        store.data_mut().call.dedupe_id.clone_from(&event.dedupe_id);
        store.data_mut().call.next_request = 0;
        store.data_mut().call.http_requests = 0;
        store.data_mut().kv_run.reset();
        let fuel_ok = if inner.metered {
            store.set_fuel(budget)
        } else {
            Ok(())
        };
        store.set_epoch_deadline(1);

        let call = async {
            fuel_ok?;
            let instance = match instance {
                Some(i) => i,
                None => inner.pre.instantiate_async(&mut store).await?,
            };
            // Lowered straight from `event`'s strings (no copy of the envelope).
            let (outcome,) = instance
                .typed()
                .call_async(&mut store, (bindings::EventRef::new(event),))
                .await?;
            wasmtime::Result::Ok((instance, outcome))
        };
        let result = timeout_at(start + limits.timeout(), call).await;

        let fuel_used = inner
            .metered
            .then(|| store.get_fuel().ok().map(|left| budget - left))
            .flatten();
        let peak_memory_bytes = store.data().limiter.peak();
        let logs = store.data().logs.take();
        // The run's writes travel with a returned outcome; a failed call's are dropped here.
        let kv = match (&result, &inner.kv) {
            (Ok(Ok(_)), Some(access)) => {
                let writes = store.data_mut().kv_run.take(&access.namespace);
                (!writes.is_empty()).then(|| PendingWrites {
                    writes,
                    store: access.store.clone(),
                })
            }
            _ => {
                store.data_mut().kv_run.reset();
                None
            }
        };
        let result = match result {
            Ok(Ok((instance, outcome))) => {
                self.keep(store, instance, served + 1);
                Ok(from_wit(outcome))
            }
            Ok(Err(e)) => Err(classify(&e, &limits, &logs)),
            Err(_elapsed) => Err(Failure::Timeout {
                limit: limits.timeout(),
            }),
        };
        Invocation {
            result,
            fuel_used,
            peak_memory_bytes,
            wall: start.elapsed(),
            logs,
            kv,
        }
    }

    fn new_store(&self) -> Store<HostState> {
        let inner = &*self.0;
        let spare = inner.spare.lock().unwrap().pop();
        let state = spare.unwrap_or_else(|| {
            HostState::new(
                inner.limits.memory_bytes(),
                inner.config.clone(),
                inner.openapi.clone(),
                inner.http.clone(),
                (inner.kv.clone(), inner.kv_calls.clone()),
                inner.shared_name.clone(),
            )
        });
        let mut store = Store::new(&inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Every tick: trap once past the call's deadline, else yield to the executor so a busy
        // guest cannot monopolise a worker thread (and the outer timeout gets polled).
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ))
            }
        });
        store
    }

    fn take_idle(&self) -> Option<Warm> {
        self.0.reuse?;
        self.0.idle.lock().unwrap().pop()
    }

    /// Keeps a healthy instance for its next event if the reuse policy allows; otherwise drops
    /// it (with pooling, dropping the store is where the memory slot is reset).
    fn keep(&self, store: Store<HostState>, instance: HandleExport, served: u32) {
        let Some(limit) = self.0.reuse else {
            // Instance per event: the instance goes with the store (its pool slot is reset
            // here); the host state of this clean call is kept for the next store.
            let _ = instance;
            let state = store.into_data().recycle(self.0.limits.memory_bytes());
            let mut spare = self.0.spare.lock().unwrap();
            if spare.len() < MAX_IDLE_REUSED_INSTANCES {
                spare.push(state);
            }
            return;
        };
        if served >= limit {
            return;
        }
        let mut idle = self.0.idle.lock().unwrap();
        if idle.len() < MAX_IDLE_REUSED_INSTANCES {
            idle.push(Warm {
                store,
                instance,
                served,
            });
        }
    }
}

impl Invoke for LoadedHandler {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(self.run(event))
    }

    fn instances(&self) -> Option<(u64, u64)> {
        Some((
            self.0.created.load(Ordering::Relaxed),
            self.0.reused.load(Ordering::Relaxed),
        ))
    }
}

impl std::fmt::Debug for LoadedHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedHandler")
            .field("name", &self.0.name)
            .field("path", &self.0.path)
            .field("limits", &self.0.limits)
            .field("reuse", &self.0.reuse)
            .field("from_cache", &self.0.from_cache)
            .finish_non_exhaustive()
    }
}

/// The call ran past its wall-clock deadline.
struct Elapsed;

/// `tokio::time::timeout_at`, except that the timer is only created (and registered with the
/// runtime's timer wheel) if `fut` does not finish on its first poll. Most calls never wait (a
/// handler that neither blocks in a host call nor runs past an epoch tick completes in one
/// poll), so they skip the timer's setup and teardown; the bound is the same absolute
/// deadline either way, and like tokio's, `fut` is polled before the timer.
async fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Result<F::Output, Elapsed> {
    let mut fut = pin!(fut);
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
    poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        let timer =
            timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
        timer.as_mut().poll(cx).map(|()| Err(Elapsed))
    })
    .await
}

fn from_wit(o: bindings::Outcome) -> Outcome {
    match o {
        bindings::Outcome::Done => Outcome::Done,
        bindings::Outcome::Respond(body) => Outcome::Respond(body),
        bindings::Outcome::Retry(reason) => Outcome::Retry(reason),
        bindings::Outcome::Reject(reason) => Outcome::Reject(reason),
    }
}
