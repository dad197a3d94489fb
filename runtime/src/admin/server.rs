//! The admin HTTP server: routes, bearer-token check, peer logging. What it reports and does
//! comes from an [`Operator`] (implemented by the composition root over the running apps), so
//! this module knows no subsystem.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::settings::AdminSettings;
use crate::secret::Secret;

/// The content type of the Prometheus text format 0.0.4 (the default of `/metrics`).
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The content type of OpenMetrics text (when the scraper's `Accept` asks for it).
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A control action (`POST /control/<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlAction {
    /// Make-before-break reconnect.
    Reconnect,
    /// Close the connection after its acks and connect no more.
    Drain,
    /// End a drain.
    Resume,
    /// Re-read the manifest and swap the handlers in (hot reload).
    Reload,
}

impl ControlAction {
    /// The action named `name` in the path.
    pub fn from_name(name: &str) -> Option<ControlAction> {
        match name {
            "reconnect" => Some(ControlAction::Reconnect),
            "drain" => Some(ControlAction::Drain),
            "resume" => Some(ControlAction::Resume),
            "reload" => Some(ControlAction::Reload),
            _ => None,
        }
    }

    /// Its name in the path.
    pub fn name(self) -> &'static str {
        match self {
            ControlAction::Reconnect => "reconnect",
            ControlAction::Drain => "drain",
            ControlAction::Resume => "resume",
            ControlAction::Reload => "reload",
        }
    }
}

/// One readiness check of `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The app it is about.
    pub app: String,
    /// `connection`, `queue`, `handlers` or `drained`.
    pub check: &'static str,
    /// Whether it passes.
    pub ok: bool,
    /// What was found, in words.
    pub detail: String,
}

/// The answer of `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// Every check passes.
    pub ready: bool,
    /// Every check.
    pub checks: Vec<Check>,
}

/// A control action that was not carried out: the HTTP status and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlFailure {
    /// 409 (the state does not allow it), 422 (a reload refused: the new configuration has
    /// problems), 502 (Feishu refused the new connection), 503 (stopped).
    pub status: u16,
    /// Why.
    pub message: String,
    /// A refused reload whose every problem is a change only a restart applies: the answer
    /// says `"needs_restart": true` (what `aviary dev` restarts the app on).
    pub needs_restart: bool,
}

/// What the admin server reports and controls: the running apps.
#[async_trait::async_trait]
pub trait Operator: Send + Sync + 'static {
    /// The metrics in the Prometheus text format 0.0.4, or OpenMetrics text.
    async fn metrics(&self, openmetrics: bool) -> String;
    /// The JSON of `/status`.
    async fn status(&self) -> serde_json::Value;
    /// Whether every app is ready, and why not.
    async fn readiness(&self) -> Readiness;
    /// Whether the process still runs its loops (false once every app has stopped).
    fn alive(&self) -> bool;
    /// Carries out `action`; `Ok` is a JSON summary of what happened.
    async fn control(&self, action: ControlAction) -> Result<serde_json::Value, ControlFailure>;
    /// The run journals' events changed after change number `since` (`GET /debug/runs`);
    /// `None` when no app keeps one (the default).
    async fn debug_runs(&self, since: u64) -> Option<serde_json::Value> {
        let _ = since;
        None
    }
}

/// A running admin server; stops when dropped or with [`AdminServer::shutdown`].
#[derive(Debug)]
pub struct AdminServer {
    #[cfg(test)]
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl AdminServer {
    /// The address it listens on (the port is real even when `:0` was asked for).
    #[cfg(test)]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, finishes the requests in progress.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[derive(Clone)]
struct Ctx {
    operator: Arc<dyn Operator>,
    token: Option<Secret>,
}

/// Starts the server `settings` asks for (`Ok(None)` when it is off). A chosen address that
/// cannot be bound is an error; the default one only logs a warning (so two processes on one
/// machine still run, the second without an admin server).
pub async fn serve(
    settings: &AdminSettings,
    operator: Arc<dyn Operator>,
) -> Result<Option<AdminServer>, String> {
    let Some(addr) = settings.listen else {
        return Ok(None);
    };
    settings.check()?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) if !settings.explicit => {
            tracing::warn!(%addr, error = %e, "admin server not started (the default address is taken; set [admin] listen, or --admin)");
            return Ok(None);
        }
        Err(e) => return Err(format!("admin server: cannot listen on {addr}: {e}")),
    };
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/control/:action", post(control))
        .route("/debug/runs", get(debug_runs))
        .with_state(Ctx {
            operator,
            token: settings.token.clone(),
        });
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stopped.cancelled().await })
        .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "admin server stopped");
        }
    });
    tracing::info!(%addr, control_token = settings.token.is_some(), "admin server listening");
    Ok(Some(AdminServer {
        #[cfg(test)]
        addr,
        stop,
        task: Some(task),
    }))
}

