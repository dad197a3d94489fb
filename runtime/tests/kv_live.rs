//! Key-value state through the real binary, beyond the crash tests: `aviary kv` while
//! `aviary run` holds the queue file (through its socket) and after it stopped (on the file);
//! `ack = "after-handle"` (no queue: a run's writes apply when it succeeded, a retried run's
//! never); a handler without the grant (denied, naming the handler and the manifest key); and
//! `aviary check`/`aviary invoke` listing the grant.

use std::time::{Duration, Instant};

use aviary_emulator::Emulator;

use aviary_test_support::binary::{sigterm, Aviary, Run, QUEUE_TEST_LOG};
use aviary_test_support::recorder::*;
use aviary_test_support::recorder_kv::{kv_cli, KV_COUNTER, KV_GRANT};
use aviary_test_support::Dir;

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));

/// `aviary run` with the app's info lines too (the key-value call counts at exit).
fn spawn(manifest: &std::path::Path, log: std::path::PathBuf) -> Run {
    let cache = manifest.parent().unwrap().join("cache");
    AVIARY.run_with(
        manifest,
        log,
        None,
        &[
            ("RUST_LOG", &format!("{QUEUE_TEST_LOG},aviary::app=info")),
            ("XDG_CACHE_HOME", cache.to_str().unwrap()),
        ],
    )
}

async fn connected(emu: &Emulator) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while emu.connections().is_empty() {
        assert!(Instant::now() < deadline, "aviary run did not connect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `aviary kv get <key>` until it prints `want` (60 s at most).
async fn wait_value(manifest: &std::path::Path, key: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = std::process::Command::new(AVIARY.path())
            .args(["kv", "get", key, "-m"])
            .arg(manifest)
            .args(["--namespace", "rec"])
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{key} stayed `{got}` (want {want}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aviary_kv_works_through_the_running_process_and_on_the_file_after() {
    let dir = Dir::new("kv-live");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(
        &dir.0,
        &emu,
        "",
        &format!("{KV_GRANT}[handler.config]\n{KV_COUNTER}"),
    );
    let mut run = spawn(&manifest, dir.0.join("run.log"));
    connected(&emu).await;
    for i in 0..5 {
        emu.push_event(&envelope(i * 40, "hello"));
    }
    // The file is locked: these go through the running process.
    wait_value(&manifest, "count:oc_0", "5").await;
    assert_eq!(
        kv_cli(&AVIARY, &manifest, &["set", "note", "from an operator"]).trim(),
        "set `note` in namespace `rec`"
    );
    assert_eq!(
        kv_cli(&AVIARY, &manifest, &["list"])
            .lines()
            .collect::<Vec<_>>(),
        ["count:oc_0", "note"]
    );
    // A handler's later increment adds to what the operator set.
    kv_cli(&AVIARY, &manifest, &["set", "count:oc_0", "100"]);
    emu.push_event(&envelope(200, "hello"));
    wait_value(&manifest, "count:oc_0", "101").await;
    assert_eq!(sigterm(&mut run), Some(0));

    // Stopped: on the file.
    assert_eq!(
        kv_cli(&AVIARY, &manifest, &["get", "note"]).trim(),
        "from an operator"
    );
    kv_cli(&AVIARY, &manifest, &["delete", "note"]);
    let out = std::process::Command::new(AVIARY.path())
        .args(["kv", "get", "note", "-m"])
        .arg(&manifest)
        .args(["--namespace", "rec"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no key `note` in namespace `rec`"),
        "{out:?}"
    );
    let out = std::process::Command::new(AVIARY.path())
        .args(["kv", "list", "-m"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the namespace is required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_handle_applies_a_runs_writes_when_it_succeeded_only() {
    let dir = Dir::new("kv-after-handle");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(
        &dir.0,
        &emu,
        "ack = \"after-handle\"\n",
        &format!("{KV_GRANT}[handler.config]\n{KV_COUNTER}"),
    );
    let mut run = spawn(&manifest, dir.0.join("run.log"));
    connected(&emu).await;
    // Chat oc_0: two plain events, one rejected (acked 200, no writes) and one that asks for a
    // retry every time (acked 500, redelivered by the emulator, run again and again).
    emu.push_event(&envelope(0, "hello"));
    emu.push_event(&envelope(40, "always-retry"));
    emu.push_event(&envelope(80, "hello"));
    emu.push_event(&envelope(120, "please reject"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = effects(&run.log);
        let retried = runs.iter().filter(|(id, _)| id == "om_40").count();
        let others = ["om_0", "om_80", "om_120"]
            .iter()
            .all(|id| runs.iter().any(|(e, _)| e == id));
        if retried >= 3 && others {
            break;
        }
        assert!(Instant::now() < deadline, "not all handled: {runs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sigterm(&mut run), Some(0));
    // Only the two runs that ended done wrote; every run of om_40 and om_120 incremented and
    // set a `failed:` key too.
    assert_eq!(
        kv_cli(&AVIARY, &manifest, &["get", "count:oc_0"]).trim(),
        "2"
    );
    assert!(
        kv_cli(&AVIARY, &manifest, &["list", "--prefix", "failed:"])
            .trim()
            .is_empty(),
        "a retried or rejected run left a write"
    );
    let log = std::fs::read_to_string(&run.log).unwrap();
    assert!(
        log.contains("kv calls: rec: kv-set ok ") && log.contains("kv-increment ok "),
        "calls counted per handler and outcome at exit:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_without_the_grant_is_denied_and_check_and_invoke_list_grants() {
    let dir = Dir::new("kv-denied");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(
        &dir.0,
        &emu,
        "",
        &format!("max_attempts = 1\n[handler.config]\n{KV_COUNTER}"),
    );
    let mut run = spawn(&manifest, dir.0.join("run.log"));
    connected(&emu).await;
    emu.push_event(&envelope(0, "hello"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while effects(&run.log).is_empty() || emu.deliveries().iter().any(|d| !d.acked) {
        assert!(Instant::now() < deadline, "not handled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sigterm(&mut run), Some(0));
    let log = std::fs::read_to_string(&run.log).unwrap();
    assert!(
        log.contains(
            "kv err kv-increment: denied: handler `rec` has no key-value grant; add `kv = true`"
        ) && log.contains("kv calls: rec: kv-increment denied 1"),
        "{log}"
    );

    let check = std::process::Command::new(AVIARY.path())
        .args(["check", "-m"])
        .arg(&manifest)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(out.contains("    kv: denied (no `kv` key)"), "{out}");

    let granted = write_manifest(
        &dir.0,
        &emu,
        "",
        &format!("{KV_GRANT}[handler.config]\n{KV_COUNTER}"),
    );
    let check = std::process::Command::new(AVIARY.path())
        .args(["check", "-m"])
        .arg(&granted)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        out.contains("    kv: namespace `rec` (own); quotas:"),
        "{out}"
    );
    let event = dir.0.join("event.json");
    std::fs::write(&event, envelope(7, "hello").to_string()).unwrap();
    let invoke = std::process::Command::new(AVIARY.path())
        .args(["invoke", "-m"])
        .arg(&granted)
        .arg("rec")
        .arg(&event)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&invoke.stdout);
    assert!(
        out.contains("kv       namespace `rec` (own)")
            && out.contains(
                "writes   1 (committed with a done or respond outcome; not applied by invoke)"
            )
            && out.contains("  rec/count:oc_7: add 1"),
        "{out}"
    );
}
