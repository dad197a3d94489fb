//! Aviary's benchmark: one run, one table.
//!
//! ```sh
//! bash scripts/setup-tests.sh            # wasm32-wasip2 target and the official SDK peers
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml
//! cargo bench -p aviary-tests --bench events            # 100,000 events per row
//! cargo bench -p aviary-tests --bench events -- 20000   # fewer
//! ```
//!
//! (1) Sandbox overhead: the example Rust handler (`examples/rust-handler`) invoked directly on
//! an event type it ignores, fresh instance per event (instantiate + call + drop), one at a time.
//!
//! Each end-to-end row starts a fresh emulator (redelivery off, so slow clients are measured, not
//! re-sent to), connects one client, pushes a burst of N `im.message.receive_v1` events at once and
//! waits for N code-200 acks. events/s = N / (last ack − first push); latency = ack arrival −
//! frame sent, per event (so a burst's queueing shows in p99). Rows run one after another in
//! one process, so their ratios are comparable; absolute numbers depend on the machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aviary::connection::{ConnectionOptions, ConnectionStats};
use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::{Dispatcher, EventSink, HandlerEntry, LogSink};
use aviary::emulator::{Emulator, EmulatorConfig, PushOptions};
use aviary::handler::{GuestEvent, Invoke};
use aviary::manifest::DispatchSettings;
use aviary::protocol::ack::{build_ack, AckBody};
use aviary::protocol::endpoint::{classify_endpoint_response, endpoint_url, Discovery};
use aviary::protocol::envelope::EventKind;
use aviary::protocol::{decode_frame, encode_frame, FrameType};
use aviary::sandbox::{HandlerSpec, Sandbox, SandboxConfig};
use aviary_tests::peers::{Peer, PeerKind};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// One row of the table.
struct Row {
    name: String,
    events_per_s: Option<f64>,
    p50: Option<Duration>,
    p99: Option<Duration>,
    note: String,
}

/// Who receives the burst.
enum Client {
    /// The real connection supervisor with this sink.
    Aviary(Arc<dyn EventSink>),
    /// An official SDK, unmodified, with a trivial handler.
    Peer(PeerKind),
    /// Decodes each frame and acks it at once: the emulator's ceiling.
    Trivial,
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    // The peers print nothing per event and log only errors (a trivial handler).
    std::env::set_var("AVIARY_PEER_QUIET", "1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut rows = Vec::new();
    let mut overhead = None;
    rt.block_on(async {
        let payloads = burst(n);
        match example_handler() {
            Ok(handler) => {
                overhead = Some(sandbox_overhead(&handler, 20_000).await);
                let dispatcher = Dispatcher::new(
                    DispatchSettings::default(),
                    vec![HandlerEntry::new(
                        handler,
                        vec![EventPattern::parse("*").expect("pattern")],
                    )],
                );
                let sink: Arc<dyn EventSink> = Arc::new(Deduplicating::new(dispatcher));
                rows.push(
                    end_to_end(
                        "(a) Aviary, Rust Wasm handler, instance per event",
                        Client::Aviary(sink),
                        &payloads,
                    )
                    .await,
                );
            }
            Err(e) => rows.push(skipped(
                "(a) Aviary, Rust Wasm handler, instance per event",
                format!("not run: {e}"),
            )),
        }
        rows.push(
            end_to_end(
                "(b) Aviary, native log sink",
                Client::Aviary(Arc::new(LogSink)),
                &payloads,
            )
            .await,
        );
        rows.push(
            end_to_end(
                "(c) official Python client (lark-oapi 1.7.5)",
                Client::Peer(PeerKind::Python),
                &payloads,
            )
            .await,
        );
        rows.push(
            end_to_end(
                "(d) official Node client (node-sdk 1.74.0)",
                Client::Peer(PeerKind::Node),
                &payloads,
            )
            .await,
        );
        rows.push(
            end_to_end(
                "(e) trivial ack-only client (emulator ceiling)",
                Client::Trivial,
                &payloads,
            )
            .await,
        );
    });
    if let Some((p50, p99, mean)) = overhead {
        println!();
        println!("(1) Sandbox overhead per event, Rust example handler, fresh instance (instantiate + call + drop):");
        println!(
            "    p50 {:.1} µs   p99 {:.1} µs   mean {:.1} µs",
            p50, p99, mean
        );
    }
    print_table(n, &rows);
}

/// The example Rust handler, loaded in a sandbox with a private compile cache.
fn example_handler() -> Result<Arc<dyn Invoke>, String> {
    let root = aviary_tests::repo_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("examples").join("target"));
    let wasm = target.join("wasm32-wasip2/release/rust_handler.wasm");
    if !wasm.is_file() {
        return Err(format!(
            "{} is missing; build it with `cargo build --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml`",
            wasm.display()
        ));
    }
    let cache = std::env::temp_dir().join(format!("aviary-bench-cache-{}", std::process::id()));
    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: Some(cache),
        ..SandboxConfig::default()
    })
    .map_err(|e| format!("sandbox: {e}"))?;
    let handler = sandbox
        .load(HandlerSpec::new("rust-example", wasm))
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(handler))
}

