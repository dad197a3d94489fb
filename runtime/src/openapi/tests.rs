//! The client against a stub OpenAPI on 127.0.0.1: token caching, the refresh on an invalid
//! token, error answers, the response cap and the timeout. Then the path checks against the
//! emulator as a recording server: the traversal corpus is denied before anything is sent, and
//! for generated paths every request the server sees is under the grant (a property test).

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

/// `method path`, checked for `c` against a grant of the stub's paths.
fn call(c: &FeishuClient, method: &str, path: &str) -> CheckedCall {
    let grant = OpenApiGrant::parse(&[
        "POST /open-apis/echo",
        "GET /open-apis/fail",
        "GET /open-apis/huge",
        "GET /open-apis/slow",
    ])
    .unwrap();
    call::check("test", &grant, c.domain(), method, path).unwrap()
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
        .request(&call(&c, "POST", "/open-apis/echo"), r#"{"a":1}"#, LONG)
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(v["data"]["got"], r#"{"a":1}"#);
    assert_eq!(
        stub.tokens_issued.load(Ordering::SeqCst),
        2,
        "t-1 refused, t-2 fetched"
    );
    c.request(&call(&c, "POST", "/open-apis/echo"), "", LONG)
        .await
        .unwrap();
    assert_eq!(stub.tokens_issued.load(Ordering::SeqCst), 2, "t-2 cached");
}

#[tokio::test]
async fn errors_name_the_call_and_never_hold_secret_or_token() {
    let (domain, _stub) = start().await;
    let c = client(&domain, "sekret");
    let failed = c
        .request(&call(&c, "GET", "/open-apis/fail"), "", LONG)
        .await
        .unwrap_err();
    assert!(
        failed.starts_with("GET /open-apis/fail: HTTP 400 Bad Request, code 230002"),
        "{failed}"
    );
    assert!(failed.contains("bot not in chat"), "{failed}");
    let huge = c
        .request(&call(&c, "GET", "/open-apis/huge"), "", LONG)
        .await
        .unwrap_err();
    assert!(huge.contains("larger than 1048576 bytes"), "{huge}");
    let slow = c
        .request(
            &call(&c, "GET", "/open-apis/slow"),
            "",
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
    assert!(slow.contains("no answer within"), "{slow}");
    for e in [&failed, &huge, &slow] {
        assert!(!e.contains("sekret") && !e.contains("t-1"), "{e}");
    }

    let wrong = client(&domain, "wrong");
    let e = wrong
        .request(&call(&wrong, "GET", "/open-apis/fail"), "", LONG)
        .await
        .unwrap_err();
    assert!(
        e.contains("cannot get a tenant_access_token for app `cli_test`") && e.contains("10014"),
        "{e}"
    );
    assert!(!e.contains("wrong"), "the secret is not quoted: {e}");
}

#[tokio::test]
async fn a_call_checked_for_another_domain_is_not_sent() {
    let (domain, stub) = start().await;
    let c = client(&domain, "sekret");
    let other = client("http://127.0.0.1:9", "sekret");
    let e = c
        .request(&call(&other, "POST", "/open-apis/echo"), "", LONG)
        .await
        .unwrap_err();
    assert!(
        e.contains("checked for the domain `http://127.0.0.1:9`"),
        "{e}"
    );
    assert_eq!(stub.tokens_issued.load(Ordering::SeqCst), 0, "nothing sent");
}

#[path = "../../tests/openapi_support/corpus.rs"]
mod corpus;
#[path = "../../tests/openapi_support/wire.rs"]
mod wire;

use super::token::TOKEN_PATH;
use crate::emulator::{Emulator, EmulatorConfig};

fn emulator_client(emu: &Emulator) -> FeishuClient {
    let config = EmulatorConfig::default();
    FeishuClient::new(OpenApiApp {
        app_id: config.app_id,
        app_secret: config.app_secret.as_str().into(),
        domain: emu.domain(),
    })
    .unwrap()
}

/// What the server saw, the host's own token fetches left out: (method, path?query).
fn seen(emu: &Emulator) -> Vec<(String, String)> {
    emu.openapi_calls()
        .into_iter()
        .filter(|c| !(c.method == "POST" && c.path == TOKEN_PATH))
        .map(|c| {
            let target = match c.query.as_str() {
                "" => c.path.clone(),
                q => format!("{}?{q}", c.path),
            };
            (c.method, target)
        })
        .collect()
}

#[tokio::test]
async fn every_traversal_spelling_is_denied_naming_the_handler_and_the_key() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let c = emulator_client(&emu);
    let narrow = OpenApiGrant::parse(&[corpus::GRANTED]).unwrap();
    // The path rules do not depend on the grant: a wide one denies the corpus as well.
    let wide = OpenApiGrant::parse(&["/open-apis/im", "/open-apis/contact"]).unwrap();
    for path in corpus::TRAVERSALS {
        for grant in [&narrow, &wide] {
            for method in Method::ALL {
                let e =
                    call::check("rec", grant, c.domain(), method.as_str(), path).expect_err(path);
                assert!(
                    e.starts_with("denied: handler `rec` may not call ") && e.contains("`openapi`"),
                    "{path:?}: {e}"
                );
            }
        }
    }
    // The control: a granted call is sent, and it is the only thing the server saw.
    let ok = call::check(
        "rec",
        &narrow,
        c.domain(),
        "POST",
        "/open-apis/im/v1/messages/om_1/reply",
    )
    .unwrap();
    let body = r#"{"msg_type":"text","content":"{\"text\":\"hi\"}"}"#;
    c.request(&ok, body, LONG).await.unwrap();
    assert_eq!(
        seen(&emu),
        [(
            "POST".to_string(),
            "/open-apis/im/v1/messages/om_1/reply".to_string()
        )]
    );
}

/// Generated calls (paths of random segments mixing `.`, `%`, hex digits, `/`, `\`, `;`, and
/// random methods; `openapi_support/wire.rs`) sent to the emulator: every request it receives
/// is the checked one, and an oracle written without Aviary's checks finds it clean and
/// granted; a denied call sends nothing.
#[test]
fn whatever_the_path_the_server_sees_only_granted_calls() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(Emulator::start(EmulatorConfig::default()))
        .unwrap();
    let c = emulator_client(&emu);
    let grant = OpenApiGrant::parse(&wire::GRANT).unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 1500,
        failure_persistence: None,
        ..Config::default()
    });
    let sent = std::cell::Cell::new(0usize);
    runner
        .run(&wire::call(), |(method, path)| {
            let before = seen(&emu).len();
            match call::check("prop", &grant, c.domain(), &method, &path) {
                Err(e) => {
                    prop_assert!(
                        e.starts_with("denied: handler `prop`") && e.contains("`openapi`"),
                        "{}",
                        e
                    );
                    prop_assert_eq!(seen(&emu).len(), before, "a denied call sent nothing");
                }
                Ok(checked) => {
                    sent.set(sent.get() + 1);
                    let _ = rt.block_on(c.request(&checked, "{}", LONG));
                    let new = seen(&emu).split_off(before);
                    prop_assert_eq!(new.len(), 1, "one request for {:?}", path);
                    let (m, target) = &new[0];
                    prop_assert_eq!(target, &path, "sent as written");
                    prop_assert_eq!(m.as_str(), checked.method().as_str());
                    let problem = wire::wire_problem(m, target);
                    prop_assert!(problem.is_none(), "{} {:?}: {:?}", m, target, problem);
                }
            }
            Ok::<(), TestCaseError>(())
        })
        .unwrap();
    eprintln!(
        "{} of 1500 generated calls were granted and sent",
        sent.get()
    );
    assert!(
        sent.get() >= 50,
        "the generator reaches the server too rarely to prove much: {} of 1500",
        sent.get()
    );
}