async fn metrics(State(cx): State<Ctx>, headers: HeaderMap) -> Response {
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let body = cx.operator.metrics(openmetrics).await;
    let kind = if openmetrics {
        OPENMETRICS_TEXT
    } else {
        PROMETHEUS_TEXT
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn healthz(State(cx): State<Ctx>) -> Response {
    if cx.operator.alive() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "stopped\n").into_response()
    }
}

async fn readyz(State(cx): State<Ctx>) -> Response {
    let readiness = cx.operator.readiness().await;
    let code = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(readiness)).into_response()
}

async fn status(State(cx): State<Ctx>) -> Response {
    Json(cx.operator.status().await).into_response()
}

/// `?since=N` of `/debug/runs`.
#[derive(Debug, serde::Deserialize)]
struct Since {
    since: Option<u64>,
}

/// The run journal: what handlers logged, so behind the token whenever one is set.
async fn debug_runs(
    State(cx): State<Ctx>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<Since>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = unauthorized(&cx, &headers, peer, "debug/runs") {
        return refused;
    }
    match cx.operator.debug_runs(q.since.unwrap_or(0)).await {
        Some(runs) => Json(runs).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "the run journal is off: start with `aviary run --debug-runs` (`aviary dev` does)"
                .into(),
        ),
    }
}

/// `Some(401 answer)` when a token is set and the request does not carry it.
fn unauthorized(cx: &Ctx, headers: &HeaderMap, peer: SocketAddr, what: &str) -> Option<Response> {
    let token = cx.token.as_ref()?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|g| same(g.as_bytes(), token.expose().as_bytes())) {
        return None;
    }
    tracing::warn!(%peer, action = %what, "admin request refused: missing or wrong bearer token");
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        format!("`{what}` needs `Authorization: Bearer <[admin] token>`"),
    );
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
    Some(r)
}

async fn control(
    State(cx): State<Ctx>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(action) = ControlAction::from_name(&name) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no control action `{name}` (reconnect, drain, resume, reload)"),
        );
    };
    if let Some(token) = &cx.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same(g.as_bytes(), token.expose().as_bytes())) {
            tracing::warn!(%peer, action = %action.name(), "admin control refused: missing or wrong bearer token");
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "this control endpoint needs `Authorization: Bearer <[admin] token>`".into(),
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
            return r;
        }
    }
    tracing::info!(%peer, action = %action.name(), "admin control requested");
    match cx.operator.control(action).await {
        Ok(done) => {
            tracing::info!(%peer, action = %action.name(), result = %done, "admin control done");
            Json(done).into_response()
        }
        Err(f) => {
            tracing::warn!(%peer, action = %action.name(), error = %f.message, "admin control failed");
            let code = StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if f.needs_restart {
                let body = serde_json::json!({ "error": f.message, "needs_restart": true });
                (code, Json(body)).into_response()
            } else {
                error(code, f.message)
            }
        }
    }
}

