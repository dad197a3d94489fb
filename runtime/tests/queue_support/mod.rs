//! What the queue tests that run the real `aviary run` binary share: the recorder guest, a
//! manifest writer, process start/stop, envelopes, the emulator settings, the parsing of
//! the guest's `effect <id> attempt <n>` log lines, `aviary dlq` runs, and the
//! exactly-once-by-effect check on the recorder's replies.
#![allow(dead_code)] // each test crate uses its own subset

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aviary::emulator::{Emulator, EmulatorConfig};

pub const APP_ID: &str = "cli_0123456789abcdef";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds the `recorder` test guest (tests/guests) and returns its path.
pub fn recorder_wasm() -> PathBuf {
    let root = repo_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root.join("tests/guests"))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "recorder",
        ])
        .arg("--manifest-path")
        .arg(root.join("tests/guests/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building the recorder guest failed (run scripts/setup-tests.sh for the wasm32-wasip2 \
         target):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("wasm32-wasip2/release/recorder.wasm")
}

pub struct Dir(pub PathBuf);

impl Dir {
    /// A fresh temporary directory `aviary-<tag>-<pid>`, removed on drop.
    pub fn new(tag: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("aviary-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Run {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary under test, as cargo built it for this test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aviary"))
}

/// Starts `aviary run`; output to `log`. `prefix` runs it under a shell snippet (e.g. limits).
pub fn spawn(manifest: &Path, log: PathBuf, shell_prefix: Option<&str>) -> Run {
    let file = std::fs::File::create(&log).unwrap();
    let bin = binary();
    let mut cmd = match shell_prefix {
        None => {
            let mut c = Command::new(bin);
            c.arg("run").arg("--manifest").arg(manifest);
            c
        }
        Some(prefix) => {
            let mut c = Command::new("bash");
            c.arg("-c")
                .arg(format!("{prefix}; exec \"$0\" run --manifest \"$1\""))
                .arg(&bin)
                .arg(manifest);
            c
        }
    };
    cmd.stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .env("RUST_LOG", "warn,aviary::guest=info,aviary::queue=info")
        .env("XDG_CACHE_HOME", manifest.parent().unwrap().join("cache"));
    Run {
        child: cmd.spawn().expect("aviary starts"),
        log,
    }
}

pub fn envelope(i: usize, text: &str) -> serde_json::Value {
    serde_json::json!({
        "schema": "2.0",
        "header": {"event_id": format!("ev-{i}"), "event_type": "im.message.receive_v1",
                   "create_time": "1608725989000", "token": "", "app_id": APP_ID, "tenant_key": "t"},
        "event": {"message": {"message_id": format!("om_{i}"), "chat_id": format!("oc_{}", i % 40),
                  "message_type": "text", "content": serde_json::json!({"text": text}).to_string()}}
    })
}

/// `effect <id> attempt <n>` lines of one log: (id, attempt) in order.
pub fn effects(log: &Path) -> Vec<(String, u32)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().filter_map(effect_of_line).collect()
}

/// The (id, attempt) of one `effect <id> attempt <n>` log line, if it is one.
pub fn effect_of_line(line: &str) -> Option<(String, u32)> {
    let rest = &line[line.find("effect ")? + 7..];
    let mut words = rest.split_whitespace();
    let id = words.next()?.to_string();
    (words.next()? == "attempt").then_some(())?;
    let n = words
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit());
    Some((id, n.parse().ok()?))
}

/// `aviary dlq <args…> -m <manifest>`, as it came out.
pub fn dlq(manifest: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .arg("dlq")
        .args(args)
        .arg("-m")
        .arg(manifest)
        .output()
        .unwrap()
}

/// What a `dlq` command printed; asserts it succeeded (showing its stderr if not).
pub fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "dlq failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `aviary dlq list -m <manifest>`: asserts it succeeded and returns what it printed.
pub fn dlq_list(manifest: &Path) -> String {
    stdout(&dlq(manifest, &["list"]))
}

/// Runs `aviary run` on `manifest` until it exits by itself (at most 60 s); returns its exit
/// code and log.
pub async fn run_until_exit(manifest: &Path, log: PathBuf) -> (Option<i32>, String) {
    let mut run = spawn(manifest, log, None);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = run.child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    (
        status.code(),
        std::fs::read_to_string(&run.log).unwrap_or_default(),
    )
}

