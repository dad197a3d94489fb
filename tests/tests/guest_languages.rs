//! Handlers written in JavaScript (QuickJS and StarlingMonkey) and Python, built from source
//! with their SDKs: contained and classified like Rust guests when hostile (infinite loop,
//! memory bomb, throw/raise, sleep past the timeout), per-language reuse defaults, `aviary
//! check`/`invoke` on the examples, and the whole path emulator → runtime → Wasm → ack.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aviary::app::wasm;
use aviary::cli::check::check;
use aviary::cli::invoke::{invoke, InvokeArgs};
use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::DispatchSettings;
use aviary::dispatch::{Dispatcher, HandlerEntry};
use aviary::handler::{Failure, GuestEvent, Invocation, Invoke, Outcome};
use aviary::limits::sandbox::HEAVY_GUEST_DEFAULT_REUSE;
use aviary::protocol::envelope::EventKind;
use aviary::sandbox::{HandlerLimits, HandlerSpec, LoadedHandler, Sandbox, SandboxConfig};
use aviary_test_support::lang_guests::{self, js, py, JsEngine};
use aviary_test_support::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Lang {
    QuickJs,
    StarlingMonkey,
    Python,
}

impl Lang {
    fn test_guest(self) -> PathBuf {
        match self {
            Lang::QuickJs => js("tests/guests-js/guest.js", JsEngine::QuickJs),
            Lang::StarlingMonkey => js("tests/guests-js/guest.js", JsEngine::StarlingMonkey),
            Lang::Python => py("tests/guests-py/guest.py"),
        }
    }
    fn throw_message(self) -> &'static str {
        match self {
            Lang::Python => "handler exploded on raise",
            _ => "handler exploded on throw",
        }
    }
}

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

fn load(lang: Lang, limits: HandlerLimits, reuse: Option<u32>) -> LoadedHandler {
    let mut spec = HandlerSpec::new(format!("{lang:?}"), lang.test_guest());
    spec.limits = limits.with_reuse(reuse.map(u64::from)).unwrap();
    spec.config = BTreeMap::from([("greeting".to_string(), "hello from config".to_string())]);
    // Compiling a 12–18 MB component takes seconds: off the async workers.
    sandbox().load(spec).unwrap_or_else(|e| panic!("{e}"))
}

fn limits(timeout_ms: u64, memory_mb: u64) -> HandlerLimits {
    HandlerLimits::default()
        .with_timeout_ms(timeout_ms)
        .and_then(|l| l.with_memory_mb(memory_mb))
        .unwrap()
}

fn event(id: &str, event_type: &str) -> GuestEvent {
    let kind = if event_type == "card.action.trigger" {
        EventKind::Callback
    } else {
        EventKind::Event
    };
    aviary_test_support::guests::event(id, event_type, kind)
}

fn assert_answers(inv: &Invocation, id: &str) {
    match &inv.result {
        Ok(Outcome::Respond(body)) => {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(v, json!({"greeting": "hello from config", "event_id": id}));
        }
        other => panic!("the well-behaved path failed on {id}: {other:?}"),
    }
}

