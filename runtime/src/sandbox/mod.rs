//! The sandbox: runs handlers compiled to WebAssembly components (world `aviary:handler`,
//! `wit/handler.wit`) under wasmtime, so that one broken handler never harms the connection,
//! other handlers or other events.
//!
//! ```text
//! Sandbox::new(SandboxConfig)      engines (fuel-metered or not) + epoch tickers + disk cache
//!   └─ load(HandlerSpec)           read → header check → compile or cache hit → version/world
//!        │                          check → link (deny-all WASI + log + config-get +
//!        │                          feishu-request) → pre-instantiate
//!        └─ LoadedHandler: Invoke  per call: store + limits → instantiate → handle → classify
//! ```
//!
//! # Limits (per call, every call starts with the full budget)
//! - **Timeout** (wall clock, always on, default [`crate::limits::dispatch::HANDLER_TIMEOUT`]):
//!   enforced twice. The epoch ticker (its own OS thread) ticks every
//!   [`crate::limits::sandbox::EPOCH_TICK`]; on each tick a running guest yields to the executor
//!   and traps once past its deadline. Around the whole call (instantiation included) sits a
//!   `tokio::time::timeout`, which also ends calls blocked in a host function (e.g. a WASI sleep),
//!   which epochs cannot interrupt. Both are reset at the start of every call.
//! - **Memory** (default [`crate::limits::dispatch::HANDLER_MEMORY_MB`]): the *total* over all the instance's linear memories, enforced by
//!   our own `ResourceLimiter` (`limiter`), which also records the peak.
//! - **Fuel** (optional, default none): a deterministic instruction budget.
//!
//! # Fuel on/off per handler
//! Fuel metering is compiled into the code, so it is a property of the engine. The sandbox has
//! two engines, each with its own instance pool, epoch ticker, linker and cache key: handlers
//! with a fuel budget run on the metered one, the others (the default) on one without fuel
//! checks, so they do not pay for a budget they do not have. Measured on wasmtime 48 on a
//! 2-core VM (`docs/sandbox.md`, "Fuel"): fuel costs +29–32% guest CPU on its own,
//! and with epochs also on (always, here) +49% on a JSON parse and +102% on call-heavy `fib`
//! (interpreters such as the JS and Python guests are call-heavy); on the example handler's
//! message event it is ~1.7 of ~24 µs per call. An engine is built when the first handler
//! needs it. [`Invocation::fuel_used`](crate::handler::Invocation::fuel_used) is reported for
//! metered handlers only; [`SandboxConfig::meter_fuel_always`] meters every handler (`aviary
//! invoke` sets it, so a developer sees what a handler uses before choosing a budget).
//!
//! # Instances and reuse
//! By default every event gets a fresh instance from the pre-instantiated handler, so no state
//! survives an event. With the pooling allocator, instantiating costs a few µs; dropping the
//! store resets the instance's memory slot, which is where most of the cost was (10–30 µs when
//! the dirtied pages went back to the kernel and were faulted in again). The pool now resets
//! only the pages a call dirtied, in place (Linux PAGEMAP_SCAN, up to
//! [`crate::limits::sandbox::MEMORY_KEEP_RESIDENT_BYTES`]), so a fresh instance of the example
//! handler costs ~12 µs in total on the 2-core development VM. A handler may opt in to `reuse = N`: an instance then serves up to `N`
//! events, **and its global state (statics, heap) persists between those events**: a handler
//! must not rely on it being either present or absent. Any failure (trap, timeout, memory,
//! fuel) discards the instance; a trapped instance is never entered again.
//!
//! When the manifest sets no `reuse`, the default depends on the guest (`guest`): components
//! marked as JavaScript or Python by their SDK's build command reuse instances
//! ([`crate::limits::sandbox::HEAVY_GUEST_DEFAULT_REUSE`] events each), because a fresh
//! instance costs them 0.3–2 ms per event; everything else gets a fresh instance per event.
//! `reuse = 1` forces a fresh instance per event for any guest.
//!
//! # Capabilities
//! WASI is linked with everything denied (`host::wasi`): no files, environment, arguments,
//! sockets or host stdio; stdout/stderr are captured (capped) into [`Invocation::logs`](crate::handler::Invocation::logs) with
//! their stream. `log` lines go to the same capped list (`host::log`); `config-get` reads the
//! handler's own settings (`host::config`); `feishu-request` calls the Feishu OpenAPI only
//! on the paths the manifest grants the handler, with the token and idempotency keys added by
//! the host (`host::feishu`, [`crate::openapi`]). The sandbox emits nothing to `tracing` per call;
//! the caller, which knows event and trace ids, emits them (`crate::dispatch::guest_log`).
//!
//! # Compiling
//! A component is compiled once per engine and kept as an artefact (`artefact`): next to the
//! component (`aviary compile --beside`) or in the cache directory (`cache`). A missing, stale,
//! corrupted or foreign artefact is (re)built by the `compiler`, within a memory budget and, in
//! the `aviary` binary, in a child process so that the compiler's memory goes back to the
//! system ([`CompileIn`]).
//!
//! # Failures
//! Every failed call is a [`Failure`](crate::handler::Failure): out of fuel, timeout, memory limit, panic (with the
//! message the guest logged at error level or wrote to stderr last), stack overflow, any other
//! trap (with its backtrace), or a host error.

