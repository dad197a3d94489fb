//! Hot reload ([`crate::RuntimeHandle::reload`]): re-read the manifest, load what changed
//! while the running handlers keep working, then swap in a new [`Generation`] between two
//! events — or change nothing and say why.
//!
//! Steps, in this order, each able to refuse the reload before anything is swapped:
//! 1. read the manifest (every problem at its `file:line:col`);
//! 2. refuse what needs a restart (`[queue]`, `[admin]`, the app id, the first handlers of an
//!    app started without any: it has no queue);
//! 3. plan the handlers (the manifest's, then those added in code, kept as they were) and
//!    their filters (which handlers merge bursts may not change: the queue's turns are fixed);
//! 4. keep each handler whose component bytes and sandbox settings are unchanged
//!    ([`Fingerprint`]), load the others — compiled in the background (cache used), awaited
//!    here; one that does not load refuses the reload, naming its manifest line;
//! 5. changed credentials, domain or `[connection]`: reconnect make-before-break with them
//!    (refused by Feishu: the old connection and options stay, the reload is refused);
//! 6. install the new generation ([`super::generation::install`]).
//!
//! One reload runs at a time. Outcomes are counted ([`ReloadStatus`]: `/status`, and
//! `aviary_reloads_total{outcome}` / `aviary_reload_failures_total` on `/metrics`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::Serialize;

use super::filters::handler_filters;
use super::generation::{install, Fingerprint, Generation, Loaded};
use super::handle::Shared;
use super::handlers::{Planned, Run};
use super::loading::HandlerLoader;
use super::metered::{HandlerMeter, Metered};
use super::native::NativeInvoke;
use super::settings::Settings;
use super::startup::{load_in_background, ToLoad};
use super::status::unix_ms;
use crate::admin::AdminSettings;
use crate::handler::Invoke;
use crate::manifest::Manifest;

/// Makes the loader Wasm handlers are loaded with (the sandbox; fakes in tests).
pub(crate) type MakeLoader = Box<dyn Fn() -> Result<Box<dyn HandlerLoader>, String> + Send>;

/// What a reload needs besides the running generation: where the app came from.
pub(crate) struct Reloader {
    /// The manifest the app was started from (`None`: typed settings; a reload then reloads
    /// the handlers added in code, i.e. their component files).
    pub manifest: Option<PathBuf>,
    /// `[admin]` as the manifest stated it at start (before `--admin`).
    pub admin_as_read: AdminSettings,
    /// The handlers added in code (after the manifest's).
    pub added: Vec<Planned>,
    /// Makes the sandbox loader.
    pub make_loader: Mutex<MakeLoader>,
    /// One reload at a time.
    pub running: tokio::sync::Mutex<()>,
    /// The outcomes so far.
    pub status: Mutex<ReloadStatus>,
}

/// How the reloads went so far (in `/status` as `reload`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReloadStatus {
    /// The generation in force (0: the handlers of the start).
    pub generation: u64,
    /// Reloads applied.
    pub succeeded: u64,
    /// Reloads refused (nothing changed).
    pub failed: u64,
    /// The last reload, if any.
    pub last: Option<LastReload>,
}

/// One reload's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct LastReload {
    /// When it ended (Unix ms).
    pub at_ms: u64,
    /// Applied.
    pub ok: bool,
    /// What changed, or every problem (one per line).
    pub message: String,
}

/// A reload applied.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadReport {
    /// The generation now in force.
    pub generation: u64,
    /// Handlers new in this generation.
    pub added: Vec<String>,
    /// Handlers gone.
    pub removed: Vec<String>,
    /// Handlers whose component was loaded again (changed bytes or sandbox settings).
    pub reloaded: Vec<String>,
    /// Handlers kept as loaded (their routing, retries or concurrency may have changed).
    pub kept: Vec<String>,
    /// The connection was replaced (make-before-break) because its options changed: the new
    /// connection id.
    pub reconnected: Option<String>,
}

impl ReloadReport {
    /// One line for logs and `aviary ctl reload`.
    pub fn summary(&self) -> String {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let mut s = format!(
            "generation {}: added {}, removed {}, reloaded {}, kept {}",
            self.generation,
            list(&self.added),
            list(&self.removed),
            list(&self.reloaded),
            list(&self.kept)
        );
        if let Some(conn) = &self.reconnected {
            s.push_str(&format!("; reconnected as {conn} (make-before-break)"));
        }
        s
    }
}

/// A reload refused: the running configuration is unchanged. Each problem names where it is
/// (`file:line:col: key: …`, or the handler).
#[derive(Debug, Clone, thiserror::Error)]
#[error("reload refused; still running the previous configuration:\n{}", .problems.join("\n"))]
pub struct ReloadError {
    /// One line per problem.
    pub problems: Vec<String>,
    /// Every problem is a change only a restart applies (`[queue]`, `[admin]`, the app id,
    /// burst merging, the first handlers of an app started without any): restarting the
    /// process with the new manifest would apply it.
    pub needs_restart: bool,
}

