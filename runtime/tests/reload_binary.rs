//! Hot reload of the real `aviary run`, against the emulator, while events are pushed
//! continuously: a broken manifest and a component that does not load are refused (exit 1 of
//! `aviary ctl reload`, the problem named at its file:line:col or handler) and change nothing;
//! a changed component is swapped in through `aviary ctl reload`, a changed limit through
//! SIGHUP. Every event is acked and handled exactly once, by the old version before the swap
//! and the new one after it, on one connection; `/status` and `/metrics` say what happened.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aviary_emulator::Emulator;
use aviary_test_support::binary::{sigterm, Aviary, Run};
use aviary_test_support::guests::guest;
use aviary_test_support::metrics::{free_port, metric};
use aviary_test_support::recorder::{effects, emulator_config, envelope, recorder_wasm, APP_ID};
use aviary_test_support::{eventually, Dir};

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));
const WAIT: Duration = Duration::from_secs(120);
const TOKEN: &str = "admin-token-for-reload-tests";

/// The manifest: the emulator's app, the admin server on `port` (token from the
/// environment), handler `rec` running `handler.wasm` of `dir`, then `extra` lines.
fn write_manifest(dir: &Dir, domain: &str, port: u16, concurrency: u32, extra: &str) {
    write_manifest_with(dir, domain, port, "handler.wasm", concurrency, extra)
}

/// [`write_manifest`] with `rec` running `component`.
fn write_manifest_with(
    dir: &Dir,
    domain: &str,
    port: u16,
    component: &str,
    concurrency: u32,
    extra: &str,
) {
    dir.write(
        "aviary.toml",
        &format!(
            "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{domain}\"\n\n\
             [admin]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"${{AVIARY_ADMIN_TOKEN}}\"\n\n\
             [[handler]]\nname = \"rec\"\ncomponent = \"{component}\"\nevents = [\"im.message.*\"]\n\
             max_concurrency = {concurrency}\n{extra}"
        ),
    );
}

fn spawn(dir: &Dir) -> Run {
    let cache = dir.path().join("cache");
    AVIARY.run_with(
        &dir.path().join("aviary.toml"),
        dir.path().join("aviary.log"),
        None,
        &[
            ("RUST_LOG", "info,aviary::guest=info"),
            ("XDG_CACHE_HOME", cache.to_str().unwrap()),
            ("AVIARY_ADMIN_TOKEN", TOKEN),
        ],
    )
}

/// `aviary ctl reload -m manifest` with the token; (exit code, stdout, stderr). Blocking: run
/// on a blocking thread so the pusher keeps pushing.
async fn ctl_reload(manifest: &Path) -> (Option<i32>, String, String) {
    let manifest = manifest.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(AVIARY.path())
            .args(["ctl", "reload", "-m"])
            .arg(&manifest)
            .env("AVIARY_ADMIN_TOKEN", TOKEN)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

async fn json(url: &str) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// `/metrics` parsed by `prometheus-parse`: (name, labels without `app`) → value.
async fn scrape(port: u16) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("valid Prometheus text");
    scrape
        .samples
        .into_iter()
        .filter_map(|s| {
            let v = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => return None,
            };
            let mut labels: BTreeMap<String, String> = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.remove("app");
            Some(((s.metric, labels), v))
        })
        .collect()
}

/// The event id of event `i` (`ev-<i>`) from its message id (`om_<i>`, what the recorder
/// logs).
fn event_of(id: &str) -> String {
    match id.strip_prefix("om_") {
        Some(i) => format!("ev-{i}"),
        None => id.to_string(),
    }
}