mod artefact;
mod bindings;
mod cache;
mod classify;
mod compiler;
mod engine;
mod error;
pub(crate) mod host;
pub(crate) mod limiter;
mod loaded;
mod logs;
mod spec;
mod state;
mod version;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::Engine;

pub use artefact::beside_path;
pub use cache::{default_cache_dir, Origin};
pub use compiler::{run_worker, CompileIn, WorkerRequest};
pub use error::{LoadError, WorldError};
pub use loaded::LoadedHandler;
pub use spec::{HandlerLimits, HandlerSpec, KvAccess, LimitError, OpenApiAccess};
#[cfg(any(test, feature = "internals"))]
pub use version::WIT_VERSION;

use crate::guest_abi::section::{self, GuestInfo};
use crate::limits::sandbox as limits;
use crate::outbound::OutboundHttp;
use bindings::{HandlePre, HandlerPre};
use state::HostState;

/// Process-wide sandbox settings.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where compiled components are cached. `None`: [`default_cache_dir`]
    /// (`$XDG_CACHE_HOME/aviary` or `~/.cache/aviary`).
    pub cache_dir: Option<PathBuf>,
    /// `false` turns the disk cache off (every load compiles).
    pub cache: bool,
    /// Component instances alive at once over all handlers of one engine (the pool size; the
    /// fuel-metered and the unmetered engine have one pool each).
    pub max_instances: u32,
    /// Largest single linear memory (the pool's slot size); caps every handler's `memory`.
    pub max_memory_bytes: u64,
    /// Period of the epoch ticker.
    pub epoch_tick: Duration,
    /// Meter fuel for every handler, also those without a fuel budget (they get
    /// [`limits::UNLIMITED_FUEL`] and report what they used). Off by default: unbudgeted
    /// handlers then run without fuel checks (see "Fuel" in the module doc).
    pub meter_fuel_always: bool,
    /// Where components are compiled (this process by default; the `aviary` binary uses a
    /// child process).
    pub compile_in: CompileIn,
    /// Memory budget for compiles running at once (estimated peaks).
    pub compile_memory_bytes: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            cache_dir: None,
            cache: true,
            max_instances: limits::POOL_INSTANCES,
            max_memory_bytes: limits::MAX_MEMORY_BYTES,
            epoch_tick: limits::EPOCH_TICK,
            meter_fuel_always: false,
            compile_in: CompileIn::ThisProcess,
            compile_memory_bytes: limits::COMPILE_MEMORY_BUDGET_BYTES,
        }
    }
}

