//! `aviary check -m aviary.toml`: validates the manifest and loads (compiles and checks) every
//! handler's component, then prints a short summary: the dispatch settings and, per handler,
//! its component, events and limits, what its `openapi` key grants, where its
//! `allowed_outbound_hosts` let it send HTTP requests (with the limits of `[handler.http]`), its
//! key-value grant, its filters and its burst merge.
//!
//! Exit codes: 0 when everything is fine; 1 with every problem found (manifest values, missing
//! component files, components that do not load), one `error: file:line:col: key: …` line
//! each; 2 when the manifest cannot be read or parsed at all.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::MakeLoader;
use crate::app::loading::load_handlers;
use crate::app::wasm;
use crate::manifest::{HandlerSettings, Manifest};

/// Flags of `aviary check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The manifest to check.
    #[arg(short = 'm', long = "manifest", default_value = "aviary.toml")]
    pub manifest: PathBuf,
}

/// What `check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The process exit code (0, 1 or 2).
    pub code: u8,
    /// The summary (on success) for stdout.
    pub summary: Vec<String>,
    /// Every problem, for stderr.
    pub errors: Vec<String>,
}

/// Runs `aviary check` with the Wasm sandbox.
pub fn run(args: CheckArgs) -> ExitCode {
    let report = check(&args.manifest, &wasm::sandbox_loader);
    for line in &report.summary {
        println!("{line}");
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    ExitCode::from(report.code)
}

/// Checks the manifest at `path`, loading components through `make_loader`. A manifest with
/// `include` is checked as a whole (every problem of every file), then each app it includes.
pub fn check(path: &Path, make_loader: MakeLoader<'_>) -> CheckReport {
    let fail = |code, errors| CheckReport {
        code,
        summary: Vec::new(),
        errors,
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if toml::from_str::<toml::Table>(&text).is_ok_and(|t| t.contains_key("include")) {
        let deployment = match crate::manifest::Deployment::load(path) {
            Ok(d) => d,
            Err(e) => {
                let errors = e.problems().iter().map(|p| p.to_string()).collect();
                return fail(if e.is_unparseable() { 2 } else { 1 }, errors);
            }
        };
        let mut all = CheckReport {
            code: 0,
            summary: Vec::new(),
            errors: Vec::new(),
        };
        for app in &deployment.apps {
            let report = check_app(&app.path, make_loader);
            all.code = all.code.max(report.code);
            all.summary.push(format!(
                "app {} ({}):",
                app.feishu.app_id,
                app.path.display()
            ));
            all.summary.extend(report.summary);
            all.errors.extend(report.errors);
        }
        if all.code != 0 {
            all.summary.clear();
        }
        return all;
    }
    check_app(path, make_loader)
}

/// Checks one app's manifest.
fn check_app(path: &Path, make_loader: MakeLoader<'_>) -> CheckReport {
    let fail = |code, errors| CheckReport {
        code,
        summary: Vec::new(),
        errors,
    };
    let manifest = match Manifest::load(path) {
        Ok(m) => m,
        Err(e) => {
            let errors = e.problems().iter().map(|p| p.to_string()).collect();
            return fail(if e.is_unparseable() { 2 } else { 1 }, errors);
        }
    };
    if !manifest.handlers.is_empty() {
        let loader = match make_loader() {
            Ok(l) => l,
            Err(e) => return fail(1, vec![e]),
        };
        let kv = crate::app::loading::KvBinding::default();
        if let Err(failures) = load_handlers(&manifest, loader.as_ref(), &kv) {
            return fail(1, failures.into_iter().map(|f| f.message).collect());
        }
    }
    CheckReport {
        code: 0,
        summary: summary(&manifest),
        errors: Vec::new(),
    }
}

fn summary(m: &Manifest) -> Vec<String> {
    let d = &m.dispatch;
    let mut lines = vec![
        format!(
            "ok: {} (app {}, {} handler{})",
            m.path.display(),
            m.feishu.app_id,
            m.handlers.len(),
            if m.handlers.len() == 1 { "" } else { "s" }
        ),
        format!(
            "  dispatch: {}, per-chat ordering {}, max_in_flight {}, callback deadline {} ms",
            d.mode.name(),
            if d.per_chat_ordering { "on" } else { "off" },
            d.max_in_flight,
            d.callback_deadline.as_millis()
        ),
    ];
    if m.handlers.is_empty() {
        lines.push("  no handlers: `aviary run` logs and acks every event".into());
    }
    for h in &m.handlers {
        lines.push(handler_line(h));
        lines.push(format!(
            "    openapi: {}",
            crate::openapi::grant_summary(h.openapi.as_ref())
        ));
        lines.push(format!("    http: {}", h.http.summary()));
        lines.push(format!(
            "    kv: {}",
            crate::kv::grant_summary(h.kv.as_ref())
        ));
        if !h.filter.is_empty() {
            let bot = match (&m.feishu.bot_open_id, h.filter.needs_bot_open_id()) {
                (_, false) => "",
                (Some(_), true) => " (bot open_id from [feishu] bot_open_id)",
                (None, true) => " (bot open_id asked from GET /open-apis/bot/v3/info at start)",
            };
            lines.push(format!("    filters: {}{bot}", h.filter.summary()));
        }
        if let Some(m) = &h.merge {
            lines.push(format!(
                "    merge: turns of up to {} messages within {} ms per chat{}",
                m.max_events,
                m.window.as_millis(),
                if m.same_sender {
                    ", one sender each"
                } else {
                    ""
                }
            ));
        }
    }
    lines
}

fn handler_line(h: &HandlerSettings) -> String {
    let mut events: Vec<String> = h.route.events.iter().map(|p| p.to_string()).collect();
    if h.route.default {
        events.push("(default)".into());
    }
    format!(
        "  handler {}: {} <- {}; timeout {} ms, memory {} MiB, fuel {}, max_concurrency {}{}",
        h.name,
        h.component.display(),
        events.join(", "),
        h.limits.timeout().as_millis(),
        h.limits.memory_bytes() / (1024 * 1024),
        h.limits
            .fuel()
            .map(|f| f.to_string())
            .unwrap_or_else(|| "off".into()),
        h.route.max_concurrency,
        h.limits
            .reuse()
            .map(|n| format!(", reuse {n}"))
            .unwrap_or_default()
    )
}
