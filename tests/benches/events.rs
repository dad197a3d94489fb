//! Aviary's benchmark: one run, one table.
//!
//! ```sh
//! bash scripts/setup-tests.sh            # wasm32-wasip2 target and the official SDK peers
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml
//! cargo bench -p aviary-tests --bench events            # 100,000 events per row
//! cargo bench -p aviary-tests --bench events -- 20000   # fewer
//! cargo bench -p aviary-tests --bench events -- 20000 --rows 1ab   # only some rows
//! cargo bench -p aviary-tests --bench events -- --rows mb           # (m) before (b)
//! ```
//!
//! (1) Sandbox overhead: the example Rust handler (`examples/rust-handler`) invoked directly,
//! fresh instance per event (instantiate + call + drop), one at a time, on a real
//! `im.message.receive_v1` envelope (`examples/events/`; the handler parses it and logs a line).
//! A second line shows the same on an event type the handler ignores (`{}` envelope), to
//! separate the sandbox's fixed cost from the guest's own work.
//!
//! Row (r) is row (a) with `reuse = 1000` (one instance serves 1,000 events, as JavaScript,
//! Python and Go guests do by default): the difference between (a) and (r) is the price of a
//! fresh instance per event, and between (r) and (b) the guest's own work plus the call.
//! Row (b) is a native Rust handler run through the embedding API (`aviary::Runtime::builder()`
//! with `ack = "after-handle"`, so acked after the handler like (a) and (r)).
//!
//! Each end-to-end row starts a fresh emulator **in its own OS process** (this binary re-run
//! with `AVIARY_BENCH_EMULATOR` set; redelivery off, so slow clients are measured, not re-sent
//! to), connects one client (Aviary and the trivial client in this process, the SDKs in theirs),
//! pushes a burst of N `im.message.receive_v1` events at once and waits for N code-200 acks.
//! events/s = N / (last ack − first push); latency = ack arrival − frame sent, per event (so a
//! burst's queueing shows in p99). CPU columns: CPU time per event of the client (when it runs
//! in this process) and of the emulator process, which shows where the time goes on a machine
//! shared with other work. Rows run one after another, so their ratios are comparable; absolute
//! numbers depend on the machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator the `aviary` binary uses (see `runtime/src/main.rs`), so the Aviary rows
/// measure what `aviary run` does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use aviary::admin::AdminSettings;
use aviary::connection::{ConnectionOptions, ConnectionStats};
use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::DispatchSettings;
use aviary::dispatch::{Dispatcher, EventSink, HandlerEntry, InboundEvent};
use aviary::handler::{GuestEvent, Invoke};
use aviary::protocol::ack::{build_ack, AckBody};
use aviary::protocol::endpoint::{classify_endpoint_response, endpoint_url, Discovery};
use aviary::protocol::envelope::parse_envelope;
use aviary::protocol::{decode_frame, encode_frame, FrameType};
use aviary::queue::AckMode;
use aviary::sandbox::{HandlerSpec, Sandbox, SandboxConfig};
use aviary::{Event, Handler, HandlerError, NativeHandler, Outcome, Runtime, Settings};
use aviary_emulator::{Emulator, EmulatorConfig, PushOptions};
use aviary_test_support::peers::{Peer, PeerKind};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Set (to the burst size) in the child process that runs the emulator of one row.
const EMULATOR_CHILD_ENV: &str = "AVIARY_BENCH_EMULATOR";

/// The app the emulator accepts.
const APP_ID: &str = "cli_0123456789abcdef";
const APP_SECRET: &str = "emulator-secret";

/// One row of the table.
struct Row {
    name: String,
    events_per_s: Option<f64>,
    p50: Option<Duration>,
    p99: Option<Duration>,
    /// CPU time per event of the client process (Aviary and the trivial client; they run in
    /// this process) and of the emulator process, in µs.
    client_cpu_us: Option<f64>,
    emulator_cpu_us: Option<f64>,
    note: String,
}

