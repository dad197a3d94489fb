//! The admin server of the real `aviary run`, against the emulator: `/metrics` parsed with a
//! Prometheus text parser and checked against what the emulator pushed and acked; `/readyz`
//! through an emulator outage; drain and resume, and make-before-break reconnect under load,
//! through `aviary ctl`; `aviary check` refusing an unguarded non-loopback address; the
//! per-handler counts of `http-send` and `kv-*` calls.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use aviary_emulator::Emulator;
use aviary_test_support::binary::{sigterm, Aviary, Run};
use aviary_test_support::guests::guest;
use aviary_test_support::http_server::TestServer;
use aviary_test_support::metrics::{free_port, metric};
use aviary_test_support::recorder::{effects, emulator_config, envelope, recorder_wasm, APP_ID};
use aviary_test_support::{eventually, Dir};

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));
const WAIT: Duration = Duration::from_secs(60);
const TOKEN: &str = "admin-token-for-tests";
/// `aviary.toml` in `dir`: the emulator's app, a disk queue, the recorder guest on
/// `im.message.*`, and the admin server on `port` with a token from `AVIARY_ADMIN_TOKEN`.
fn manifest(dir: &Dir, domain: &str, port: u16) -> std::path::PathBuf {
    dir.write(
        "aviary.toml",
        &format!(
            "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{domain}\"\n\n\
             [admin]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"${{AVIARY_ADMIN_TOKEN}}\"\n\n\
             [[handler]]\nname = \"rec\"\ncomponent = \"{}\"\nevents = [\"im.message.*\"]\nmax_concurrency = 16\n",
            recorder_wasm().display()
        ),
    )
}

fn spawn(dir: &Dir, manifest: &Path) -> Run {
    let cache = dir.path().join("cache");
    AVIARY.run_with(
        manifest,
        dir.path().join("aviary.log"),
        None,
        &[
            ("RUST_LOG", "info,aviary::guest=info"),
            ("XDG_CACHE_HOME", cache.to_str().unwrap()),
            ("AVIARY_ADMIN_TOKEN", TOKEN),
        ],
    )
}