/// `handling <event id>` lines of the `well-behaved` guest (the new version).
fn handled_by_new(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let rest = &l[l.find("handling ev-")? + 9..];
            Some(rest.split_whitespace().next()?.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_swaps_handlers_on_one_connection_and_refuses_broken_configurations() {
    let emu = Arc::new(Emulator::start(emulator_config()).await.unwrap());
    let dir = Dir::new("reload-binary");
    let port = free_port();
    let manifest = dir.path().join("aviary.toml");
    std::fs::copy(recorder_wasm(), dir.path().join("handler.wasm")).unwrap();
    let new_version = guest("well-behaved");
    write_manifest(&dir, &emu.domain(), port, 16, "");
    let mut run = spawn(&dir);
    let status_url = format!("http://127.0.0.1:{port}/status");
    eventually("ready", WAIT, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && emu.connections().len() == 1
    })
    .await;

    // Events pushed continuously (one every 10 ms) until told to stop.
    let pushed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = {
        let (emu, pushed, stop) = (emu.clone(), pushed.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let i = pushed.load(Ordering::SeqCst);
                emu.push_event(&envelope(i, "hello"));
                pushed.store(i + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    eventually("some events handled", WAIT, || {
        effects(&run.log).len() >= 20
    })
    .await;

    // 1. A manifest error: refused at its line, nothing changes.
    write_manifest(&dir, &emu.domain(), port, 16, "timeout_ms = \"soon\"\n");
    // `aviary ctl reload` reads the manifest for `[admin]` first: it names the problem and
    // sends nothing (exit 2).
    let (code, out, err) = ctl_reload(&manifest).await;
    assert_eq!(code, Some(2), "{out}{err}");
    let at = format!("{}:15:14: handler.timeout_ms", manifest.display());
    assert!(err.contains(&at), "{err}");
    // The endpoint itself: the token is required, then the reload is refused at the line.
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/control/reload");
    let r = http.post(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = http.post(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains(&at), "{body}");

    // 2. A new handler whose component does not load: refused, naming it; nothing changes.
    dir.write("broken.wasm", "this is not a component");
    write_manifest(
        &dir,
        &emu.domain(),
        port,
        16,
        "\n[[handler]]\nname = \"broken\"\ncomponent = \"broken.wasm\"\nevents = [\"im.chat.*\"]\n",
    );
    let (code, out, err) = ctl_reload(&manifest).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("handler `broken`"), "{err}");
    assert!(err.contains("handler.component"), "{err}");
    let status = json(&status_url).await;
    let app = &status["apps"][0];
    assert_eq!(app["generation"], 0, "{app}");
    assert_eq!(app["reload"]["failed"], 2, "{app}");
    assert_eq!(app["reload"]["last"]["ok"], false, "{app}");
    assert!(app["reload"]["last"]["message"]
        .as_str()
        .unwrap()
        .contains("handler `broken`"));
    let names: Vec<&str> = app["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rec"], "the broken handler was not added");
    let handled_before = effects(&run.log).len();
    eventually("the old handlers keep handling", WAIT, || {
        effects(&run.log).len() > handled_before + 10
    })
    .await;

    // 3. A new component for `rec` (the `well-behaved` guest): compiled, then swapped in.
    write_manifest(&dir, &emu.domain(), port, 16, "");
    std::fs::copy(&new_version, dir.path().join("handler.wasm")).unwrap();
    let (code, out, err) = ctl_reload(&manifest).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("generation 1"), "{out}");
    assert!(out.contains("reloaded rec"), "{out}");
    let first_after = pushed.load(Ordering::SeqCst);
    let loaded_at = json(&status_url).await["apps"][0]["handlers"][0]["loaded_at_ms"].clone();
    assert!(loaded_at.is_u64());

    // 4. A changed limit through SIGHUP: the component is kept, the limit applies.
    write_manifest(&dir, &emu.domain(), port, 4, "");
    let pid = run.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    eventually("the SIGHUP reload applied", WAIT, || {
        std::fs::read_to_string(&run.log)
            .unwrap_or_default()
            .contains("generation 2: added none, removed none, reloaded none, kept rec")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    pusher.await.unwrap();
    let n = pushed.load(Ordering::SeqCst);
    assert!(
        n > first_after + 20,
        "events were pushed after the reload ({first_after} of {n})"
    );

    // Every event acked once and handled once — by the old version or the new — on the one
    // connection the process opened.
    eventually("every event acked", WAIT, || {
        emu.acks_ok_total() == n as u64
    })
    .await;
    eventually("every event handled", WAIT, || {
        effects(&run.log).len() + handled_by_new(&run.log).len() >= n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for (id, _) in effects(&run.log) {
        // The recorder names the message (`om_<i>`), `well-behaved` the event (`ev-<i>`).
        *runs.entry(event_of(&id)).or_default() += 1;
    }
    let new = handled_by_new(&run.log);
    for id in &new {
        *runs.entry(id.clone()).or_default() += 1;
    }
    assert_eq!(runs.len(), n, "every event handled");
    assert!(
        runs.values().all(|&k| k == 1),
        "an event ran twice: {:?}",
        runs.iter().filter(|(_, &k)| k != 1).collect::<Vec<_>>()
    );
    for i in first_after..n {
        assert!(
            new.contains(&format!("ev-{i}")),
            "ev-{i}, pushed after the reload, ran the new version"
        );
    }
    for d in emu.deliveries() {
        assert_eq!(d.attempts.len(), 1, "delivered once, no redelivery: {d:?}");
    }
    assert_eq!(emu.connections_total(), 1, "no reconnect");

    let status = json(&status_url).await;
    let app = &status["apps"][0];
    assert_eq!(app["generation"], 2, "{app}");
    assert_eq!(app["reload"]["succeeded"], 2, "{app}");
    assert_eq!(app["reload"]["failed"], 2, "{app}");
    assert_eq!(app["handlers"][0]["limits"]["max_concurrency"], 4, "{app}");
    assert_eq!(
        app["handlers"][0]["loaded_at_ms"], loaded_at,
        "kept as loaded by the SIGHUP reload"
    );
    let m = scrape(port).await;
    assert_eq!(metric(&m, "aviary_reload_failures_total", &[]), 2.0);
    assert_eq!(
        metric(&m, "aviary_reloads_total", &[("outcome", "applied")]),
        2.0
    );
    assert_eq!(
        metric(&m, "aviary_reloads_total", &[("outcome", "refused")]),
        2.0
    );
    assert_eq!(metric(&m, "aviary_reload_generation", &[]), 2.0);
    assert_eq!(
        metric(
            &m,
            "aviary_handler_calls_total",
            &[("handler", "rec"), ("outcome", "done")]
        ),
        n as f64,
        "the counters carry over the reloads"
    );
    assert_eq!(sigterm(&mut run), Some(0));
    if let Ok(emu) = Arc::try_unwrap(emu) {
        emu.shutdown().await;
    }
}

/// The generation a log line ran in (`job{generation=N}` of the queue's span), if it says.
fn generation_of(line: &str) -> Option<u64> {
    let rest = &line[line.find("generation=")? + 11..];
    rest[..rest.find(|c: char| !c.is_ascii_digit())?]
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_reloads_under_load_run_each_event_once_on_the_version_current_at_dispatch() {
    let emu = Arc::new(Emulator::start(emulator_config()).await.unwrap());
    let dir = Dir::new("reload-twenty");
    let port = free_port();
    let (old, new) = (recorder_wasm(), guest("well-behaved"));
    // Generation g runs `rec` from v<g>.wasm: the recorder when g is even, `well-behaved` when
    // odd; `extra` (the counter guest) is there in even generations only; max_concurrency
    // changes too.
    let write = |g: u64, component: &str| {
        let extra = if g.is_multiple_of(2) {
            "\n[[handler]]\nname = \"extra\"\ncomponent = \"extra.wasm\"\nevents = [\"im.message.*\"]\n"
        } else {
            ""
        };
        write_manifest_with(
            &dir,
            &emu.domain(),
            port,
            component,
            (g % 4 + 1) as u32,
            extra,
        );
    };
    std::fs::copy(guest("counter"), dir.path().join("extra.wasm")).unwrap();
    std::fs::copy(&old, dir.path().join("v0.wasm")).unwrap();
    write(0, "v0.wasm");
    let mut run = spawn(&dir);
    eventually("ready", WAIT, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && emu.connections().len() == 1
    })
    .await;

    let pushed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = {
        let (emu, pushed, stop) = (emu.clone(), pushed.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let i = pushed.load(Ordering::SeqCst);
                emu.push_event(&envelope(i, "hello"));
                pushed.store(i + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/control/reload");
    let mut generation = 0;
    for k in 1..=20 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        if k == 10 {
            // The broken one: `rec` pointed at bytes that are not a component.
            dir.write("broken.wasm", "not a component");
            write(generation + 1, "broken.wasm");
            let r = http.post(&url).bearer_auth(TOKEN).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 422, "reload {k}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert!(
                body["error"].as_str().unwrap().contains("handler `rec`"),
                "{body}"
            );
            continue;
        }
        generation += 1;
        let file = format!("v{generation}.wasm");
        let source = if generation % 2 == 0 { &old } else { &new };
        std::fs::copy(source, dir.path().join(&file)).unwrap();
        write(generation, &file);
        let r = http.post(&url).bearer_auth(TOKEN).send().await.unwrap();
        let code = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(code, 200, "reload {k}: {body}");
        assert_eq!(body["apps"][0]["generation"], generation, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    pusher.await.unwrap();
    let n = pushed.load(Ordering::SeqCst);

    eventually("every event acked", WAIT, || {
        emu.acks_ok_total() == n as u64
    })
    .await;
    eventually("every event handled by rec", WAIT, || {
        effects(&run.log).len() + handled_by_new(&run.log).len() >= n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Each `rec` run: once per event, on the version of the generation it was dispatched in.
    let text = std::fs::read_to_string(&run.log).unwrap();
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    let mut generations_seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        let (id, recorder) =
            if let Some((id, _)) = aviary_test_support::recorder::effect_of_line(line) {
                (event_of(&id), true)
            } else if let Some(at) = line.find("handling ev-") {
                (
                    line[at + 9..]
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .to_string(),
                    false,
                )
            } else {
                continue;
            };
        let g = generation_of(line).unwrap_or_else(|| panic!("no generation in {line}"));
        assert_eq!(
            recorder,
            g.is_multiple_of(2),
            "{id} ran the version of generation {g}: {line}"
        );
        generations_seen.insert(g);
        *runs.entry(id).or_default() += 1;
    }
    assert_eq!(runs.len(), n, "every event handled by rec");
    assert!(runs.values().all(|&k| k == 1), "an event ran twice");
    assert!(
        generations_seen.len() >= 10,
        "events ran in many generations: {generations_seen:?}"
    );
    for d in emu.deliveries() {
        assert_eq!(d.attempts.len(), 1, "delivered once: {d:?}");
    }
    assert_eq!(emu.connections_total(), 1, "no reconnect");
    let status = json(&format!("http://127.0.0.1:{port}/status")).await;
    let app = &status["apps"][0];
    assert_eq!(app["generation"], 19, "{app}");
    assert_eq!(app["reload"]["succeeded"], 19, "{app}");
    assert_eq!(app["reload"]["failed"], 1, "{app}");
    let m = scrape(port).await;
    assert_eq!(metric(&m, "aviary_reload_failures_total", &[]), 1.0);
    assert_eq!(
        metric(
            &m,
            "aviary_handler_calls_total",
            &[("handler", "rec"), ("outcome", "done")]
        ),
        n as f64
    );
    assert_eq!(sigterm(&mut run), Some(0));
    if let Ok(emu) = Arc::try_unwrap(emu) {
        emu.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reloads_when_a_component_or_the_manifest_changes() {
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let dir = Dir::new("reload-watch");
    let port = free_port();
    std::fs::copy(recorder_wasm(), dir.path().join("handler.wasm")).unwrap();
    write_manifest(&dir, &emu.domain(), port, 16, "");
    let log = dir.path().join("aviary.log");
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(AVIARY.path())
        .args(["run", "--watch", "--manifest"])
        .arg(dir.path().join("aviary.toml"))
        .env("RUST_LOG", "info,aviary::guest=info")
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("AVIARY_ADMIN_TOKEN", TOKEN)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let mut run = Run { child, log };
    eventually("connected", WAIT, || emu.connections().len() == 1).await;
    let status_url = format!("http://127.0.0.1:{port}/status");
    let generation = || async { json(&status_url).await["apps"][0]["generation"].as_u64() };
    emu.push_event(&envelope(0, "before"));
    eventually("handled by the recorder", WAIT, || {
        effects(&run.log).len() == 1
    })
    .await;

    // A new component in place: reloaded without a request.
    std::fs::copy(guest("well-behaved"), dir.path().join("handler.wasm")).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while generation().await != Some(1) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reload after the component changed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    emu.push_event(&envelope(1, "after"));
    eventually("handled by the new version", WAIT, || {
        handled_by_new(&run.log) == ["ev-1"]
    })
    .await;

    // A broken manifest: refused and logged; the next good one applies.
    write_manifest(&dir, &emu.domain(), port, 16, "timeout_ms = \"soon\"\n");
    eventually("the refused reload logged", WAIT, || {
        std::fs::read_to_string(&run.log)
            .unwrap_or_default()
            .contains("handler.timeout_ms")
    })
    .await;
    assert_eq!(generation().await, Some(1));
    write_manifest(&dir, &emu.domain(), port, 3, "");
    let deadline = tokio::time::Instant::now() + WAIT;
    while generation().await != Some(2) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reload after the manifest was fixed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = json(&status_url).await;
    assert_eq!(
        status["apps"][0]["handlers"][0]["limits"]["max_concurrency"],
        3
    );
    assert_eq!(status["apps"][0]["reload"]["failed"], 1);
    assert_eq!(emu.connections_total(), 1, "no reconnect");
    assert_eq!(sigterm(&mut run), Some(0));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connection_options_reconnect_make_before_break_and_refused_credentials_keep_the_old() {
    let emu = Arc::new(Emulator::start(emulator_config()).await.unwrap());
    let dir = Dir::new("reload-connection");
    let port = free_port();
    std::fs::copy(recorder_wasm(), dir.path().join("handler.wasm")).unwrap();
    write_manifest(&dir, &emu.domain(), port, 16, "");
    let mut run = spawn(&dir);
    eventually("ready", WAIT, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && emu.connections().len() == 1
    })
    .await;
    let pushed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = {
        let (emu, pushed, stop) = (emu.clone(), pushed.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let i = pushed.load(Ordering::SeqCst);
                emu.push_event(&envelope(i, "hello"));
                pushed.store(i + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    eventually("some events handled", WAIT, || {
        effects(&run.log).len() >= 10
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/control/reload");

    // A changed [connection] setting: a new session, then the old one closed after its acks.
    write_manifest(
        &dir,
        &emu.domain(),
        port,
        16,
        "\n[connection]\nconnection_timeout_ms = 20000\n",
    );
    let r = http.post(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let conn = body["apps"][0]["report"]["reconnected"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!conn.is_empty(), "reconnected: {body}");
    assert_eq!(emu.connections_total(), 2);
    eventually("the old session closed", WAIT, || {
        emu.connections().len() == 1
    })
    .await;
    let current = emu.connections()[0].id;

    // Credentials Feishu refuses: refused; the connection and the old options stay.
    let text = std::fs::read_to_string(dir.path().join("aviary.toml")).unwrap();
    dir.write(
        "aviary.toml",
        &text.replace("emulator-secret", "not-the-secret"),
    );
    let r = http.post(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("[feishu]/[connection]"), "{error}");
    assert!(
        !error.contains("not-the-secret"),
        "the secret is never shown: {error}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    pusher.await.unwrap();
    let n = pushed.load(Ordering::SeqCst);
    let ids: Vec<u64> = emu.connections().iter().map(|c| c.id).collect();
    assert_eq!(ids, [current], "the connection was kept");
    assert_eq!(emu.connections_total(), 2);

    // Nothing lost or run twice across the reconnect.
    eventually("every event handled", WAIT, || effects(&run.log).len() >= n).await;
    eventually("every event acked", WAIT, || {
        emu.acks_ok_total() >= n as u64
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for (id, _) in effects(&run.log) {
        *runs.entry(id).or_default() += 1;
    }
    assert_eq!(runs.len(), n);
    assert!(runs.values().all(|&k| k == 1), "an event ran twice");
    let status = json(&format!("http://127.0.0.1:{port}/status")).await;
    assert_eq!(status["apps"][0]["generation"], 1);
    assert_eq!(status["apps"][0]["reload"]["failed"], 1);
    let out = run.output();
    assert!(
        !out.contains("not-the-secret"),
        "the refused secret is not logged"
    );
    assert_eq!(sigterm(&mut run), Some(0));
    if let Ok(emu) = Arc::try_unwrap(emu) {
        emu.shutdown().await;
    }
}
