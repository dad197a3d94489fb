//! `[[handler]]` entries and the `[dispatch]` table: validated into [`HandlerSettings`] and
//! [`DispatchSettings`]. Every problem is collected (not just the first) and names the file,
//! the line and the key.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::{RawDispatch, RawHandler};
use super::{Context, ManifestError};
use crate::build::BuildSettings;
use crate::dispatch::filter::FilterSettings;
use crate::dispatch::router::EventPattern;
use crate::dispatch::{DispatchMode, DispatchSettings, HandlerRoute};
use crate::kv::KvGrant;
use crate::limits::dispatch as lim;
use crate::openapi::{OpenApiGrant, OpenApiSettings};
use crate::outbound::OutboundSettings;
use crate::queue::merge::MergeSettings;
use crate::queue::retry::RetryPolicy;
use crate::queue::QueueSettings;
use crate::sandbox::{HandlerLimits, LimitError};

/// Where a value was written in the manifest (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One `[[handler]]`, validated: its name and component, and one part per subsystem, each a
/// type of that subsystem carried whole to it (dispatch's [`HandlerRoute`], the sandbox's
/// [`HandlerLimits`], the queue's [`RetryPolicy`], the OpenAPI grant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerSettings {
    /// Unique name (letters, digits, `-`, `_`), used in logs and on the command line.
    pub name: String,
    /// The component file, resolved against the manifest's directory.
    pub component: PathBuf,
    /// Where `component` was written, for errors about the file.
    pub component_at: Location,
    /// `events`, `default`, `max_concurrency`: which events reach it, how many calls at once.
    pub route: HandlerRoute,
    /// `fuel`, `timeout_ms`, `memory_mb`, `reuse`: what one call may use, how long an
    /// instance lives.
    pub limits: HandlerLimits,
    /// `max_attempts`, `backoff_ms`, `backoff_max_ms`: when a failed run (with the durable
    /// queue) is tried again.
    pub retry: RetryPolicy,
    /// `[handler.config]`: what the guest reads with `config-get` (`${VAR}` expanded).
    pub config: BTreeMap<String, String>,
    /// `openapi = ["POST /open-apis/…", "/open-apis/…", …]`: what this handler may call with
    /// `feishu-request` (see [`OpenApiGrant`]), and the app it calls as (`[feishu]`). `None`:
    /// every call is denied.
    pub openapi: Option<OpenApiSettings>,
    /// Filters applied before the handler is called (`chat_types`, `require_mention`, …);
    /// the default filters nothing.
    pub filter: FilterSettings,
    /// Burst merge per chat (`merge = { … }`); `None`: every event is its own call.
    pub merge: Option<MergeSettings>,
    /// `kv = true` (its own namespace) or `kv = "name"` (a shared one): what its `kv-*` calls
    /// read and write. `None`: every call is denied.
    pub kv: Option<KvGrant>,
    /// `[handler.build]`: how `aviary build` makes `component`; `None`: built elsewhere.
    pub build: Option<BuildSettings>,
    /// `allowed_outbound_hosts` and `[handler.http]`: where `http-send` may go and its limits.
    /// An empty allow-list (the default) denies every request.
    pub http: OutboundSettings,
}

/// Collects problems instead of stopping at the first.
pub(super) struct Problems<'c, 'a> {
    pub(super) cx: &'c Context<'a>,
    pub(super) list: Vec<ManifestError>,
}

impl Problems<'_, '_> {
    pub(super) fn add(
        &mut self,
        span: &std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) {
        if let Err(e) = self.cx.invalid::<()>(span, key, message) {
            self.list.push(e);
        }
    }

    /// The value as the owning subsystem's `check` accepts it, or the default (and a problem
    /// at `key`, on the value's line).
    pub(super) fn checked<T, E: std::fmt::Display>(
        &mut self,
        v: &Option<Spanned<u64>>,
        key: &str,
        check: impl FnOnce(u64) -> Result<T, E>,
        default: T,
    ) -> T {
        match v {
            None => default,
            Some(v) => match check(*v.get_ref()) {
                Ok(t) => t,
                Err(why) => {
                    self.add(&v.span(), key, why.to_string());
                    default
                }
            },
        }
    }
}

