//! The client against a stub OpenAPI on 127.0.0.1: token caching, the refresh on an invalid
//! token, error answers, the response cap and the timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::*;
use crate::limits::openapi::MAX_RESPONSE_BYTES;

#[derive(Default)]
struct Stub {
    tokens_issued: AtomicUsize,
}

async fn token(State(s): State<Arc<Stub>>, Json(body): Json<Value>) -> Json<Value> {
    if body["app_secret"] != "sekret" {
        return Json(json!({"code": 10014, "msg": "app secret invalid"}));
    }
    let n = s.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    Json(json!({"code": 0, "msg": "ok", "tenant_access_token": format!("t-{n}"), "expire": 7200}))
}

/// Accepts only the second token ever issued: the first is "invalid" (99991663).
async fn echo(headers: HeaderMap, body: String) -> Json<Value> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != "Bearer t-2" {
        return Json(json!({"code": 99991663, "msg": "Invalid access token"}));
    }
    Json(json!({"code": 0, "msg": "success", "data": {"got": body}}))
}

async fn start() -> (String, Arc<Stub>) {
    let stub = Arc::new(Stub::default());
    let app = Router::new()
        .route(
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(token),
        )
        .route("/open-apis/echo", post(echo))
        .route(
            "/open-apis/fail",
            get(|| async {
                (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({"code": 230002, "msg": "bot not in chat"})),
                )
            }),
        )
        .route(
            "/open-apis/huge",
            get(|| async { "x".repeat(MAX_RESPONSE_BYTES + 1) }),
        )
        .route(
            "/open-apis/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), stub)
}

fn client(domain: &str, secret: &str) -> FeishuClient {
    FeishuClient::new(OpenApiApp {
        app_id: "cli_test".into(),
        app_secret: secret.into(),
        domain: domain.into(),
    })
    .unwrap()
}

const LONG: Duration = Duration::from_secs(20);

#[tokio::test]
async fn an_invalid_token_is_refreshed_once_then_cached() {
    let (domain, stub) = start().await;
    let c = client(&domain, "sekret");
    let answer = c
        .request("POST", "/open-apis/echo", r#"{"a":1}"#, LONG)
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(v["data"]["got"], r#"{"a":1}"#);
    assert_eq!(
        stub.tokens_issued.load(Ordering::SeqCst),
        2,
        "t-1 refused, t-2 fetched"
    );
    c.request("POST", "/open-apis/echo", "", LONG)
        .await
        .unwrap();
    assert_eq!(stub.tokens_issued.load(Ordering::SeqCst), 2, "t-2 cached");
}

#[tokio::test]
async fn errors_name_the_call_and_never_hold_secret_or_token() {
    let (domain, _stub) = start().await;
    let c = client(&domain, "sekret");
    let failed = c
        .request("GET", "/open-apis/fail", "", LONG)
        .await
        .unwrap_err();
    assert!(
        failed.starts_with("GET /open-apis/fail: HTTP 400 Bad Request, code 230002"),
        "{failed}"
    );
    assert!(failed.contains("bot not in chat"), "{failed}");
    let huge = c
        .request("GET", "/open-apis/huge", "", LONG)
        .await
        .unwrap_err();
    assert!(huge.contains("larger than 1048576 bytes"), "{huge}");
    let slow = c
        .request("GET", "/open-apis/slow", "", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(slow.contains("no answer within"), "{slow}");
    for e in [&failed, &huge, &slow] {
        assert!(!e.contains("sekret") && !e.contains("t-1"), "{e}");
    }

    let wrong = client(&domain, "wrong");
    let e = wrong
        .request("GET", "/open-apis/fail", "", LONG)
        .await
        .unwrap_err();
    assert!(
        e.contains("cannot get a tenant_access_token for app `cli_test`") && e.contains("10014"),
        "{e}"
    );
    assert!(!e.contains("wrong"), "the secret is not quoted: {e}");
}
