//! Hostile guests (tests/guests) are contained and classified, while a well-behaved handler
//! keeps succeeding on the same events at the same time.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aviary::handler::{Failure, GuestEvent, Invocation, Invoke, LogStream, Outcome};
use aviary::limits::sandbox::MAX_LOG_LINES;
use aviary::protocol::envelope::EventKind;
use aviary::sandbox::{HandlerLimits, HandlerSpec, LoadedHandler, Sandbox, SandboxConfig};
use aviary_test_support::guests::{event, guest};

/// One sandbox per test binary, caching into a private temp dir.
fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("aviary-hostile-{}", std::process::id()));
        Sandbox::new(SandboxConfig {
            cache_dir: Some(dir),
            ..SandboxConfig::default()
        })
        .expect("sandbox")
    })
}

fn load(name: &str, limits: HandlerLimits) -> LoadedHandler {
    let mut spec = HandlerSpec::new(name, guest(name));
    spec.limits = limits;
    spec.config = BTreeMap::from([("greeting".to_string(), "hello from config".to_string())]);
    sandbox().load(spec).unwrap_or_else(|e| panic!("{e}"))
}

fn limits(timeout_ms: u64) -> HandlerLimits {
    HandlerLimits::default()
        .with_timeout(Duration::from_millis(timeout_ms))
        .unwrap()
}

fn callback(id: &str) -> GuestEvent {
    event(id, "card.action.trigger", EventKind::Callback)
}

async fn run(h: &LoadedHandler, ev: &GuestEvent) -> Invocation {
    h.invoke(ev).await
}

fn assert_well_behaved(inv: &Invocation, id: &str) {
    match &inv.result {
        Ok(Outcome::Respond(body)) => {
            assert!(body.contains("hello from config"), "{body}");
            assert!(body.contains(id), "{body}");
        }
        other => panic!("well-behaved handler failed on {id}: {other:?}"),
    }
}

/// Every hostile guest runs at the same time as a stream of well-behaved calls; each gets the
/// right failure and the well-behaved handler never notices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_guests_are_contained_while_a_good_handler_keeps_working() {
    let good = load("well-behaved", limits(5_000));
    let hostile: Vec<(&str, HandlerLimits, GuestEvent)> = vec![
        ("infinite-loop", limits(300), callback("loop")),
        (
            "fuel-burner",
            limits(20_000).with_fuel(Some(50_000_000)).unwrap(),
            callback("burn"),
        ),
        (
            "memory-bomb",
            limits(20_000).with_memory_bytes(32 << 20).unwrap(),
            callback("bomb"),
        ),
        ("deep-recursion", limits(20_000), callback("deep")),
        ("panicker", limits(20_000), callback("panic")),
        ("sleeper", limits(300), callback("sleep")),
        (
            "sleeper",
            limits(300),
            event("spin", "spin", EventKind::Event),
        ),
    ];
    let mut tasks = Vec::new();
    for (name, l, ev) in hostile {
        let h = load(name, l);
        tasks.push(tokio::spawn(async move {
            let inv = run(&h, &ev).await;
            (name, ev.event_id, inv)
        }));
    }
    let good_task = {
        let good = good.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let id = format!("good-{i}");
                assert_well_behaved(&run(&good, &callback(&id)).await, &id);
                tokio::task::yield_now().await;
            }
        })
    };
    for t in tasks {
        let (name, id, inv) = t.await.unwrap();
        let failure = inv
            .result
            .clone()
            .expect_err(&format!("{name} ({id}) should fail"));
        // Every failure has a readable description.
        assert!(!failure.to_string().is_empty());
        match (name, id.as_str()) {
            ("infinite-loop", _) | ("sleeper", _) => {
                assert!(
                    matches!(failure, Failure::Timeout { limit } if limit == Duration::from_millis(300)),
                    "{name}/{id}: {failure:?}"
                );
                // Generous bound: the timeout fired, the call did not run its 60 s / forever.
                assert!(
                    inv.wall < Duration::from_secs(10),
                    "{name}/{id}: {:?}",
                    inv.wall
                );
            }
            ("fuel-burner", _) => {
                assert_eq!(failure, Failure::OutOfFuel { limit: 50_000_000 });
                let used = inv.fuel_used.unwrap();
                assert!((49_000_000..=50_000_000).contains(&used), "{used}");
            }
            ("memory-bomb", _) => {
                match failure {
                    Failure::MemoryLimit {
                        limit_bytes,
                        requested_bytes,
                    } => {
                        assert_eq!(limit_bytes, 32 << 20);
                        assert!(requested_bytes > limit_bytes);
                    }
                    other => panic!("memory-bomb: {other:?}"),
                }
                assert!(inv.peak_memory_bytes <= 32 << 20);
                assert!(
                    inv.peak_memory_bytes > 16 << 20,
                    "{}",
                    inv.peak_memory_bytes
                );
            }
            ("deep-recursion", _) => assert_eq!(failure, Failure::StackOverflow),
            ("panicker", _) => match failure {
                Failure::Panic { message: Some(m) } => {
                    assert!(m.contains("handler exploded on panic"), "{m}")
                }
                other => panic!("panicker: {other:?}"),
            },
            _ => unreachable!(),
        }
    }
    good_task.await.unwrap();
    // And afterwards, too.
    assert_well_behaved(&run(&good, &callback("after")).await, "after");
}