impl ReloadError {
    fn new(problems: Vec<String>) -> ReloadError {
        ReloadError {
            problems,
            needs_restart: false,
        }
    }

    /// Refused only for changes a restart applies.
    fn restart(problems: Vec<String>) -> ReloadError {
        ReloadError {
            problems,
            needs_restart: true,
        }
    }
}

/// Reloads the app of `shared`: see the module doc.
pub(crate) async fn reload(shared: &Shared) -> Result<ReloadReport, ReloadError> {
    let r = &shared.reload;
    let _one = r.running.lock().await;
    if shared.done.borrow().is_some() {
        let stopped = ReloadError::new(vec!["the app has stopped".into()]);
        return record(r, Err(stopped));
    }
    let outcome = attempt(shared).await;
    match &outcome {
        Ok(report) => tracing::info!("reload applied: {}", report.summary()),
        Err(e) => tracing::error!("{e}"),
    }
    record(r, outcome)
}

/// Counts `outcome` and returns it.
fn record(
    r: &Reloader,
    outcome: Result<ReloadReport, ReloadError>,
) -> Result<ReloadReport, ReloadError> {
    let mut s = r.status.lock().unwrap_or_else(|e| e.into_inner());
    let (ok, message) = match &outcome {
        Ok(report) => {
            s.succeeded += 1;
            s.generation = report.generation;
            (true, report.summary())
        }
        Err(e) => {
            s.failed += 1;
            (false, e.problems.join("\n"))
        }
    };
    s.last = Some(LastReload {
        at_ms: unix_ms(SystemTime::now()),
        ok,
        message,
    });
    outcome
}

async fn attempt(shared: &Shared) -> Result<ReloadReport, ReloadError> {
    let r = &shared.reload;
    let previous = shared.generation();
    // 1–2: the settings and the manifest's handlers.
    let (settings, mut planned) = match &r.manifest {
        Some(path) => {
            let m = Manifest::load(path).map_err(|e| {
                ReloadError::new(e.problems().iter().map(|p| p.to_string()).collect())
            })?;
            let mut settings = Settings::from_manifest(&m);
            refuse_restart_changes(&previous.settings, &settings, &r.admin_as_read, path)?;
            // `--admin` (or the builder's) stays in force.
            settings.admin = previous.settings.admin.clone();
            let planned: Vec<Planned> = m
                .handlers
                .iter()
                .map(|h| Planned::from_manifest(h, &m.path))
                .collect();
            (settings, planned)
        }
        None => (previous.settings.clone(), Vec::new()),
    };
    // 3: the handlers added in code, after the manifest's.
    let mut problems = Vec::new();
    let mut restart = Vec::new();
    for p in &r.added {
        if planned.iter().any(|q| q.name == p.name) {
            problems.push(format!(
                "handler `{}`: name: already used by a handler added in code; names must be unique",
                p.name
            ));
        } else {
            planned.push(p.clone());
        }
    }
    problems.extend(super::handlers::set_problems(&planned));
    if shared.base.queue.is_none()
        && settings.queue.ack == crate::queue::AckMode::AfterPersist
        && !planned.is_empty()
    {
        restart.push(
            "[[handler]]: the app started without handlers, so without its durable queue; adding handlers needs a restart"
                .into(),
        );
    }
    let merges: Vec<(String, crate::queue::merge::MergeSettings)> = planned
        .iter()
        .filter_map(|p| p.merge.map(|m| (p.name.clone(), m)))
        .collect();
    if merges != previous.merges {
        restart.push(
            "handler.merge: which handlers merge bursts, or how, changed; the queue's turns are set at start — restart to apply it"
                .into(),
        );
    }
    if !problems.is_empty() {
        problems.extend(restart);
        return Err(ReloadError::new(problems));
    }
    if !restart.is_empty() {
        return Err(ReloadError::restart(restart));
    }
    // The handlers' filters (the bot's open_id asked again only if a filter needs it and it
    // is not configured).
    let app = settings.openapi_app();
    let filters = handler_filters(
        &planned,
        settings.bot_open_id.as_deref(),
        &app,
        crate::limits::filter::BOT_INFO_ATTEMPTS,
    )
    .await
    .map_err(|e| {
        ReloadError::new(vec![match &r.manifest {
            Some(path) => format!("{}: {e}", path.display()),
            None => e,
        }])
    })?;
    // 4: keep what is unchanged, load the rest (compiled before anything is swapped).
    let (loaded, report) = load_changed(shared, &previous, &planned).await?;
    // 5: new connection options: make-before-break.
    let mut report = report;
    if settings.connection != previous.settings.connection {
        match shared
            .control
            .reconfigure(settings.connection.clone())
            .await
        {
            Ok(done) => report.reconnected = done.map(|r| r.conn_id),
            Err(e) => {
                return Err(ReloadError::new(vec![format!(
                    "[feishu]/[connection]: the new connection options were not applied: {e}"
                )]))
            }
        }
    }
    // 6: swap.
    let number = previous.number + 1;
    report.generation = number;
    let next = install(
        &shared.base,
        number,
        settings,
        &planned,
        &filters,
        loaded,
        Some(&previous),
    );
    *shared.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    Ok(report)
}

