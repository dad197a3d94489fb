//! `aviary dev` with the real binary on a project `aviary new` made (JavaScript: the quickest
//! build): it builds, serves the console, runs the app against its emulator; a card click
//! pushed through the console's API is answered; after an edit of the handler it rebuilds and
//! hot-reloads — the next click gets the new answer on the same connection, and the console's
//! history and the emulator's records from before the change are still there; a `[queue]`
//! change is refused by the reload and applied by a restart; a broken edit keeps the app.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aviary_test_support::Dir;
use serde_json::Value;

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");

/// Stops `aviary dev` with SIGTERM (so it stops its own `aviary run`), then kills it.
struct Dev(Child);

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn post(url: &str, body: &str) -> Value {
    let out = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data-binary",
        ])
        .arg(body)
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "POST {url}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn get(url: &str) -> Value {
    let out = Command::new("curl").args(["-sf", url]).output().unwrap();
    assert!(out.status.success(), "GET {url}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Pushes a card click with `choice` and waits for its answer in the ack.
fn click(domain: &str, choice: &str, event_id: &str) -> String {
    let sample = std::fs::read_to_string(
        aviary_test_support::repo_root().join("examples/events/card.action.trigger.json"),
    )
    .unwrap()
    .replace("\"approve\"", &format!("\"{choice}\""))
    .replace("f7984f25108f8137722bb63cee927e66", event_id);
    let delivery = post(&format!("{domain}/_console/api/push"), &sample)["delivery"].clone();
    let start = Instant::now();
    loop {
        let acks = get(&format!("{domain}/_emulator/acks"));
        if let Some(a) = acks
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["delivery"] == delivery && a["code"] == 200)
        {
            return a["data"].as_str().unwrap_or_default().to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no ack for {choice}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dev_builds_serves_the_console_runs_and_hot_reloads_on_change() {
    let dir = Dir::new("dev-loop");
    let created = Command::new(AVIARY)
        .args(["new", "bot", "--lang", "js"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(created.status.success());
    let project = dir.path().join("bot");
    let mut child = Command::new(AVIARY)
        .args(["dev", "-m", "aviary.toml", "--poll-ms", "200"])
        .current_dir(&project)
        .env_remove("FEISHU_APP_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("dev.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let dev = Dev(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let wait_for = |prefix: &str| -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no `{prefix}` line from aviary dev; its log:\n{}",
                    std::fs::read_to_string(dir.path().join("dev.log")).unwrap_or_default()
                ),
            }
        }
    };
    let built = wait_for("built bot");
    assert!(built.contains("handler.wasm"), "{built}");
    let domain = wait_for("emulator: ")["emulator: ".len()..].to_string();
    let console = wait_for("dev console: ");
    assert!(
        console.ends_with(&format!("{domain}/_console/")),
        "{console}"
    );
    let samples = get(&format!("{domain}/_console/api/samples"));
    assert!(
        samples
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "card.action.trigger.json"),
        "the project's events/ are the console's samples"
    );

    // Components compile in the background after the app connects; a card callback that
    // arrives before its handler is ready misses its 3 s window, so click once it is.
    let handlers_ready = |runs: usize| {
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(dir.path().join("dev.log")).unwrap_or_default();
            if log.matches("all handlers ready").count() >= runs {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "handlers not ready (run {runs}); the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    handlers_ready(1);
    assert_eq!(
        click(&domain, "reject", "e0000000000000000000000000000001"),
        r#"{"toast":{"type":"warning","content":"Rejected"}}"#
    );

    // What a restart would lose: the connection (the emulator sees a new one) and the app's
    // run journal (the console's timeline; a new journal id at every start).
    let state = get(&format!("{domain}/_emulator/state"));
    assert_eq!(state["connections_total"], 1, "{state}");
    let conn = state["connections"][0]["id"].clone();
    let ack_conn = |event_id: &str| -> Value {
        let deliveries = get(&format!("{domain}/_emulator/deliveries"));
        let delivery = deliveries
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["event_id"] == event_id)
            .unwrap_or_else(|| panic!("no delivery of {event_id}: {deliveries}"))["id"]
            .clone();
        get(&format!("{domain}/_emulator/acks"))
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["delivery"] == delivery)
            .unwrap()["connection"]
            .clone()
    };
    let first_conn = ack_conn("e0000000000000000000000000000001");
    let runs = |what: &str| -> Value {
        let runs = get(&format!("{domain}/_console/api/app/runs?since=0"));
        assert_eq!(
            runs["apps"].as_array().map(Vec::len),
            Some(1),
            "{what}: {runs}"
        );
        runs["apps"][0].clone()
    };
    let journal = runs("before the edit")["journal"].clone();
    assert!(journal.is_string(), "{journal}");

    let handler = project.join("handler.js");
    let code = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(
        &handler,
        code.replace(
            "toastWarning('Rejected')",
            "toastWarning('Rejected, edited')",
        ),
    )
    .unwrap();
    wait_for("aviary dev: change detected");
    wait_for("built bot");
    let reloaded = wait_for("aviary dev: ");
    assert!(
        reloaded.starts_with("aviary dev: reloaded (generation 1: "),
        "{reloaded}"
    );
    assert!(reloaded.contains("reloaded bot"), "{reloaded}");
    assert_eq!(
        click(&domain, "reject", "e0000000000000000000000000000002"),
        r#"{"toast":{"type":"warning","content":"Rejected, edited"}}"#
    );
    let state = get(&format!("{domain}/_emulator/state"));
    assert_eq!(
        state["connections_total"], 1,
        "the reload kept the connection: {state}"
    );
    assert_eq!(state["connections"][0]["id"], conn, "{state}");
    assert_eq!(
        ack_conn("e0000000000000000000000000000002"),
        first_conn,
        "both clicks were acked on the one connection"
    );
    let deliveries = get(&format!("{domain}/_emulator/deliveries"));
    assert_eq!(
        deliveries.as_array().unwrap().len(),
        2,
        "the emulator kept the first click across the reload"
    );
    let after = runs("after the reload");
    assert_eq!(
        after["journal"], journal,
        "the same process, the same journal"
    );
    let events: Vec<&str> = after["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event_id"].as_str())
        .collect();
    assert!(
        events.contains(&"e0000000000000000000000000000001")
            && events.contains(&"e0000000000000000000000000000002"),
        "the console's history kept the click from before the reload: {events:?}"
    );

    // A change only a restart applies: the reload refuses it, `aviary dev` restarts the app.
    let manifest = project.join("aviary.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(!text.contains("[queue]"), "{text}");
    std::fs::write(&manifest, format!("{text}\n[queue]\ncapacity = 5000\n")).unwrap();
    wait_for("aviary dev: change detected");
    let restarted = wait_for("aviary dev: ");
    assert!(
        restarted.starts_with("aviary dev: restarted `aviary run` (the change needs a restart)"),
        "{restarted}"
    );
    let log = std::fs::read_to_string(dir.path().join("dev.log")).unwrap_or_default();
    assert!(
        log.contains("aviary dev: ") && log.contains("[queue]: changed"),
        "the problem is printed: {log}"
    );
    // The reload logged its own "all handlers ready"; the restarted app's is the third.
    handlers_ready(3);
    assert_eq!(
        click(&domain, "reject", "e0000000000000000000000000000003"),
        r#"{"toast":{"type":"warning","content":"Rejected, edited"}}"#,
        "the log:\n{}",
        std::fs::read_to_string(dir.path().join("dev.log")).unwrap_or_default()
    );
    let state = get(&format!("{domain}/_emulator/state"));
    assert_eq!(
        state["connections_total"], 2,
        "the restart made a new connection: {state}"
    );
    assert_ne!(runs("after the restart")["journal"], journal);

    // A broken edit: the build fails, the running app stays.
    std::fs::write(&handler, "export function handle( {\n").unwrap();
    wait_for("aviary dev: change detected");
    let log_has_failure = || {
        std::fs::read_to_string(dir.path().join("dev.log"))
            .unwrap_or_default()
            .contains("a build failed; keeping the running app")
    };
    let start = Instant::now();
    while !log_has_failure() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no build failure reported"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        click(&domain, "reject", "e0000000000000000000000000000004"),
        r#"{"toast":{"type":"warning","content":"Rejected, edited"}}"#
    );
    drop(dev);
}
