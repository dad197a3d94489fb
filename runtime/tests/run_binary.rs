//! `aviary run` as a user runs it: the real binary, a manifest file, the emulator on 127.0.0.1.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aviary::emulator::{Emulator, EmulatorConfig, Fault};

struct Aviary(Child, std::path::PathBuf);

impl Drop for Aviary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_manifest(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("aviary.toml");
    std::fs::write(&path, body).unwrap();
    path
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("aviary-test-{name}-{}", std::process::id()))
}

fn spawn_run(manifest: &std::path::Path, env: &[(&str, &str)]) -> Aviary {
    // Output goes to a file, not a pipe: a chatty child must never block on a full pipe.
    let log = manifest.with_file_name("aviary.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aviary"));
    cmd.args(["run", "--manifest"])
        .arg(manifest)
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file));
    cmd.env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Aviary(cmd.spawn().expect("aviary binary starts"), log)
}

/// Waits (without blocking the async runtime, which may host the emulator) for the child to
/// exit; returns its exit code and everything it printed.
async fn output_of(mut child: Aviary, timeout: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < timeout,
            "aviary did not exit within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let out = std::fs::read_to_string(&child.1).unwrap();
    (status.code(), out)
}

/// A manifest for `emu` whose app secret comes from `AVIARY_TEST_SECRET`.
fn secret_from_env_manifest(dir: &std::path::Path, emu: &Emulator) -> std::path::PathBuf {
    write_manifest(
        dir,
        &format!(
            "[feishu]\napp_id = \"cli_0123456789abcdef\"\napp_secret = \"${{AVIARY_TEST_SECRET}}\"\ndomain = \"{}\"\n",
            emu.domain()
        ),
    )
}

/// Stops `child` with SIGTERM; its exit code and output.
async fn sigterm(child: Aviary) -> (Option<i32>, String) {
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    output_of(child, Duration::from_secs(20)).await
}

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::fast()).await.unwrap()
}

fn envelope(i: usize) -> serde_json::Value {
    serde_json::json!({
        "schema": "2.0",
        "header": {"event_id": format!("ev-{i}"), "event_type": "im.message.receive_v1", "create_time": "1608725989000",
                   "token": "", "app_id": "cli_0123456789abcdef", "tenant_key": "t"},
        "event": {"message": {"message_id": format!("om_{i}"), "chat_id": "oc_1", "message_type": "text",
                  "content": "{\"text\":\"hi\"}"}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_survives_20_forced_disconnects_with_every_event_acked() {
    let emu = emulator().await;
    let dir = temp_dir("reconnect");
    let manifest = secret_from_env_manifest(&dir, &emu);
    let child = spawn_run(&manifest, &[("AVIARY_TEST_SECRET", "emulator-secret")]);
    emu.wait_for_connections(1, Duration::from_secs(20))
        .await
        .unwrap();
    let faults = [
        Fault::Close(1000),
        Fault::Close(1001),
        Fault::Abrupt,
        Fault::DropWithoutClose,
    ];
    let mut pushed = 0;
    for round in 0..20 {
        for _ in 0..3 {
            emu.push_event(&envelope(pushed));
            pushed += 1;
        }
        let before = emu.connections_total();
        emu.fault(faults[round % faults.len()]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(emu.connections_total() > before && emu.connections().len() == 1) {
            assert!(Instant::now() < deadline, "round {round}: no reconnect");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let deliveries = emu.deliveries();
        let acked = deliveries.iter().filter(|d| d.acked).count();
        if acked == pushed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {acked} of {pushed} events acked"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(emu.connections_total() >= 21);
    // Graceful stop on SIGTERM: exit 0.
    let (code, out) = sigterm(child).await;
    assert_eq!(code, Some(0), "graceful exit on SIGTERM; output:\n{out}");
    assert!(
        !out.contains("emulator-secret"),
        "the app secret never appears in the output"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn run_stops_with_one_clear_line_and_non_zero_exit_on_bad_credentials() {
    let emu = emulator().await;
    let dir = temp_dir("badcreds");
    let manifest = write_manifest(
        &dir,
        &format!("[feishu]\napp_id = \"cli_0123456789abcdef\"\napp_secret = \"wrong-secret-123\"\ndomain = \"{}\"\n", emu.domain()),
    );
    let (code, out) = output_of(spawn_run(&manifest, &[]), Duration::from_secs(20)).await;
    assert_eq!(code, Some(1), "{out}");
    let error_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "exactly one error line:\n{out}");
    assert!(error_lines[0].contains("code"), "{}", error_lines[0]);
    assert!(!out.contains("wrong-secret-123"), "secret leaked:\n{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn run_rejects_unknown_manifest_keys_naming_file_line_and_key() {
    let dir = temp_dir("unknown-key");
    let manifest = write_manifest(
        &dir,
        "[feishu]\napp_id = \"cli_x\"\napp_secret = \"s\"\n\n[connection]\nheartbeat_secs = 5\n",
    );
    let (code, out) = output_of(spawn_run(&manifest, &[]), Duration::from_secs(20)).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("heartbeat_secs"), "names the key:\n{out}");
    assert!(out.contains("aviary.toml:6:"), "names the line:\n{out}");
    assert!(out.contains("aviary.toml"), "names the file:\n{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_format_json_writes_one_object_per_line_with_the_event_fields_and_no_secret() {
    let emu = emulator().await;
    let dir = temp_dir("json-logs");
    let manifest = secret_from_env_manifest(&dir, &emu);
    let child = spawn_run(
        &manifest,
        &[
            ("AVIARY_TEST_SECRET", "emulator-secret"),
            ("AVIARY_LOG_FORMAT", "json"),
        ],
    );
    emu.wait_for_connections(1, Duration::from_secs(20))
        .await
        .unwrap();
    emu.push_event(&envelope(7));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !emu.deliveries().iter().any(|d| d.acked) {
        assert!(Instant::now() < deadline, "the event was not acked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, out) = sigterm(child).await;
    assert_eq!(code, Some(0), "{out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 3, "{out}");
    for l in &lines {
        assert!(l["timestamp"].is_string() && l["level"].is_string(), "{l}");
        assert!(l["fields"]["message"].is_string(), "{l}");
    }
    // The event's line carries the span fields a log collector filters on.
    let event_line = lines
        .iter()
        .find(|l| l.to_string().contains("ev-7"))
        .unwrap_or_else(|| panic!("no line names the event:\n{out}"));
    let spans = event_line["spans"].to_string();
    assert!(spans.contains("conn_id"), "{event_line}");
    assert!(
        !out.contains("emulator-secret"),
        "the secret leaked:\n{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
