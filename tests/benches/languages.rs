//! One row per guest language: component size, compile time, cached load time, fresh and
//! reused µs per event (p50/p99), and end-to-end events/s.
//!
//! ```sh
//! bash scripts/setup-tests.sh        # JS (npm ci in guest-sdk/js) and Python (componentize-py) toolchains
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml   # the Rust row
//! cargo bench -p aviary-tests --bench languages            # 5,000 events per measurement
//! cargo bench -p aviary-tests --bench languages -- 1000    # fewer
//! ```
//!
//! Guests: the Rust example handler (`examples/rust-handler`), and the JS/Python test guests
//! (`tests/guests-js/guest.js` built for QuickJS and for StarlingMonkey,
//! `tests/guests-py/guest.py`), all returning `done` for the events measured here.
//! * compile: `Sandbox::check` with the disk cache off (Cranelift compile + checks + linking).
//! * cached load: `Sandbox::load` in a new sandbox whose disk cache already holds the component.
//! * fresh: `reuse = 1`, one instance per event (instantiate + call + drop), one call at a time.
//! * reused: `reuse = 10000`, one instance serving every call.
//! * e2e: the emulator pushes a burst of N `im.message.receive_v1` events to Aviary (connection
//!   → dedupe → dispatcher → sandbox with the language's *default* reuse policy → ack);
//!   events/s = N / (last ack − first push).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aviary::connection::{ConnectionOptions, ConnectionStats};
use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::DispatchSettings;
use aviary::dispatch::{Dispatcher, EventSink, HandlerEntry};
use aviary::handler::{GuestEvent, Invoke};
use aviary::protocol::envelope::EventKind;
use aviary::sandbox::{HandlerSpec, Sandbox, SandboxConfig};
use aviary_emulator::{Emulator, EmulatorConfig, PushOptions};
use aviary_test_support::lang_guests::{js, py, JsEngine};
use aviary_test_support::target_dir;
use tokio_util::sync::CancellationToken;

/// Builds (or finds) one guest component.
type Build = fn() -> Result<PathBuf, String>;

struct Row {
    name: &'static str,
    result: Result<Measured, String>,
}

struct Measured {
    bytes: u64,
    compile: Duration,
    cached_load: Duration,
    fresh: (f64, f64),
    reused: (f64, f64),
    default_reuse: Option<u32>,
    e2e: Option<f64>,
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let guests: Vec<(&'static str, Build)> = vec![
        ("Rust (examples/rust-handler)", rust_example),
        ("JavaScript, QuickJS (the JS default)", || {
            catch(|| js("tests/guests-js/guest.js", JsEngine::QuickJs))
        }),
        ("JavaScript, StarlingMonkey", || {
            catch(|| js("tests/guests-js/guest.js", JsEngine::StarlingMonkey))
        }),
        ("Python (componentize-py)", || {
            catch(|| py("tests/guests-py/guest.py"))
        }),
    ];
    let mut rows = Vec::new();
    for (name, build) in guests {
        eprintln!("languages: {name}");
        let result = build().and_then(|wasm| rt.block_on(measure(wasm, n)));
        rows.push(Row { name, result });
    }
    print_table(n, &rows);
}

fn catch(f: impl FnOnce() -> PathBuf + std::panic::UnwindSafe) -> Result<PathBuf, String> {
    std::panic::catch_unwind(f).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "build failed".into())
    })
}

fn rust_example() -> Result<PathBuf, String> {
    let wasm = target_dir().join("wasm32-wasip2/release/rust_handler.wasm");
    if wasm.is_file() {
        Ok(wasm)
    } else {
        Err(format!("not run: {} is missing (cargo build --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml)", wasm.display()))
    }
}

fn event() -> GuestEvent {
    GuestEvent {
        dedupe_id: "bench".into(),
        event_id: "bench".into(),
        event_type: "bench.noop_v1".into(),
        kind: EventKind::Event,
        app_id: "cli_0123456789abcdef".into(),
        tenant_key: "bench".into(),
        create_time: "1700000000000".into(),
        attempt: 1,
        envelope: "{}".into(),
    }
}

