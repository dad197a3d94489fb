//! `aviary run` as a user runs it: the real binary, a manifest file, the emulator on 127.0.0.1.

use std::time::{Duration, Instant};

use aviary_emulator::{Emulator, EmulatorConfig, Fault};
use aviary_test_support::binary::{sigterm, Aviary, Run};
use aviary_test_support::Dir;

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));

/// Starts `aviary run` on `manifest` with `RUST_LOG=info` and `env`.
fn spawn_run(manifest: &std::path::Path, env: &[(&str, &str)]) -> Run {
    let log = manifest.with_file_name("aviary.log");
    let mut env = env.to_vec();
    env.insert(0, ("RUST_LOG", "info"));
    AVIARY.run_with(manifest, log, None, &env)
}

/// Waits for `run` to exit by itself; its exit code and everything it printed.
async fn output_of(mut run: Run, timeout: Duration) -> (Option<i32>, String) {
    let code = run.wait_exit(timeout).await;
    (code, run.output())
}

/// Stops `run` with SIGTERM; its exit code and output.
fn stop(mut run: Run) -> (Option<i32>, String) {
    let code = sigterm(&mut run);
    (code, run.output())
}

/// A manifest for `emu` whose app secret comes from `AVIARY_TEST_SECRET`.
fn secret_from_env_manifest(dir: &Dir, emu: &Emulator) -> std::path::PathBuf {
    dir.write(
        "aviary.toml",
        &format!(
            "[feishu]\napp_id = \"cli_0123456789abcdef\"\napp_secret = \"${{AVIARY_TEST_SECRET}}\"\ndomain = \"{}\"\n",
            emu.domain()
        ),
    )
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
    let dir = Dir::new("test-reconnect");
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
    let (code, out) = stop(child);
    assert_eq!(code, Some(0), "graceful exit on SIGTERM; output:\n{out}");
    assert!(
        !out.contains("emulator-secret"),
        "the app secret never appears in the output"
    );
}

#[tokio::test]
async fn run_stops_with_one_clear_line_and_non_zero_exit_on_bad_credentials() {
    let emu = emulator().await;
    let dir = Dir::new("test-badcreds");
    let manifest = dir.write(
        "aviary.toml",
        &format!("[feishu]\napp_id = \"cli_0123456789abcdef\"\napp_secret = \"wrong-secret-123\"\ndomain = \"{}\"\n", emu.domain()),
    );
    let (code, out) = output_of(spawn_run(&manifest, &[]), Duration::from_secs(20)).await;
    assert_eq!(code, Some(1), "{out}");
    let error_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "exactly one error line:\n{out}");
    assert!(error_lines[0].contains("code"), "{}", error_lines[0]);
    assert!(!out.contains("wrong-secret-123"), "secret leaked:\n{out}");
}

#[tokio::test]
async fn run_rejects_unknown_manifest_keys_naming_file_line_and_key() {
    let dir = Dir::new("test-unknown-key");
    let manifest = dir.write(
        "aviary.toml",
        "[feishu]\napp_id = \"cli_x\"\napp_secret = \"s\"\n\n[connection]\nheartbeat_secs = 5\n",
    );
    let (code, out) = output_of(spawn_run(&manifest, &[]), Duration::from_secs(20)).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("heartbeat_secs"), "names the key:\n{out}");
    assert!(out.contains("aviary.toml:6:"), "names the line:\n{out}");
    assert!(out.contains("aviary.toml"), "names the file:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_format_json_writes_one_object_per_line_with_the_event_fields_and_no_secret() {
    let emu = emulator().await;
    let dir = Dir::new("test-json-logs");
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
    let (code, out) = stop(child);
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
}