/// Who receives the burst.
enum Client {
    /// The real connection supervisor with this sink.
    Aviary(Arc<dyn EventSink>),
    /// The embedding API (`aviary::Runtime::builder()`) with a native handler that returns
    /// `done`, acked after the handler (like rows a and r); with `admin`, the admin server is
    /// on and `/metrics` is scraped every second during the burst.
    Runtime { admin: bool },
    /// An official SDK, unmodified, with a trivial handler.
    Peer(PeerKind),
    /// Decodes each frame and acks it at once: the emulator's ceiling.
    Trivial,
}

/// A row other than (a): its key, its name, and how to make its client.
type OtherRow = (char, &'static str, fn() -> Client);

/// Command line: the burst size (default 100,000) and `--rows` (default all: `1arbmcde`).
struct Args {
    n: usize,
    rows: String,
}

impl Args {
    fn parse() -> Args {
        let mut args = Args {
            n: 100_000,
            rows: "1arbmcde".into(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            if let Ok(n) = a.parse() {
                args.n = n;
            } else if a == "--rows" {
                args.rows = it.next().unwrap_or_default();
            } else if let Some(r) = a.strip_prefix("--rows=") {
                args.rows = r.to_string();
            }
        }
        args
    }

    fn wants(&self, row: char) -> bool {
        self.rows.contains(row)
    }
}

fn main() {
    if let Some(n) = std::env::var_os(EMULATOR_CHILD_ENV) {
        let n = n.to_string_lossy().parse().expect("burst size");
        emulator_child(n);
        return;
    }
    let args = Args::parse();
    // The peers print nothing per event and log only errors (a trivial handler).
    std::env::set_var("AVIARY_PEER_QUIET", "1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut rows = Vec::new();
    let mut overhead = Vec::new();
    rt.block_on(async {
        let handler = example_handler(None);
        let reused = example_handler(Some(REUSE_ROW_EVENTS));
        if args.wants('1') {
            if let Ok(handler) = &handler {
                let message = real_message_event();
                overhead.push((
                    "im.message.receive_v1 (parsed and logged)",
                    sandbox_overhead(handler, &message, 20_000).await,
                ));
                overhead.push((
                    "ignored type, `{}` envelope",
                    sandbox_overhead(handler, &ignored_event(), 20_000).await,
                ));
            }
        }
        let wasm_rows = [
            (
                'a',
                "(a) Aviary, Rust Wasm handler, instance per event",
                &handler,
            ),
            ('r', "(r) Aviary, Rust Wasm handler, reuse = 1000", &reused),
        ];
        for (key, name, handler) in wasm_rows {
            if !args.wants(key) {
                continue;
            }
            match handler {
                Ok(handler) => {
                    let dispatcher = Dispatcher::new(
                        DispatchSettings::default(),
                        vec![HandlerEntry::new(
                            handler.clone(),
                            vec![EventPattern::parse("*").expect("pattern")],
                        )],
                    );
                    let sink: Arc<dyn EventSink> = Arc::new(Deduplicating::new(dispatcher));
                    rows.push(end_to_end(name, Client::Aviary(sink), args.n).await);
                }
                Err(e) => rows.push(skipped(name, format!("not run: {e}"))),
            }
        }
        let others: [OtherRow; 5] = [
            (
                'b',
                "(b) Aviary, native Rust handler (Runtime::builder)",
                || Client::Runtime { admin: false },
            ),
            (
                'm',
                "(m) row (b) + admin server, /metrics scraped every 1 s",
                || Client::Runtime { admin: true },
            ),
            ('c', "(c) official Python client (lark-oapi 1.7.5)", || {
                Client::Peer(PeerKind::Python)
            }),
            ('d', "(d) official Node client (node-sdk 1.74.0)", || {
                Client::Peer(PeerKind::Node)
            }),
            (
                'e',
                "(e) trivial ack-only client (emulator ceiling)",
                || Client::Trivial,
            ),
        ];
        // In the order `--rows` names them (`--rows mb` runs (m) first), so an A/B pair can be
        // run in both orders.
        let mut others: Vec<OtherRow> = others.into_iter().filter(|r| args.wants(r.0)).collect();
        others.sort_by_key(|r| args.rows.find(r.0));
        for (_, name, client) in others {
            rows.push(end_to_end(name, client(), args.n).await);
        }
    });
    if !overhead.is_empty() {
        println!();
        println!("(1) Sandbox overhead per event, Rust example handler, fresh instance (instantiate + call + drop), 20000 calls one at a time:");
        for (what, o) in overhead {
            println!(
                "    {what:<42} p50 {:.1} µs   p99 {:.1} µs   mean {:.1} µs   (CPU {:.1} µs per call)",
                o.p50, o.p99, o.mean, o.cpu
            );
        }
    }
    print_table(args.n, &rows);
    let _ = std::fs::remove_dir_all(bench_cache_dir());
}

/// This run's private compile cache (removed when the run ends).
fn bench_cache_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("aviary-bench-cache-{}", std::process::id()))
}

/// Events one instance serves in row (r) (the manifest's `reuse`; the JS/Python default).
const REUSE_ROW_EVENTS: u32 = 1000;

/// The example Rust handler, loaded in a sandbox with a private compile cache; `reuse` as in
/// the manifest (`None`: an instance per event).
fn example_handler(reuse: Option<u32>) -> Result<Arc<dyn Invoke>, String> {
    let root = aviary_test_support::repo_root();
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
    let cache = bench_cache_dir();
    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: Some(cache),
        ..SandboxConfig::default()
    })
    .map_err(|e| format!("sandbox: {e}"))?;
    let mut spec = HandlerSpec::new("rust-example", wasm);
    spec.limits = spec.limits.with_reuse(reuse.map(u64::from)).unwrap();
    let handler = sandbox.load(spec).map_err(|e| e.to_string())?;
    Ok(Arc::new(handler))
}

