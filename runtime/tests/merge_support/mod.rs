//! What the burst-merge crash tests share (`merge_crash.rs`, `merge_kv_crash.rs`): the real
//! `aviary run` with the `merger` guest (written with the Rust guest SDK: it logs each turn's
//! members and replies once per turn through the host, whose `uuid` is keyed by the turn), the
//! emulator and a disk queue; bursts of 1–20 messages per chat, pushed in rounds, with the
//! process SIGKILLed in the middle of every round's turns but the last and in the middle of
//! the last round's pushes.
#![allow(dead_code)] // each test crate uses its own subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aviary_emulator::{DeliveryStatus, Emulator};
use aviary_test_support::binary::{sigterm, Aviary, Run};
use aviary_test_support::recorder::APP_ID;
use serde_json::json;

pub const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));
pub const MAX_EVENTS: usize = 10;
/// Long next to the time a burst takes to arrive (a debug build on a shared machine), short
/// next to the pause between rounds.
pub const WINDOW_MS: u64 = 3000;
const PAUSE: Duration = Duration::from_millis(WINDOW_MS + 1500);

/// The size of chat `c`'s burst in round `r`: every size from 1 to 20 occurs.
pub fn burst(c: usize, r: usize) -> usize {
    1 + (c * 7 + r * 13) % 20
}

pub fn message_id(c: usize, r: usize, j: usize) -> String {
    format!("om_c{c}_r{r}_{j}")
}

/// The chat number of a message id.
pub fn chat_of(id: &str) -> usize {
    id[4..id.find("_r").unwrap()].parse().unwrap()
}

fn message(c: usize, r: usize, j: usize, text: &str) -> serde_json::Value {
    json!({
        "schema": "2.0",
        "header": {"event_id": format!("ev_c{c}_r{r}_{j}"), "event_type": "im.message.receive_v1",
                   "create_time": "1608725989000", "token": "", "app_id": APP_ID, "tenant_key": "t"},
        "event": {
            "sender": {"sender_id": {"open_id": format!("ou_{c}")}, "sender_type": "user"},
            "message": {"message_id": message_id(c, r, j), "chat_id": format!("oc_{c}"),
                        "chat_type": "p2p", "message_type": "text",
                        "content": json!({"text": text}).to_string()}
        }
    })
}

/// `aviary.toml` in `dir`: the `merger` handler merging with [`WINDOW_MS`] and [`MAX_EVENTS`],
/// quick retries, replies granted, and `extra` lines at the end of its `[[handler]]`.
pub fn write_manifest(dir: &Path, emu: &Emulator, extra: &str) -> PathBuf {
    let wasm = aviary_test_support::guests::guest("merger");
    let text = format!(
        "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n\n\
         [dispatch]\nmax_in_flight = 32\n\n[queue]\npath = \"q/queue.redb\"\n\n\
         [[handler]]\nname = \"merger\"\ncomponent = \"{}\"\nevents = [\"im.message.receive_v1\"]\n\
         max_attempts = 5\nbackoff_ms = 50\nbackoff_max_ms = 200\n\
         openapi = [\"/open-apis/im/v1/messages\"]\n\
         merge = {{ window_ms = {WINDOW_MS}, max_events = {MAX_EVENTS} }}\n{extra}",
        emu.domain(),
        wasm.display()
    );
    let path = dir.join("aviary.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(manifest: &Path, log: PathBuf) -> Run {
    AVIARY.spawn(manifest, log, None)
}

/// `turn <first> attempt <n> members <a>,<b>,…` lines of one log.
pub fn logged_turns(log: &Path) -> Vec<(String, u32, Vec<String>)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let rest = &line[line.find("turn om_")? + 5..];
            let mut w = rest.split_whitespace();
            let first = w.next()?.to_string();
            (w.next()? == "attempt").then_some(())?;
            let attempt = w.next()?.parse().ok()?;
            (w.next()? == "members").then_some(())?;
            let members = w.next()?.split(',').map(str::to_string).collect();
            Some((first, attempt, members))
        })
        .collect()
}

/// The turns as the emulator's replies record them, in the order they were sent: (first
/// message, members).
pub fn replied_turns(emu: &Emulator) -> Vec<(String, Vec<String>)> {
    emu.sent_messages()
        .into_iter()
        .map(|m| {
            let parent = m.reply_to.clone().expect("only replies are sent");
            let content: serde_json::Value = serde_json::from_str(&m.content).unwrap();
            let text = content["text"].as_str().unwrap().to_string();
            let members = text
                .strip_prefix("turn ")
                .unwrap_or_else(|| panic!("not a turn reply: {text}"))
                .split(',')
                .map(str::to_string)
                .collect();
            (parent, members)
        })
        .collect()
}

