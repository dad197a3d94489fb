//! The dev console in a real headless Chromium: `aviary emulator --samples examples/events`
//! serves it, `aviary run` runs the Rust example handler (built with `aviary build`) against
//! the emulator, and tests/console/console_test.py (Selenium, Debian's chromium-driver; both
//! installed by scripts/setup-tests.sh) pushes a sample from the page and sees the reply in the
//! chat view, types a message and gets a card, clicks its button and sees the toast, and forces
//! a disconnect and sees the connection change. Screenshots: `<target>/console-screenshots/`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use aviary_test_support::{repo_root, target_dir, Dir};

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn console_python() -> std::path::PathBuf {
    let python = target_dir().join("console-test/venv/bin/python");
    assert!(
        python.exists() && Path::new("/usr/bin/chromedriver").exists(),
        "the browser test needs chromium, chromium-driver and Selenium: run `bash scripts/setup-tests.sh`"
    );
    python
}

#[test]
fn console_pushes_chats_clicks_cards_and_forces_disconnects_in_chromium() {
    let python = console_python();
    let dir = Dir::new("console-browser");
    let root = repo_root();
    let built = Command::new(AVIARY)
        .args(["build", "-m", "examples/aviary.toml", "rust-example"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let component = root.join("examples/target/wasm32-wasip2/release/rust_handler.wasm");

    let mut emulator = Command::new(AVIARY)
        .args(["emulator", "--port", "0", "--app-secret", "console-secret"])
        .args([
            "--reconnect-interval",
            "0",
            "--reconnect-nonce",
            "0",
            "--samples",
        ])
        .arg(root.join("examples/events"))
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("emulator.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let stdout = emulator.stdout.take().unwrap();
    let emulator = Killed(emulator);
    let mut lines = BufReader::new(stdout).lines();
    let mut domain = String::new();
    let mut console = String::new();
    for line in lines.by_ref().take(2) {
        let line = line.unwrap();
        if let Some(d) = line.strip_prefix("emulator listening on ") {
            domain = d.to_string();
        }
        if let Some(c) = line.strip_prefix("dev console: ") {
            console = c.to_string();
        }
    }
    assert!(domain.starts_with("http://127.0.0.1:"), "{domain}");
    assert_eq!(console, format!("{domain}/_console/"));

    let manifest = dir.write(
        "aviary.toml",
        &format!(
            "[feishu]\napp_id = \"cli_0123456789abcdef\"\napp_secret = \"console-secret\"\ndomain = \"{domain}\"\n\n\
             [[handler]]\nname = \"rust-example\"\ncomponent = \"{}\"\nevents = [\"*\"]\n\
             openapi = [\"/open-apis/im/v1/messages\"]\n\n[handler.config]\nreply = \"Got it\"\n\
             approve_toast = \"Approved (from the browser test)\"\n",
            component.display()
        ),
    );
    let run = Killed(
        Command::new(AVIARY)
            .args(["run", "--manifest"])
            .arg(&manifest)
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("aviary.log")).unwrap(),
            ))
            .spawn()
            .unwrap(),
    );

    let shots = target_dir().join("console-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new(python)
        .arg(root.join("tests/console/console_test.py"))
        .arg(&console)
        .arg(&shots)
        .output()
        .unwrap();
    let text = format!(
        "{}{}\n--- aviary.log\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.path().join("aviary.log")).unwrap_or_default()
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("console test passed"), "{text}");
    for shot in [
        "01-connected.png",
        "02-sample-reply.png",
        "03-card.png",
        "04-toast.png",
        "05-reconnected.png",
    ] {
        let len = std::fs::metadata(shots.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 1000, "screenshot {shot}: {len} bytes");
    }
    drop(run);
    drop(emulator);
}
