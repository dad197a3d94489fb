//! Components no toolchain makes on request, synthesised in the test (`src/lib.rs`): one
//! with two linear memories (the memory limit is the total over all of them) and one importing
//! an interface Aviary does not provide (refused at load and by `check`, naming the import).

use std::sync::OnceLock;
use std::time::Duration;

use aviary::handler::{Failure, GuestEvent, Invoke, Outcome};
use aviary::protocol::envelope::EventKind;
use aviary::sandbox::{HandlerLimits, HandlerSpec, LoadError, Sandbox, SandboxConfig};
use aviary_component_tests::{total_bytes_after_call, write_component, CoreGuest};

const MIB: u64 = 1024 * 1024;

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("aviary-synth-cache-{}", std::process::id()));
        Sandbox::new(SandboxConfig {
            cache_dir: Some(dir),
            ..SandboxConfig::default()
        })
        .expect("sandbox")
    })
}

fn event() -> GuestEvent {
    GuestEvent {
        dedupe_id: "m1".into(),
        event_id: "e1".into(),
        event_type: "im.message.receive_v1".into(),
        kind: EventKind::Event,
        app_id: "cli_test".into(),
        tenant_key: "tenant".into(),
        create_time: "1700000000000".into(),
        attempt: 1,
        envelope: "{}".into(),
    }
}

fn limits(memory_bytes: u64) -> HandlerLimits {
    HandlerLimits::default()
        .with_memory_bytes(memory_bytes)
        .and_then(|l| l.with_timeout(Duration::from_secs(5)))
        .unwrap()
}

/// Each memory grows to 41 pages (2.56 MiB): under a 4 MiB limit on its own, 5.1 MiB together.
/// A per-memory limit (wasmtime's `StoreLimits`) would let the call succeed; the sandbox's
/// limit is the total, so it fails with a memory-limit failure. With 8 MiB it succeeds, which
/// shows the guest itself works.
#[tokio::test]
async fn the_memory_limit_is_the_total_over_all_memories() {
    let guest = CoreGuest {
        memories: 2,
        grow_pages: 40,
        import_http: false,
    };
    let total = total_bytes_after_call(&guest);
    let per_memory = total / 2;
    let limit = 4 * MIB;
    assert!(per_memory < limit && total > limit, "test numbers");
    let path = write_component("two-memories", &guest);

    let roomy = sandbox()
        .load(HandlerSpec {
            limits: limits(8 * MIB),
            ..HandlerSpec::new("two-memories-roomy", &path)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let inv = roomy.invoke(&event()).await;
    assert_eq!(inv.result, Ok(Outcome::Done), "{inv:?}");
    assert_eq!(
        inv.peak_memory_bytes, total,
        "the peak counts both memories"
    );

    let tight = sandbox()
        .load(HandlerSpec {
            limits: limits(limit),
            ..HandlerSpec::new("two-memories-tight", &path)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let inv = tight.invoke(&event()).await;
    match inv.result {
        Err(Failure::MemoryLimit {
            limit_bytes,
            requested_bytes,
        }) => {
            assert_eq!(limit_bytes, limit);
            assert_eq!(
                requested_bytes, total,
                "refused when the second memory grows"
            );
        }
        other => panic!("expected a memory-limit failure, got {other:?}"),
    }
}

/// A component importing `wasi:http/outgoing-handler` is refused before it ever runs: at load
/// (what `aviary run` does) and by `check` (what `aviary check` does), with a message naming
/// the file and the import.
#[test]
fn a_component_importing_what_the_host_lacks_is_refused_naming_the_import() {
    let guest = CoreGuest {
        memories: 1,
        grow_pages: 0,
        import_http: true,
    };
    let path = write_component("wants-http", &guest);
    for err in [
        sandbox()
            .load(HandlerSpec::new("wants-http", &path))
            .expect_err("loads"),
        sandbox().check(&path).expect_err("checks"),
    ] {
        assert!(matches!(err, LoadError::Imports { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("wasi:http/outgoing-handler@0.2.6"),
            "{message}"
        );
        assert!(message.contains("wants-http.wasm"), "{message}");
    }

    // The same module without the import loads: the import is the only problem.
    let plain = write_component(
        "no-http",
        &CoreGuest {
            import_http: false,
            ..guest
        },
    );
    sandbox()
        .load(HandlerSpec::new("no-http", plain))
        .unwrap_or_else(|e| panic!("{e}"));
}