/// Waits until every delivery pushed so far is acked (persisted).
async fn acked(emu: &Emulator, logs: &[PathBuf]) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let open = emu.deliveries().iter().filter(|d| !d.acked).count();
        if open == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} deliveries not acked; last log:\n{}",
            tail(logs.last().unwrap())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// What [`push_rounds`] did.
pub struct Rounds {
    /// Each chat's message ids, in push order.
    pub pushed: BTreeMap<usize, Vec<String>>,
    /// Each (chat, round)'s burst.
    pub bursts: BTreeMap<(usize, usize), Vec<String>>,
    /// The log of each `aviary run`, in order.
    pub logs: Vec<PathBuf>,
    /// SIGKILLs sent.
    pub kills: usize,
}

impl Rounds {
    /// Every message pushed.
    pub fn total(&self) -> usize {
        self.pushed.values().map(Vec::len).sum()
    }
}

/// Runs `aviary run -m manifest` (logs in `dir`) and pushes `rounds` rounds of bursts to
/// `chats` chats (message `j` of chat `c` in round `r` says `text(c, r, j)`). Every round but
/// the last is pushed whole, acked, and the process SIGKILLed once a few turns have replied;
/// the last round's pushes are cut by a SIGKILL halfway. Each kill is followed by a restart.
/// Returns once every message is in a replied turn and the process exited gracefully on
/// SIGTERM, every delivery acked.
pub async fn push_rounds(
    dir: &Path,
    emu: &Emulator,
    manifest: &Path,
    chats: usize,
    rounds: usize,
    text: &dyn Fn(usize, usize, usize) -> String,
) -> Rounds {
    let mut logs = vec![dir.join("run-0.log")];
    let mut run = spawn(manifest, logs[0].clone());
    let mut pushed: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut bursts: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    let mut kills = 0;
    let restart = |run: &mut Run, logs: &mut Vec<PathBuf>| {
        run.child.kill().unwrap();
        run.child.wait().unwrap();
        let log = dir.join(format!("run-{}.log", logs.len()));
        logs.push(log.clone());
        *run = spawn(manifest, log);
    };
    for r in 0..rounds {
        let before = emu.sent_messages().len();
        for c in 0..chats {
            let ids: Vec<String> = (0..burst(c, r)).map(|j| message_id(c, r, j)).collect();
            pushed.entry(c).or_default().extend(ids.iter().cloned());
            bursts.insert((c, r), ids);
        }
        if r + 1 < rounds {
            // Kill in the middle of the round's turns: all of it persisted (acked), some
            // turns replied, the others running, waiting for their window or not yet formed.
            for c in 0..chats {
                for j in 0..burst(c, r) {
                    emu.push_event(&message(c, r, j, &text(c, r, j)));
                }
            }
            acked(emu, &logs).await;
            let start = Instant::now();
            while emu.sent_messages().len() < before + 5
                && start.elapsed() < Duration::from_secs(60)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            restart(&mut run, &mut logs);
            kills += 1;
        } else {
            // Kill in the middle of the pushes: some messages persisted, some in flight (they
            // come back from Feishu's redelivery), the rest delivered after the restart.
            for c in 0..chats {
                for j in 0..burst(c, r) {
                    emu.push_event(&message(c, r, j, &text(c, r, j)));
                }
                if c == chats / 2 {
                    restart(&mut run, &mut logs);
                    kills += 1;
                }
            }
            acked(emu, &logs).await;
        }
        tokio::time::sleep(PAUSE).await;
    }
    let total: usize = pushed.values().map(Vec::len).sum();
    // Let the last run finish: every message in a replied turn.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let replied: usize = replied_turns(emu).iter().map(|(_, m)| m.len()).sum();
        if replied >= total {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{replied} of {total} messages in replied turns; last log:\n{}",
            tail(logs.last().unwrap())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sigterm(&mut run), Some(0), "graceful exit");
    assert!(
        emu.deliveries()
            .iter()
            .all(|d| d.acked && d.status != DeliveryStatus::Failed),
        "every delivery acked"
    );
    Rounds {
        pushed,
        bursts,
        logs,
        kills,
    }
}
