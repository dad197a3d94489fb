//! The example handlers of `examples/` (Rust, Go, JavaScript, Python) as the demo runs them:
//! `examples/aviary.toml` pointed at the emulator (what `scripts/demo.sh` does), loaded by the
//! runtime, and the sample message pushed: each handler replies to it through its SDK, and the
//! emulator records the four replies (`Emulator::sent_messages`, `GET /_emulator/messages`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use aviary::app::loading::{build_dispatcher, KvBinding};
use aviary::app::wasm;
use aviary::dispatch::dedupe::Deduplicating;
use aviary::manifest::Manifest;
use aviary_test_support::lang_guests::{js, py, JsEngine};
use aviary_test_support::*;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Builds `examples/rust-handler` (the examples' own workspace) into the shared target dir.
fn rust_example() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(repo_root().join("examples/Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building examples/rust-handler failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir().join("wasm32-wasip2/release/rust_handler.wasm")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_handler_replies_to_the_sample_message_through_its_sdk() {
    let rust = rust_example();
    let go = aviary_test_support::go_guests::go_audit();
    let js_card = js("examples/js-card/handler.js", JsEngine::QuickJs);
    let py_greeter = py("examples/py-greeter/app.py");
    let emu = start_emulator(|c| c.redelivery.enabled = false).await;

    // examples/aviary.toml, pointed at the emulator and the built components.
    let text = std::fs::read_to_string(repo_root().join("examples/aviary.toml")).unwrap();
    let text = text
        .replace(
            "domain = \"feishu\"",
            &format!("domain = \"{}\"", emu.domain()),
        )
        .replace("${FEISHU_APP_SECRET}", "emulator-secret")
        .replace(
            "\"target/wasm32-wasip2/release/rust_handler.wasm\"",
            &format!("{:?}", rust.display().to_string()),
        )
        .replace(
            "\"target/go-audit.wasm\"",
            &format!("{:?}", go.display().to_string()),
        )
        .replace(
            "\"js-card/js_card.wasm\"",
            &format!("{:?}", js_card.display().to_string()),
        )
        .replace(
            "\"py-greeter/py_greeter.wasm\"",
            &format!("{:?}", py_greeter.display().to_string()),
        );
    let dir = std::env::temp_dir().join(format!("aviary-sdk-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("aviary.toml");
    std::fs::write(&path, text).unwrap();
    let manifest = Manifest::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let dispatcher = tokio::task::spawn_blocking(move || {
        let loader = wasm::sandbox_loader().unwrap();
        build_dispatcher(&manifest, loader.as_ref(), &[], &KvBinding::default())
            .map_err(|f| format!("{f:?}"))
    })
    .await
    .unwrap()
    .unwrap();
    let dispatcher = Arc::new(dispatcher);
    let shutdown = CancellationToken::new();
    tokio::spawn(aviary::connection::run(
        options_for(&emu),
        Arc::new(Deduplicating::new(dispatcher.clone())),
        aviary::connection::ConnectionStats::new(),
        shutdown.clone(),
    ));
    emu.wait_for_connections(1, Duration::from_secs(30))
        .await
        .unwrap();
    let sample: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("examples/events/im.message.receive_v1.json")).unwrap(),
    )
    .unwrap();
    emu.push_event(&sample);
    let acks = emu
        .wait_for_acks(1, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(acks[0].code, 200, "{:?}", dispatcher.stats().snapshot());
    let parent = sample["event"]["message"]["message_id"].as_str().unwrap();
    let mut replies: Vec<String> = emu
        .sent_messages()
        .into_iter()
        .filter(|m| m.reply_to.as_deref() == Some(parent))
        .map(|m| {
            let v: Value = serde_json::from_str(&m.content).unwrap();
            v["text"].as_str().unwrap().to_string()
        })
        .collect();
    replies.sort();
    assert_eq!(
        replies,
        [
            "Audited by Go: hello, Aviary",
            "Got it: @_user_1 hello, Aviary",
            "Hello from Python: hello, Aviary",
            "Seen by JavaScript: hello, Aviary",
        ]
    );
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(&dir);
}