/// Invokes `handler` `n` times, one at a time, on an event type it ignores; returns p50, p99 and
/// mean in µs.
async fn sandbox_overhead(handler: &Arc<dyn Invoke>, n: usize) -> (f64, f64, f64) {
    let event = GuestEvent {
        dedupe_id: "bench".into(),
        event_id: "bench".into(),
        event_type: "bench.noop_v1".into(),
        kind: EventKind::Event,
        app_id: "cli_0123456789abcdef".into(),
        tenant_key: "bench".into(),
        create_time: "1700000000000".into(),
        attempt: 1,
        envelope: "{}".into(),
    };
    for _ in 0..200 {
        let _ = handler.invoke(&event).await; // warm the pool slots
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let inv = handler.invoke(&event).await;
        times.push(started.elapsed());
        assert!(
            inv.result.is_ok(),
            "the example handler failed: {:?}",
            inv.result
        );
    }
    let mean = times.iter().map(Duration::as_secs_f64).sum::<f64>() / n as f64 * 1e6;
    times.sort();
    let us = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e6).unwrap_or(f64::NAN);
    (
        us(percentile(&times, 0.50)),
        us(percentile(&times, 0.99)),
        mean,
    )
}

/// N distinct event envelopes, serialised once up front.
fn burst(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            serde_json::to_vec(&serde_json::json!({
                "schema": "2.0",
                "header": {"event_id": format!("bench-{i}"), "event_type": "im.message.receive_v1",
                           "create_time": "1700000000000", "token": "", "app_id": "cli_0123456789abcdef",
                           "tenant_key": "bench"},
                "event": {"sender": {"sender_id": {"open_id": "ou_bench"}, "sender_type": "user"},
                          "message": {"message_id": format!("om_bench_{i}"), "chat_id": format!("oc_{}", i % 64),
                                      "chat_type": "group", "message_type": "text",
                                      "content": "{\"text\":\"hello from the benchmark\"}"}}
            }))
            .expect("envelope serialises")
        })
        .collect()
}