impl Context<'_> {
    /// Validates `[dispatch]` and every `[[handler]]`, reporting all problems at once.
    pub(super) fn dispatch_and_handlers(
        &self,
        dispatch: RawDispatch,
        handlers: Vec<RawHandler>,
        queue: Option<&QueueSettings>,
    ) -> Result<(DispatchSettings, Vec<HandlerSettings>), ManifestError> {
        let mut p = Problems {
            cx: self,
            list: Vec::new(),
        };
        let dispatch = dispatch_settings(&mut p, dispatch);
        let base = self.path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut default_at: Option<(String, usize)> = None;
        let mut kv_written = Vec::new();
        let mut out = Vec::new();
        for raw in handlers {
            let kv_span = raw.kv.as_ref().map(|v| v.span());
            let Some(h) = handler_settings(&mut p, raw, &base, &mut names, &mut default_at, queue)
            else {
                continue;
            };
            if let (Some(grant), Some(span)) = (&h.kv, kv_span) {
                kv_written.push(super::kv::Written {
                    handler: h.name.clone(),
                    grant: grant.clone(),
                    span,
                });
            }
            out.push(h);
        }
        for (span, message) in super::kv::clashes(&kv_written) {
            p.add(&span, "handler.kv", message);
        }
        match ManifestError::from_list(p.list) {
            None => Ok((dispatch, out)),
            Some(e) => Err(e),
        }
    }
}

fn dispatch_settings(p: &mut Problems<'_, '_>, raw: RawDispatch) -> DispatchSettings {
    let d = DispatchSettings::default();
    let mode = match &raw.mode {
        None => d.mode,
        Some(m) => DispatchMode::from_name(m.get_ref()).unwrap_or_else(|why| {
            p.add(&m.span(), "dispatch.mode", why);
            d.mode
        }),
    };
    let max_in_flight = p.checked(
        &raw.max_in_flight,
        "dispatch.max_in_flight",
        DispatchSettings::check_max_in_flight,
        d.max_in_flight,
    );
    let callback_deadline = p.checked(
        &raw.callback_deadline_ms,
        "dispatch.callback_deadline_ms",
        DispatchSettings::check_callback_deadline_ms,
        d.callback_deadline,
    );
    DispatchSettings {
        mode,
        per_chat_ordering: raw
            .per_chat_ordering
            .map(|v| *v.get_ref())
            .unwrap_or(d.per_chat_ordering),
        max_in_flight,
        callback_deadline,
    }
}

fn handler_settings(
    p: &mut Problems<'_, '_>,
    raw: RawHandler,
    base: &Path,
    names: &mut HashMap<String, usize>,
    default_at: &mut Option<(String, usize)>,
    queue: Option<&QueueSettings>,
) -> Option<HandlerSettings> {
    let errors_before = p.list.len();
    let name = raw.name.get_ref().trim().to_string();
    let (name_line, _) = p.cx.source.span_start(&raw.name.span());
    if name.is_empty() {
        p.add(&raw.name.span(), "handler.name", "must not be empty");
    } else if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        p.add(
            &raw.name.span(),
            "handler.name",
            format!("`{name}` contains `{bad}`; use letters, digits, `-` and `_`"),
        );
    } else if let Some(first) = names.get(&name) {
        p.add(
            &raw.name.span(),
            "handler.name",
            format!(
                "`{name}` is already the name of the handler on line {first}; names must be unique"
            ),
        );
    } else {
        names.insert(name.clone(), name_line);
    }
    let who = format!("handler `{name}`");

    let component = match p.cx.non_empty(&raw.component, "handler.component") {
        Ok(c) => base.join(c.trim()),
        Err(e) => {
            p.list.push(e);
            PathBuf::new()
        }
    };
    let (line, column) = p.cx.source.span_start(&raw.component.span());
    let component_at = Location { line, column };

    let mut events = Vec::new();
    if let Some(list) = &raw.events {
        for pattern in list.get_ref() {
            match EventPattern::parse(pattern.get_ref()) {
                Ok(pat) if events.contains(&pat) => p.add(
                    &pattern.span(),
                    "handler.events",
                    format!("{who}: `{pat}` is listed twice"),
                ),
                Ok(pat) => events.push(pat),
                Err(why) => p.add(&pattern.span(), "handler.events", format!("{who}: {why}")),
            }
        }
    }
    let default = raw
        .is_default
        .as_ref()
        .map(|v| *v.get_ref())
        .unwrap_or(false);
    if let (true, Some(v)) = (default, &raw.is_default) {
        if let Some((other, line)) = default_at {
            p.add(
                &v.span(),
                "handler.default",
                format!("{who}: handler `{other}` (line {line}) is already the default; at most one handler may be"),
            );
        } else {
            *default_at = Some((name.clone(), p.cx.source.span_start(&v.span()).0));
        }
    }
    if events.is_empty() && !default && p.list.len() == errors_before {
        let span = raw
            .events
            .as_ref()
            .map(|e| e.span())
            .unwrap_or_else(|| raw.name.span());
        p.add(
            &span,
            "handler.events",
            format!("{who} subscribes to no event type; list some (\"*\" for all) or set default = true"),
        );
    }

    let limits = handler_limits(p, &raw, &who);
    let route = HandlerRoute {
        events,
        default,
        max_concurrency: p.checked(
            &raw.max_concurrency,
            "handler.max_concurrency",
            HandlerRoute::check_max_concurrency,
            lim::HANDLER_MAX_CONCURRENCY,
        ),
    };
    let retry = retry_policy(p, &raw, &who);

    let written: Vec<&Spanned<String>> = raw.openapi.iter().flat_map(|l| l.get_ref()).collect();
    let values: Vec<&str> = written.iter().map(|v| v.get_ref().as_str()).collect();
    // The app is filled in once `[feishu]` is known (`Manifest::parse`).
    let openapi = match OpenApiGrant::parse(&values) {
        Ok(grant) => (!grant.is_empty()).then(|| OpenApiSettings {
            app: Default::default(),
            grant,
        }),
        Err(problems) => {
            for problem in problems {
                let span = written[problem.index].span();
                p.add(
                    &span,
                    "handler.openapi",
                    format!("{who}: {}", problem.message),
                );
            }
            None
        }
    };

    let http = super::outbound::settings(p, &raw, base, &who);

    let mut config = BTreeMap::new();
    for (key, value) in raw.config.iter().flatten() {
        if key.trim().is_empty() {
            p.add(
                &value.span(),
                "handler.config",
                format!("{who}: config keys must not be empty"),
            );
            continue;
        }
        match p.cx.expand(value, &format!("handler.config.{key}")) {
            Ok(v) => {
                config.insert(key.clone(), v);
            }
            Err(e) => p.list.push(e),
        }
    }

    let filter = super::filters::filter_settings(p, &raw, &who);
    let merge = super::merge::merge_settings(p, &raw.merge, &who, queue, &route.events);
    let kv = match &raw.kv {
        None => None,
        Some(v) => super::kv::grant(v, &name).unwrap_or_else(|why| {
            p.add(&v.span(), "handler.kv", format!("{who}: {why}"));
            None
        }),
    };
    let build = raw.build.as_ref().and_then(|b| {
        p.cx.build_settings(b, base, &who)
            .map_err(|e| p.list.push(e))
            .ok()
    });

    (p.list.len() == errors_before).then_some(HandlerSettings {
        name,
        component,
        component_at,
        route,
        limits,
        retry,
        config,
        openapi,
        filter,
        merge,
        kv,
        build,
        http,
    })
}

