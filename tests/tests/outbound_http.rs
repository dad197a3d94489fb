//! Outbound HTTP (`http-send`) through the real path: the emulator pushes an event, the
//! connection, dedupe and dispatcher hand it to a WebAssembly handler, which sends requests
//! through its SDK's client; the host checks them against the handler's
//! `allowed_outbound_hosts` and limits and sends them to recording servers on 127.0.0.1 (plain
//! HTTP, and HTTPS with a CA generated here and trusted through `http.tls_ca`). The handler
//! answers a card callback with what each request got, so the test reads it from the ack.
//!
//! Host names that must resolve to a loopback address without `/etc/hosts` or DNS come from a
//! fixed table ([`StaticLookup`]: `rebind.test` → 127.0.0.1; `.test` never resolves on the
//! internet): the address rule applies to whatever the lookup answers, as in production.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::{DispatchSettings, Dispatcher, HandlerEntry};
use aviary::handler::Invoke;
use aviary::outbound::{
    AllowList, HttpLimits, HttpStatsSnapshot, OutboundHttp, OutboundSettings, StaticLookup,
};
use aviary::sandbox::{HandlerSpec, Sandbox, SandboxConfig};
use aviary_emulator::Emulator;
use aviary_test_support::guests::guest;
use aviary_test_support::http_server::{Reply, TestCerts, TestServer};
use aviary_test_support::*;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig {
        cache_dir: Some(aviary_test_support::lang_guests::sandbox_cache_dir()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aviary-outbound-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The test table of names: `rebind.test` and `internal.test` resolve to 127.0.0.1.
fn lookup() -> Arc<StaticLookup> {
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    Arc::new(
        StaticLookup::default()
            .with("rebind.test", &[loopback])
            .with("internal.test", &[loopback]),
    )
}

/// Outbound settings allowing `hosts`, with `limits` and the CA of `ca`.
fn settings(hosts: &[String], limits: HttpLimits, ca: Option<&Path>) -> OutboundSettings {
    OutboundSettings {
        allowed: AllowList::parse(hosts).unwrap_or_else(|e| panic!("{e:?}")),
        limits,
        tls_ca: ca.map(Path::to_path_buf),
        allow_private_addresses: false,
    }
}

/// The config of the test guests: `request_<i>` = `"METHOD URL"`, optional `header_<i>`
/// (`name: value` lines joined by `|`) and `body_<i>`.
fn requests(list: &[(&str, String, &str, &str)]) -> BTreeMap<String, String> {
    let mut config = BTreeMap::new();
    for (i, (method, url, headers, body)) in list.iter().enumerate() {
        config.insert(format!("request_{i}"), format!("{method} {url}"));
        if !headers.is_empty() {
            config.insert(format!("header_{i}"), headers.to_string());
        }
        if !body.is_empty() {
            config.insert(format!("body_{i}"), body.to_string());
        }
    }
    config
}

/// A loaded handler of `component` with its outbound HTTP (kept, to read its counters).
struct Loaded {
    entry: HandlerEntry,
    http: Arc<OutboundHttp>,
}

fn load(
    sandbox: &Sandbox,
    name: &str,
    component: PathBuf,
    events: &str,
    http: OutboundHttp,
    config: BTreeMap<String, String>,
) -> Loaded {
    let http = Arc::new(http);
    let mut spec = HandlerSpec::new(name, component);
    spec.config = config;
    spec.http = Some(http.clone());
    let loaded: Arc<dyn Invoke> = Arc::new(sandbox.load(spec).expect("component loads"));
    Loaded {
        entry: HandlerEntry::new(loaded, vec![EventPattern::parse(events).unwrap()]),
        http,
    }
}

/// Runs the emulator and the client over `handlers`; returns the emulator and the dispatcher.
async fn start(handlers: Vec<HandlerEntry>) -> (Emulator, Arc<Dispatcher>, CancellationToken) {
    let emu = start_emulator(|c| c.redelivery.enabled = false).await;
    let (dispatcher, shutdown) = connect(&emu, handlers).await;
    (emu, dispatcher, shutdown)
}

/// Runs the client against `emu` over `handlers`.
async fn connect(
    emu: &Emulator,
    handlers: Vec<HandlerEntry>,
) -> (Arc<Dispatcher>, CancellationToken) {
    let settings = DispatchSettings {
        // Longer than Feishu's 3 s (the manifest's bound): the emulator here does not
        // redeliver, the answer is what the tests read, and a loaded machine may need more
        // than 3 s for a handler that runs a dozen requests and TLS handshakes.
        callback_deadline: Duration::from_secs(30),
        ..DispatchSettings::default()
    };
    let dispatcher = Arc::new(Dispatcher::new(settings, handlers));
    let shutdown = CancellationToken::new();
    tokio::spawn(aviary::connection::run(
        options_for(emu),
        Arc::new(Deduplicating::new(dispatcher.clone())),
        aviary::connection::ConnectionStats::new(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, WAIT).await.unwrap();
    (dispatcher, shutdown)
}

/// Pushes a card callback and returns the `results` of the handler's answer.
async fn callback_results(emu: &Emulator, id: &str) -> Vec<String> {
    emu.push_event(&card_event(id, json!({})));
    let deadline = std::time::Instant::now() + WAIT;
    let ack = loop {
        let delivery = emu
            .deliveries()
            .into_iter()
            .find(|d| d.event_id.as_deref() == Some(id));
        if let Some(d) = delivery {
            if let Some(a) = emu.acks().into_iter().find(|a| a.delivery == Some(d.id)) {
                break a;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no ack for {id}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(ack.code, 200, "{ack:?}");
    let answer: Value = serde_json::from_slice(ack.data.as_ref().expect("an answer")).unwrap();
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Asserts that result `i` starts with `prefix` and holds every one of `parts`.
fn expect(results: &[String], i: usize, prefix: &str, parts: &[&str]) {
    let line = results
        .get(i)
        .unwrap_or_else(|| panic!("no result {i}: {results:#?}"));
    let want = format!("http {i} {prefix}");
    assert!(
        line.starts_with(&want),
        "result {i}: {line}\n(want {want}…)"
    );
    for p in parts {
        assert!(line.contains(p), "result {i}: {line}\n(want {p:?})");
    }
}

/// The echo body of result `i` (`http <i> ok 200 <json>`).
fn echo(results: &[String], i: usize) -> Value {
    let line = &results[i];
    let json = line.splitn(5, ' ').nth(4).unwrap_or("");
    serde_json::from_str(json).unwrap_or_else(|e| panic!("result {i}: {line}: {e}"))
}

fn header<'a>(echo: &'a Value, name: &str) -> Option<&'a str> {
    echo["headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h[1].as_str())
}

/// Every allowed call works over HTTP and HTTPS; every refusal — denied host, port and scheme,
/// a redirect to a denied host, a name resolving to a loopback address (asked for directly and
/// reached by a redirect), an oversized answer (with and without a length), a slow server past
/// the timeout, userinfo, a `Host` header, one request too many — is a clear error naming the handler and the key, is counted, never reaches
/// a server it must not reach, and leaves the neighbouring handlers working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_requests_work_and_every_refusal_is_clear_counted_and_contained() {
    let dir = scratch("rust");
    let certs = TestCerts::generate();
    let ca = certs.write_ca(&dir, "ca.pem");
    let plain = TestServer::http().await;
    let tls = TestServer::https(&certs).await;
    let evil = TestServer::http().await;
    plain.route(
        "/redirect-out",
        Reply::Redirect(302, evil.url("/stolen?token=x")),
    );
    plain.route(
        "/redirect-in",
        Reply::Redirect(307, "/echo?after=redirect".into()),
    );
    plain.route("/big", Reply::Big(5000));
    plain.route("/big-unsized", Reply::BigUnsized(5000));
    plain.route("/slow", Reply::Slow(Duration::from_secs(3)));
    let (p, t, e) = (plain.port(), tls.port(), evil.port());
    plain.route(
        "/redirect-rebind",
        Reply::Redirect(302, format!("http://rebind.test:{p}/echo")),
    );
    let hosts = vec![
        plain.origin(),
        format!("https://localhost:{t}"),
        tls.origin(),
        format!("http://rebind.test:{p}"),
    ];
    let limits = HttpLimits::default()
        .with_max_response_bytes(1000)
        .and_then(|l| l.with_timeout_ms(400))
        .and_then(|l| l.with_max_requests(15))
        .unwrap();
    let list = [
        (
            "GET",
            plain.url("/echo?x=1"),
            "X-Test: yes|Connection: X-Drop|X-Drop: 1",
            "",
        ),
        (
            "POST",
            format!("https://localhost:{t}/echo"),
            "Content-Type: text/plain",
            "hello",
        ),
        ("GET", tls.url("/echo"), "", ""),
        ("GET", format!("http://evil.test:{e}/"), "", ""),
        ("GET", format!("http://127.0.0.1:{e}/"), "", ""),
        ("GET", format!("https://127.0.0.1:{p}/"), "", ""),
        ("GET", plain.url("/redirect-out"), "", ""),
        ("POST", plain.url("/redirect-in"), "", "kept"),
        ("GET", format!("http://rebind.test:{p}/echo"), "", ""),
        ("GET", plain.url("/big"), "", ""),
        ("GET", plain.url("/big-unsized"), "", ""),
        ("GET", plain.url("/slow"), "", ""),
        ("GET", format!("http://user:pw@127.0.0.1:{p}/"), "", ""),
        ("GET", plain.url("/echo"), "Host: evil.test", ""),
        ("GET", plain.url("/redirect-rebind"), "", ""),
        ("GET", plain.url("/echo"), "", ""),
    ];
    let sandbox = sandbox();
    let client = load(
        &sandbox,
        "client",
        guest("http-client"),
        "card.action.trigger",
        OutboundHttp::with_lookup("client", settings(&hosts, limits, Some(&ca)), lookup()),
        requests(&list),
    );
    // Neighbours on the message events: one with its own grant, one without any.
    let neighbour = load(
        &sandbox,
        "neighbour",
        guest("http-client"),
        "im.message.receive_v1",
        OutboundHttp::with_lookup(
            "neighbour",
            settings(&[plain.origin()], HttpLimits::default(), None),
            lookup(),
        ),
        requests(&[("GET", plain.url("/echo?from=neighbour"), "", "")]),
    );
    let ungranted = load(
        &sandbox,
        "ungranted",
        guest("http-client"),
        "im.message.receive_v1",
        OutboundHttp::with_lookup("ungranted", OutboundSettings::default(), lookup()),
        requests(&[("GET", plain.url("/echo?from=ungranted"), "", "")]),
    );
    let stats = |l: &Loaded| l.http.stats().snapshot();
    let (emu, dispatcher, shutdown) = start(vec![
        client.entry.clone(),
        neighbour.entry.clone(),
        ungranted.entry.clone(),
    ])
    .await;

    emu.push_event(&message_event("ev-m1", "om_m1", "oc_1", "hi"));
    let r = callback_results(&emu, "ev-card-1").await;
    emu.wait_for_acks(2, WAIT).await.unwrap();
    assert_eq!(r.len(), list.len(), "{r:#?}");

    expect(&r, 0, "ok 200 ", &[]);
    let e0 = echo(&r, 0);
    assert_eq!(e0["target"], "/echo?x=1");
    assert_eq!(header(&e0, "x-test"), Some("yes"));
    assert_eq!(
        header(&e0, "x-drop"),
        None,
        "a header named in Connection is dropped"
    );
    assert_eq!(
        header(&e0, "connection"),
        None,
        "hop-by-hop headers are the host's"
    );
    assert_eq!(header(&e0, "host"), Some(format!("127.0.0.1:{p}").as_str()));
    expect(&r, 1, "ok 200 ", &[]);
    let e1 = echo(&r, 1);
    assert_eq!(
        (e1["method"].as_str(), e1["body"].as_str()),
        (Some("POST"), Some("hello"))
    );
    assert_eq!(header(&e1, "host"), Some(format!("localhost:{t}").as_str()));
    expect(&r, 2, "ok 200 ", &[]);
    let denied = "err denied: handler `client` may not send GET";
    let key = "no entry of its manifest key `allowed_outbound_hosts` allows";
    expect(&r, 3, denied, &[key, &format!("http://evil.test:{e}")]);
    expect(
        &r,
        4,
        denied,
        &[
            key,
            &format!("http://127.0.0.1:{e}; the host is allowed only as http://127.0.0.1:{p}"),
        ],
    );
    expect(
        &r,
        5,
        denied,
        &[&format!(
            "https://127.0.0.1:{p}; the host is allowed only as http://127.0.0.1:{p}"
        )],
    );
    expect(
        &r,
        6,
        "err denied: handler `client` may not follow the redirect (302) of GET",
        &[key, &format!("to http://127.0.0.1:{e}/stolen?…")],
    );
    expect(&r, 7, "ok 200 ", &[]);
    let e7 = echo(&r, 7);
    assert_eq!(e7["target"], "/echo?after=redirect");
    assert_eq!(
        (e7["method"].as_str(), e7["body"].as_str()),
        (Some("POST"), Some("kept")),
        "307 keeps method and body"
    );
    expect(
        &r,
        8,
        denied,
        &[
            "`rebind.test` resolves to 127.0.0.1, a loopback address",
            "http.allow_private_addresses",
        ],
    );
    let large = "the answer is larger than 1000 bytes (manifest key `http.max_response_bytes`)";
    expect(&r, 9, "err GET ", &[large]);
    expect(&r, 10, "err GET ", &[large]);
    expect(
        &r,
        11,
        "err GET ",
        &["no answer within", "`http.timeout_ms` is 400 ms"],
    );
    expect(&r, 12, denied, &["userinfo"]);
    expect(&r, 13, denied, &["the `Host` header is refused"]);
    expect(
        &r,
        14,
        denied,
        &["`rebind.test` resolves to 127.0.0.1, a loopback address"],
    );
    expect(
        &r,
        15,
        "err denied: handler `client` may make 15 requests per call (manifest key `http.max_requests`)",
        &[],
    );

    // What reached the servers: only what was allowed, and nothing the host adds.
    assert!(evil.requests().is_empty(), "{:?}", evil.requests());
    let seen: Vec<String> = plain.requests().iter().map(|q| q.target.clone()).collect();
    for want in [
        "/echo?x=1",
        "/redirect-out",
        "/redirect-in",
        "/echo?after=redirect",
        "/big",
        "/big-unsized",
        "/slow",
        "/redirect-rebind",
        "/echo?from=neighbour",
    ] {
        assert!(seen.iter().any(|s| s == want), "{want} not in {seen:?}");
    }
    assert_eq!(seen.len(), 9, "nothing else reached the server: {seen:?}");
    for q in plain.requests().iter().chain(&tls.requests()) {
        assert_eq!(q.header("authorization"), None, "{q:?}");
        let raw = format!("{q:?}");
        assert!(
            !raw.contains("emulator") && !raw.contains("secret"),
            "{raw}"
        );
    }
    assert_eq!(tls.requests().len(), 2);

    assert_eq!(
        stats(&client),
        HttpStatsSnapshot {
            answered: 4,
            denied: 9,
            timeout: 1,
            too_large: 2,
            failed: 0
        }
    );
    assert_eq!(
        stats(&neighbour),
        HttpStatsSnapshot {
            answered: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        stats(&ungranted),
        HttpStatsSnapshot {
            denied: 1,
            ..Default::default()
        }
    );
    let d = dispatcher.stats().snapshot();
    assert_eq!((d.failed, d.responded), (0, 1), "{d:?}");
    assert_eq!(d.done, 2, "both neighbours finished: {d:?}");
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same calls from every guest language, each through its SDK's idiomatic client
/// (Rust `aviary_guest::http`, JavaScript `fetch` on QuickJS and StarlingMonkey, Python
/// `aviary_guest.http`, Go `net/http` over `httpclient.Transport`): plain HTTP with a header,
/// HTTPS to `localhost` with a UTF-8 body (the CA trusted through `http.tls_ca`), a denied host
/// and an oversized answer, each counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_calls_work_from_every_language() {
    use aviary_test_support::go_guests::go_component;
    use aviary_test_support::lang_guests::{js, py, JsEngine};
    let dir = scratch("languages");
    let certs = TestCerts::generate();
    let ca = certs.write_ca(&dir, "ca.pem");
    let plain = TestServer::http().await;
    let tls = TestServer::https(&certs).await;
    let evil = TestServer::http().await;
    plain.route("/big", Reply::Big(5000));
    let t = tls.port();
    let guests: Vec<(&str, PathBuf)> = vec![
        ("rust", guest("http-client")),
        ("quickjs", js("tests/guests-js/http.js", JsEngine::QuickJs)),
        (
            "starlingmonkey",
            js("tests/guests-js/http.js", JsEngine::StarlingMonkey),
        ),
        ("python", py("tests/guests-py/http_guest.py")),
        (
            "go",
            go_component(
                "tests/go-guests/http",
                aviary::guest_build::DEFAULT_ARENA_MIB,
            )
            .path,
        ),
    ];
    let sandbox = sandbox();
    let hosts = vec![plain.origin(), format!("https://localhost:{t}")];
    let limits = HttpLimits::default().with_max_response_bytes(1000).unwrap();
    for (lang, component) in guests {
        let list = [
            (
                "GET",
                plain.url(&format!("/echo?lang={lang}")),
                "X-Lang: yes",
                "",
            ),
            (
                "POST",
                format!("https://localhost:{t}/echo"),
                "Content-Type: text/plain",
                "hé ✓",
            ),
            ("GET", evil.url("/"), "", ""),
            ("GET", plain.url("/big"), "", ""),
        ];
        let handler = load(
            &sandbox,
            lang,
            component,
            "card.action.trigger",
            OutboundHttp::with_lookup(lang, settings(&hosts, limits, Some(&ca)), lookup()),
            requests(&list),
        );
        let (emu, _dispatcher, shutdown) = start(vec![handler.entry.clone()]).await;
        let r = callback_results(&emu, &format!("ev-{lang}")).await;
        assert_eq!(r.len(), 4, "{lang}: {r:#?}");
        expect(&r, 0, "ok 200 ", &[]);
        let e0 = echo(&r, 0);
        assert_eq!(e0["target"], format!("/echo?lang={lang}"), "{lang}");
        assert_eq!(header(&e0, "x-lang"), Some("yes"), "{lang}: {e0}");
        expect(&r, 1, "ok 200 ", &[]);
        let e1 = echo(&r, 1);
        assert_eq!(e1["method"], "POST", "{lang}");
        assert_eq!(e1["body"], "hé ✓", "{lang}: the body arrives as UTF-8");
        assert_eq!(header(&e1, "content-type"), Some("text/plain"), "{lang}");
        expect(
            &r,
            2,
            &format!(
                "err denied: handler `{lang}` may not send GET {}",
                evil.url("/")
            ),
            &["allowed_outbound_hosts"],
        );
        expect(&r, 3, "err GET ", &["larger than 1000 bytes"]);
        assert_eq!(
            handler.http.stats().snapshot(),
            HttpStatsSnapshot {
                answered: 2,
                denied: 1,
                too_large: 1,
                ..Default::default()
            },
            "{lang}"
        );
        shutdown.cancel();
    }
    assert!(evil.requests().is_empty());
    assert_eq!(tls.requests().len(), 5, "one HTTPS call per language");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A handler granted both the OpenAPI and outbound HTTP: after a `feishu-request` (the host
/// fetched the tenant token with the app secret and sent it to the emulator), its HTTP requests
/// carry only what the guest set — neither the token nor the secret, in any header, the target
/// or the body — and the guest's own `Authorization` arrives as it wrote it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_secret_and_tenant_token_never_travel_on_outbound_requests() {
    use aviary::openapi::{FeishuClient, OpenApiApp, OpenApiGrant};
    use aviary::sandbox::OpenApiAccess;
    let plain = TestServer::http().await;
    let emu = start_emulator(|c| c.redelivery.enabled = false).await;
    let app = aviary_emulator::EmulatorConfig::default();
    let sandbox = sandbox();
    let http = Arc::new(OutboundHttp::with_lookup(
        "both",
        settings(&[plain.origin()], HttpLimits::default(), None),
        lookup(),
    ));
    let mut spec = HandlerSpec::new("both", guest("http-client"));
    let mut config = requests(&[
        (
            "GET",
            plain.url("/echo?n=1"),
            "Authorization: Bearer guest-own-key",
            "",
        ),
        ("POST", plain.url("/echo?n=2"), "", "payload"),
    ]);
    config.insert(
        "feishu_first".into(),
        "GET /open-apis/im/v1/chats?page_size=1".into(),
    );
    spec.config = config;
    spec.http = Some(http.clone());
    spec.openapi = Some(OpenApiAccess {
        client: Arc::new(
            FeishuClient::new(OpenApiApp {
                app_id: app.app_id.clone(),
                app_secret: app.app_secret.clone().into(),
                domain: emu.domain(),
                send_limits: Default::default(),
            })
            .unwrap(),
        ),
        grant: OpenApiGrant::parse(&["/open-apis/im/v1/chats"]).unwrap(),
    });
    let loaded: Arc<dyn Invoke> = Arc::new(sandbox.load(spec).expect("component loads"));
    let entry = HandlerEntry::new(loaded, vec![EventPattern::parse("*").unwrap()]);
    let (_dispatcher, shutdown) = connect(&emu, vec![entry]).await;
    let r = callback_results(&emu, "ev-both").await;
    assert_eq!(r.len(), 3, "{r:#?}");
    assert!(r[0].starts_with("feishu "), "{}", r[0]);
    let calls = emu.openapi_calls();
    let token = calls
        .iter()
        .find_map(|c| c.header("authorization"))
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("the host sent the tenant token to the OpenAPI")
        .to_string();
    assert!(token.len() > 8, "{token}");
    let results = r[1..].to_vec();
    let e0 = echo(&results, 0);
    assert_eq!(header(&e0, "authorization"), Some("Bearer guest-own-key"));
    let seen = plain.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for q in &seen {
        let raw = format!("{q:?}{}", String::from_utf8_lossy(&q.body));
        assert!(!raw.contains(&token), "the tenant token travelled: {raw}");
        assert!(
            !raw.contains(&app.app_secret),
            "the app secret travelled: {raw}"
        );
    }
    assert_eq!(seen[1].header("authorization"), None, "the host adds none");
    assert_eq!(http.stats().snapshot().answered, 2);
    shutdown.cancel();
}
