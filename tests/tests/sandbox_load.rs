//! Loading handlers: the compile cache, and refusals with messages that name the file and the
//! problem.

use std::path::PathBuf;
use std::time::Duration;

use aviary::handler::{Failure, GuestEvent, Invoke};
use aviary::protocol::envelope::EventKind;
use aviary::sandbox::{HandlerLimits, HandlerSpec, LoadError, Sandbox, SandboxConfig};
use aviary_test_support::guests::{event, guest};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "aviary-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sandbox_in(dir: &std::path::Path) -> Sandbox {
    Sandbox::new(SandboxConfig {
        cache_dir: Some(dir.to_path_buf()),
        ..SandboxConfig::default()
    })
    .unwrap()
}

#[test]
fn a_restart_with_unchanged_handlers_does_not_recompile() {
    let dir = temp_dir("cache");
    let first = sandbox_in(&dir);
    let h = first
        .load(HandlerSpec::new("good", guest("well-behaved")))
        .unwrap();
    assert!(!h.from_cache());
    assert_eq!(first.compile_count(), 1);
    drop(first);

    let second = sandbox_in(&dir);
    let h = second
        .load(HandlerSpec::new("good", guest("well-behaved")))
        .unwrap();
    assert!(h.from_cache());
    assert_eq!(second.compile_count(), 0);

    // A corrupt cache file is recompiled, not fatal.
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let third = sandbox_in(&dir);
    let h = third
        .load(HandlerSpec::new("good", guest("well-behaved")))
        .unwrap();
    assert!(!h.from_cache());
    assert_eq!(third.compile_count(), 1);
    // ... and the rewritten entry is good again.
    let fourth = sandbox_in(&dir);
    assert!(fourth.check(&guest("well-behaved")).unwrap().from_cache);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn another_wit_version_is_refused_naming_both_versions_and_the_file() {
    let dir = temp_dir("version");
    let sb = sandbox_in(&dir);
    let path = guest("future-version");
    let err = sb
        .load(HandlerSpec::new("future", &path))
        .expect_err("must refuse 1.0.0");
    assert!(matches!(err, LoadError::Version { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("aviary:handler@1.0.0"), "{msg}");
    assert!(msg.contains("aviary:handler@0.1.0"), "{msg}");
    assert!(msg.contains("future_version.wasm"), "{msg}");
}

#[test]
fn a_component_without_handle_is_refused() {
    let dir = temp_dir("world");
    let sb = sandbox_in(&dir);
    let err = sb
        .check(&guest("wrong-world"))
        .expect_err("no handle export");
    assert!(matches!(err, LoadError::World { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("`handle`") && msg.contains("greet"), "{msg}");
    assert!(msg.contains("wrong_world.wasm"), "{msg}");
}

#[test]
fn a_core_module_or_junk_is_refused_with_a_hint() {
    let dir = temp_dir("core");
    let sb = sandbox_in(&dir);
    let module = dir.join("core.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let err = sb.check(&module).unwrap_err();
    assert!(matches!(err, LoadError::CoreModule { .. }), "{err:?}");
    assert!(err.to_string().contains("not a component"), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");

    let junk = dir.join("junk.wasm");
    std::fs::write(&junk, b"#!/bin/sh\necho hi\n").unwrap();
    assert!(matches!(sb.check(&junk), Err(LoadError::NotWasm { .. })));

    let missing = dir.join("missing.wasm");
    let err = sb.check(&missing).unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.wasm"), "{err}");
}

#[test]
fn limits_out_of_range_are_refused() {
    let dir = temp_dir("limits");
    // Limits out of their own bounds cannot be made (HandlerLimits checks each as it is set)…
    let d = HandlerLimits::default();
    assert!(d.with_memory_bytes(64 << 30).is_err());
    assert!(d.with_timeout(Duration::ZERO).is_err());
    assert!(d.with_reuse(Some(0)).is_err());
    assert!(d.with_fuel(Some(0)).is_err());
    // …and a memory limit above this sandbox's pool slot is refused at load, naming the handler.
    let small = Sandbox::new(SandboxConfig {
        cache_dir: Some(dir.clone()),
        max_memory_bytes: 64 << 20,
        ..SandboxConfig::default()
    })
    .unwrap();
    let mut spec = HandlerSpec::new("greedy", guest("well-behaved"));
    spec.limits = d.with_memory_bytes(65 << 20).unwrap();
    let err = small.load(spec).unwrap_err();
    assert!(matches!(err, LoadError::Limits { .. }), "{err:?}");
    assert!(err.to_string().contains("greedy"), "{err}");
    let mut spec = HandlerSpec::new("fits", guest("well-behaved"));
    spec.limits = d.with_memory_bytes(64 << 20).unwrap();
    assert!(small.load(spec).is_ok());
}

#[test]
fn check_reports_the_wit_version() {
    let dir = temp_dir("check");
    let sb = sandbox_in(&dir);
    let info = sb.check(&guest("well-behaved")).unwrap();
    assert_eq!(info.wit_version, aviary::sandbox::WIT_VERSION);
}

fn message(id: &str) -> GuestEvent {
    event(id, "im.message.receive_v1", EventKind::Event)
}

/// Only handlers with a fuel budget run on the fuel-metered engine; each engine compiles and
/// caches its own code (metered code from the cache must never come back unmetered, or a
/// budget would stop being enforced after a restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_is_metered_only_for_handlers_with_a_budget_and_each_engine_caches_its_own_code() {
    let dir = temp_dir("fuel-engines");
    let budget = HandlerLimits::default().with_fuel(Some(5_000_000)).unwrap();
    let burner = |name: &str, limits: HandlerLimits| {
        let mut spec = HandlerSpec::new(name, guest("fuel-burner"));
        spec.limits = limits;
        spec
    };
    let sb = sandbox_in(&dir);
    // Without a budget: no fuel checks, no fuel reported; the timeout ends the burn.
    let plain = sb
        .load(burner(
            "plain",
            HandlerLimits::default()
                .with_timeout(Duration::from_millis(200))
                .unwrap(),
        ))
        .unwrap();
    let inv = plain.invoke(&message("e1")).await;
    assert!(
        matches!(inv.result, Err(Failure::Timeout { .. })),
        "{:?}",
        inv.result
    );
    assert_eq!(inv.fuel_used, None);
    // The same component with a budget, same sandbox and cache: compiled again (metered).
    let metered = sb.load(burner("metered", budget)).unwrap();
    assert!(!metered.from_cache());
    assert_eq!(sb.compile_count(), 2);
    let inv = metered.invoke(&message("e2")).await;
    assert_eq!(inv.result, Err(Failure::OutOfFuel { limit: 5_000_000 }));
    let used = inv.fuel_used.expect("metered handlers report fuel");
    assert!((4_900_000..=5_000_000).contains(&used), "{used}");

    // After a restart both come from the cache, each still on its own engine.
    let again = sandbox_in(&dir);
    let metered = again.load(burner("metered", budget)).unwrap();
    let plain = again
        .load(burner("plain", HandlerLimits::default()))
        .unwrap();
    assert!(metered.from_cache() && plain.from_cache());
    assert_eq!(again.compile_count(), 0);
    let inv = metered.invoke(&message("e3")).await;
    assert!(
        matches!(inv.result, Err(Failure::OutOfFuel { .. })),
        "{:?}",
        inv.result
    );

    // `meter_fuel_always` (what `aviary invoke` uses): fuel is reported without a budget.
    let always = Sandbox::new(SandboxConfig {
        cache_dir: Some(dir.clone()),
        meter_fuel_always: true,
        ..SandboxConfig::default()
    })
    .unwrap();
    let mut spec = HandlerSpec::new("recorder", guest("well-behaved"));
    spec.config = [("greeting".to_string(), "hi".to_string())].into();
    let h = always.load(spec).unwrap();
    let inv = h
        .invoke(&event("e4", "card.action.trigger", EventKind::Callback))
        .await;
    assert!(inv.result.is_ok(), "{:?}", inv.result);
    assert!(inv.fuel_used.unwrap() > 0);
    let _ = std::fs::remove_dir_all(&dir);
}