async fn end_to_end(name: &str, client: Client, payloads: &[Vec<u8>]) -> Row {
    let mut cfg = EmulatorConfig::fast();
    cfg.redelivery.enabled = false;
    cfg.client_config.ping_interval = Duration::from_secs(120);
    let emu = Emulator::start(cfg).await.expect("emulator starts");
    let domain = emu.domain();
    let shutdown = CancellationToken::new();
    let mut peer = None;
    match client {
        Client::Aviary(sink) => {
            let opts = ConnectionOptions::new(&domain, "cli_0123456789abcdef", "emulator-secret");
            tokio::spawn(aviary::connection::run(
                opts,
                sink,
                ConnectionStats::new(),
                shutdown.clone(),
            ));
        }
        Client::Peer(kind) => match Peer::spawn(kind, &domain) {
            Ok(p) => peer = Some(p),
            Err(e) => return skipped(name, format!("not run: {e}")),
        },
        Client::Trivial => {
            tokio::spawn(trivial_client(domain.clone(), shutdown.clone()));
        }
    }
    if emu
        .wait_for_connections(1, Duration::from_secs(60))
        .await
        .is_err()
    {
        return skipped(name, "not run: the client never connected".into());
    }
    let n = payloads.len() as u64;
    let started = Instant::now();
    for p in payloads {
        emu.push(p.clone(), PushOptions::default());
    }
    let deadline = started + Duration::from_secs(600);
    while emu.acks_ok_total() < n {
        if Instant::now() > deadline {
            shutdown.cancel();
            return skipped(
                name,
                format!(
                    "gave up after 600 s with {} of {n} acks",
                    emu.acks_ok_total()
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let acks = emu.acks();
    let last = acks.iter().map(|a| a.at).max().unwrap_or(started);
    let sent: std::collections::HashMap<_, _> = emu
        .deliveries()
        .into_iter()
        .filter_map(|d| d.attempts.first().map(|a| (d.id, a.sent_at)))
        .collect();
    let mut latencies: Vec<Duration> = acks
        .iter()
        .filter(|a| a.code == 200)
        .filter_map(|a| {
            a.delivery
                .and_then(|id| sent.get(&id))
                .map(|s| a.at.saturating_duration_since(*s))
        })
        .collect();
    latencies.sort();
    shutdown.cancel();
    drop(peer);
    emu.shutdown().await;
    Row {
        name: name.to_string(),
        events_per_s: Some(n as f64 / last.duration_since(started).as_secs_f64()),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        note: String::new(),
    }
}

fn skipped(name: &str, note: String) -> Row {
    Row {
        name: name.to_string(),
        events_per_s: None,
        p50: None,
        p99: None,
        note,
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Some(sorted[i])
}

/// Endpoint discovery, dial, then for every data frame an immediate `{"code":200}` ack: no
/// envelope parsing, no dispatch. The upper bound the emulator can feed.
async fn trivial_client(domain: String, shutdown: CancellationToken) {
    let body = serde_json::json!({"AppID": "cli_0123456789abcdef", "AppSecret": "emulator-secret"});
    let resp = reqwest::Client::new()
        .post(endpoint_url(&domain))
        .header("locale", "zh")
        .json(&body)
        .send()
        .await
        .expect("endpoint request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("endpoint body");
    let Discovery::Connect { url, .. } = classify_endpoint_response(status, &bytes) else {
        panic!("endpoint refused the trivial client");
    };
    let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("dial");
    let (mut tx, mut rx) = ws.split();
    loop {
        let msg = tokio::select! {
            _ = shutdown.cancelled() => return,
            msg = rx.next() => msg,
        };
        let Some(Ok(Message::Binary(bytes))) = msg else {
            match msg {
                Some(Ok(_)) => continue,
                _ => return,
            }
        };
        let Ok(frame) = decode_frame(&bytes) else {
            continue;
        };
        if frame.frame_type() == Some(FrameType::Data) {
            let ack = build_ack(&frame, 0, &AckBody::Ok);
            if tx.send(Message::Binary(encode_frame(&ack))).await.is_err() {
                return;
            }
        }
    }
}

fn print_table(n: usize, rows: &[Row]) {
    let ms = |d: Option<Duration>| {
        d.map(|d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
            .unwrap_or_else(|| "-".into())
    };
    println!();
    println!("End to end: a burst of {n} events from the emulator, one client, ack after handling");
    println!(
        "{:<52} {:>12} {:>12} {:>12}  note",
        "client", "events/s", "ack p50", "ack p99"
    );
    for r in rows {
        let eps = r
            .events_per_s
            .map(|v| format!("{v:.0}"))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<52} {:>12} {:>12} {:>12}  {}",
            r.name,
            eps,
            ms(r.p50),
            ms(r.p99),
            r.note
        );
    }
}
