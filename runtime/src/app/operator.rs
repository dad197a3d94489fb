//! The admin server's [`Operator`] over the running apps: `/metrics` from [`super::exporter`],
//! `/status` and `/readyz` from each [`RuntimeHandle`], control through the same handle
//! methods an embedder calls. One app today; the JSON already lists apps, so several fit
//! without changing the shape.

use serde_json::json;

use super::handle::RuntimeHandle;
use crate::admin::{Check, ControlAction, ControlFailure, Operator, Readiness};
use crate::connection::{ConnectionState, ControlError, Resumed};

/// The apps one admin server reports on.
pub(crate) struct Apps(pub Vec<RuntimeHandle>);

fn failure(e: ControlError) -> ControlFailure {
    let status = match e {
        ControlError::Drained => 409,
        ControlError::ReconnectFailed(_) => 502,
        ControlError::Stopped | ControlError::Lost => 503,
    };
    ControlFailure {
        status,
        message: e.to_string(),
        needs_restart: false,
    }
}

#[async_trait::async_trait]
impl Operator for Apps {
    async fn metrics(&self, openmetrics: bool) -> String {
        super::exporter::render(&self.0, openmetrics).await
    }

    async fn status(&self) -> serde_json::Value {
        let mut apps = Vec::new();
        for app in &self.0 {
            apps.push(app.status().await);
        }
        json!({ "version": env!("CARGO_PKG_VERSION"), "apps": apps })
    }

    async fn readiness(&self) -> Readiness {
        let mut checks = Vec::new();
        for app in &self.0 {
            checks.extend(readiness_of(app));
        }
        Readiness {
            ready: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    fn alive(&self) -> bool {
        self.0.iter().any(|a| !a.is_stopped())
    }

    async fn control(&self, action: ControlAction) -> Result<serde_json::Value, ControlFailure> {
        let mut done = Vec::new();
        for app in &self.0 {
            let id = app.app_id();
            done.push(match action {
                ControlAction::Reconnect => {
                    let r = app.reconnect().await.map_err(failure)?;
                    json!({"app": id, "conn_id": r.conn_id, "replaced": r.replaced})
                }
                ControlAction::Drain => {
                    app.drain().await.map_err(failure)?;
                    json!({"app": id, "drained": true})
                }
                ControlAction::Resume => {
                    let r = app.resume().await.map_err(failure)?;
                    json!({"app": id, "resumed": r == Resumed::Resumed})
                }
                // With several apps, one that stopped on its own is left out of a reload.
                ControlAction::Reload if self.0.len() > 1 && app.is_stopped() => {
                    json!({"app": id, "skipped": "stopped"})
                }
                ControlAction::Reload => match app.reload().await {
                    Ok(report) => json!({
                        "app": id,
                        "generation": report.generation,
                        "summary": report.summary(),
                        "report": report,
                    }),
                    // 422: the request was understood; the new configuration was refused.
                    Err(e) => {
                        return Err(ControlFailure {
                            status: 422,
                            message: e.to_string(),
                            needs_restart: e.needs_restart,
                        })
                    }
                },
            });
        }
        Ok(json!({ "action": action.name(), "apps": done }))
    }

    async fn debug_runs(&self, since: u64) -> Option<serde_json::Value> {
        let mut apps = Vec::new();
        for app in &self.0 {
            if let Some(snapshot) = app.debug_runs(since) {
                let mut value = serde_json::to_value(snapshot).ok()?;
                value["app"] = json!(app.app_id());
                apps.push(value);
            }
        }
        (!apps.is_empty()).then(|| json!({ "apps": apps }))
    }
}

/// The checks of one app: connected, not drained, queue open, handlers loaded.
fn readiness_of(app: &RuntimeHandle) -> Vec<Check> {
    let check = |check, ok, detail: String| Check {
        app: app.app_id().to_string(),
        check,
        ok,
        detail,
    };
    let state = app.connection_stats().current_state();
    let connection = match &state {
        ConnectionState::Connected { device_id, .. } => {
            check("connection", true, format!("connected ({device_id})"))
        }
        ConnectionState::Backoff { attempt, delay } => check(
            "connection",
            false,
            format!(
                "not connected: waiting {delay:?} before attempt {} (last disconnect: {})",
                attempt + 1,
                app.connection_stats()
                    .last_disconnect()
                    .map(|d| d.reason)
                    .unwrap_or_else(|| "none".into())
            ),
        ),
        other => check(
            "connection",
            false,
            format!("not connected: {}", other.name()),
        ),
    };
    let drained = app.is_drained();
    let queue = match &app.shared.queue {
        None => check(
            "queue",
            true,
            "no queue (no handler, or ack = \"after-handle\")".into(),
        ),
        Some(_) if app.is_stopped() => check("queue", false, "stopped".into()),
        Some(q) => check("queue", true, format!("open: {}", q.describe())),
    };
    let total = app.shared.generation().handlers.len();
    let (failed, loading) = (app.load_failures(), app.handlers_loading());
    let handlers = if !failed.is_empty() {
        check(
            "handlers",
            false,
            format!("failed to load: {}", failed.join("; ")),
        )
    } else if !loading.is_empty() {
        check(
            "handlers",
            false,
            format!(
                "{} of {total} loaded; compiling: {} (events are persisted and acked meanwhile)",
                total - loading.len(),
                loading.join(", ")
            ),
        )
    } else {
        check("handlers", true, format!("{total} loaded"))
    };
    vec![
        connection,
        check(
            "drained",
            !drained,
            if drained {
                "drained on request; POST /control/resume to take events again".into()
            } else {
                "taking events".into()
            },
        ),
        queue,
        handlers,
    ]
}