/// `fuel`, `timeout_ms`, `memory_mb` and `reuse`, each set with the sandbox's own check.
fn handler_limits(p: &mut Problems<'_, '_>, raw: &RawHandler, who: &str) -> HandlerLimits {
    let mut limits = HandlerLimits::default();
    let mut set =
        |v: &Option<Spanned<u64>>,
         key: &str,
         with: &dyn Fn(HandlerLimits, u64) -> Result<HandlerLimits, LimitError>| {
            if let Some(v) = v {
                match with(limits, *v.get_ref()) {
                    Ok(l) => limits = l,
                    Err(LimitError::ZeroFuel) => {
                        p.add(&v.span(), key, format!("{who}: {}", LimitError::ZeroFuel))
                    }
                    Err(e) => p.add(&v.span(), key, e.to_string()),
                }
            }
        };
    set(&raw.fuel, "handler.fuel", &|l, n| l.with_fuel(Some(n)));
    set(&raw.timeout_ms, "handler.timeout_ms", &|l, n| {
        l.with_timeout_ms(n)
    });
    set(&raw.memory_mb, "handler.memory_mb", &|l, n| {
        l.with_memory_mb(n)
    });
    set(&raw.reuse, "handler.reuse", &|l, n| l.with_reuse(Some(n)));
    limits
}

/// `max_attempts`, `backoff_ms` and `backoff_max_ms`, with the queue's own checks.
fn retry_policy(p: &mut Problems<'_, '_>, raw: &RawHandler, who: &str) -> RetryPolicy {
    let d = RetryPolicy::default();
    let max_attempts = p.checked(
        &raw.max_attempts,
        "handler.max_attempts",
        RetryPolicy::check_max_attempts,
        d.max_attempts,
    );
    let backoff = p.checked(
        &raw.backoff_ms,
        "handler.backoff_ms",
        RetryPolicy::check_backoff_ms,
        d.backoff,
    );
    let backoff_max = p.checked(
        &raw.backoff_max_ms,
        "handler.backoff_max_ms",
        RetryPolicy::check_backoff_ms,
        d.backoff_max,
    );
    match RetryPolicy::new(max_attempts, backoff, backoff_max) {
        Ok(retry) => retry,
        Err(e) => {
            let span = raw
                .backoff_max_ms
                .as_ref()
                .or(raw.backoff_ms.as_ref())
                .map(|v| v.span())
                .unwrap_or_else(|| raw.name.span());
            p.add(&span, "handler.backoff_max_ms", format!("{who}: {e}"));
            d
        }
    }
}