/// Every hostile behaviour of one language's guest, next to well-behaved calls of the same
/// component: each failure is classified like the Rust guest's, and good calls keep working.
async fn hostile_cases(lang: Lang) {
    let good = load(lang, limits(10_000, 128), None);
    assert_answers(
        &good.invoke(&event("first", "card.action.trigger")).await,
        "first",
    );

    let quick = load(lang, limits(1_000, 128), None);
    for kind in ["loop", "sleep"] {
        let inv = quick.invoke(&event(kind, kind)).await;
        assert!(
            matches!(inv.result, Err(Failure::Timeout { limit }) if limit == Duration::from_millis(1_000)),
            "{lang:?} {kind}: {:?}",
            inv.result
        );
        assert!(
            inv.wall < Duration::from_secs(10),
            "{lang:?} {kind}: {:?}",
            inv.wall
        );
    }

    let small = load(lang, limits(20_000, 64), None);
    let bomb = small.invoke(&event("bomb", "bomb")).await;
    match bomb.result {
        Err(Failure::MemoryLimit {
            limit_bytes,
            requested_bytes,
        }) => {
            assert_eq!(limit_bytes, 64 << 20);
            assert!(requested_bytes > limit_bytes);
            assert!(bomb.peak_memory_bytes <= 64 << 20);
        }
        other => panic!("{lang:?} bomb: {other:?}"),
    }

    let thrown = good.invoke(&event("throw", "throw")).await;
    match &thrown.result {
        Err(Failure::Panic { message: Some(m) }) => {
            assert!(m.contains(lang.throw_message()), "{lang:?}: {m}")
        }
        other => panic!("{lang:?} throw: {other:?}"),
    }

    // The same handlers still work afterwards (hostile instances were discarded).
    for (h, id) in [(&good, "after-1"), (&quick, "after-2"), (&small, "after-3")] {
        assert_answers(&h.invoke(&event(id, "card.action.trigger")).await, id);
    }
    assert_eq!(
        good.invoke(&event("plain", "im.message.receive_v1"))
            .await
            .result,
        Ok(Outcome::Done)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_quickjs_hostile_guests_are_contained_and_classified() {
    hostile_cases(Lang::QuickJs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_starlingmonkey_hostile_guests_are_contained_and_classified() {
    hostile_cases(Lang::StarlingMonkey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_hostile_guests_are_contained_and_classified() {
    hostile_cases(Lang::Python).await;
}

async fn counts(h: &LoadedHandler, n: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for i in 0..n {
        match h.invoke(&event(&format!("c{i}"), "count")).await.result {
            Ok(Outcome::Respond(c)) => seen.push(c),
            other => panic!("{other:?}"),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_defaults_follow_the_language_and_the_manifest_wins() {
    // Interpreted guests reuse instances by default, so globals persist between events.
    let q = load(Lang::QuickJs, limits(10_000, 128), None);
    assert_eq!(q.guest().unwrap().engine, "quickjs");
    assert_eq!(q.reuse(), Some(HEAVY_GUEST_DEFAULT_REUSE));
    assert_eq!(counts(&q, 3).await, ["1", "2", "3"]);
    let p = load(Lang::Python, limits(10_000, 128), None);
    assert_eq!(p.guest().unwrap().language, "python");
    assert_eq!(p.reuse(), Some(HEAVY_GUEST_DEFAULT_REUSE));
    assert_eq!(counts(&p, 3).await, ["1", "2", "3"]);
    // A failure discards the instance: the count starts over.
    assert!(p.invoke(&event("t", "throw")).await.result.is_err());
    assert_eq!(counts(&p, 2).await, ["1", "2"]);
    // The manifest wins both ways.
    let p1 = load(Lang::Python, limits(10_000, 128), Some(1));
    assert_eq!(counts(&p1, 2).await, ["1", "1"]);
    let q1 = load(Lang::QuickJs, limits(10_000, 128), Some(1));
    assert_eq!(counts(&q1, 2).await, ["1", "1"]);
    let q2 = load(Lang::QuickJs, limits(10_000, 128), Some(2));
    assert_eq!(counts(&q2, 3).await, ["1", "2", "1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starlingmonkey_guests_are_reused_by_default() {
    let s = load(Lang::StarlingMonkey, limits(10_000, 128), None);
    assert_eq!(s.reuse(), Some(HEAVY_GUEST_DEFAULT_REUSE));
    assert_eq!(counts(&s, 2).await, ["1", "2"]);
}

// ---- the examples: check, invoke, end to end ----------------------------------------------

fn examples() -> [(&'static str, PathBuf); 2] {
    [
        (
            "js-card",
            js("examples/js-card/handler.js", JsEngine::QuickJs),
        ),
        ("py-greeter", py("examples/py-greeter/app.py")),
    ]
}

fn manifest(dir: &std::path::Path) -> PathBuf {
    let mut text =
        String::from("[feishu]\napp_id = \"cli_0123456789abcdef\"\napp_secret = \"s\"\n");
    for (name, wasm) in examples() {
        text.push_str(&format!(
            "[[handler]]\nname = \"{name}\"\ncomponent = \"{}\"\nevents = [\"*\"]\n[handler.config]\napprove_toast = \"Approved in JS\"\ngreeting = \"Hi\"\n",
            wasm.display()
        ));
    }
    let path = dir.join("aviary.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_invoke_work_on_the_javascript_and_python_examples() {
    let dir = std::env::temp_dir().join(format!("aviary-lang-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let m = manifest(&dir);
    std::env::set_var(
        "XDG_CACHE_HOME",
        aviary_test_support::target_dir().join("guest-lang"),
    );
    let report = tokio::task::spawn_blocking({
        let m = m.clone();
        move || check(&m, &wasm::sandbox_loader)
    })
    .await
    .unwrap();
    assert_eq!(report.code, 0, "{:?}", report.errors);
    let events = repo_root().join("examples/events");
    let run = |handler: &str, file: &str| InvokeArgs {
        manifest: m.clone(),
        handler: handler.to_string(),
        event: events.join(file),
    };
    let card = invoke(
        &run("js-card", "card.action.trigger.json"),
        &wasm::sandbox_loader,
    )
    .await
    .unwrap();
    assert_eq!(
        card.invocation.result,
        Ok(Outcome::Respond(
            r#"{"toast":{"type":"success","content":"Approved in JS"}}"#.into()
        ))
    );
    let hello = invoke(
        &run("py-greeter", "im.message.receive_v1.json"),
        &wasm::sandbox_loader,
    )
    .await
    .unwrap();
    assert_eq!(hello.invocation.result, Ok(Outcome::Done));
    assert!(
        hello
            .invocation
            .logs
            .iter()
            .any(|l| l.message.starts_with("Hi, ou_") && l.message.contains("hello, Aviary")),
        "{:?}",
        hello.invocation.logs
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_to_javascript_and_python_handlers_to_ack() {
    let handlers: Vec<HandlerEntry> = examples()
        .into_iter()
        .map(|(name, wasm)| {
            let mut spec = HandlerSpec::new(name, wasm);
            spec.config = BTreeMap::from([
                ("approve_toast".to_string(), "Approved in JS".to_string()),
                ("greeting".to_string(), "Hi".to_string()),
            ]);
            let loaded: Arc<dyn Invoke> = Arc::new(sandbox().load(spec).expect("loads"));
            // js-card answers the callbacks; py-greeter gets the messages and member events.
            let pattern = if name == "js-card" { "card.*" } else { "im.*" };
            HandlerEntry::new(loaded, vec![EventPattern::parse(pattern).unwrap()])
        })
        .collect();
    let dispatcher = Arc::new(Dispatcher::new(DispatchSettings::default(), handlers));
    let emu = start_emulator(|c| c.redelivery.enabled = false).await;
    let stats = aviary::connection::ConnectionStats::new();
    let shutdown = CancellationToken::new();
    tokio::spawn(aviary::connection::run(
        options_for(&emu),
        Arc::new(Deduplicating::new(dispatcher.clone())),
        stats.clone(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, Duration::from_secs(30))
        .await
        .unwrap();
    let choices = ["approve", "reject", "later"];
    for (i, choice) in choices.iter().enumerate() {
        emu.push_event(&card_event(
            &format!("ev-card-{i}"),
            json!({"choice": choice}),
        ));
    }
    for i in 0..3 {
        emu.push_event(&message_event(
            &format!("ev-msg-{i}"),
            &format!("om_m{i}"),
            "oc_1",
            "hello",
        ));
    }
    let acks = emu.wait_for_acks(6, Duration::from_secs(60)).await.unwrap();
    assert!(acks.iter().all(|a| a.code == 200), "{acks:?}");
    let answers: Vec<serde_json::Value> = acks
        .iter()
        .filter_map(|a| a.data.as_ref())
        .map(|d| serde_json::from_slice(d).unwrap())
        .collect();
    let toasts: Vec<(String, String)> = answers
        .iter()
        .map(|a| {
            (
                a["toast"]["type"].as_str().unwrap().to_string(),
                a["toast"]["content"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("success", "Approved in JS"),
        ("warning", "Rejected"),
        ("info", "You chose later"),
    ] {
        assert!(
            toasts
                .iter()
                .any(|(t, c)| t == expected.0 && c == expected.1),
            "{expected:?} not in {toasts:?}"
        );
    }
    let d = dispatcher.stats().snapshot();
    assert_eq!((d.responded, d.done, d.failed), (3, 3, 0));
    shutdown.cancel();
}
