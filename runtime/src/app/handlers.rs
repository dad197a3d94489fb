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
use crate::kv::KvGrant;
use crate::limits::OutOfRange;
use crate::manifest::{HandlerSettings, Location};
use crate::openapi::{OpenApiApp, OpenApiGrant, OpenApiSettings};
use crate::outbound::{AllowList, HttpLimits, OutboundSettings};
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
///     .openapi(["POST /open-apis/im/v1/messages"])
///     .kv()
///     .allowed_outbound_hosts(["https://api.example.com"])
///     .http_timeout(Duration::from_secs(5));
/// ```
///
/// Capabilities are denied until granted, as in a manifest: `feishu-request`
/// ([`Handler::openapi`]), key-value state ([`Handler::kv`], [`Handler::kv_shared`]) and
/// `http-send` ([`Handler::allowed_outbound_hosts`] and the `http_*` limits). Each grant goes
/// through the check its manifest key goes through, at [`crate::RuntimeBuilder::start`].
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
    Wasm(Box<Wasm>),
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
    /// `None`: denied; `Some(None)`: its own namespace; `Some(Some(name))`: shared `name`.
    kv: Option<Option<String>>,
    http: Http,
}

/// `http-send` grants as given, checked at start (manifest `allowed_outbound_hosts` and
/// `[handler.http]`).
#[derive(Default)]
struct Http {
    allowed: Vec<String>,
    timeout_ms: Option<u64>,
    max_requests: Option<u64>,
    max_request_bytes: Option<u64>,
    max_response_bytes: Option<u64>,
    tls_ca: Option<PathBuf>,
    allow_private_addresses: bool,
}