#[tokio::test]
async fn the_well_behaved_handler_logs_reads_config_and_answers() {
    let h = load("well-behaved", limits(5_000));
    let inv = run(&h, &callback("evt-1")).await;
    assert_well_behaved(&inv, "evt-1");
    let has = |stream: LogStream, text: &str| {
        inv.logs
            .iter()
            .any(|l| l.stream == stream && l.message == text)
    };
    assert!(has(LogStream::Log, "handling evt-1"), "{:?}", inv.logs);
    assert!(
        has(LogStream::Stdout, "stdout from evt-1"),
        "{:?}",
        inv.logs
    );
    assert!(
        has(LogStream::Stderr, "stderr from evt-1"),
        "{:?}",
        inv.logs
    );
    // No fuel budget: the handler runs without fuel checks, so there is no count.
    assert_eq!(inv.fuel_used, None);
    assert!(inv.peak_memory_bytes > 0);

    let plain = run(
        &h,
        &event("evt-2", "im.message.receive_v1", EventKind::Event),
    )
    .await;
    assert_eq!(plain.result, Ok(Outcome::Done));
}

#[tokio::test]
async fn config_get_sees_only_the_handlers_own_settings() {
    let mut spec = HandlerSpec::new("no-config", guest("well-behaved"));
    spec.config = BTreeMap::new();
    let h = sandbox().load(spec).unwrap();
    match run(&h, &callback("c")).await.result {
        Ok(Outcome::Respond(body)) => assert!(body.contains("\"greeting\":\"none\""), "{body}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_log_flood_is_capped() {
    let h = load("log-flood", limits(30_000));
    let inv = run(&h, &callback("flood")).await;
    assert_eq!(inv.result, Ok(Outcome::Done));
    assert!(inv.logs.len() <= MAX_LOG_LINES + 1, "{}", inv.logs.len());
    let kept: usize = inv.logs.iter().map(|l| l.message.len()).sum();
    assert!(kept < 128 * 1024, "{kept}");
    assert!(inv.logs.last().unwrap().message.contains("truncated"));
}

#[tokio::test]
async fn escape_attempts_are_all_denied() {
    let h = load("escape-artist", limits(5_000));
    let inv = run(&h, &callback("escape")).await;
    let Ok(Outcome::Respond(report)) = inv.result else {
        panic!("{:?}", inv.result)
    };
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 10, "{report}");
    for line in lines {
        assert!(
            line.ends_with("=denied"),
            "escape succeeded: {line}\n{report}"
        );
    }
}

#[tokio::test]
async fn every_call_gets_a_fresh_deadline() {
    // A deadline set only once would let the second call run forever (extism#557).
    let h = load("infinite-loop", limits(200));
    for i in 0..3 {
        let inv = run(&h, &callback(&format!("loop-{i}"))).await;
        assert!(
            matches!(inv.result, Err(Failure::Timeout { .. })),
            "{:?}",
            inv.result
        );
    }
}

#[tokio::test]
async fn an_instance_per_event_by_default() {
    let h = load("counter", limits(5_000));
    for i in 0..3 {
        let inv = run(&h, &callback(&format!("c{i}"))).await;
        assert_eq!(inv.result, Ok(Outcome::Respond("1".into())));
    }
}

#[tokio::test]
async fn reuse_keeps_state_for_n_events_then_starts_over() {
    let mut spec = HandlerSpec::new("counter", guest("counter"));
    spec.limits = spec.limits.with_reuse(Some(3)).unwrap();
    let h = sandbox().load(spec).unwrap();
    let mut seen = Vec::new();
    for i in 0..7 {
        match run(&h, &callback(&format!("r{i}"))).await.result {
            Ok(Outcome::Respond(n)) => seen.push(n),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen, ["1", "2", "3", "1", "2", "3", "1"]);
}

#[tokio::test]
async fn a_trapped_instance_is_never_reused() {
    let mut spec = HandlerSpec::new("counter", guest("counter"));
    spec.limits = spec.limits.with_reuse(Some(100)).unwrap();
    let h = sandbox().load(spec).unwrap();
    let count = |inv: Invocation| match inv.result {
        Ok(Outcome::Respond(n)) => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(count(run(&h, &callback("a")).await), "1");
    assert_eq!(count(run(&h, &callback("b")).await), "2");
    let boom = run(&h, &event("boom", "boom", EventKind::Event)).await;
    assert!(
        matches!(boom.result, Err(Failure::Panic { .. })),
        "{:?}",
        boom.result
    );
    // A fresh instance: the count starts over.
    assert_eq!(count(run(&h, &callback("c")).await), "1");
    assert_eq!(count(run(&h, &callback("d")).await), "2");
}

#[tokio::test]
async fn many_concurrent_calls_of_one_handler() {
    let h = Arc::new(load("well-behaved", limits(10_000)));
    let mut tasks = Vec::new();
    for i in 0..32 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("par-{i}");
            assert_well_behaved(&run(&h, &callback(&id)).await, &id);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
