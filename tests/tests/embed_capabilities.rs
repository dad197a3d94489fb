//! Capabilities of Wasm handlers added in code (`Handler::wasm(..).kv()`, `.kv_shared(..)`,
//! `.allowed_outbound_hosts(..)`, `.http_*`), through `Runtime::builder()` against the
//! emulator: the key-value test guest's writes reach the queue backend's store in its own
//! namespace and in a shared one, a handler without the grant is denied and writes nothing;
//! the HTTP test guest's allowed request reaches a recording server while the denied one
//! does not. And every bad grant is refused at `start`, named by handler and key, with the
//! manifest's checks.

use std::time::Duration;

use aviary::queue::QueueBackend;
use aviary::{Handler, Runtime, Settings, StartError};
use aviary_emulator::{Emulator, EmulatorConfig};
use aviary_test_support::guests::guest;
use aviary_test_support::http_server::TestServer;
use aviary_test_support::{card_event, eventually, message_event, start_emulator, Dir};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

fn settings(emu: &Emulator, dir: &Dir) -> Settings {
    let cfg = EmulatorConfig::default();
    let mut s = Settings::new(emu.domain(), cfg.app_id, cfg.app_secret);
    s.queue.backend = QueueBackend::Disk;
    s.queue.path = dir.path().join("queue.redb");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_added_wasm_handlers_get_kv_and_http_only_when_granted() {
    let emu = start_emulator(|_| {}).await;
    let server = TestServer::http().await;
    let p = server.port();
    let dir = Dir::new("embed-capabilities");
    let settings = settings(&emu, &dir);
    let kv = guest("kv-sdk");
    let messages = ["im.message.receive_v1"];
    let runtime = Runtime::builder()
        .settings(settings.clone())
        .handler(Handler::wasm("state", &kv).events(messages).kv())
        .handler(
            Handler::wasm("common-a", &kv)
                .events(messages)
                .kv_shared("common"),
        )
        .handler(
            Handler::wasm("common-b", &kv)
                .events(messages)
                .kv_shared("common"),
        )
        .handler(Handler::wasm("nostate", &kv).events(messages))
        .handler(
            Handler::wasm("fetch", guest("http-client"))
                .events(["card.action.trigger"])
                .allowed_outbound_hosts([format!("http://127.0.0.1:{p}")])
                .http_timeout(Duration::from_secs(5))
                .http_max_requests(2)
                .config("request_0", format!("GET http://127.0.0.1:{p}/from-code"))
                .config("request_1", "GET http://127.0.0.1:9/"),
        )
        .start()
        .await
        .unwrap_or_else(|e| panic!("{}", e.problems().join("\n")));
    runtime.handlers_loaded().await.unwrap();

    for i in 0..3 {
        emu.push_event(&message_event(
            &format!("ev-{i}"),
            &format!("om-{i}"),
            "oc-1",
            "hi",
        ));
    }
    emu.push_event(&card_event("ev-card", json!({"choice": "fetch"})));
    eventually("4 acks", WAIT, || emu.acks().len() == 4).await;
    let card = emu
        .acks()
        .into_iter()
        .find(|a| a.data.is_some())
        .expect("the callback's answer");
    let answer: Value = serde_json::from_slice(card.data.as_deref().unwrap()).unwrap();
    let results: Vec<String> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results[0].starts_with("http 0 ok 200 "), "{results:?}");
    assert!(
        results[1].starts_with(
            "http 1 err denied: handler `fetch` may not send GET http://127.0.0.1:9/: no entry \
             of its manifest key `allowed_outbound_hosts` allows http://127.0.0.1:9"
        ),
        "{results:?}"
    );
    let seen: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(seen, ["/from-code"]);

    // The queued handlers: every call done (the guest answers, which on the queue path is done).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = runtime.status().await;
        let calls = |name: &str| {
            status
                .handlers
                .iter()
                .find(|h| h.name == name)
                .map_or(0, |h| h.calls)
        };
        if ["state", "common-a", "common-b", "nostate"]
            .iter()
            .all(|h| calls(h) == 3)
            && status.queue.as_ref().is_some_and(|q| q.depth == 0)
        {
            for h in &status.handlers {
                assert_eq!(h.failures, 0, "{}", h.name);
            }
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    runtime.stop().await.unwrap();

    // What the runs committed, read from the queue's store as soon as `stop` returns (the
    // stopped app has released the file, though its handle is still alive).
    let store = aviary::queue::open_kv(&settings.queue, settings.app_id())
        .await
        .expect("the stopped app's queue file is free");
    assert!(runtime.is_stopped());
    let get = |ns: &'static str, key: &'static str| {
        let store = store.clone();
        async move { store.get(ns, key).await.unwrap() }
    };
    assert_eq!(get("state", "visits").await.as_deref(), Some("3"));
    assert!(get("state", "last").await.unwrap().starts_with("ev-"));
    assert_eq!(get("state", "tmp").await, None);
    // Two handlers share `common`: six increments, none lost.
    assert_eq!(get("common", "visits").await.as_deref(), Some("6"));
    // No grant: denied at its first call, nothing written anywhere under its name.
    assert_eq!(get("nostate", "visits").await, None);
    assert_eq!(store.usage("nostate").await.unwrap().keys, 0);
    assert_eq!(store.usage("fetch").await.unwrap().keys, 0);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_capability_grants_in_code_are_refused_at_start_with_the_manifests_checks() {
    let emu = start_emulator(|_| {}).await;
    let dir = Dir::new("embed-capabilities-bad");
    let kv = guest("kv-sdk");
    let err = Runtime::builder()
        .settings(settings(&emu, &dir))
        .handler(Handler::wasm("owner", &kv).events(["*"]).kv())
        .handler(Handler::wasm("thief", &kv).events(["*"]).kv_shared("owner"))
        .handler(Handler::wasm("colon", &kv).events(["*"]).kv_shared("a:b"))
        .handler(
            Handler::wasm("web", guest("http-client"))
                .events(["*"])
                .allowed_outbound_hosts(["https://api.example.com/v1"])
                .http_timeout(Duration::ZERO)
                .http_max_requests(0)
                .http_tls_ca(dir.path().join("missing.pem")),
        )
        .handler(
            aviary::Handler::native("native", Noop)
                .events(["*"])
                .kv()
                .allowed_outbound_hosts(["https://api.example.com"]),
        )
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Handlers(_)), "{err}");
    let problems = err.problems();
    let text = problems.join("\n");
    for expected in [
        "handler `thief`: namespace `owner` is the own namespace of handler `owner` (kv = true)",
        "handler `colon`: kv: namespace `a:b` contains `:`",
        "handler `web`: allowed_outbound_hosts: ",
        "handler `web`: http.timeout_ms: ",
        "handler `web`: http.max_requests: ",
        "handler `web`: http.tls_ca: ",
        "handler `native`: kv: applies to Wasm handlers only",
        "handler `native`: allowed_outbound_hosts: applies to Wasm handlers only",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert_eq!(problems.len(), 8, "{text}");
    emu.shutdown().await;
}

/// A native handler that does nothing (for the misapplied-grant check).
struct Noop;

#[aviary::async_trait]
impl aviary::NativeHandler for Noop {
    async fn handle(
        &self,
        _event: &aviary::Event,
    ) -> Result<aviary::Outcome, aviary::HandlerError> {
        Ok(aviary::Outcome::Done)
    }
}

/// With `ack = "after-handle"` there is no queue, and key-value state opens the backend for
/// itself: a stopped app releases that file too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_value_state_without_the_queue_releases_its_file_at_stop() {
    let emu = start_emulator(|_| {}).await;
    let dir = Dir::new("embed-kv-after-handle");
    let mut settings = settings(&emu, &dir);
    settings.queue.ack = aviary::queue::AckMode::AfterHandle;
    let runtime = Runtime::builder()
        .settings(settings.clone())
        .handler(
            Handler::wasm("state", guest("kv-sdk"))
                .events(["im.message.receive_v1"])
                .kv(),
        )
        .start()
        .await
        .unwrap_or_else(|e| panic!("{}", e.problems().join("\n")));
    runtime.handlers_loaded().await.unwrap();
    emu.push_event(&message_event("ev-0", "om-0", "oc-1", "hi"));
    eventually("1 ack", WAIT, || emu.acks().len() == 1).await;
    runtime.stop().await.unwrap();
    let store = aviary::queue::open_kv(&settings.queue, settings.app_id())
        .await
        .expect("the stopped app's key-value file is free");
    assert_eq!(
        store.get("state", "visits").await.unwrap().as_deref(),
        Some("1"),
        "the handled event's write, applied after the handler (no queue)"
    );
    emu.shutdown().await;
}
