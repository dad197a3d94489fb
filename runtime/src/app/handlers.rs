//! Handlers added in code ([`Handler`]): a Wasm component or a [`NativeHandler`], with the
//! same routing and delivery settings a manifest `[[handler]]` has. Each is checked once, at
//! [`crate::RuntimeBuilder::start`], by the owning subsystems' checks (the same ones the
//! manifest calls), and every problem is reported, named by handler.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::native::NativeHandler;
use crate::dispatch::filter::FilterSettings;
use crate::dispatch::router::EventPattern;
use crate::dispatch::HandlerRoute;
use crate::manifest::{HandlerSettings, Location};
use crate::openapi::{OpenApiApp, OpenApiGrant, OpenApiSettings};
use crate::queue::merge::MergeSettings;
use crate::queue::retry::RetryPolicy;
use crate::sandbox::{HandlerLimits, LimitError};

/// One handler added in code. Build it with [`Handler::wasm`] or [`Handler::native`], then
/// say what it subscribes to ([`Handler::events`], or [`Handler::default_handler`]).
///
/// ```
/// use std::time::Duration;
/// use aviary::Handler;
///
/// let echo = Handler::wasm("echo", "handlers/echo.wasm")
///     .events(["im.message.receive_v1"])
///     .timeout(Duration::from_secs(2))
///     .memory_mb(64)
///     .openapi(["POST /open-apis/im/v1/messages"]);
/// ```
pub struct Handler {
    pub(crate) name: String,
    events: Vec<String>,
    default: bool,
    max_concurrency: Option<u64>,
    retry: RetryPolicy,
    timeout: Option<u64>,
    kind: Kind,
    /// Wasm-only settings given to a native handler (refused at start).
    misapplied: Vec<&'static str>,
}

enum Kind {
    Wasm(Wasm),
    Native(Arc<dyn NativeHandler>),
}

#[derive(Default)]
struct Wasm {
    component: PathBuf,
    memory_mb: Option<u64>,
    fuel: Option<u64>,
    reuse: Option<u64>,
    config: BTreeMap<String, String>,
    openapi: Vec<String>,
}

/// A handler checked and ready to load.
pub(crate) struct Planned {
    pub name: String,
    pub route: HandlerRoute,
    pub retry: RetryPolicy,
    /// Its filters (`chat_types`, `require_mention`, …); the default filters nothing.
    pub filter: FilterSettings,
    /// Burst merge per chat; `None`: every event is its own call.
    pub merge: Option<MergeSettings>,
    pub run: Run,
}

/// How a planned handler runs.
pub(crate) enum Run {
    /// In the sandbox; `manifest` is the file it was declared in (errors name its line).
    Wasm {
        settings: Box<HandlerSettings>,
        manifest: Option<PathBuf>,
    },
    Native {
        handler: Arc<dyn NativeHandler>,
        timeout: Duration,
    },
}

impl Planned {
    /// A `[[handler]]` of the manifest at `path` (already checked by the manifest).
    pub fn from_manifest(h: &HandlerSettings, path: &Path) -> Planned {
        Planned {
            name: h.name.clone(),
            route: h.route.clone(),
            retry: h.retry,
            filter: h.filter.clone(),
            merge: h.merge,
            run: Run::Wasm {
                settings: Box::new(h.clone()),
                manifest: Some(path.to_path_buf()),
            },
        }
    }

    /// `wasm` or `native`.
    pub fn kind(&self) -> &'static str {
        match self.run {
            Run::Wasm { .. } => "wasm",
            Run::Native { .. } => "native",
        }
    }
}

impl Handler {
    /// A handler that runs the WebAssembly component at `component` in the sandbox (limits:
    /// the manifest's defaults until set; capabilities: none until granted).
    pub fn wasm(name: impl Into<String>, component: impl Into<PathBuf>) -> Handler {
        Handler::new(
            name.into(),
            Kind::Wasm(Wasm {
                component: component.into(),
                ..Wasm::default()
            }),
        )
    }

