//! The admin server's cost: how long one `/metrics` scrape takes with 50 Wasm handlers loaded
//! (each handler adds its call, failure, duration, fuel, memory and instance series), after
//! every handler has run, so every histogram has data.
//!
//! ```sh
//! bash scripts/setup-tests.sh   # the wasm32-wasip2 target (the recorder test guest)
//! cargo bench -p aviary-tests --bench admin            # 500 scrapes
//! cargo bench -p aviary-tests --bench admin -- 2000    # more
//! ```
//!
//! Prints the scrape latency (p50, p99, max), the size of one scrape and its number of samples,
//! and the cost of one histogram observation (what the per-event hooks do a few times per
//! event, whether or not the admin server runs). The events/s cost of running the admin server
//! while scraping is row (m) of the events bench.

use std::time::{Duration, Instant};

use aviary::admin::AdminSettings;
use aviary::queue::QueueBackend;
use aviary::{Handler, Runtime, Settings};
use aviary_emulator::{Emulator, EmulatorConfig};
use aviary_test_support::guests::guest;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HANDLERS: usize = 50;

fn main() {
    let scrapes: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(500);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let emu = Emulator::start(EmulatorConfig::fast()).await.expect("emulator");
        let cfg = EmulatorConfig::default();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut settings = Settings::new(emu.domain(), cfg.app_id, cfg.app_secret);
        settings.queue.backend = QueueBackend::Memory;
        settings.admin = AdminSettings {
            listen: Some(([127, 0, 0, 1], port).into()),
            token: None,
            explicit: true,
        };
        let wasm = guest("recorder");
        let mut builder = Runtime::builder().settings(settings);
        for i in 0..HANDLERS {
            builder = builder.handler(
                Handler::wasm(format!("handler-{i:02}"), &wasm)
                    .events(["im.message.receive_v1"])
                    .fuel(100_000_000),
            );
        }
        let loading = Instant::now();
        let runtime = builder.start().await.expect("runtime starts");
        println!("{HANDLERS} Wasm handlers loaded in {:?}", loading.elapsed());
        // Every handler runs on each of these events: data in every series.
        for i in 0..20 {
            emu.push_event(&aviary_test_support::message_event(
                &format!("ev-{i}"),
                &format!("om_{i}"),
                "oc_1",
                "hello",
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while emu.acks_ok_total() < 20 || runtime.status().await.handlers.iter().any(|h| h.calls < 20) {
            assert!(Instant::now() < deadline, "events not handled in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/metrics");
        let first = http.get(&url).send().await.unwrap().text().await.unwrap();
        let samples = first.lines().filter(|l| !l.starts_with('#')).count();
        let mut times = Vec::with_capacity(scrapes);
        for _ in 0..scrapes {
            let t = Instant::now();
            let body = http.get(&url).send().await.unwrap().bytes().await.unwrap();
            times.push(t.elapsed());
            assert!(!body.is_empty());
        }
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "/metrics with {HANDLERS} handlers: {scrapes} scrapes, p50 {:?}, p99 {:?}, max {:?}; {} bytes, {samples} samples per scrape",
            at(0.5),
            at(0.99),
            times[times.len() - 1],
            first.len()
        );
        runtime.stop().await.expect("stops");
        emu.shutdown().await;
    });
    let h = aviary::metrics::latency_histogram();
    let n = 2_000_000u32;
    let t = Instant::now();
    for i in 0..n {
        aviary::metrics::observe(&h, Duration::from_micros(u64::from(i % 5000)));
    }
    println!(
        "one histogram observation: {:.1} ns (mean of {n}, one thread)",
        t.elapsed().as_secs_f64() * 1e9 / f64::from(n)
    );
}
