//! The key-value SDK wrappers of every guest language through the real sandbox: one test
//! guest per language (Rust with `aviary-guest`, Go, JavaScript on QuickJS and
//! StarlingMonkey, Python), each doing the same calls — an increment, a set read back, a set
//! with a TTL then a delete, a listing, an increment of text (refused) — answers the same
//! JSON. Its writes stay out of the store until they are applied (as the queue commits them
//! with a done outcome), the next run sees them, a handler without a grant gets a denial that
//! names it and the manifest key, and every call is counted per handler and outcome.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use aviary::handler::{Invocation, Invoke, Outcome};
use aviary::kv::{KvQuotas, KvStats, KvStore};
use aviary::protocol::envelope::EventKind;
use aviary::queue::kv::memory::MemoryKv;
use aviary::sandbox::{HandlerSpec, KvAccess, LoadedHandler, Sandbox, SandboxConfig};
use aviary_test_support::lang_guests::{self, js, py, JsEngine};
use serde_json::{json, Value};

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        Sandbox::new(SandboxConfig {
            cache_dir: Some(lang_guests::sandbox_cache_dir()),
            ..SandboxConfig::default()
        })
        .expect("sandbox")
    })
}

async fn load(name: &str, path: PathBuf, kv: Option<KvAccess>, stats: &KvStats) -> LoadedHandler {
    let mut spec = HandlerSpec::new(name, path);
    spec.kv = kv;
    spec.kv_calls = stats.handler(name);
    // Compiling a 12–18 MB component takes seconds: off the async workers.
    tokio::task::spawn_blocking(move || sandbox().load(spec).unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap()
}

fn answer(inv: &Invocation) -> Value {
    match &inv.result {
        Ok(Outcome::Respond(body)) => serde_json::from_str(body).unwrap(),
        other => panic!("expected an answer, got {other:?}"),
    }
}

async fn exercise(name: &str, path: PathBuf) {
    let store: Arc<MemoryKv> = Arc::new(MemoryKv::new(Default::default()));
    let stats = KvStats::default();
    let access = KvAccess {
        namespace: Arc::from("ns"),
        store: store.clone(),
        quotas: KvQuotas::default(),
    };
    let h = load(name, path.clone(), Some(access), &stats).await;
    let event = |id: &str, ty: &str| aviary_test_support::guests::event(id, ty, EventKind::Event);

    for (n, id) in [(1, "e1"), (2, "e2")] {
        let inv = h.invoke(&event(id, "im.message.receive_v1")).await;
        let mut got = answer(&inv);
        let bad = got["bad"].as_str().unwrap_or_default().to_string();
        assert!(
            bad.contains("kv-increment: the value of `last` is not an integer")
                && bad.contains(&format!("handler `{name}`, namespace `ns`")),
            "{name}: {bad}"
        );
        got["bad"] = Value::Null;
        assert_eq!(
            got,
            json!({"visits": n, "last": id, "tmp": null, "keys": ["last", "visits"], "bad": null}),
            "{name}, run {n}"
        );
        // The run's writes are its own until they are committed.
        let committed = store.get("ns", "visits").await.unwrap();
        assert_eq!(committed, (n > 1).then(|| (n - 1).to_string()), "{name}");
        let writes = inv.kv.expect("the run wrote");
        assert_eq!(writes.writes.writes.len(), 3, "{name}: visits, last, tmp");
        writes.apply().await.unwrap();
        assert_eq!(
            store.get("ns", "last").await.unwrap().as_deref(),
            Some(id),
            "{name}"
        );
    }
    // A run that asks for a retry returns its writes with the outcome; the queue drops them
    // (and an instance per event never shows them to the next run).
    let inv = h.invoke(&event("e3", "kv.retry")).await;
    assert!(
        matches!(inv.result, Ok(Outcome::Retry(_))),
        "{name}: {:?}",
        inv.result
    );
    let inv = h.invoke(&event("e4", "im.message.receive_v1")).await;
    assert_eq!(
        answer(&inv)["visits"],
        3,
        "{name}: the retried run left nothing"
    );

    let calls = stats.summary().join("; ");
    assert!(
        calls.contains("kv-increment ok 4")
            && calls.contains("kv-increment invalid 4")
            && calls.contains("kv-list ok 4"),
        "{name}: {calls}"
    );

    // Without a grant: a denial naming the handler and the manifest key, counted.
    let denied_name = format!("{name}-denied");
    let denied = load(&denied_name, path, None, &stats).await;
    let inv = denied.invoke(&event("e5", "im.message.receive_v1")).await;
    let error = answer(&inv)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains(&format!(
            "kv-increment: denied: handler `{denied_name}` has no key-value grant"
        )) && error.contains("kv = true"),
        "{name}: {error}"
    );
    assert!(inv.kv.is_none());
    assert!(
        stats
            .summary()
            .iter()
            .any(|l| l == &format!("{denied_name}: kv-increment denied 1")),
        "{:?}",
        stats.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk() {
    exercise("rust", aviary_test_support::guests::guest("kv-sdk")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_sdk() {
    let path = aviary_test_support::go_guests::go_component(
        "tests/go-guests/kv",
        aviary::guest_build::DEFAULT_ARENA_MIB,
    )
    .path;
    exercise("go", path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_sdk_on_quickjs() {
    exercise("quickjs", js("tests/guests-js/kv.js", JsEngine::QuickJs)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_sdk_on_starlingmonkey() {
    exercise(
        "starlingmonkey",
        js("tests/guests-js/kv.js", JsEngine::StarlingMonkey),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk() {
    exercise("python", py("tests/guests-py/kv_guest.py")).await;
}
