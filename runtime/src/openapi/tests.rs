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

use super::call::CheckedCall;
use super::error::{OpenApiError, TokenError};
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
        send_limits: Default::default(),
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
        matches!(
            failed,
            OpenApiError::Answer {
                code: Some(230002),
                ..
            }
        ),
        "{failed:?}"
    );
    let failed = failed.to_string();
    assert!(
        failed.starts_with("GET /open-apis/fail: HTTP 400 Bad Request, code 230002"),
        "{failed}"
    );
    assert!(failed.contains("bot not in chat"), "{failed}");
    let huge = c
        .request(&call(&c, "GET", "/open-apis/huge"), "", LONG)
        .await
        .unwrap_err();
    let cause = std::error::Error::source(&huge).map(ToString::to_string);
    assert_eq!(
        cause.as_deref(),
        Some("the answer is larger than 1048576 bytes"),
        "the cause is kept as the source"
    );
    let huge = huge.to_string();
    assert!(huge.contains("larger than 1048576 bytes"), "{huge}");
    let slow = c
        .request(
            &call(&c, "GET", "/open-apis/slow"),
            "",
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
    assert!(matches!(slow, OpenApiError::Timeout { .. }), "{slow:?}");
    let slow = slow.to_string();
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
        matches!(
            e,
            OpenApiError::Token(TokenError::Refused { code: 10014, .. })
        ),
        "{e:?}"
    );
    let e = e.to_string();
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
        .unwrap_err()
        .to_string();
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
use aviary_emulator::{Emulator, EmulatorConfig};