/// Refuses changes that need a restart, naming the section and the manifest.
fn refuse_restart_changes(
    old: &Settings,
    new: &Settings,
    admin_as_read: &AdminSettings,
    path: &std::path::Path,
) -> Result<(), ReloadError> {
    let file = path.display();
    let mut problems = Vec::new();
    if new.connection.app_id != old.connection.app_id {
        problems.push(format!(
            "{file}: feishu.app_id: changed from `{}` to `{}`; another app needs a restart (its queue and state are the app's)",
            old.connection.app_id, new.connection.app_id
        ));
    }
    if new.queue != old.queue {
        problems.push(format!(
            "{file}: [queue]: changed; the queue (backend, path, capacity, dedupe, ack) is opened once — restart to apply it"
        ));
    }
    if &new.admin != admin_as_read {
        problems.push(format!(
            "{file}: [admin]: changed; the admin server listens from the start — restart to apply it"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ReloadError::restart(problems))
    }
}

/// Each planned handler as the new generation runs it: kept from `previous` when its
/// fingerprint is unchanged, else loaded now (awaited). Counters stay with the name.
async fn load_changed(
    shared: &Shared,
    previous: &Generation,
    planned: &[Planned],
) -> Result<(Vec<Loaded>, ReloadReport), ReloadError> {
    let mut report = ReloadReport {
        generation: 0,
        added: Vec::new(),
        removed: previous
            .loaded
            .iter()
            .filter(|l| !planned.iter().any(|p| p.name == l.name))
            .map(|l| l.name.clone())
            .collect(),
        reloaded: Vec::new(),
        kept: Vec::new(),
        reconnected: None,
    };
    let mut slots: Vec<Option<Loaded>> = Vec::with_capacity(planned.len());
    let mut to_load = Vec::new();
    for p in planned {
        let fingerprint = Fingerprint::of(p);
        let before = previous.loaded.iter().find(|l| l.name == p.name);
        let meter = before
            .map(|l| l.meter.clone())
            .unwrap_or_else(|| Arc::new(HandlerMeter::default()));
        match before {
            Some(l) if l.fingerprint == fingerprint => {
                report.kept.push(p.name.clone());
                slots.push(Some(l.clone()));
                continue;
            }
            Some(_) => report.reloaded.push(p.name.clone()),
            None => report.added.push(p.name.clone()),
        }
        match &p.run {
            Run::Native { handler, timeout } => slots.push(Some(counted(
                &p.name,
                fingerprint,
                Arc::new(NativeInvoke {
                    name: p.name.clone(),
                    handler: handler.clone(),
                    timeout: *timeout,
                }),
                meter,
            ))),
            Run::Wasm { settings, manifest } => {
                slots.push(None);
                to_load.push((
                    ToLoad {
                        settings: (**settings).clone(),
                        manifest: manifest.clone(),
                    },
                    fingerprint,
                    meter,
                ));
            }
        }
    }
    if !to_load.is_empty() {
        let loader = {
            let make = shared
                .reload
                .make_loader
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            make().map_err(|e| ReloadError::new(vec![e]))?
        };
        let (specs, rest): (Vec<ToLoad>, Vec<_>) =
            to_load.into_iter().map(|(t, f, m)| (t, (f, m))).unzip();
        let (pending, loading) = load_in_background(specs, loader, &shared.kv);
        loading.finished().await;
        let failures = loading.failures();
        if !failures.is_empty() {
            return Err(ReloadError::new(failures));
        }
        let mut fresh = pending.into_iter().zip(rest);
        for slot in slots.iter_mut().filter(|s| s.is_none()) {
            let (invoke, (fingerprint, meter)) = fresh.next().expect("one load per empty slot");
            let name = invoke.name().to_string();
            *slot = Some(counted(&name, fingerprint, invoke, meter));
        }
    }
    let loaded = slots
        .into_iter()
        .map(|s| s.expect("every slot filled"))
        .collect();
    Ok((loaded, report))
}

/// `invoke`, counted in `meter`.
pub(crate) fn counted(
    name: &str,
    fingerprint: Fingerprint,
    invoke: Arc<dyn Invoke>,
    meter: Arc<HandlerMeter>,
) -> Loaded {
    Loaded {
        name: name.to_string(),
        fingerprint,
        invoke: Arc::new(Metered {
            inner: invoke,
            meter: meter.clone(),
        }),
        meter,
    }
}