/// A handler checked and ready to load.
#[derive(Clone)]
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
#[derive(Clone)]
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
            Kind::Wasm(Box::new(Wasm {
                component: component.into(),
                ..Wasm::default()
            })),
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

    /// Key-value state in a namespace of its own, named after the handler (manifest
    /// `kv = true`; Wasm only; denied by default). It lives in the queue's backend.
    pub fn kv(mut self) -> Handler {
        if let Some(w) = self.wasm_mut("kv") {
            w.kv = Some(None);
        }
        self
    }

    /// Key-value state in the namespace `namespace`, shared by every handler naming it
    /// (manifest `kv = "name"`; Wasm only). It may not be another handler's own namespace.
    pub fn kv_shared(mut self, namespace: impl Into<String>) -> Handler {
        if let Some(w) = self.wasm_mut("kv") {
            w.kv = Some(Some(namespace.into()));
        }
        self
    }

    /// Where `http-send` may go: `"https://api.example.com"`, `"https://*.example.com"`,
    /// `"http://127.0.0.1:8080"`, … (manifest `allowed_outbound_hosts`; Wasm only; an empty
    /// list denies every request). Adds to those given before.
    pub fn allowed_outbound_hosts<I, S>(mut self, hosts: I) -> Handler
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let Some(w) = self.wasm_mut("allowed_outbound_hosts") {
            w.http.allowed.extend(hosts.into_iter().map(Into::into));
        }
        self
    }

    /// Time for one `http-send` request (manifest `http.timeout_ms`; Wasm only).
    pub fn http_timeout(mut self, timeout: Duration) -> Handler {
        if let Some(w) = self.wasm_mut("http.timeout_ms") {
            w.http.timeout_ms = Some(timeout.as_millis().try_into().unwrap_or(u64::MAX));
        }
        self
    }

    /// Most `http-send` requests in one call (manifest `http.max_requests`; Wasm only).
    pub fn http_max_requests(mut self, n: u64) -> Handler {
        if let Some(w) = self.wasm_mut("http.max_requests") {
            w.http.max_requests = Some(n);
        }
        self
    }

    /// Largest request body, bytes (manifest `http.max_request_bytes`; Wasm only).
    pub fn http_max_request_bytes(mut self, n: u64) -> Handler {
        if let Some(w) = self.wasm_mut("http.max_request_bytes") {
            w.http.max_request_bytes = Some(n);
        }
        self
    }

    /// Largest response body, bytes (manifest `http.max_response_bytes`; Wasm only).
    pub fn http_max_response_bytes(mut self, n: u64) -> Handler {
        if let Some(w) = self.wasm_mut("http.max_response_bytes") {
            w.http.max_response_bytes = Some(n);
        }
        self
    }

    /// Extra CA certificates (PEM) trusted for `https` requests (manifest `http.tls_ca`;
    /// Wasm only).
    pub fn http_tls_ca(mut self, pem: impl Into<PathBuf>) -> Handler {
        if let Some(w) = self.wasm_mut("http.tls_ca") {
            w.http.tls_ca = Some(pem.into());
        }
        self
    }

    /// Lets allowed names resolve to private and loopback addresses (manifest
    /// `http.allow_private_addresses`; Wasm only; off by default).
    pub fn http_allow_private_addresses(mut self, allow: bool) -> Handler {
        if let Some(w) = self.wasm_mut("http.allow_private_addresses") {
            w.http.allow_private_addresses = allow;
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
                let w = *w;
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
                let kv = match w.kv {
                    None => None,
                    Some(None) => Some(KvGrant::own(&self.name)),
                    Some(Some(namespace)) => match KvGrant::shared(namespace.trim()) {
                        Ok(grant) => Some(grant),
                        Err(why) => {
                            problem!("kv", why);
                            None
                        }
                    },
                };
                let http = outbound_settings(w.http, &mut problems, &who);
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
                        kv,
                        // `aviary build` reads manifests only.
                        build: None,
                        http,
                        // Filters and burst merge are manifest keys only (no builder methods).
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

/// What is wrong with a whole set of handlers (manifest and code-added together, at start or
/// reload): key-value namespace clashes ([`kv_clashes`]) and more than one default handler.
pub(crate) fn set_problems(planned: &[Planned]) -> Vec<String> {
    let mut problems = kv_clashes(planned);
    let defaults: Vec<&str> = planned
        .iter()
        .filter(|p| p.route.default)
        .map(|p| p.name.as_str())
        .collect();
    if defaults.len() > 1 {
        problems.push(format!(
            "handlers {}: at most one handler may be the default",
            defaults.join(", ")
        ));
    }
    problems
}

/// The own-namespace rule over manifest and code-added handlers together: a namespace shared
/// by one (`kv_shared`, `kv = "name"`) may not be another's own (the manifest's handlers among
/// themselves were held to it when it loaded). One message per clash.
fn kv_clashes(planned: &[Planned]) -> Vec<String> {
    let grants: Vec<(&str, &KvGrant)> = planned
        .iter()
        .filter_map(|p| match &p.run {
            Run::Wasm { settings, .. } => settings.kv.as_ref().map(|g| (p.name.as_str(), g)),
            Run::Native { .. } => None,
        })
        .collect();
    crate::kv::grant::own_namespace_clashes(&grants)
        .into_iter()
        .map(|(_, message)| message)
        .collect()
}

/// The `http-send` grant of a code-added handler through the checks of [`crate::outbound`]
/// (those the manifest's `allowed_outbound_hosts` and `[handler.http]` go through).
fn outbound_settings(http: Http, problems: &mut Vec<String>, who: &str) -> OutboundSettings {
    let allowed = AllowList::parse(&http.allowed).unwrap_or_else(|list| {
        for p in list {
            problems.push(format!("{who}: allowed_outbound_hosts: {}", p.message));
        }
        AllowList::default()
    });
    let mut limits = HttpLimits::default();
    type With = fn(HttpLimits, u64) -> Result<HttpLimits, OutOfRange>;
    let steps: [(&str, Option<u64>, With); 4] = [
        (
            "http.timeout_ms",
            http.timeout_ms,
            HttpLimits::with_timeout_ms,
        ),
        (
            "http.max_requests",
            http.max_requests,
            HttpLimits::with_max_requests,
        ),
        (
            "http.max_request_bytes",
            http.max_request_bytes,
            HttpLimits::with_max_request_bytes,
        ),
        (
            "http.max_response_bytes",
            http.max_response_bytes,
            HttpLimits::with_max_response_bytes,
        ),
    ];
    for (key, value, with) in steps {
        if let Some(n) = value {
            match with(limits, n) {
                Ok(l) => limits = l,
                Err(e) => problems.push(format!("{who}: {key}: {e}")),
            }
        }
    }
    let tls_ca = http
        .tls_ca
        .and_then(|path| match OutboundSettings::check_tls_ca(&path) {
            Ok(_) => Some(path),
            Err(why) => {
                problems.push(format!("{who}: http.tls_ca: {why}"));
                None
            }
        });
    OutboundSettings {
        allowed,
        limits,
        tls_ca,
        allow_private_addresses: http.allow_private_addresses,
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
