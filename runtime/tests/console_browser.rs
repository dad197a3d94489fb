//! The dev console in a real headless Chromium, as `aviary dev` serves it: the Rust example
//! handler (built with `aviary build`) runs under `aviary dev` on a manifest of this test, and
//! tests/console/console_test.py (Selenium, Debian's chromium-driver; both installed by
//! scripts/setup-tests.sh) pushes a sample from the page and sees the reply in the chat view,
//! the event's timeline (persisted, acked 200, the handler's run with its outcome, log line and
//! OpenAPI call) and the handler table's counters go up; types a message and gets a card, clicks
//! its button and sees the toast; pushes an event the handler rejects, sees it among the dead
//! letters and replays it from the page; forces a disconnect and sees the connection change.
//! Screenshots: `<target>/console-screenshots/`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aviary_test_support::{repo_root, target_dir, Dir};

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");

/// `aviary dev`, stopped with SIGTERM (so it stops its own `aviary run`), then killed.
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

fn console_python() -> std::path::PathBuf {
    let python = target_dir().join("console-test/venv/bin/python");
    assert!(
        python.exists() && Path::new("/usr/bin/chromedriver").exists(),
        "the browser test needs chromium, chromium-driver and Selenium: run `bash scripts/setup-tests.sh`"
    );
    python
}

#[test]
fn console_pushes_chats_clicks_cards_shows_timelines_replays_and_forces_disconnects_in_chromium() {
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

    // No [handler.build]: `aviary dev` builds nothing and watches the manifest only.
    let manifest = dir.write(
        "aviary.toml",
        &format!(
            "[feishu]\napp_id = \"cli_0123456789abcdef\"\napp_secret = \"${{FEISHU_APP_SECRET}}\"\n\n\
             [[handler]]\nname = \"rust-example\"\ncomponent = \"{}\"\nevents = [\"*\"]\n\
             openapi = [\"/open-apis/im/v1/messages\"]\nfuel = 500000000\nmax_attempts = 1\n\n[handler.config]\nreply = \"Got it\"\n\
             approve_toast = \"Approved (from the browser test)\"\n",
            component.display()
        ),
    );
    let log = dir.path().join("dev.log");
    let mut child = Command::new(AVIARY)
        .args(["dev", "--poll-ms", "200", "--samples"])
        .arg(root.join("examples/events"))
        .arg("-m")
        .arg(&manifest)
        .env_remove("FEISHU_APP_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let dev = Dev(child);
    // Its stdout is read to the end (it prints on every reload), the first lines name the
    // emulator and the console.
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut domain = String::new();
    let mut console = String::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(120)) {
        if let Some(d) = line.strip_prefix("emulator: ") {
            domain = d.to_string();
        }
        if let Some(c) = line.strip_prefix("dev console: ") {
            console = c.to_string();
            break;
        }
    }
    assert!(domain.starts_with("http://127.0.0.1:"), "{domain}");
    assert_eq!(console, format!("{domain}/_console/"));

    let shots = target_dir().join("console-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new(python)
        .arg(root.join("tests/console/console_test.py"))
        .arg(&console)
        .arg(&shots)
        .arg(&manifest)
        .output()
        .unwrap();
    let text = format!(
        "{}{}\n--- aviary dev's log\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("console test passed"), "{text}");
    for shot in [
        "01-connected.png",
        "02-sample-reply.png",
        "03-timeline.png",
        "04-card.png",
        "05-toast.png",
        "06-reconnected.png",
        "07-dead-letter.png",
        "08-replayed.png",
    ] {
        let len = std::fs::metadata(shots.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 1000, "screenshot {shot}: {len} bytes");
    }
    drop(dev);
}
