//! What `aviary dev` attaches to its emulator's console ([`aviary_emulator::ConsoleApp`]): the
//! page's requests under `/_console/api/app/` answered from the running app.
//!
//! | request | answer |
//! |---|---|
//! | `GET status` | the app's `GET /status` (handlers with their counters, queue, connection) |
//! | `GET ready` | the app's `GET /readyz`: 200 once connected with every handler loaded, else 503 with the checks (a handler still compiling) |
//! | `GET runs?since=N` | the app's `GET /debug/runs?since=N` (its run journal, [`crate::journal`]) |
//! | `GET dead-letters` | `{"dead_letters": [{"id", "event_id", "event_type", "dedupe_id", "enqueued_at_ms", "handlers": [{"name", "status", "attempts", "last_error"}]}]}` (as `aviary dlq list`, without the envelopes) |
//! | `POST replay`, body `{"id": N}` | replays that dead letter (as `aviary dlq replay N`): `{"replayed": [N], "live": true}` |
//!
//! Status and runs come from the admin server of the `aviary run` that `aviary dev` started
//! (on a loopback port of its own, with `--debug-runs`); dead letters through the queue's
//! control socket ([`crate::queue::control`]), like `aviary dlq`. An app that does not answer
//! (restarting, or stopped on an error) gets 502 with why.

use std::path::PathBuf;
use std::sync::Arc;

use aviary_emulator::{AppAnswer, AppRequest, ConsoleApp};
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use crate::manifest::Manifest;
use crate::queue::admin::{DeadLetterOp, DeadLetterResult};

/// The app `aviary dev` runs, as its console sees it.
#[derive(Clone)]
pub struct DevApp(Arc<Inner>);

struct Inner {
    /// `http://127.0.0.1:PORT` of the app's admin server.
    admin: String,
    /// The dev manifest the app runs (its `[queue]` holds the dead letters).
    manifest: PathBuf,
    http: reqwest::Client,
}

impl DevApp {
    /// The app whose admin server listens at `admin` (`127.0.0.1:PORT`), run on `manifest`.
    pub fn new(admin: std::net::SocketAddr, manifest: PathBuf) -> DevApp {
        DevApp(Arc::new(Inner {
            admin: format!("http://{admin}"),
            manifest,
            http: reqwest::Client::builder()
                .timeout(crate::limits::admin::CTL_TIMEOUT)
                .build()
                .unwrap_or_default(),
        }))
    }
}

impl ConsoleApp for DevApp {
    fn request(&self, request: AppRequest) -> BoxFuture<'static, AppAnswer> {
        let app = self.0.clone();
        Box::pin(async move {
            match (request.method.as_str(), request.path.as_str()) {
                ("GET", "status") => app.admin_get("/status").await,
                ("GET", "ready") => app.admin_get("/readyz").await,
                ("GET", "runs") => {
                    let since = request
                        .query
                        .as_deref()
                        .and_then(|q| q.strip_prefix("since="))
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(0);
                    app.admin_get(&format!("/debug/runs?since={since}")).await
                }
                ("GET", "dead-letters") => app.dead_letters().await,
                ("POST", "replay") => app.replay(&request.body).await,
                (method, path) => AppAnswer::error(
                    404,
                    format!(
                        "no {method} {path} here (status, ready, runs, dead-letters, replay: see `aviary dev`)"
                    ),
                ),
            }
        })
    }
}

impl Inner {
    /// `GET path` of the admin server, passed through.
    async fn admin_get(&self, path: &str) -> AppAnswer {
        let url = format!("{}{path}", self.admin);
        let answer = match self.http.get(&url).send().await {
            Ok(a) => a,
            Err(e) => {
                return AppAnswer::error(
                    502,
                    format!(
                        "`aviary run` does not answer on {} (restarting, or stopped: see the terminal): {e}",
                        self.admin
                    ),
                )
            }
        };
        let status = answer.status().as_u16();
        match answer.json::<Value>().await {
            Ok(body) => AppAnswer { status, body },
            Err(e) => AppAnswer::error(502, format!("unreadable answer of {url}: {e}")),
        }
    }

    async fn dlq(&self, op: DeadLetterOp) -> Result<(DeadLetterResult, bool), AppAnswer> {
        let manifest = Manifest::load(&self.manifest).map_err(|e| {
            let problems: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
            AppAnswer::error(500, problems.join("; "))
        })?;
        super::dlq::execute_op(&manifest, &op)
            .await
            .map_err(|e| AppAnswer::error(409, e))
    }

    async fn dead_letters(&self) -> AppAnswer {
        match self.dlq(DeadLetterOp::List).await {
            Ok((DeadLetterResult::List(records), _)) => {
                let list: Vec<Value> = records
                    .iter()
                    .map(|r| {
                        json!({
                            "id": r.id,
                            "event_id": r.job.event_id,
                            "event_type": r.job.event_type,
                            "dedupe_id": r.job.dedupe_id,
                            "enqueued_at_ms": r.enqueued_at_ms,
                            "handlers": r.states,
                        })
                    })
                    .collect();
                AppAnswer::ok(json!({ "dead_letters": list }))
            }
            Ok(_) => AppAnswer::error(500, "unexpected answer to a dead-letter list"),
            Err(answer) => answer,
        }
    }

    async fn replay(&self, body: &[u8]) -> AppAnswer {
        let id = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["id"].as_u64());
        let Some(id) = id else {
            return AppAnswer::error(400, "expected {\"id\": <dead letter id>}");
        };
        match self
            .dlq(DeadLetterOp::Replay {
                ids: Some(vec![id]),
            })
            .await
        {
            Ok((DeadLetterResult::Replayed(ids), live)) => {
                tracing::info!(id, live, "dev console: dead letter replayed");
                AppAnswer::ok(json!({ "replayed": ids, "live": live }))
            }
            Ok(_) => AppAnswer::error(500, "unexpected answer to a replay"),
            Err(answer) => answer,
        }
    }
}