/// The sample `im.message.receive_v1` envelope of `examples/events`, as the connection would
/// hand it to dispatch.
fn real_message_event() -> GuestEvent {
    let path = aviary_test_support::repo_root().join("examples/events/im.message.receive_v1.json");
    let bytes = std::fs::read(&path).expect("sample event");
    let envelope = parse_envelope(&bytes, None).expect("sample envelope parses");
    let inbound = InboundEvent {
        meta: envelope.meta,
        json: envelope.json,
        trace_id: "bench".into(),
        frame_message_id: "bench".into(),
    };
    inbound.guest_event(1)
}

/// An event type the example handler does not look into.
fn ignored_event() -> GuestEvent {
    let inbound = InboundEvent {
        meta: parse_envelope(
            br#"{"schema":"2.0","header":{"event_id":"bench","event_type":"bench.noop_v1","app_id":"cli_0123456789abcdef","tenant_key":"bench","create_time":"1700000000000"}}"#,
            None,
        )
        .expect("envelope parses")
        .meta,
        json: "{}".into(),
        trace_id: "bench".into(),
        frame_message_id: "bench".into(),
    };
    inbound.guest_event(1)
}

/// Invokes `handler` `n` times, one at a time, on `event`.
async fn sandbox_overhead(handler: &Arc<dyn Invoke>, event: &GuestEvent, n: usize) -> Overhead {
    for _ in 0..500 {
        let _ = handler.invoke(event).await; // warm the pool slots
    }
    let mut times = Vec::with_capacity(n);
    let cpu_start = thread_cpu_ns();
    for _ in 0..n {
        let started = Instant::now();
        let inv = handler.invoke(event).await;
        times.push(started.elapsed());
        assert!(
            inv.result.is_ok(),
            "the example handler failed: {:?}",
            inv.result
        );
    }
    let cpu = match (cpu_start, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / n as f64 / 1e3,
        _ => f64::NAN,
    };
    let mean = times.iter().map(Duration::as_secs_f64).sum::<f64>() / n as f64 * 1e6;
    times.sort();
    let us = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e6).unwrap_or(f64::NAN);
    Overhead {
        p50: us(percentile(&times, 0.50)),
        p99: us(percentile(&times, 0.99)),
        mean,
        cpu,
    }
}