fn emulator_client(emu: &Emulator) -> FeishuClient {
    let config = EmulatorConfig::default();
    FeishuClient::new(OpenApiApp {
        app_id: config.app_id,
        app_secret: config.app_secret.as_str().into(),
        domain: emu.domain(),
        send_limits: pacing::AppSendLimits {
            per_second: config.app_send_limits.per_second,
            per_minute: config.app_send_limits.per_minute,
        },
    })
    .unwrap()
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
        emu.requests_besides_tokens(),
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
            let before = emu.requests_besides_tokens().len();
            match call::check("prop", &grant, c.domain(), &method, &path) {
                Err(e) => {
                    prop_assert!(
                        e.starts_with("denied: handler `prop`") && e.contains("`openapi`"),
                        "{}",
                        e
                    );
                    prop_assert_eq!(
                        emu.requests_besides_tokens().len(),
                        before,
                        "a denied call sent nothing"
                    );
                }
                Ok(checked) => {
                    sent.set(sent.get() + 1);
                    let _ = rt.block_on(c.request(&checked, "{}", LONG));
                    let new = emu.requests_besides_tokens().split_off(before);
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

/// The emulator's stub: a send to `chat` with text `text`.
fn send_body(chat: &str, text: &str) -> String {
    json!({"receive_id": chat, "msg_type": "text", "content": json!({"text": text}).to_string()})
        .to_string()
}

#[tokio::test]
async fn the_emulator_answers_429_past_five_sends_per_second_to_one_chat() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let config = EmulatorConfig::default();
    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{}{TOKEN_PATH}", emu.domain()))
        .json(&json!({"app_id": config.app_id, "app_secret": config.app_secret.as_str()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant = answer["tenant_access_token"].as_str().unwrap().to_string();
    // A raw burst, not paced by the host: the sixth within a second is refused.
    let url = format!(
        "{}/open-apis/im/v1/messages?receive_id_type=chat_id",
        emu.domain()
    );
    let mut statuses = Vec::new();
    let mut reset = None;
    for i in 0..6 {
        let r = http
            .post(&url)
            .bearer_auth(&tenant)
            .header("content-type", "application/json")
            .body(send_body("oc_burst", &format!("m{i}")))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            reset = r.headers().get("x-ogw-ratelimit-reset").cloned();
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["code"], crate::limits::openapi::RATE_LIMITED_CODE);
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    assert_eq!(reset.unwrap().to_str().unwrap(), "1");
    assert_eq!(emu.rate_limited_sends(), 1);
    // Another chat is not affected.
    let other = format!(
        "{}/open-apis/im/v1/messages?receive_id_type=chat_id",
        emu.domain()
    );
    let r = http
        .post(&other)
        .bearer_auth(&tenant)
        .header("content-type", "application/json")
        .body(send_body("oc_other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_host_paces_sends_to_one_chat_and_every_one_lands_once() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let c = emulator_client(&emu);
    let grant = OpenApiGrant::parse(&["POST /open-apis/im/v1/messages"]).unwrap();
    let send = call::check(
        "t",
        &grant,
        c.domain(),
        "POST",
        "/open-apis/im/v1/messages?receive_id_type=chat_id",
    )
    .unwrap();
    for i in 0..12 {
        c.request(&send, &send_body("oc_paced", &format!("m{i}")), LONG)
            .await
            .unwrap_or_else(|e| panic!("send {i}: {e}"));
    }
    let texts: Vec<String> = emu.sent_messages().into_iter().map(|m| m.content).collect();
    let expected: Vec<String> = (0..12)
        .map(|i| json!({"text": format!("m{i}")}).to_string())
        .collect();
    assert_eq!(texts, expected, "each send landed once, in order");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_send_that_cannot_be_paced_inside_its_deadline_says_it_was_rate_limited() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let c = emulator_client(&emu);
    let grant = OpenApiGrant::parse(&["POST /open-apis/im/v1/messages"]).unwrap();
    let reply = call::check(
        "t",
        &grant,
        c.domain(),
        "POST",
        "/open-apis/im/v1/messages/om_1/reply",
    )
    .unwrap();
    let body = json!({"msg_type": "text", "content": "{\"text\":\"r\"}"}).to_string();
    for _ in 0..crate::limits::openapi::RECEIVER_SEND_LIMIT {
        c.request(&reply, &body, LONG).await.unwrap();
    }
    let refused = c
        .request(&reply, &body, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(refused, OpenApiError::Paced { .. }), "{refused:?}");
    let refused = refused.to_string();
    assert!(refused.contains("rate limited"), "{refused}");
    assert!(refused.contains("answer `retry`"), "{refused}");
    assert_eq!(
        emu.sent_messages().len(),
        5,
        "nothing was sent for the refused call"
    );
    assert_eq!(
        emu.rate_limited_sends(),
        0,
        "the host did not send it at all"
    );
    emu.shutdown().await;
}

#[derive(Default)]
struct Limited {
    hits: AtomicUsize,
}

#[tokio::test]
async fn a_429_is_retried_after_its_reset_when_that_fits_the_deadline() {
    let stub = Arc::new(Limited::default());
    let app = Router::new()
        .route(
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(|| async { Json(json!({"code": 0, "tenant_access_token": "t", "expire": 7200})) }),
        )
        .route(
            "/open-apis/limited",
            post(|State(s): State<Arc<Limited>>| async move {
                if s.hits.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut headers = HeaderMap::new();
                    headers.insert("x-ogw-ratelimit-reset", "1".parse().unwrap());
                    return (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        headers,
                        Json(json!({"code": 99991400, "msg": "request trigger frequency limit"})),
                    );
                }
                (
                    axum::http::StatusCode::OK,
                    HeaderMap::new(),
                    Json(json!({"code": 0})),
                )
            }),
        )
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let domain = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let c = client(&domain, "any");
    let grant = OpenApiGrant::parse(&["POST /open-apis/limited"]).unwrap();
    let limited = call::check("t", &grant, c.domain(), "POST", "/open-apis/limited").unwrap();
    // A deadline shorter than the reset: refused at once, without waiting.
    let early = c
        .request(&limited, "{}", Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(
        matches!(early, OpenApiError::RateLimited { fits: false, .. }),
        "{early:?}"
    );
    let early = early.to_string();
    assert!(early.contains("rate limited by Feishu"), "{early}");
    assert!(early.contains("pass the handler's deadline"), "{early}");
    assert_eq!(stub.hits.load(Ordering::SeqCst), 1);
    // The next call is answered 429 again only if the stub says so; reset the stub's count.
    stub.hits.store(0, Ordering::SeqCst);
    c.request(&limited, "{}", LONG).await.unwrap();
    assert_eq!(
        stub.hits.load(Ordering::SeqCst),
        2,
        "one 429, then the retry"
    );
}