/// `aviary ctl <args> -m manifest` with `env`; (exit code, stdout, stderr).
fn ctl(manifest: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(AVIARY.path());
    cmd.arg("ctl").args(args).arg("-m").arg(manifest);
    cmd.env_remove("AVIARY_ADMIN_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// `/metrics` parsed by `prometheus-parse`: (name, labels without `app`) → value.
async fn scrape(port: u16) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let (code, text) = get(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert_eq!(code, 200);
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    let mut out = BTreeMap::new();
    for s in scrape.samples {
        let mut labels: BTreeMap<String, String> = s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(app) = labels.remove("app") {
            assert_eq!(app, APP_ID, "{}", s.metric);
        }
        let v = match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            // Buckets: keep the count of the +Inf bucket.
            prometheus_parse::Value::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map(|b| b.count)
                .unwrap_or(0.0),
            prometheus_parse::Value::Summary(_) => continue,
        };
        out.insert((s.metric, labels), v);
    }
    out
}

async fn wait_ready(port: u16, ready: bool) -> String {
    let want = if ready { 200 } else { 503 };
    let mut last = String::new();
    let url = format!("http://127.0.0.1:{port}/readyz");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(r) = reqwest::get(&url).await {
            let code = r.status().as_u16();
            last = r.text().await.unwrap_or_default();
            if code == want {
                return last;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never answered {want}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_what_the_emulator_pushed_and_acked() {
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let dir = Dir::new("admin-metrics");
    let port = free_port();
    let manifest = manifest(&dir, &emu.domain(), port);
    let mut run = spawn(&dir, &manifest);
    wait_ready(port, true).await;

    for i in 0..30 {
        emu.push_event(&envelope(i, "hello"));
    }
    // Five redeliveries of events already handled: answered from dedupe.
    for i in 0..5 {
        emu.push_event(&envelope(i, "hello"));
    }
    eventually("35 acks of 200", WAIT, || emu.acks_ok_total() == 35).await;
    eventually("30 handler runs", WAIT, || effects(&run.log).len() == 30).await;
    let m = scrape(port).await;
    let attempts: usize = emu.deliveries().iter().map(|d| d.attempts.len()).sum();
    let acks_200 = emu.acks().iter().filter(|a| a.code == 200).count();
    assert_eq!(
        metric(&m, "aviary_events_received_total", &[]),
        attempts as f64
    );
    assert_eq!(
        metric(&m, "aviary_acks_total", &[("code", "200")]),
        acks_200 as f64
    );
    assert_eq!(metric(&m, "aviary_acks_total", &[("code", "500")]), 0.0);
    assert_eq!(metric(&m, "aviary_duplicates_total", &[]), 5.0);
    assert_eq!(metric(&m, "aviary_queue_accepted_total", &[]), 30.0);
    let m = {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let m = scrape(port).await;
            if metric(&m, "aviary_queue_depth", &[]) == 0.0 {
                break m;
            }
            assert!(tokio::time::Instant::now() < deadline, "queue never empty");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let rec = [("handler", "rec")];
    assert_eq!(
        metric(
            &m,
            "aviary_handler_calls_total",
            &[("handler", "rec"), ("outcome", "done")]
        ),
        30.0
    );
    assert_eq!(
        metric(
            &m,
            "aviary_handler_failures_total",
            &[("handler", "rec"), ("kind", "timeout")]
        ),
        0.0
    );
    assert_eq!(
        metric(&m, "aviary_handler_duration_seconds_count", &rec),
        30.0
    );
    assert_eq!(
        metric(&m, "aviary_handler_peak_memory_bytes_count", &rec),
        30.0
    );
    let created = metric(
        &m,
        "aviary_handler_instances_total",
        &[("handler", "rec"), ("kind", "created")],
    );
    let reused = metric(
        &m,
        "aviary_handler_instances_total",
        &[("handler", "rec"), ("kind", "reused")],
    );
    assert_eq!(created + reused, 30.0);
    assert_eq!(
        metric(&m, "aviary_event_ack_latency_seconds_count", &[]),
        35.0
    );
    assert_eq!(
        metric(&m, "aviary_event_done_latency_seconds_count", &[]),
        30.0
    );
    assert_eq!(metric(&m, "aviary_queue_completed_total", &[]), 30.0);
    assert_eq!(metric(&m, "aviary_dead_letters", &[]), 0.0);
    assert_eq!(
        metric(&m, "aviary_connection_state", &[("state", "connected")]),
        1.0
    );
    assert_eq!(
        metric(&m, "aviary_connection_state", &[("state", "backoff")]),
        0.0
    );
    assert_eq!(metric(&m, "aviary_connects_total", &[]), 1.0);
    assert_eq!(
        metric(&m, "aviary_reconnects_total", &[("kind", "automatic")]),
        0.0
    );
    assert!(metric(&m, "aviary_pings_sent_total", &[]) >= 1.0);
    // Every required name is there, and no label carries an event, message or chat id.
    let names: HashSet<&str> = m.keys().map(|(n, _)| n.as_str()).collect();
    for required in [
        "aviary_events_received_total",
        "aviary_acks_total",
        "aviary_duplicates_total",
        "aviary_connection_state",
        "aviary_reconnects_total",
        "aviary_queue_depth",
        "aviary_dead_letters",
        "aviary_handler_calls_total",
        "aviary_handler_failures_total",
        "aviary_handler_duration_seconds_count",
        "aviary_event_ack_latency_seconds_count",
    ] {
        assert!(names.contains(required), "{required} missing");
    }
    for (name, labels) in m.keys() {
        for v in labels.values() {
            assert!(
                !v.starts_with("ev-") && !v.starts_with("om_") && !v.starts_with("oc_"),
                "{name} has an id as a label: {v}"
            );
        }
    }
    // OpenMetrics when asked for.
    let om = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(om.trim_end().ends_with("# EOF"), "{om}");
    // /status agrees.
    let (code, status) = get(&format!("http://127.0.0.1:{port}/status")).await;
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let app = &status["apps"][0];
    assert_eq!(app["handlers"][0]["calls"], 30);
    assert_eq!(app["connection"]["state"], "connected");
    assert!(app["queue"]["backend"]
        .as_str()
        .unwrap()
        .starts_with("disk "));
    assert_eq!(app["handlers"][0]["sha256"].as_str().unwrap().len(), 64);
    assert!(!status.to_string().contains("emulator-secret"));
    assert_eq!(sigterm(&mut run), Some(0));
    emu.shutdown().await;
}

/// `http-send` and `kv-*` calls on `/metrics`, per handler and outcome, through the real
/// `aviary run`: the HTTP test guest sends one allowed and one denied request per event (the
/// allowed ones reach the recording server); the key-value guest makes its fixed sequence of
/// calls with a grant, and is denied at its first call without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capability_metrics_count_http_and_kv_calls_per_handler_and_outcome() {
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let server = TestServer::http().await;
    let p = server.port();
    let dir = Dir::new("admin-capabilities");
    let port = free_port();
    let http = guest("http-client");
    let kv = guest("kv-sdk");
    let manifest = dir.write(
        "aviary.toml",
        &format!(
            "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n\n\
             [admin]\nlisten = \"127.0.0.1:{port}\"\n\n\
             [[handler]]\nname = \"fetch\"\ncomponent = \"{}\"\nevents = [\"im.message.*\"]\n\
             allowed_outbound_hosts = [\"http://127.0.0.1:{p}\"]\n\
             [handler.config]\nrequest_0 = \"GET http://127.0.0.1:{p}/ok\"\n\
             request_1 = \"GET http://127.0.0.1:9/\"\n\n\
             [[handler]]\nname = \"state\"\ncomponent = \"{}\"\nevents = [\"im.message.*\"]\nkv = true\n\n\
             [[handler]]\nname = \"nostate\"\ncomponent = \"{}\"\nevents = [\"im.message.*\"]\n",
            emu.domain(),
            http.display(),
            kv.display(),
            kv.display()
        ),
    );
    let mut run = spawn(&dir, &manifest);
    wait_ready(port, true).await;
    for i in 0..3 {
        emu.push_event(&envelope(i, "hello"));
    }
    let m = {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let m = scrape(port).await;
            if metric(&m, "aviary_queue_completed_total", &[]) == 3.0 {
                break m;
            }
            assert!(tokio::time::Instant::now() < deadline, "3 jobs never done");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let http_requests = |handler: &str, outcome: &str| {
        metric(
            &m,
            "aviary_handler_http_requests_total",
            &[("handler", handler), ("outcome", outcome)],
        )
    };
    assert_eq!(http_requests("fetch", "answered"), 3.0);
    assert_eq!(http_requests("fetch", "denied"), 3.0);
    for outcome in ["timeout", "too_large", "failed"] {
        assert_eq!(http_requests("fetch", outcome), 0.0, "{outcome}");
    }
    // Handlers that never call http-send have their series, at 0.
    assert_eq!(http_requests("state", "answered"), 0.0);
    assert_eq!(http_requests("nostate", "denied"), 0.0);
    let seen: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(seen, ["/ok", "/ok", "/ok"]);

    let kv_ops = |handler: &str, op: &str, outcome: &str| {
        metric(
            &m,
            "aviary_handler_kv_operations_total",
            &[("handler", handler), ("op", op), ("outcome", outcome)],
        )
    };
    // Per event: increment `visits`, set `last`, get it, set and delete `tmp`, get it, list,
    // and an increment of the text in `last` (invalid).
    for (op, outcome, n) in [
        ("kv-increment", "ok", 3.0),
        ("kv-increment", "invalid", 3.0),
        ("kv-set", "ok", 6.0),
        ("kv-get", "ok", 6.0),
        ("kv-delete", "ok", 3.0),
        ("kv-list", "ok", 3.0),
        ("kv-get", "denied", 0.0),
        ("kv-set", "over_quota", 0.0),
        ("kv-list", "store_error", 0.0),
    ] {
        assert_eq!(kv_ops("state", op, outcome), n, "state {op} {outcome}");
    }
    assert_eq!(kv_ops("nostate", "kv-increment", "denied"), 3.0);
    assert_eq!(kv_ops("nostate", "kv-increment", "ok"), 0.0);
    assert_eq!(kv_ops("nostate", "kv-set", "denied"), 0.0);
    assert_eq!(kv_ops("fetch", "kv-get", "denied"), 0.0);
    // Bounded labels: 5 outcomes of http-send and 5 × 5 of kv per Wasm handler, no more.
    let series = |name: &str| m.keys().filter(|(n, _)| n == name).count();
    assert_eq!(series("aviary_handler_http_requests_total"), 3 * 5);
    assert_eq!(series("aviary_handler_kv_operations_total"), 3 * 25);

    assert_eq!(sigterm(&mut run), Some(0));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_the_emulator_is_down_and_200_after_reconnect() {
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let (http, gateway) = (emu.http_addr().port(), emu.gateway_addr().port());
    let dir = Dir::new("admin-readyz");
    let port = free_port();
    let manifest = manifest(&dir, &emu.domain(), port);
    let mut run = spawn(&dir, &manifest);
    wait_ready(port, true).await;
    assert_eq!(
        get(&format!("http://127.0.0.1:{port}/healthz")).await.0,
        200
    );

    emu.shutdown().await;
    let body = wait_ready(port, false).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false);
    let failing: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["connection"], "{body}");
    assert_eq!(
        get(&format!("http://127.0.0.1:{port}/healthz")).await.0,
        200,
        "still alive while reconnecting"
    );
    let (code, out, _) = ctl(&manifest, &["status"], &[]);
    assert_eq!(code, Some(1), "status exits 1 when not ready");
    assert!(out.contains("NOT READY"), "{out}");
    assert!(out.contains("not ready: connection:"), "{out}");

    let emu = Emulator::start_on(emulator_config(), http, gateway)
        .await
        .unwrap();
    wait_ready(port, true).await;
    let m = scrape(port).await;
    assert!(metric(&m, "aviary_reconnects_total", &[("kind", "automatic")]) >= 1.0);
    assert_eq!(metric(&m, "aviary_connects_total", &[]), 2.0);
    assert_eq!(
        metric(
            &m,
            "aviary_disconnects_total",
            &[("reason", "server_closed")]
        ),
        1.0
    );
    let (code, out, _) = ctl(&manifest, &["status"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(": ready"), "{out}");
    assert_eq!(sigterm(&mut run), Some(0));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_and_resume_through_aviary_ctl_need_the_token_and_lose_nothing() {
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let dir = Dir::new("admin-drain");
    let port = free_port();
    let manifest = manifest(&dir, &emu.domain(), port);
    let mut run = spawn(&dir, &manifest);
    wait_ready(port, true).await;

    // Without the token's variable, with a wrong token: refused, nothing happens.
    let (code, _, err) = ctl(&manifest, &["drain"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("AVIARY_ADMIN_TOKEN"), "{err}");
    let (code, _, err) = ctl(&manifest, &["drain"], &[("AVIARY_ADMIN_TOKEN", "nope")]);
    assert_eq!(code, Some(1));
    assert!(err.contains("HTTP 401"), "{err}");
    assert_eq!(emu.connections().len(), 1);

    let (code, out, err) = ctl(&manifest, &["drain"], &[("AVIARY_ADMIN_TOKEN", TOKEN)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("drained"), "{out}");
    let body = wait_ready(port, false).await;
    assert!(body.contains("drained on request"), "{body}");
    eventually("no connection while drained", WAIT, || {
        emu.connections().is_empty()
    })
    .await;
    for i in 0..10 {
        emu.push_event(&envelope(i, "while drained"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(emu.acks_ok_total(), 0, "nothing delivered while drained");

    let (code, out, _) = ctl(&manifest, &["resume"], &[("AVIARY_ADMIN_TOKEN", TOKEN)]);
    assert_eq!(code, Some(0));
    assert!(out.contains("resumed"), "{out}");
    wait_ready(port, true).await;
    eventually("the 10 waiting events acked", WAIT, || {
        emu.acks_ok_total() == 10
    })
    .await;
    eventually("and handled", WAIT, || effects(&run.log).len() == 10).await;
    let (_, out, _) = ctl(&manifest, &["resume"], &[("AVIARY_ADMIN_TOKEN", TOKEN)]);
    assert!(out.contains("was not drained"), "{out}");

    let log = run.output();
    assert!(
        log.contains("admin control refused: missing or wrong bearer token peer=127.0.0.1:"),
        "{log}"
    );
    assert!(
        log.contains("admin control requested peer=127.0.0.1:") && log.contains("action=drain"),
        "{log}"
    );
    assert!(!log.contains(TOKEN), "the token is never logged");
    assert_eq!(sigterm(&mut run), Some(0));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_before_break_reconnect_under_load_loses_and_duplicates_nothing() {
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let dir = Dir::new("admin-mbb");
    let port = free_port();
    let manifest = manifest(&dir, &emu.domain(), port);
    let mut run = spawn(&dir, &manifest);
    wait_ready(port, true).await;

    const N: usize = 300;
    let pushing = {
        let pushes: Vec<serde_json::Value> = (0..N).map(|i| envelope(i, "load")).collect();
        let emu = &emu;
        async move {
            for batch in pushes.chunks(10) {
                for e in batch {
                    emu.push_event(e);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let reconnecting = async {
        let mut done = Vec::new();
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let (code, out, err) = tokio::task::spawn_blocking({
                let manifest = manifest.clone();
                move || ctl(&manifest, &["reconnect"], &[("AVIARY_ADMIN_TOKEN", TOKEN)])
            })
            .await
            .unwrap();
            assert_eq!(code, Some(0), "{err}");
            done.push(out);
        }
        done
    };
    let (_, outs) = tokio::join!(pushing, reconnecting);
    for out in &outs {
        assert!(
            out.contains("reconnected on") && out.contains("replaced"),
            "{out}"
        );
    }
    eventually("every delivery acked", WAIT, || {
        let d = emu.deliveries();
        d.len() == N && d.iter().all(|d| d.acked)
    })
    .await;
    eventually("every event handled", WAIT, || {
        effects(&run.log)
            .into_iter()
            .map(|(id, _)| id)
            .collect::<HashSet<_>>()
            .len()
            == N
    })
    .await;
    let runs = effects(&run.log);
    let mut per: HashMap<String, usize> = HashMap::new();
    for (id, _) in &runs {
        *per.entry(id.clone()).or_default() += 1;
    }
    let twice: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "handled more than once: {twice:?}");
    assert_eq!(runs.len(), N);

    let m = scrape(port).await;
    assert_eq!(
        metric(&m, "aviary_reconnects_total", &[("kind", "manual")]),
        3.0
    );
    assert_eq!(metric(&m, "aviary_connects_total", &[]), 4.0);
    let closed = {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let m = scrape(port).await;
            let n = metric(&m, "aviary_disconnects_total", &[("reason", "replaced")]);
            if n == 3.0 || tokio::time::Instant::now() > deadline {
                break n;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert_eq!(closed, 3.0);
    assert_eq!(
        metric(
            &m,
            "aviary_handler_calls_total",
            &[("handler", "rec"), ("outcome", "done")]
        ),
        N as f64
    );
    let redelivered = emu
        .deliveries()
        .iter()
        .filter(|d| d.attempts.len() > 1)
        .count();
    println!("make-before-break under load: {N} events, 3 reconnects, {redelivered} redelivered (deduplicated)");
    assert_eq!(sigterm(&mut run), Some(0));
    emu.shutdown().await;
}

#[test]
fn check_and_run_refuse_a_non_loopback_admin_address_without_a_token() {
    let dir = Dir::new("admin-check");
    let manifest = dir.write(
        "aviary.toml",
        "[feishu]\napp_id = \"cli_x\"\napp_secret = \"s\"\n[admin]\nlisten = \"0.0.0.0:9464\"\n",
    );
    let out = Command::new(AVIARY.path())
        .args(["check", "-m"])
        .arg(&manifest)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("aviary.toml:5:10: admin.listen: 0.0.0.0:9464 is not a loopback address: set [admin] token"),
        "{err}"
    );
    // `--admin` on the command line is held to the same rule.
    let ok = dir.write(
        "ok.toml",
        "[feishu]\napp_id = \"cli_x\"\napp_secret = \"s\"\ndomain = \"http://127.0.0.1:9\"\n",
    );
    let out = Command::new(AVIARY.path())
        .args(["run", "--admin", "0.0.0.0:0", "-m"])
        .arg(&ok)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("0.0.0.0:0 is not a loopback address"), "{err}");
}

/// Issue 15 §6: the app secret and the tenant token appear in no output, even with every log
/// target at trace level and JSON logs, while the handler calls the OpenAPI (so a token is
/// fetched and sent): the log, `/metrics`, `/status`, and `aviary ctl`'s output. (Every other
/// suite that runs the binary greps its output the same way, through the test support's
/// `sigterm`, `Run::output` and `Aviary::dlq`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_token_in_any_output_even_at_trace_level() {
    use aviary_test_support::recorder::REPLY;
    use aviary_test_support::secrets::assert_no_secrets;
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let dir = Dir::new("admin-secrets");
    let port = free_port();
    let text = std::fs::read_to_string(manifest(&dir, &emu.domain(), port)).unwrap() + REPLY;
    let manifest = dir.write("aviary.toml", &text);
    let mut run = AVIARY.run_with(
        &manifest,
        dir.path().join("aviary.log"),
        None,
        &[
            // Trace for Aviary and every crate that carries the secret or the token on the
            // wire (HTTP client and server, WebSocket, TLS); the compiler's chatter is left out.
            (
                "RUST_LOG",
                "info,aviary=trace,reqwest=trace,hyper=trace,hyper_util=trace,h2=trace,tungstenite=trace,tokio_tungstenite=trace,rustls=trace,axum=trace",
            ),
            ("AVIARY_LOG_FORMAT", "json"),
            (
                "XDG_CACHE_HOME",
                dir.path().join("cache").to_str().unwrap(),
            ),
            ("AVIARY_ADMIN_TOKEN", TOKEN),
        ],
    );
    wait_ready(port, true).await;
    for i in 0..5 {
        emu.push_event(&envelope(i, "reply please"));
    }
    eventually("5 replies sent with the tenant token", WAIT, || {
        emu.sent_messages().len() == 5
    })
    .await;
    assert!(
        emu.openapi_calls().iter().any(|c| c
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer t-"))),
        "the handler's calls carried a tenant token"
    );
    let (_, metrics) = get(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert_no_secrets("/metrics", &metrics);
    let m = scrape(port).await;
    assert_eq!(
        metric(&m, "aviary_openapi_calls_total", &[("outcome", "ok")]),
        5.0
    );
    let (_, status) = get(&format!("http://127.0.0.1:{port}/status")).await;
    assert_no_secrets("/status", &status);
    let (_, out, err) = ctl(&manifest, &["status"], &[]);
    assert_no_secrets("aviary ctl status", &(out + &err));
    let (_, out, err) = ctl(&manifest, &["reconnect"], &[("AVIARY_ADMIN_TOKEN", TOKEN)]);
    assert_no_secrets("aviary ctl reconnect", &(out + &err));
    assert_eq!(sigterm(&mut run), Some(0));
    let log = run.output();
    assert!(log.contains("\"level\":\"TRACE\""), "trace logging was on");
    assert!(!log.contains(TOKEN));
    emu.shutdown().await;
}

/// `[log] format = "json"` makes every line a JSON object; `AVIARY_LOG_FORMAT` (like
/// `--log-format`) wins over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_format_comes_from_the_manifest_unless_the_flag_says_otherwise() {
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let dir = Dir::new("admin-logformat");
    let manifest = dir.write(
        "aviary.toml",
        &format!(
            "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n[admin]\nlisten = \"\"\n[log]\nformat = \"json\"\n",
            emu.domain()
        ),
    );
    for (env, json) in [(None, true), (Some("text"), false)] {
        let mut vars = vec![("RUST_LOG", "info")];
        if let Some(f) = env {
            vars.push(("AVIARY_LOG_FORMAT", f));
        }
        let before = emu.connections_total();
        let mut run = AVIARY.run_with(&manifest, dir.path().join("aviary.log"), None, &vars);
        eventually("connected", WAIT, || emu.connections_total() > before).await;
        assert_eq!(sigterm(&mut run), Some(0));
        let log = run.output();
        let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(lines.len() >= 3, "{log}");
        for line in lines {
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(line).is_ok(),
                json,
                "{line}"
            );
        }
    }
    emu.shutdown().await;
}

/// The metric names in `docs/operations.md`, the Grafana dashboard and the alert rules against
/// what `/metrics` serves: nothing documented that does not exist, nothing served undocumented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_dashboard_and_alerts_name_exactly_the_metrics_served() {
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let dir = Dir::new("admin-docs");
    let port = free_port();
    let manifest = manifest(&dir, &emu.domain(), port);
    let mut run = spawn(&dir, &manifest);
    wait_ready(port, true).await;
    let served: HashSet<String> = scrape(port).await.keys().map(|(n, _)| base(n)).collect();
    assert_eq!(sigterm(&mut run), Some(0));
    emu.shutdown().await;

    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let named = |file: &str| -> HashSet<String> {
        let text = std::fs::read_to_string(docs.join(file)).unwrap();
        let mut names = HashSet::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("aviary_") {
            let word: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + word.len()..];
            // Skip words that only start like a metric (crate and module names).
            if word.len() > "aviary_".len() && !word.ends_with('_') {
                names.insert(base(&word));
            }
        }
        names
    };
    let page: HashSet<String> = named("operations.md")
        .into_iter()
        .filter(|n| !["aviary_dlq", "aviary_ctl"].contains(&n.as_str()))
        .collect();
    for (file, names) in [
        ("operations.md", page.clone()),
        (
            "operations/grafana-dashboard.json",
            named("operations/grafana-dashboard.json"),
        ),
        ("operations/alerts.yml", named("operations/alerts.yml")),
    ] {
        let unknown: Vec<&String> = names.difference(&served).collect();
        assert!(
            unknown.is_empty(),
            "{file} names metrics /metrics does not serve: {unknown:?}"
        );
    }
    let undocumented: Vec<&String> = served.difference(&page).collect();
    assert!(
        undocumented.is_empty(),
        "docs/operations.md does not document: {undocumented:?}"
    );
}

/// A sample or family name without the histogram and counter suffixes.
fn base(name: &str) -> String {
    let mut n = name;
    for suffix in ["_bucket", "_sum", "_count", "_total"] {
        if let Some(stripped) = n.strip_suffix(suffix) {
            n = stripped;
            break;
        }
    }
    n.to_string()
}
