//! The embedding example as a user runs it: the built program against the emulator. The native
//! handler answers card clicks in the ack; the Wasm handler replies to a message through the
//! OpenAPI; SIGTERM stops it gracefully with a status line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use aviary_emulator::{Emulator, EmulatorConfig};
use aviary_test_support::{card_event, eventually, examples, message_event};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_and_a_wasm_handler_in_one_program() {
    let wasm = examples::rust_handler();
    let emu = Emulator::start(EmulatorConfig::fast()).await.unwrap();
    let cfg = EmulatorConfig::default();
    let mut child = Command::new(env!("CARGO_BIN_EXE_embed"))
        .arg(emu.domain())
        .arg(&wasm)
        .env("FEISHU_APP_ID", &cfg.app_id)
        .env("FEISHU_APP_SECRET", &cfg.app_secret)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the example starts");
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let first = tokio::time::timeout(WAIT, lines.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(first.starts_with("connected "), "{first}");

    emu.push_event(&message_event("ev-1", "om_1", "oc_1", "hello"));
    emu.push_event(&card_event("ev-2", json!({"choice": "approve"})));
    emu.push_event(&card_event("ev-3", json!({"choice": "approve"})));
    eventually("the Wasm handler's reply", WAIT, || {
        emu.sent_messages()
            .iter()
            .any(|m| m.reply_to.as_deref() == Some("om_1") && m.content.contains("Got it: hello"))
    })
    .await;
    eventually("both card clicks answered", WAIT, || {
        emu.acks().iter().filter(|a| a.data.is_some()).count() == 2
    })
    .await;
    let toasts: Vec<String> = emu
        .acks()
        .iter()
        .filter_map(|a| a.data.as_ref())
        .map(|d| {
            let v: Value = serde_json::from_slice(d).unwrap();
            v["toast"]["content"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(
        toasts.contains(&"approve: 1 vote(s)".to_string()),
        "{toasts:?}"
    );
    assert!(
        toasts.contains(&"approve: 2 vote(s)".to_string()),
        "{toasts:?}"
    );

    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let last = tokio::time::timeout(WAIT, lines.recv())
        .await
        .unwrap()
        .unwrap();
    let final_status: Value = serde_json::from_str(&last).expect("a JSON status line");
    assert_eq!(final_status["connection"]["state"], "stopped");
    let calls: Vec<(String, u64)> = final_status["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_string(),
                h["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(calls, [("poll".to_string(), 2), ("replier".to_string(), 1)]);
    emu.shutdown().await;
}