/// Wall-clock percentiles and mean of one overhead run, plus the CPU time the calling thread
/// spent per call (robust against other processes taking the CPU), all in µs.
struct Overhead {
    p50: f64,
    p99: f64,
    mean: f64,
    cpu: f64,
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), if available.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// N distinct event envelopes, serialised once up front.
fn burst(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            serde_json::to_vec(&json!({
                "schema": "2.0",
                "header": {"event_id": format!("bench-{i}"), "event_type": "im.message.receive_v1",
                           "create_time": "1700000000000", "token": "", "app_id": APP_ID,
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

/// One row: an emulator child process, the client here (or the peer's process), the burst.
async fn end_to_end(name: &str, client: Client, n: usize) -> Row {
    let exe = std::env::current_exe().expect("own path");
    let mut child = match tokio::process::Command::new(exe)
        .env(EMULATOR_CHILD_ENV, n.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return skipped(name, format!("not run: emulator process: {e}")),
    };
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let domain = match lines.next_line().await {
        Ok(Some(line)) => line,
        other => return skipped(name, format!("not run: emulator did not start: {other:?}")),
    };
    let shutdown = CancellationToken::new();
    let mut peer = None;
    let mut runtime = None;
    let in_process = !matches!(client, Client::Peer(_));
    let cpu_before = process_cpu();
    match client {
        Client::Aviary(sink) => {
            let opts = ConnectionOptions::new(&domain, APP_ID, APP_SECRET);
            tokio::spawn(aviary::connection::run(
                opts,
                sink,
                ConnectionStats::new(),
                shutdown.clone(),
            ));
        }
        Client::Runtime { admin } => {
            let mut settings = Settings::new(&domain, APP_ID, APP_SECRET);
            settings.queue.ack = AckMode::AfterHandle;
            if admin {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("a free port")
                    .port();
                settings.admin = AdminSettings {
                    listen: Some(([127, 0, 0, 1], port).into()),
                    token: None,
                    explicit: true,
                };
                tokio::spawn(scrape_every_second(port, shutdown.clone()));
            }
            let started = Runtime::builder()
                .settings(settings)
                .handler(Handler::native("native", Done).events(["*"]))
                .start()
                .await;
            match started {
                Ok(r) => runtime = Some(r),
                Err(e) => return skipped(name, format!("not run: {e}")),
            }
        }
        Client::Peer(kind) => match Peer::spawn(kind, &domain) {
            Ok(p) => peer = Some(p),
            Err(e) => return skipped(name, format!("not run: {e}")),
        },
        Client::Trivial => {
            tokio::spawn(trivial_client(domain.clone(), shutdown.clone()));
        }
    }
    let result = tokio::time::timeout(Duration::from_secs(700), lines.next_line()).await;
    let client_cpu = match (in_process, cpu_before, process_cpu()) {
        (true, Some(a), Some(b)) => Some((b - a).as_secs_f64() * 1e6 / n as f64),
        _ => None,
    };
    shutdown.cancel();
    if let Some(r) = runtime {
        let _ = r.stop().await;
    }
    drop(peer);
    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let line = match result {
        Ok(Ok(Some(line))) => line,
        other => return skipped(name, format!("emulator gave no result: {other:?}")),
    };
    let v: Value = match serde_json::from_str(&line) {
        Ok(v) => v,
        Err(_) => return skipped(name, line),
    };
    if let Some(error) = v["error"].as_str() {
        return skipped(name, error.to_string());
    }
    let ms = |k: &str| v[k].as_f64().map(|ms| Duration::from_secs_f64(ms / 1e3));
    Row {
        name: name.to_string(),
        events_per_s: v["events_per_s"].as_f64(),
        p50: ms("p50_ms"),
        p99: ms("p99_ms"),
        client_cpu_us: client_cpu,
        emulator_cpu_us: v["emulator_cpu_us"].as_f64(),
        note: String::new(),
    }
}

/// Row (m): what Prometheus would do, every second instead of every 15 s.
async fn scrape_every_second(port: u16, stop: CancellationToken) {
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Ok(r) = http.get(&url).send().await {
                    let _ = r.bytes().await;
                }
            }
        }
    }
}

/// The native handler of row (b): every event is done.
struct Done;

#[aviary::async_trait]
impl NativeHandler for Done {
    async fn handle(&self, _event: &Event) -> Result<Outcome, HandlerError> {
        Ok(Outcome::Done)
    }
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (clock ticks
/// of 10 ms; the rows run for seconds).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// The child process of one row: runs the emulator on its own runtime, prints its domain,
/// waits for one client, pushes the burst, waits for every ack and prints the result as one
/// JSON line. Exits when the parent closes stdin (or after the result).
fn emulator_child(n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let payloads = burst(n);
        let mut cfg = EmulatorConfig::fast();
        cfg.redelivery.enabled = false;
        cfg.client_config.ping_interval = Duration::from_secs(120);
        let emu = Emulator::start(cfg).await.expect("emulator starts");
        println!("{}", emu.domain());
        let result = burst_result(&emu, payloads).await;
        println!("{result}");
        emu.shutdown().await;
    });
}

async fn burst_result(emu: &Emulator, payloads: Vec<Vec<u8>>) -> Value {
    if emu
        .wait_for_connections(1, Duration::from_secs(60))
        .await
        .is_err()
    {
        return json!({"error": "not run: the client never connected"});
    }
    let n = payloads.len() as u64;
    let cpu_before = process_cpu();
    let started = Instant::now();
    emu.push_many(payloads.into_iter().map(|p| (p, PushOptions::default())));
    let deadline = started + Duration::from_secs(600);
    while emu.acks_ok_total() < n {
        if Instant::now() > deadline {
            return json!({"error": format!("gave up after 600 s with {} of {n} acks", emu.acks_ok_total())});
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let emulator_cpu = match (cpu_before, process_cpu()) {
        (Some(a), Some(b)) => Some((b - a).as_secs_f64() * 1e6 / n as f64),
        _ => None,
    };
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
    let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e3);
    json!({
        "events_per_s": n as f64 / last.duration_since(started).as_secs_f64(),
        "p50_ms": ms(percentile(&latencies, 0.50)),
        "p99_ms": ms(percentile(&latencies, 0.99)),
        "emulator_cpu_us": emulator_cpu,
    })
}

fn skipped(name: &str, note: String) -> Row {
    Row {
        name: name.to_string(),
        events_per_s: None,
        p50: None,
        p99: None,
        client_cpu_us: None,
        emulator_cpu_us: None,
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
    let body = json!({"AppID": APP_ID, "AppSecret": APP_SECRET});
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
        // Ack this frame and every one already received, then write them in one flush (as
        // Aviary's writer does), so this row measures the emulator, not one syscall per ack.
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            match msg {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Ok(frame) = decode_frame(&bytes) {
                        if frame.frame_type() == Some(FrameType::Data) {
                            let ack = build_ack(&frame, 0, &AckBody::Ok);
                            if tx.feed(Message::Binary(encode_frame(&ack))).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            }
            next = rx.next().now_or_never();
        }
        if tx.flush().await.is_err() {
            return;
        }
    }
}

fn print_table(n: usize, rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    let ms = |d: Option<Duration>| {
        d.map(|d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
            .unwrap_or_else(|| "-".into())
    };
    println!();
    println!("End to end: a burst of {n} events from the emulator (own process), one client, ack after handling");
    println!(
        "{:<52} {:>10} {:>11} {:>11} {:>11} {:>11}  note",
        "client", "events/s", "ack p50", "ack p99", "client CPU", "emu CPU"
    );
    let us = |v: Option<f64>| {
        v.map(|v| format!("{v:.0} µs/ev"))
            .unwrap_or_else(|| "-".into())
    };
    for r in rows {
        let eps = r
            .events_per_s
            .map(|v| format!("{v:.0}"))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<52} {:>10} {:>11} {:>11} {:>11} {:>11}  {}",
            r.name,
            eps,
            ms(r.p50),
            ms(r.p99),
            us(r.client_cpu_us),
            us(r.emulator_cpu_us),
            r.note
        );
    }
    println!("(client CPU: this process, for the Aviary and trivial rows; the SDKs run in their own processes)");
}
