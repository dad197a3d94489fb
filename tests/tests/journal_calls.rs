//! What a run's calls look like to the run journal (`Invocation::calls`, shown in `aviary
//! dev`'s timeline), from the real sandbox: a Wasm guest (`http-client`) makes a
//! `feishu-request` it has no grant for and `http-send` requests to a recording server on
//! 127.0.0.1 — allowed, refused by the allow-list, with user info in the URL. Each call is its
//! import, method, target without query or user info, and a one-line answer; never a header, a
//! query string, a body or a credential.

use std::collections::BTreeMap;
use std::sync::Arc;

use aviary::handler::{HostCall, Invoke, Outcome};
use aviary::outbound::{AllowList, HttpLimits, OutboundHttp, OutboundSettings};
use aviary::protocol::envelope::EventKind;
use aviary::sandbox::{HandlerSpec, Sandbox, SandboxConfig};
use aviary_test_support::guests::{event, guest};
use aviary_test_support::http_server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_calls_are_recorded_without_headers_queries_bodies_or_credentials() {
    let server = TestServer::http().await;
    let p = server.port();
    let mut config = BTreeMap::new();
    config.insert(
        "feishu_first".to_string(),
        "POST /open-apis/im/v1/messages".to_string(),
    );
    config.insert(
        "request_0".to_string(),
        format!("GET {}", server.url("/echo?token=query-secret")),
    );
    config.insert(
        "header_0".to_string(),
        "Authorization: Bearer header-secret".to_string(),
    );
    config.insert(
        "request_1".to_string(),
        "GET http://evil.test:1/x".to_string(),
    );
    config.insert(
        "request_2".to_string(),
        format!("GET http://user:pw-secret@127.0.0.1:{p}/echo"),
    );
    let http = OutboundHttp::new(
        "client",
        OutboundSettings {
            allowed: AllowList::parse(&[server.origin()]).unwrap(),
            limits: HttpLimits::default(),
            tls_ca: None,
            allow_private_addresses: false,
        },
    );
    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: Some(aviary_test_support::lang_guests::sandbox_cache_dir()),
        ..SandboxConfig::default()
    })
    .unwrap();
    let mut spec = HandlerSpec::new("client", guest("http-client"));
    spec.config = config;
    spec.http = Some(Arc::new(http));
    let handler = sandbox.load(spec).expect("loads");

    let invocation = handler
        .invoke(&event("ev-1", "im.message.receive_v1", EventKind::Event))
        .await;
    assert!(
        matches!(invocation.result, Ok(Outcome::Done)),
        "{:?}",
        invocation.result
    );
    let calls: Vec<&HostCall> = invocation.calls.iter().collect();
    assert_eq!(calls.len(), 4, "{calls:#?}");

    let feishu = calls[0];
    assert_eq!(
        (feishu.import, feishu.method.as_str(), feishu.ok),
        ("feishu-request", "POST", false)
    );
    assert_eq!(feishu.target, "/open-apis/im/v1/messages");
    assert!(feishu.answer.contains("denied"), "{}", feishu.answer);

    let allowed = calls[1];
    assert_eq!(
        (
            allowed.import,
            allowed.method.as_str(),
            allowed.ok,
            allowed.status
        ),
        ("http-send", "GET", true, Some(200))
    );
    assert_eq!(allowed.target, server.url("/echo"), "no query");
    assert!(
        allowed.answer.starts_with("HTTP 200, "),
        "{}",
        allowed.answer
    );

    let refused = calls[2];
    assert_eq!(
        (refused.import, refused.ok, refused.status),
        ("http-send", false, None)
    );
    assert_eq!(refused.target, "http://evil.test:1/x");
    assert!(!refused.answer.is_empty());

    let with_user = calls[3];
    assert_eq!(
        with_user.target,
        format!("http://127.0.0.1:{p}/echo"),
        "no user info"
    );

    // The guest got the echo (headers, query) and logged it; the calls keep none of it.
    let logged: String = invocation.logs.iter().map(|l| l.message.clone()).collect();
    assert!(
        logged.contains("header-secret"),
        "the guest saw its own header"
    );
    let recorded = format!("{calls:?}");
    for secret in ["query-secret", "header-secret", "pw-secret"] {
        assert!(!recorded.contains(secret), "{secret} in {recorded}");
    }
}
