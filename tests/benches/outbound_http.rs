//! Cost per call of outbound HTTP (`http-send`): a denied request and an allowed one to a local
//! keep-alive server (axum on 127.0.0.1), measured at two levels:
//!
//! - host only: `OutboundHttp::send` called directly (the checks, the client, the exchange);
//! - through Wasm: the Rust test guest (`tests/guests/http-client`, reused instance) making one
//!   request per event, against the same guest making none (the difference is the import's
//!   cost as a handler sees it).
//!
//! ```sh
//! cargo bench -p aviary-tests --bench outbound_http            # 2,000 calls per row
//! cargo bench -p aviary-tests --bench outbound_http -- 10000
//! ```
//!
//! Printed, never asserted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aviary::handler::{GuestEvent, Invoke, Outcome};
use aviary::outbound::{AllowList, HttpRequest, OutboundHttp, OutboundSettings};
use aviary::protocol::envelope::EventKind;
use aviary::sandbox::{HandlerLimits, HandlerSpec, Sandbox, SandboxConfig};
use aviary_test_support::guests::guest;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(n));
}

async fn run(n: usize) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route("/ok", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let origin = format!("http://127.0.0.1:{port}");
    let allowed_url = format!("{origin}/ok");
    let denied_url = "http://127.0.0.1:9/denied".to_string();
    let settings = OutboundSettings {
        allowed: AllowList::parse(&[origin.as_str()]).unwrap(),
        ..OutboundSettings::default()
    };

    println!("outbound HTTP, {n} calls per row; µs per call: p50 / p99 / mean");
    let http = OutboundHttp::new("bench", settings.clone());
    for (name, url) in [("denied", &denied_url), ("allowed", &allowed_url)] {
        let mut times = Vec::with_capacity(n);
        for i in 0..n + n / 10 {
            let request = HttpRequest {
                method: "GET".into(),
                url: url.clone(),
                ..HttpRequest::default()
            };
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let t = Instant::now();
            let result = http.send(request, 1, deadline).await;
            let took = t.elapsed();
            assert_eq!(result.is_ok(), name == "allowed", "{result:?}");
            if i >= n / 10 {
                times.push(took);
            }
        }
        row(&format!("host only, {name}"), &mut times);
    }

    let sandbox = Sandbox::new(SandboxConfig::default()).expect("sandbox");
    let load = |url: Option<&str>| {
        let mut spec = HandlerSpec::new("bench", guest("http-client"));
        spec.limits = HandlerLimits::default()
            .with_reuse(Some(10_000))
            .expect("a valid reuse");
        if let Some(url) = url {
            spec.config = BTreeMap::from([("request_0".to_string(), format!("GET {url}"))]);
        }
        spec.http = Some(Arc::new(OutboundHttp::new("bench", settings.clone())));
        sandbox.load(spec).expect("loads")
    };
    let event = GuestEvent {
        dedupe_id: "bench".into(),
        event_id: "bench".into(),
        event_type: "bench".into(),
        kind: EventKind::Event,
        app_id: "cli_bench".into(),
        tenant_key: "bench".into(),
        create_time: "0".into(),
        attempt: 1,
        envelope: "{}".into(),
    };
    for (name, url) in [
        ("no request (baseline)", None),
        ("denied", Some(denied_url.as_str())),
        ("allowed", Some(allowed_url.as_str())),
    ] {
        let handler = load(url);
        let mut times = Vec::with_capacity(n);
        for i in 0..n + n / 10 {
            let t = Instant::now();
            let inv = handler.invoke(&event).await;
            let took = t.elapsed();
            assert_eq!(inv.result, Ok(Outcome::Done), "{inv:?}");
            if i >= n / 10 {
                times.push(took);
            }
        }
        row(&format!("Rust guest, reused instance, {name}"), &mut times);
        let s = handler.outbound().stats().snapshot();
        if name == "denied" {
            assert_eq!(s.denied as usize, n + n / 10);
        }
    }
}

fn row(name: &str, times: &mut [Duration]) {
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = times.iter().map(|&d| us(d)).sum::<f64>() / times.len() as f64;
    println!(
        "| {name} | {:.1} / {:.1} / {:.1} |",
        us(times[times.len() / 2]),
        us(times[times.len() * 99 / 100]),
        mean
    );
}
