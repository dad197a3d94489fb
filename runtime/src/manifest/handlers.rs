//! `[[handler]]` entries and the `[dispatch]` table: validated into [`HandlerSettings`] and
//! [`DispatchSettings`]. Every problem is collected (not just the first) and names the file,
//! the line and the key.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::raw::{RawDispatch, RawHandler};
use super::{Context, ManifestError};
use crate::dispatch::filter::FilterSettings;
use crate::dispatch::router::EventPattern;
use crate::dispatch::{DispatchMode, DispatchSettings};
use crate::limits::dispatch as lim;
use crate::limits::queue as qlim;
use crate::openapi::{OpenApiGrant, OpenApiSettings};
use crate::queue::merge::MergeSettings;
use crate::queue::retry::RetryPolicy;
use crate::queue::QueueSettings;
use crate::sandbox::HandlerLimits;

/// Where a value was written in the manifest (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One `[[handler]]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerSettings {
    /// Unique name (letters, digits, `-`, `_`), used in logs and on the command line.
    pub name: String,
    /// The component file, resolved against the manifest's directory.
    pub component: PathBuf,
    /// Where `component` was written, for errors about the file.
    pub component_at: Location,
    /// The event types it subscribes to, in the order written.
    pub events: Vec<EventPattern>,
    /// Gets the event types no other handler subscribes to (at most one handler).
    pub default: bool,
    /// Fuel budget per call; `None` = no fuel metering.
    pub fuel: Option<u64>,
    /// Wall-clock budget per call.
    pub timeout: Duration,
    /// Memory limit of one instance, in MiB.
    pub memory_mb: u64,
    /// Calls of this handler at once.
    pub max_concurrency: usize,
    /// Events served by one instance before it is replaced; `None` = a fresh instance per event.
    pub reuse: Option<u32>,
    /// When a failed run (with the durable queue) is tried again: `max_attempts`,
    /// `backoff_ms`, `backoff_max_ms`.
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
}

impl HandlerSettings {
    /// The memory limit in bytes.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_mb * 1024 * 1024
    }
}

/// Collects problems instead of stopping at the first.
pub(super) struct Problems<'c, 'a> {
    cx: &'c Context<'a>,
    list: Vec<ManifestError>,
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

    /// A count in `1..=max`, or the default.
    fn count(&mut self, v: &Option<Spanned<u64>>, key: &str, max: u64, default: u64) -> u64 {
        self.checked(v, key, |n| crate::limits::within(n, max), default)
    }

    /// The value as the owning subsystem's `check` accepts it, or the default (and a problem
    /// at `key`, on the value's line).
    pub(super) fn checked<T>(
        &mut self,
        v: &Option<Spanned<u64>>,
        key: &str,
        check: impl FnOnce(u64) -> Result<T, String>,
        default: T,
    ) -> T {
        match v {
            None => default,
            Some(v) => match check(*v.get_ref()) {
                Ok(t) => t,
                Err(why) => {
                    self.add(&v.span(), key, why);
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
        let mut out = Vec::new();
        for raw in handlers {
            let Some(h) = handler_settings(&mut p, raw, &base, &mut names, &mut default_at, queue)
            else {
                continue;
            };
            out.push(h);
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

    let fuel = match &raw.fuel {
        Some(v) if *v.get_ref() == 0 => {
            p.add(
                &v.span(),
                "handler.fuel",
                format!("{who}: must be greater than 0 (omit it to turn fuel metering off)"),
            );
            None
        }
        v => v.as_ref().map(|v| *v.get_ref()),
    };
    let timeout = p.checked(
        &raw.timeout_ms,
        "handler.timeout_ms",
        HandlerLimits::check_timeout_ms,
        lim::HANDLER_TIMEOUT,
    );
    let memory_mb = p.checked(
        &raw.memory_mb,
        "handler.memory_mb",
        HandlerLimits::check_memory_mb,
        lim::HANDLER_MEMORY_MB,
    );
    let max_concurrency = p.checked(
        &raw.max_concurrency,
        "handler.max_concurrency",
        DispatchSettings::check_max_concurrency,
        lim::HANDLER_MAX_CONCURRENCY,
    );
    let reuse = raw
        .reuse
        .as_ref()
        .map(|_| p.checked(&raw.reuse, "handler.reuse", HandlerLimits::check_reuse, 1));

    let max_attempts = p.count(
        &raw.max_attempts,
        "handler.max_attempts",
        qlim::MAX_MAX_ATTEMPTS as u64,
        qlim::MAX_ATTEMPTS as u64,
    ) as u32;
    let backoff = Duration::from_millis(p.count(
        &raw.backoff_ms,
        "handler.backoff_ms",
        u32::MAX as u64,
        qlim::BACKOFF.as_millis() as u64,
    ));
    let backoff_max = Duration::from_millis(p.count(
        &raw.backoff_max_ms,
        "handler.backoff_max_ms",
        u32::MAX as u64,
        qlim::BACKOFF_MAX.as_millis() as u64,
    ));
    if backoff_max < backoff {
        let span = raw
            .backoff_max_ms
            .as_ref()
            .or(raw.backoff_ms.as_ref())
            .map(|v| v.span())
            .unwrap_or_else(|| raw.name.span());
        p.add(
            &span,
            "handler.backoff_max_ms",
            format!(
                "{who}: backoff_max_ms ({} ms) is below backoff_ms ({} ms)",
                backoff_max.as_millis(),
                backoff.as_millis()
            ),
        );
    }
    let retry = RetryPolicy {
        max_attempts,
        backoff,
        backoff_max,
    };

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
    let merge = super::merge::merge_settings(p, &raw.merge, &who, queue, &events);

    (p.list.len() == errors_before).then_some(HandlerSettings {
        name,
        component,
        component_at,
        events,
        default,
        fuel,
        timeout,
        memory_mb,
        max_concurrency,
        reuse,
        retry,
        config,
        openapi,
        filter,
        merge,
    })
}