pub fn sigterm(run: &mut Run) -> Option<i32> {
    let pid = run.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = run.child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn emulator_config() -> EmulatorConfig {
    let mut c = EmulatorConfig::fast();
    // A long ladder of short steps: events pushed to a process that is then killed come back
    // quickly, however often that happens.
    // The ack deadline is longer than Feishu's 3 s: this test runs a debug build on a shared
    // 2-core machine, and what it checks is that nothing is lost or run twice, not latency.
    c.redelivery.scale = 1.0;
    c.redelivery.ack_timeout = Duration::from_secs(10);
    c.redelivery.ladder = [1, 2, 4]
        .into_iter()
        .chain(std::iter::repeat_n(5, 30))
        .map(Duration::from_secs)
        .collect();
    // These tests reply to thousands of events in a burst: Feishu's per-app limits (50 per
    // second, 1,000 per minute) would spread that over minutes. The manifests raise the
    // host's pacing to the same numbers (`APP_SENDS`).
    c.app_send_limits = aviary::openapi::pacing::AppSendLimits {
        per_second: 100_000,
        per_minute: 6_000_000,
    };
    c
}

/// `[feishu]` lines that raise the host's per-app pacing to the emulator's
/// ([`emulator_config`]).
pub const APP_SENDS: &str = "app_sends_per_second = 100000
app_sends_per_minute = 6000000
";

/// Writes `aviary.toml` in `dir`: the emulator's app, per-chat ordering, the `[queue]` table
/// `queue_table`, and one handler `rec` (the recorder guest) on every event with `retry`
/// (its `max_attempts`/backoff lines).
pub fn write_manifest(dir: &Path, emu: &Emulator, queue_table: &str, retry: &str) -> PathBuf {
    let wasm = recorder_wasm();
    let text = format!(
        "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n{APP_SENDS}\n\
         [dispatch]\nper_chat_ordering = true\nmax_in_flight = 32\n\n\
         [queue]\n{queue_table}\n\
         [[handler]]\nname = \"rec\"\ncomponent = \"{}\"\nevents = [\"*\"]\n{retry}",
        emu.domain(),
        wasm.display()
    );
    let path = dir.join("aviary.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `[[handler]]` lines that let the recorder reply to messages and make it reply to every
/// event (its effect, which the emulator records; a re-run sends the same `uuid`).
pub const REPLY: &str =
    "openapi = [\"/open-apis/im/v1/messages\"]\n[handler.config]\nreply = \"yes\"\n";

/// How many replies the emulator created for each message id.
pub fn replies_per_message(emu: &Emulator) -> HashMap<String, usize> {
    let mut per = HashMap::new();
    for m in emu.sent_messages() {
        if let Some(parent) = m.reply_to {
            *per.entry(parent).or_insert(0) += 1;
        }
    }
    per
}

/// Exactly once by effect, for events `om_0` … `om_<n-1>` handled by the replying recorder:
/// the emulator sent exactly one message per event, a reply to it saying `effect <id>`, and
/// nothing else, whatever ran more than once. Returns how many repeated replies the emulator
/// suppressed by `uuid` (re-runs after a crash, retries).
pub fn assert_one_reply_per_event(emu: &Emulator, n: usize) -> u64 {
    let replies = replies_per_message(emu);
    let not_once: Vec<(&String, &usize)> = replies.iter().filter(|(_, &k)| k != 1).collect();
    assert!(
        not_once.is_empty(),
        "events with more than one reply: {not_once:?}"
    );
    let expected: HashSet<String> = (0..n).map(|i| format!("om_{i}")).collect();
    let replied: HashSet<String> = replies.keys().cloned().collect();
    let missing: Vec<&String> = expected.difference(&replied).take(20).collect();
    let extra: Vec<&String> = replied.difference(&expected).take(20).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} of {n} events replied to; missing (first 20): {missing:?}; replies to unknown \
         messages: {extra:?}",
        replied.intersection(&expected).count()
    );
    let sent = emu.sent_messages();
    assert_eq!(sent.len(), n, "no other message was sent");
    for m in &sent {
        let parent = m.reply_to.as_deref().unwrap_or_default();
        assert!(
            m.content.contains(&format!("effect {parent}\"")),
            "the reply to {parent} is another event's: {}",
            m.content
        );
    }
    emu.duplicate_messages_suppressed()
}