    /// A handler written in Rust. **Not sandboxed**: see [`NativeHandler`].
    pub fn native(name: impl Into<String>, handler: impl NativeHandler) -> Handler {
        Handler::new(name.into(), Kind::Native(Arc::new(handler)))
    }

    fn new(name: String, kind: Kind) -> Handler {
        Handler {
            name,
            events: Vec::new(),
            default: false,
            max_concurrency: None,
            retry: RetryPolicy::default(),
            timeout: None,
            kind,
            misapplied: Vec::new(),
        }
    }

    /// The Wasm settings, or `None` (remembering `key` as misapplied) for a native handler.
    fn wasm_mut(&mut self, key: &'static str) -> Option<&mut Wasm> {
        match &mut self.kind {
            Kind::Wasm(w) => Some(w),
            Kind::Native(_) => {
                self.misapplied.push(key);
                None
            }
        }
    }

    /// The event types it gets: exact (`"im.message.receive_v1"`), a prefix wildcard
    /// (`"im.message.*"`) or `"*"`. Adds to those given before.
    pub fn events<I, S>(mut self, events: I) -> Handler
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.events.extend(events.into_iter().map(Into::into));
        self
    }

    /// Also gets the event types no other handler subscribes to (at most one handler).
    pub fn default_handler(mut self) -> Handler {
        self.default = true;
        self
    }

    /// Calls of this handler at once (manifest `max_concurrency`).
    pub fn max_concurrency(mut self, n: u64) -> Handler {
        self.max_concurrency = Some(n);
        self
    }

    /// When a failed run is tried again (with the durable queue).
    pub fn retry(mut self, retry: RetryPolicy) -> Handler {
        self.retry = retry;
        self
    }

    /// Wall-clock budget per call (manifest `timeout_ms`; 1 ms ..= 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Handler {
        self.timeout = Some(timeout.as_millis().try_into().unwrap_or(u64::MAX));
        self
    }

    /// Memory limit of one instance in MiB (Wasm only).
    pub fn memory_mb(mut self, mb: u64) -> Handler {
        if let Some(w) = self.wasm_mut("memory_mb") {
            w.memory_mb = Some(mb);
        }
        self
    }

    /// Fuel budget per call (Wasm only).
    pub fn fuel(mut self, fuel: u64) -> Handler {
        if let Some(w) = self.wasm_mut("fuel") {
            w.fuel = Some(fuel);
        }
        self
    }

    /// Events served by one instance before it is replaced (Wasm only).
    pub fn reuse(mut self, events: u64) -> Handler {
        if let Some(w) = self.wasm_mut("reuse") {
            w.reuse = Some(events);
        }
        self
    }

    /// A value the guest reads with `config-get` (Wasm only).
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Handler {
        if let Some(w) = self.wasm_mut("config") {
            w.config.insert(key.into(), value.into());
        }
        self
    }

    /// OpenAPI calls the guest may make with `feishu-request`: `"METHOD /open-apis/…"` or a
    /// bare prefix for every method (Wasm only; denied by default).
    pub fn openapi<I, S>(mut self, grants: I) -> Handler
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let Some(w) = self.wasm_mut("openapi") {
            w.openapi.extend(grants.into_iter().map(Into::into));
        }
        self
    }

    /// Checks every setting with the owning subsystem's check; `app` is who OpenAPI calls
    /// are made as. Every problem is returned, each naming the handler.
    pub(crate) fn plan(self, app: &OpenApiApp) -> Result<Planned, Vec<String>> {
        let who = format!("handler `{}`", self.name);
        let mut problems: Vec<String> = Vec::new();
        macro_rules! problem {
            ($key:expr, $why:expr $(,)?) => {
                problems.push(format!("{who}: {}: {}", $key, $why))
            };
        }
        if self.name.is_empty() {
            problem!("name", "must not be empty");
        } else if let Some(bad) = self
            .name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            problem!(
                "name",
                format!("contains `{bad}`; use letters, digits, `-` and `_`"),
            );
        }
        for key in &self.misapplied {
            problem!(key, "applies to Wasm handlers only");
        }
        let mut events = Vec::new();
        for text in &self.events {
            match EventPattern::parse(text) {
                Ok(p) if events.contains(&p) => {
                    problem!("events", format!("`{p}` is listed twice"))
                }
                Ok(p) => events.push(p),
                Err(why) => problem!("events", why),
            }
        }
        if events.is_empty() && !self.default && problems.is_empty() {
            problem!(
                "events",
                "subscribes to no event type; list some (\"*\" for all) or make it the default handler",
            );
        }
        let mut route = HandlerRoute::new(events);
        route.default = self.default;
        if let Some(n) = self.max_concurrency {
            match HandlerRoute::check_max_concurrency(n) {
                Ok(n) => route.max_concurrency = n,
                Err(why) => problem!("max_concurrency", why),
            }
        }
        let retry = match RetryPolicy::check_max_attempts(u64::from(self.retry.max_attempts))
            .map_err(|e| e.to_string())
            .and_then(|_| {
                RetryPolicy::new(
                    self.retry.max_attempts,
                    self.retry.backoff,
                    self.retry.backoff_max,
                )
                .map_err(|e| e.to_string())
            }) {
            Ok(r) => r,
            Err(why) => {
                problem!("retry", why);
                RetryPolicy::default()
            }
        };
        let mut limits = HandlerLimits::default();
        if let Some(ms) = self.timeout {
            match limits.with_timeout_ms(ms) {
                Ok(l) => limits = l,
                Err(why) => problem!("timeout", why),
            }
        }
        let run = match self.kind {
            Kind::Native(handler) => Run::Native {
                handler,
                timeout: limits.timeout(),
            },
            Kind::Wasm(w) => {
                let memory_mb = w.memory_mb;
                let reuse = w.reuse;
                let fuel = w.fuel;
                type Step = Box<dyn Fn(HandlerLimits) -> Result<HandlerLimits, LimitError>>;
                let steps: [(&str, Step); 3] = [
                    (
                        "memory_mb",
                        Box::new(move |l: HandlerLimits| match memory_mb {
                            Some(mb) => l.with_memory_mb(mb),
                            None => Ok(l),
                        }),
                    ),
                    (
                        "reuse",
                        Box::new(move |l: HandlerLimits| l.with_reuse(reuse)),
                    ),
                    ("fuel", Box::new(move |l: HandlerLimits| l.with_fuel(fuel))),
                ];
                for (key, step) in steps {
                    match step(limits) {
                        Ok(l) => limits = l,
                        Err(why) => problem!(key, why),
                    }
                }
                let openapi = match OpenApiGrant::parse(&w.openapi) {
                    Ok(grant) => (!grant.is_empty()).then(|| OpenApiSettings {
                        app: app.clone(),
                        grant,
                    }),
                    Err(list) => {
                        for p in list {
                            problem!("openapi", p.message);
                        }
                        None
                    }
                };
                if !w.component.is_file() {
                    problem!(
                        "component",
                        format!("{} is not a file", w.component.display()),
                    );
                }
                Run::Wasm {
                    settings: Box::new(HandlerSettings {
                        name: self.name.clone(),
                        component: w.component,
                        component_at: Location { line: 0, column: 0 },
                        route: route.clone(),
                        limits,
                        retry,
                        config: w.config,
                        openapi,
                        // Key-value state, outbound HTTP and `aviary build` are granted in a
                        // manifest only (not yet from code).
                        kv: None,
                        build: None,
                        http: crate::outbound::OutboundSettings::default(),
                        // Filters and burst merge: manifest only, as above.
                        filter: FilterSettings::default(),
                        merge: None,
                    }),
                    manifest: None,
                }
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Planned {
            name: self.name,
            route,
            retry,
            filter: FilterSettings::default(),
            merge: None,
            run,
        })
    }
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Wasm(w) => format!("wasm {}", w.component.display()),
            Kind::Native(_) => "native".to_string(),
        };
        f.debug_struct("Handler")
            .field("name", &self.name)
            .field("kind", &kind)
            .field("events", &self.events)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}