async fn measure(wasm: PathBuf, n: usize) -> Result<Measured, String> {
    let bytes = std::fs::metadata(&wasm).map_err(|e| e.to_string())?.len();
    let err = |e: aviary::sandbox::LoadError| e.to_string();
    // Compile with the cache off.
    let uncached = Sandbox::new(SandboxConfig {
        cache: false,
        ..SandboxConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let t = Instant::now();
    uncached.check(&wasm).map_err(err)?;
    let compile = t.elapsed();
    drop(uncached);
    // Fill a private cache, then load from it in a new sandbox.
    let cache = std::env::temp_dir().join(format!("aviary-bench-lang-{}", std::process::id()));
    let config = SandboxConfig {
        cache_dir: Some(cache.clone()),
        ..SandboxConfig::default()
    };
    Sandbox::new(config.clone())
        .map_err(|e| e.to_string())?
        .check(&wasm)
        .map_err(err)?;
    let sandbox = Sandbox::new(config).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let default = sandbox
        .load(HandlerSpec::new("bench", &wasm))
        .map_err(err)?;
    let cached_load = t.elapsed();
    assert!(default.from_cache());
    let with_reuse = |reuse| {
        let mut spec = HandlerSpec::new("bench", &wasm);
        spec.limits = spec.limits.with_reuse(Some(reuse)).unwrap();
        sandbox.load(spec).map_err(err)
    };
    eprintln!("  size {bytes} B, compile {compile:?}, cached load {cached_load:?}");
    let fresh = per_event(&with_reuse(1)?, n).await?;
    eprintln!("  fresh p50/p99 {fresh:?} µs");
    let reused = per_event(&with_reuse(10_000)?, n).await?;
    eprintln!("  reused p50/p99 {reused:?} µs");
    let default_reuse = default.reuse();
    let e2e = end_to_end(Arc::new(default), n).await;
    eprintln!("  e2e {e2e:?} events/s");
    let _ = std::fs::remove_dir_all(&cache);
    Ok(Measured {
        bytes,
        compile,
        cached_load,
        fresh,
        reused,
        default_reuse,
        e2e,
    })
}

/// p50 and p99 in µs of `n` calls, one at a time, after a warm-up.
async fn per_event(handler: &dyn Invoke, n: usize) -> Result<(f64, f64), String> {
    let ev = event();
    for _ in 0..50.min(n) {
        handler
            .invoke(&ev)
            .await
            .result
            .map_err(|e| e.to_string())?;
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let inv = handler.invoke(&ev).await;
        times.push(t.elapsed());
        inv.result.map_err(|e| e.to_string())?;
    }
    times.sort();
    let us = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    Ok((us(0.50), us(0.99)))
}

async fn end_to_end(handler: Arc<dyn Invoke>, n: usize) -> Option<f64> {
    let dispatcher = Dispatcher::new(
        DispatchSettings::default(),
        vec![HandlerEntry::new(
            handler,
            vec![EventPattern::parse("*").ok()?],
        )],
    );
    let sink: Arc<dyn EventSink> = Arc::new(Deduplicating::new(dispatcher));
    let mut cfg = EmulatorConfig::fast();
    cfg.redelivery.enabled = false;
    cfg.client_config.ping_interval = Duration::from_secs(120);
    let emu = Emulator::start(cfg).await.ok()?;
    let shutdown = CancellationToken::new();
    let opts = ConnectionOptions::new(emu.domain(), "cli_0123456789abcdef", "emulator-secret");
    tokio::spawn(aviary::connection::run(
        opts,
        sink,
        ConnectionStats::new(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, Duration::from_secs(60))
        .await
        .ok()?;
    let payloads: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            serde_json::to_vec(&serde_json::json!({
                "schema": "2.0",
                "header": {"event_id": format!("lang-{i}"), "event_type": "im.message.receive_v1",
                           "create_time": "1700000000000", "token": "", "app_id": "cli_0123456789abcdef",
                           "tenant_key": "bench"},
                "event": {"sender": {"sender_id": {"open_id": "ou_bench"}, "sender_type": "user"},
                          "message": {"message_id": format!("om_lang_{i}"), "chat_id": format!("oc_{}", i % 64),
                                      "chat_type": "group", "message_type": "text",
                                      "content": "{\"text\":\"hello from the benchmark\"}"}}
            }))
            .expect("envelope")
        })
        .collect();
    let started = Instant::now();
    for p in payloads {
        emu.push(p, PushOptions::default());
    }
    let deadline = started + Duration::from_secs(120);
    while emu.acks_ok_total() < n as u64 {
        if Instant::now() > deadline {
            shutdown.cancel();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let last = emu.acks().iter().map(|a| a.at).max()?;
    shutdown.cancel();
    emu.shutdown().await;
    Some(n as f64 / last.duration_since(started).as_secs_f64())
}

fn print_table(n: usize, rows: &[Row]) {
    println!();
    println!("Guest languages ({n} events per measurement; µs per event, one call at a time):");
    println!();
    println!("| guest | size | compile | cached load | fresh p50 / p99 µs | reused p50 / p99 µs | default reuse | e2e events/s |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        match &r.result {
            Ok(m) => println!(
                "| {} | {:.2} MB | {:.2} s | {:.1} ms | {:.0} / {:.0} | {:.1} / {:.1} | {} | {} |",
                r.name,
                m.bytes as f64 / 1e6,
                m.compile.as_secs_f64(),
                m.cached_load.as_secs_f64() * 1e3,
                m.fresh.0,
                m.fresh.1,
                m.reused.0,
                m.reused.1,
                m.default_reuse
                    .map(|r| format!("{r} events"))
                    .unwrap_or_else(|| "fresh".into()),
                m.e2e
                    .map(|e| format!("{e:.0}"))
                    .unwrap_or_else(|| "timed out".into()),
            ),
            Err(e) => println!("| {} | {e} | | | | | | |", r.name),
        }
    }
}