/// What [`Sandbox::check`] learned about a valid component.
#[derive(Debug, Clone)]
#[cfg_attr(
    not(any(test, feature = "internals")),
    allow(dead_code, reason = "besides `origin`, read by the test crates")
)]
pub struct ComponentInfo {
    /// The `aviary:handler` version it was built against.
    pub wit_version: String,
    /// Whether the compiled code came from an artefact (cache directory or next to the
    /// component).
    pub from_cache: bool,
    /// Where exactly.
    pub origin: Origin,
    /// The `aviary:guest` marker, for components built by the JS or Python SDK.
    pub guest: Option<GuestInfo>,
}

/// One engine (fuel metering on or off) with its epoch ticker, linker and compile cache,
/// shared by every handler that runs on it.
struct Flavor {
    engine: Engine,
    linker: Linker<HostState>,
    cache: cache::CompileCache,
}

impl Flavor {
    fn new(config: &SandboxConfig, metered: bool) -> anyhow::Result<Flavor> {
        let engine = engine::build(config, metered).map_err(anyhow::Error::from)?;
        engine::start_ticker(&engine, config.epoch_tick)?;
        let linker = host::linker(&engine).map_err(anyhow::Error::from)?;
        let dir = if config.cache {
            config.cache_dir.clone().or_else(default_cache_dir)
        } else {
            None
        };
        let cache = cache::CompileCache::new(&engine, dir, metered);
        Ok(Flavor {
            engine,
            linker,
            cache,
        })
    }
}

/// The engines, their epoch tickers, compile caches and linkers, shared by every handler.
pub struct Sandbox {
    /// For handlers without a fuel budget (no fuel checks compiled in).
    unmetered: OnceLock<Flavor>,
    /// For handlers with a fuel budget, and for all of them with `meter_fuel_always`.
    metered: OnceLock<Flavor>,
    config: SandboxConfig,
    compiler: cache::Compiler,
    compiled: AtomicU64,
}

impl Sandbox {
    /// Creates the engine most handlers run on (pooling allocator, epochs, backtraces; fuel
    /// metering only with [`SandboxConfig::meter_fuel_always`]) and starts its ticker; the
    /// other engine is built when the first handler needs it.
    pub fn new(config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let compiler = cache::Compiler {
            place: config.compile_in.clone(),
            budget: compiler::Budget::new(config.compile_memory_bytes),
            max_memory_bytes: config.max_memory_bytes,
        };
        let sandbox = Sandbox {
            unmetered: OnceLock::new(),
            metered: OnceLock::new(),
            config,
            compiler,
            compiled: AtomicU64::new(0),
        };
        sandbox.flavor(sandbox.config.meter_fuel_always)?;
        Ok(sandbox)
    }

    /// The engine for metered (`true`) or unmetered handlers, built on first use.
    fn flavor(&self, metered: bool) -> Result<&Flavor, LoadError> {
        let cell = if metered {
            &self.metered
        } else {
            &self.unmetered
        };
        if let Some(flavor) = cell.get() {
            return Ok(flavor);
        }
        // If two loads race, one engine is dropped unused.
        let flavor =
            Flavor::new(&self.config, metered).map_err(|source| LoadError::Engine { source })?;
        let _ = cell.set(flavor);
        Ok(cell.get().expect("just set"))
    }

