//! Several apps in one `aviary run` (a manifest with `include`), against the emulator: the
//! emulator's app handles its events while the other app, whose credentials Feishu refuses,
//! stops alone; `/status`, `/readyz`, `/metrics` and the log say which is which; `aviary check`
//! and `aviary ctl` read the including manifest. An app flooded with events its slow handler
//! cannot keep up with does not hold back the other app.

use std::process::Command;
use std::time::Duration;

use aviary_emulator::Emulator;
use aviary_test_support::binary::{sigterm, Aviary};
use aviary_test_support::guests::guest;
use aviary_test_support::metrics::free_port;
use aviary_test_support::recorder::{effects, emulator_config, envelope, recorder_wasm, APP_ID};
use aviary_test_support::{eventually, Dir};

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));
const WAIT: Duration = Duration::from_secs(60);
const TOKEN: &str = "admin-token-for-apps-tests";
const OTHER: &str = "cli_ffffffffffffffff";

fn app(id: &str, secret: &str, domain: &str, queue: &str) -> String {
    format!(
        "[feishu]\napp_id = \"{id}\"\napp_secret = \"{secret}\"\ndomain = \"{domain}\"\n\n\
         [queue]\npath = \"{queue}\"\n\n\
         [[handler]]\nname = \"rec\"\ncomponent = \"{}\"\nevents = [\"im.message.*\"]\n",
        recorder_wasm().display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apps_run_isolated_and_one_with_refused_credentials_stops_alone() {
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let dir = Dir::new("apps-binary");
    let port = free_port();
    std::fs::create_dir_all(dir.path().join("bots")).unwrap();
    dir.write(
        "bots/good.toml",
        &app(APP_ID, "emulator-secret", &emu.domain(), "good.redb"),
    );
    dir.write(
        "bots/refused.toml",
        &app(OTHER, "not-this-one", &emu.domain(), "refused.redb"),
    );
    let manifest = dir.write(
        "aviary.toml",
        &format!(
            "include = [\"bots/*.toml\"]\n\n[admin]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"${{AVIARY_ADMIN_TOKEN}}\"\n"
        ),
    );

    // `aviary check` checks every included app.
    let out = Command::new(AVIARY.path())
        .args(["check", "-m"])
        .arg(&manifest)
        .env("AVIARY_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("app {APP_ID}")), "{stdout}");
    assert!(stdout.contains(&format!("app {OTHER}")), "{stdout}");

    let cache = dir.path().join("cache");
    let mut run = AVIARY.run_with(
        &manifest,
        dir.path().join("aviary.log"),
        None,
        &[
            ("RUST_LOG", "info,aviary::guest=info"),
            ("XDG_CACHE_HOME", cache.to_str().unwrap()),
            ("AVIARY_ADMIN_TOKEN", TOKEN),
        ],
    );
    let status_url = format!("http://127.0.0.1:{port}/status");
    let status = || async {
        match reqwest::get(&status_url).await {
            Ok(r) => r.json::<serde_json::Value>().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        }
    };
    // The refused app stops; the other connects and handles its events.
    let deadline = tokio::time::Instant::now() + WAIT;
    let s = loop {
        let s = status().await;
        let apps = s["apps"].as_array().cloned().unwrap_or_default();
        let by = |id: &str| apps.iter().find(|a| a["app_id"] == id).cloned();
        if let (Some(good), Some(refused)) = (by(APP_ID), by(OTHER)) {
            if good["connection"]["state"] == "connected" && refused["stopped"].is_string() {
                break s;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "never settled: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let apps = s["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2, "{s}");
    let refused = apps.iter().find(|a| a["app_id"] == OTHER).unwrap();
    assert!(
        refused["stopped"].as_str().unwrap().contains("credentials")
            || refused["stopped"].as_str().unwrap().contains("app_secret"),
        "{refused}"
    );
    for i in 0..20 {
        emu.push_event(&envelope(i, "hello"));
    }
    eventually("20 acks", WAIT, || emu.acks_ok_total() == 20).await;
    eventually("20 runs", WAIT, || effects(&run.log).len() == 20).await;
    assert!(
        std::fs::metadata(dir.path().join("bots/good.redb")).is_ok(),
        "each app its own queue"
    );

    // /readyz: not ready, and only because of the refused app.
    let r = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    let failing: Vec<&serde_json::Value> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert!(!failing.is_empty(), "{body}");
    assert!(failing.iter().all(|c| c["app"] == OTHER), "{body}");
    // /healthz: the process still runs an app.
    let code = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap()
        .status();
    assert_eq!(code.as_u16(), 200);
    // /metrics: one series per app.
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let handled = |app: &str| {
        scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == "aviary_handler_calls_total"
                    && s.labels.get("app") == Some(app)
                    && s.labels.get("outcome") == Some("done")
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => -1.0,
            })
    };
    assert_eq!(handled(APP_ID), Some(20.0));
    assert_eq!(handled(OTHER), Some(0.0));
    // `aviary ctl status` reads the including manifest's [admin]; not ready: exit 1.
    let out = Command::new(AVIARY.path())
        .args(["ctl", "status", "-m"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(APP_ID) && stdout.contains(OTHER),
        "{stdout}"
    );
    // Each app's log lines carry its id.
    let log = std::fs::read_to_string(&run.log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(&format!("app{{id={APP_ID}}}")) && l.contains("effect om_")),
        "guest lines carry the app: {}",
        log.lines()
            .filter(|l| l.contains("effect"))
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        log.lines()
            .any(|l| l.contains(&format!("app{{id={OTHER}}}"))),
        "the refused app's lines carry its id"
    );

    // Stopping: the good app stops gracefully; the refused one ended on an error: exit 1.
    assert_eq!(sigterm(&mut run), Some(1));
    emu.shutdown().await;
}

/// An app whose only handler is slow (each call runs into its 1 s timeout, one at a time) and
/// that is flooded with events.
fn overloaded_app(id: &str, domain: &str, queue: &str) -> String {
    format!(
        "[feishu]\napp_id = \"{id}\"\napp_secret = \"emulator-secret\"\ndomain = \"{domain}\"\n\n\
         [queue]\npath = \"{queue}\"\n\n\
         [[handler]]\nname = \"slow\"\ncomponent = \"{}\"\nevents = [\"im.message.*\"]\n\
         timeout_ms = 1000\nmax_concurrency = 1\nmax_attempts = 1\n",
        guest("sleeper").display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_app_does_not_hold_back_the_other() {
    let slow_emu = Emulator::start({
        let mut c = emulator_config();
        c.app_id = OTHER.into();
        c
    })
    .await
    .unwrap();
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let dir = Dir::new("apps-overload");
    let port = free_port();
    std::fs::create_dir_all(dir.path().join("bots")).unwrap();
    dir.write(
        "bots/busy.toml",
        &overloaded_app(OTHER, &slow_emu.domain(), "busy.redb"),
    );
    dir.write(
        "bots/good.toml",
        &app(APP_ID, "emulator-secret", &emu.domain(), "good.redb"),
    );
    let manifest = dir.write(
        "aviary.toml",
        &format!("include = [\"bots/*.toml\"]\n\n[admin]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let cache = dir.path().join("cache");
    let mut run = AVIARY.run_with(
        &manifest,
        dir.path().join("aviary.log"),
        None,
        &[
            ("RUST_LOG", "info,aviary::guest=info"),
            ("XDG_CACHE_HOME", cache.to_str().unwrap()),
        ],
    );
    let status_url = format!("http://127.0.0.1:{port}/status");
    let app_status = |id: &'static str| {
        let url = status_url.clone();
        async move {
            let s: serde_json::Value = match reqwest::get(&url).await {
                Ok(r) => r.json().await.unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            s["apps"]
                .as_array()
                .and_then(|apps| apps.iter().find(|a| a["app_id"] == id).cloned())
                .unwrap_or_default()
        }
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (busy, good) = (app_status(OTHER).await, app_status(APP_ID).await);
        if busy["connection"]["state"] == "connected" && good["connection"]["state"] == "connected"
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never connected: {busy} {good}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The busy app: 30 events, each holding its only call slot until the 1 s timeout.
    const FLOOD: usize = 30;
    for i in 0..FLOOD {
        slow_emu.push_event(&envelope(i, "flood"));
    }
    eventually("the flood persisted and acked", WAIT, || {
        slow_emu.acks_ok_total() == FLOOD as u64
    })
    .await;
    // The busy handler is loaded and working through its backlog (a call ended in its timeout).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let busy = app_status(OTHER).await;
        if busy["handlers"][0]["failures_by_kind"]["timeout"].as_u64() >= Some(1) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the busy handler never ran: {busy}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The other app: its 20 events are handled while the busy one still has a backlog.
    for i in 0..20 {
        emu.push_event(&envelope(100 + i, "hello"));
    }
    eventually("20 acks", WAIT, || emu.acks_ok_total() == 20).await;
    eventually("20 runs", WAIT, || effects(&run.log).len() == 20).await;
    // ... and settled (a run's effect is logged before its job is).
    let deadline = tokio::time::Instant::now() + WAIT;
    let good = loop {
        let good = app_status(APP_ID).await;
        if good["queue"]["depth"] == 0 {
            break good;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never settled: {good}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let busy = app_status(OTHER).await;
    let depth = busy["queue"]["depth"].as_u64().unwrap_or(0);
    assert!(
        depth > 0,
        "the busy app's backlog should still be there when the other app is done: {busy}"
    );
    let calls = busy["handlers"][0]["calls"].as_u64().unwrap_or(0);
    assert!(calls < FLOOD as u64, "{busy}");
    assert!(
        good["stopped"].is_null() && busy["stopped"].is_null(),
        "{good} {busy}"
    );

    assert_eq!(sigterm(&mut run), Some(0));
    emu.shutdown().await;
    slow_emu.shutdown().await;
}