fn error(code: StatusCode, message: String) -> Response {
    (code, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Compares without stopping at the first difference (the time taken does not reveal how much
/// of a guessed token was right).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Fake {
        controls: AtomicUsize,
        ready: bool,
    }

    /// A fake whose apps keep a run journal.
    struct WithRuns;

    #[async_trait::async_trait]
    impl Operator for WithRuns {
        async fn metrics(&self, _: bool) -> String {
            String::new()
        }
        async fn status(&self) -> serde_json::Value {
            serde_json::json!({})
        }
        async fn readiness(&self) -> Readiness {
            Readiness {
                ready: true,
                checks: vec![],
            }
        }
        fn alive(&self) -> bool {
            true
        }
        async fn control(&self, _: ControlAction) -> Result<serde_json::Value, ControlFailure> {
            Ok(serde_json::json!({}))
        }
        async fn debug_runs(&self, since: u64) -> Option<serde_json::Value> {
            Some(serde_json::json!({ "since": since }))
        }
    }

    #[async_trait::async_trait]
    impl Operator for Fake {
        async fn metrics(&self, openmetrics: bool) -> String {
            if openmetrics {
                "# EOF\n".into()
            } else {
                "aviary_up 1\n".into()
            }
        }
        async fn status(&self) -> serde_json::Value {
            serde_json::json!({"apps": []})
        }
        async fn readiness(&self) -> Readiness {
            Readiness {
                ready: self.ready,
                checks: vec![Check {
                    app: "a".into(),
                    check: "connection",
                    ok: self.ready,
                    detail: "backoff".into(),
                }],
            }
        }
        fn alive(&self) -> bool {
            true
        }
        async fn control(
            &self,
            action: ControlAction,
        ) -> Result<serde_json::Value, ControlFailure> {
            self.controls.fetch_add(1, Ordering::SeqCst);
            match action {
                ControlAction::Drain => Err(ControlFailure {
                    status: 409,
                    message: "already".into(),
                    needs_restart: false,
                }),
                a => Ok(serde_json::json!({ "done": a.name() })),
            }
        }
    }

    async fn start(token: Option<&str>, ready: bool) -> (AdminServer, Arc<Fake>) {
        let fake = Arc::new(Fake {
            controls: AtomicUsize::new(0),
            ready,
        });
        let settings = AdminSettings {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            token: token.map(Secret::new),
            explicit: true,
        };
        let server = serve(&settings, fake.clone()).await.unwrap().unwrap();
        (server, fake)
    }

    #[tokio::test]
    async fn routes_status_codes_and_the_token() {
        let (server, fake) = start(Some("s3cret"), false).await;
        let base = format!("http://{}", server.local_addr());
        let http = reqwest::Client::new();
        let r = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROMETHEUS_TEXT);
        assert_eq!(r.text().await.unwrap(), "aviary_up 1\n");
        let r = http
            .get(format!("{base}/metrics"))
            .header("accept", "application/openmetrics-text;version=1.0.0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()[header::CONTENT_TYPE], OPENMETRICS_TEXT);
        let r = http.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 503);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["checks"][0]["detail"], "backoff");
        assert_eq!(
            http.get(format!("{base}/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );

        // Control: no token, a wrong one, then the right one.
        let url = format!("{base}/control/reconnect");
        let r = http.post(&url).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let r = http.post(&url).bearer_auth("s3cret!").send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(fake.controls.load(Ordering::SeqCst), 0);
        let r = http.post(&url).bearer_auth("s3cret").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["done"],
            "reconnect"
        );
        let r = http
            .post(format!("{base}/control/drain"))
            .bearer_auth("s3cret")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        let r = http
            .post(format!("{base}/control/reload-everything"))
            .bearer_auth("s3cret")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(
            http.get(&url).send().await.unwrap().status(),
            405,
            "control is POST only"
        );

        // The run journal: behind the token too; 404 while it is off.
        let runs = format!("{base}/debug/runs");
        assert_eq!(http.get(&runs).send().await.unwrap().status(), 401);
        let r = http.get(&runs).bearer_auth("s3cret").send().await.unwrap();
        assert_eq!(r.status(), 404);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("--debug-runs"),
            "{body}"
        );
        server.shutdown().await;

        let settings = AdminSettings {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            token: None,
            explicit: true,
        };
        let server = serve(&settings, Arc::new(WithRuns)).await.unwrap().unwrap();
        let r = http
            .get(format!("http://{}/debug/runs?since=7", server.local_addr()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<serde_json::Value>().await.unwrap()["since"], 7);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn without_a_token_loopback_control_is_open_and_a_taken_default_port_only_warns() {
        let (server, _) = start(None, true).await;
        let base = format!("http://{}", server.local_addr());
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/control/resume"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            http.get(format!("{base}/readyz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );

        let taken = AdminSettings {
            listen: Some(server.local_addr()),
            token: None,
            explicit: false,
        };
        let fake = Arc::new(Fake {
            controls: AtomicUsize::new(0),
            ready: true,
        });
        assert!(serve(&taken, fake.clone()).await.unwrap().is_none());
        let chosen = AdminSettings {
            explicit: true,
            ..taken
        };
        let err = serve(&chosen, fake).await.unwrap_err();
        assert!(err.contains("cannot listen on"), "{err}");
        server.shutdown().await;
    }
}