    /// Loads a handler: compiles (or takes from an artefact), checks version and world, links
    /// and pre-instantiates. CPU-heavy on a miss (~0.5 s per MB of component) and it may wait
    /// for the compile budget: call it from a blocking context or `spawn_blocking`. Loads may
    /// run in parallel.
    pub fn load(&self, spec: HandlerSpec) -> Result<LoadedHandler, LoadError> {
        // The limits are valid by construction; only the pool's slot size is this sandbox's.
        if spec.limits.memory_bytes() > self.config.max_memory_bytes {
            return Err(LoadError::Limits {
                handler: spec.name,
                message: format!(
                    "memory {} bytes is more than the {} bytes of this sandbox's pool slots",
                    spec.limits.memory_bytes(),
                    self.config.max_memory_bytes
                ),
            });
        }
        let metered = self.config.meter_fuel_always || spec.limits.fuel().is_some();
        let flavor = self.flavor(metered)?;
        let (pre, origin, guest) = self.prepare(flavor, &spec.component)?;
        let from_cache = origin != Origin::Compiled;
        // Unset in the manifest: interpreted guests (JavaScript, Python) reuse instances.
        let reuse = spec
            .limits
            .reuse()
            .or_else(|| guest.as_ref().and_then(GuestInfo::default_reuse));
        let http = match spec.http {
            Some(http) => http,
            None => Arc::new(OutboundHttp::denied(&spec.name)),
        };
        Ok(LoadedHandler::new(loaded::LoadParts {
            name: spec.name,
            path: spec.component,
            engine: flavor.engine.clone(),
            metered,
            pre,
            limits: spec.limits,
            reuse,
            #[cfg(any(test, feature = "internals"))]
            guest,
            config: spec.config,
            openapi: spec.openapi,
            http,
            kv: spec.kv,
            kv_calls: spec.kv_calls,
            from_cache,
        }))
    }

    /// Validates a component without running it: everything `load` does for a handler without
    /// a fuel budget, except keeping the result. Also fills that engine's cache.
    #[cfg(any(test, feature = "internals"))]
    pub fn check(&self, component: &Path) -> Result<ComponentInfo, LoadError> {
        self.precompile(component, self.config.meter_fuel_always, false)
    }

    /// What `aviary compile` does for one component: everything [`Sandbox::check`] does, on the
    /// fuel-metered engine if `metered`, so that its artefact exists afterwards (in the cache
    /// directory; with `beside` also next to the component, see [`beside_path`]).
    pub fn precompile(
        &self,
        component: &Path,
        metered: bool,
        beside: bool,
    ) -> Result<ComponentInfo, LoadError> {
        let flavor = self.flavor(metered)?;
        let (pre, origin, guest) = self.prepare(flavor, component)?;
        if beside && origin != Origin::Beside {
            let bytes = std::fs::read(component).map_err(|source| LoadError::Read {
                path: component.to_path_buf(),
                source,
            })?;
            let file = beside_path(component, metered);
            cache::store(&file, &artefact::sha256(&bytes), pre.component()).map_err(|e| {
                LoadError::Compiler {
                    path: component.to_path_buf(),
                    message: format!("cannot write {}: {e:#}", file.display()),
                }
            })?;
        }
        let wit_version =
            version::imported_version(&flavor.engine, pre.component()).unwrap_or_default();
        Ok(ComponentInfo {
            wit_version,
            from_cache: origin != Origin::Compiled,
            origin,
            guest,
        })
    }

    /// How many components this sandbox has compiled (cache misses) since it was created.
    pub fn compile_count(&self) -> u64 {
        self.compiled.load(Ordering::Relaxed)
    }

    #[allow(clippy::type_complexity)]
    fn prepare(
        &self,
        flavor: &Flavor,
        path: &Path,
    ) -> Result<(HandlePre<HostState>, Origin, Option<GuestInfo>), LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        version::check_header(&bytes, path)?;
        let guest = section::read(&bytes);
        let (component, origin) =
            flavor
                .cache
                .load(&flavor.engine, &bytes, path, &self.compiler)?;
        drop(bytes);
        if origin == Origin::Compiled {
            self.compiled.fetch_add(1, Ordering::Relaxed);
        }
        version::check(&flavor.engine, &component, path)?;
        let instance_pre = flavor
            .linker
            .instantiate_pre(&component)
            .map_err(|source| LoadError::Imports {
                path: path.to_path_buf(),
                source,
            })?;
        let pre = HandlerPre::new(instance_pre)
            .and_then(|world| HandlePre::new(&world))
            .map_err(|e| LoadError::World {
                path: path.to_path_buf(),
                reason: WorldError::Bindings(e),
            })?;
        Ok((pre, origin, guest))
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.config)
            .field("compiled", &self.compile_count())
            .finish_non_exhaustive()
    }
}
