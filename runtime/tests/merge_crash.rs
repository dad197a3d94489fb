//! Burst merge per chat under SIGKILL, as a user runs it: the real `aviary run` binary, the
//! `merger` guest (written with the Rust guest SDK: it logs each turn's members and replies
//! once per turn through the host, whose `uuid` is keyed by the turn), the emulator, and a
//! disk queue. Bursts of 1–20 messages per chat across 50 chats, four rounds; the process is
//! SIGKILLed in the middle of three rounds' turns and in the middle of the fourth round's
//! pushes, and restarted each time.
//!
//! Asserted: every message is in exactly one turn (the emulator's replies, one per turn, name
//! the members), a turn cut off by a kill ran again with exactly the same members, turns are
//! at most `max_events`, each chat's turns are in order, and — for every round whose pushes no
//! kill disturbed — the turns of a burst are exactly the burst cut by `max_events`. Nothing is
//! left in the queue.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aviary::queue::QueueStore;
use aviary_emulator::{DeliveryStatus, Emulator};
use aviary_test_support::binary::{sigterm, Aviary, Run};
use aviary_test_support::recorder::{emulator_config, APP_ID};
use aviary_test_support::Dir;
use serde_json::json;

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));
const CHATS: usize = 50;
const ROUNDS: usize = 4;
const MAX_EVENTS: usize = 10;
/// Long next to the time a burst takes to arrive (a debug build on a shared machine), short
/// next to the pause between rounds.
const WINDOW_MS: u64 = 3000;
const PAUSE: Duration = Duration::from_millis(WINDOW_MS + 1500);

/// The size of chat `c`'s burst in round `r`: every size from 1 to 20 occurs.
fn burst(c: usize, r: usize) -> usize {
    1 + (c * 7 + r * 13) % 20
}

fn message_id(c: usize, r: usize, j: usize) -> String {
    format!("om_c{c}_r{r}_{j}")
}

fn message(c: usize, r: usize, j: usize) -> serde_json::Value {
    json!({
        "schema": "2.0",
        "header": {"event_id": format!("ev_c{c}_r{r}_{j}"), "event_type": "im.message.receive_v1",
                   "create_time": "1608725989000", "token": "", "app_id": APP_ID, "tenant_key": "t"},
        "event": {
            "sender": {"sender_id": {"open_id": format!("ou_{c}")}, "sender_type": "user"},
            "message": {"message_id": message_id(c, r, j), "chat_id": format!("oc_{c}"),
                        "chat_type": "p2p", "message_type": "text",
                        "content": json!({"text": format!("line {j}")}).to_string()}
        }
    })
}

fn write_manifest(dir: &Path, emu: &Emulator) -> PathBuf {
    let wasm = aviary_test_support::guests::guest("merger");
    let text = format!(
        "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n\n\
         [dispatch]\nmax_in_flight = 32\n\n[queue]\npath = \"q/queue.redb\"\n\n\
         [[handler]]\nname = \"merger\"\ncomponent = \"{}\"\nevents = [\"im.message.receive_v1\"]\n\
         max_attempts = 5\nbackoff_ms = 50\nbackoff_max_ms = 200\n\
         openapi = [\"/open-apis/im/v1/messages\"]\n\
         merge = {{ window_ms = {WINDOW_MS}, max_events = {MAX_EVENTS} }}\n",
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
fn logged_turns(log: &Path) -> Vec<(String, u32, Vec<String>)> {
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
fn replied_turns(emu: &Emulator) -> Vec<(String, Vec<String>)> {
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

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_merge_into_turns_exactly_once_and_in_order_through_sigkills() {
    let dir = Dir::new("merge-crash");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(&dir.0, &emu);
    let mut logs = vec![dir.0.join("run-0.log")];
    let mut run = spawn(&manifest, logs[0].clone());
    let mut pushed: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut bursts: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    let mut kills = 0;
    let restart = |run: &mut Run, logs: &mut Vec<PathBuf>| {
        run.child.kill().unwrap();
        run.child.wait().unwrap();
        let log = dir.0.join(format!("run-{}.log", logs.len()));
        logs.push(log.clone());
        *run = spawn(&manifest, log);
    };
    for r in 0..ROUNDS {
        let before = emu.sent_messages().len();
        for c in 0..CHATS {
            let ids: Vec<String> = (0..burst(c, r)).map(|j| message_id(c, r, j)).collect();
            pushed.entry(c).or_default().extend(ids.iter().cloned());
            bursts.insert((c, r), ids);
        }
        if r + 1 < ROUNDS {
            // Kill in the middle of the round's turns: all of it persisted (acked), some
            // turns replied, the others running, waiting for their window or not yet formed.
            for c in 0..CHATS {
                for j in 0..burst(c, r) {
                    emu.push_event(&message(c, r, j));
                }
            }
            acked(&emu, &logs).await;
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
            for c in 0..CHATS {
                for j in 0..burst(c, r) {
                    emu.push_event(&message(c, r, j));
                }
                if c == CHATS / 2 {
                    restart(&mut run, &mut logs);
                    kills += 1;
                }
            }
            acked(&emu, &logs).await;
        }
        tokio::time::sleep(PAUSE).await;
    }
    let total: usize = pushed.values().map(Vec::len).sum();
    // Let the last run finish: every message in a replied turn.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let replied: usize = replied_turns(&emu).iter().map(|(_, m)| m.len()).sum();
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

    // Every message in exactly one turn; one reply per turn, to its first message.
    let turns = replied_turns(&emu);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (parent, members) in &turns {
        assert_eq!(
            parent, &members[0],
            "the reply goes to the turn's first message"
        );
        assert!(members.len() <= MAX_EVENTS, "{members:?}");
        for m in members {
            *seen.entry(m.clone()).or_default() += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "messages in more than one turn: {twice:?}"
    );
    let all: BTreeSet<String> = pushed.values().flatten().cloned().collect();
    let got: BTreeSet<String> = seen.keys().cloned().collect();
    assert_eq!(got, all, "every message in a turn");

    // A turn that ran again after a kill had the same members every time.
    let mut runs_of: BTreeMap<String, Vec<(u32, Vec<String>)>> = BTreeMap::new();
    for log in &logs {
        for (first, attempt, members) in logged_turns(log) {
            runs_of.entry(first).or_default().push((attempt, members));
        }
    }
    let replied: BTreeMap<&String, &Vec<String>> = turns.iter().map(|(p, m)| (p, m)).collect();
    let mut reran = 0;
    for (first, runs) in &runs_of {
        let want = replied
            .get(first)
            .unwrap_or_else(|| panic!("turn {first} ran but has no reply: {runs:?}"));
        for (_, members) in runs {
            assert_eq!(
                &members, want,
                "turn {first} ran with other members: {runs:?}"
            );
        }
        reran += runs.len() - 1;
    }
    assert_eq!(
        runs_of.len(),
        turns.len(),
        "every turn that ran has a reply"
    );

    // Each chat's turns in order (the order of their replies), and the bursts of undisturbed
    // rounds cut exactly by max_events.
    let chat_of = |id: &str| -> usize { id[4..id.find("_r").unwrap()].parse().unwrap() };
    let mut per_chat: BTreeMap<usize, Vec<Vec<String>>> = BTreeMap::new();
    for (_, members) in &turns {
        let c = chat_of(&members[0]);
        assert!(
            members.iter().all(|m| chat_of(m) == c),
            "one chat per turn: {members:?}"
        );
        per_chat.entry(c).or_default().push(members.clone());
    }
    let disturbed = ROUNDS - 1;
    for (c, ids) in &pushed {
        let flat: Vec<String> = per_chat[c].iter().flatten().cloned().collect();
        // The last round's pushes were cut by a kill: Feishu's redelivery may bring a message
        // after a later one, and the queue keeps arrival order; the rounds before are exact.
        let exact = ids.len() - burst(*c, disturbed);
        assert_eq!(flat[..exact], ids[..exact], "chat {c}: turns in order");
        let mut rest: Vec<&String> = flat[exact..].iter().collect();
        rest.sort();
        let mut want: Vec<&String> = ids[exact..].iter().collect();
        want.sort();
        assert_eq!(
            rest, want,
            "chat {c}: the last round's messages after the others"
        );
        for r in 0..disturbed {
            let b = &bursts[&(*c, r)];
            let got: Vec<&Vec<String>> = per_chat[c].iter().filter(|t| b.contains(&t[0])).collect();
            let want: Vec<Vec<String>> = b.chunks(MAX_EVENTS).map(|ch| ch.to_vec()).collect();
            assert_eq!(
                got.into_iter().cloned().collect::<Vec<_>>(),
                want,
                "chat {c} round {r}: the burst's turns"
            );
        }
    }
    assert!(
        turns.len() * 2 < total,
        "{} turns for {total} messages: bursts were merged",
        turns.len()
    );

    let store = aviary::queue::open_disk(&dir.0.join("q/queue.redb")).unwrap();
    assert!(store.pending().await.unwrap().is_empty(), "nothing left");
    assert!(
        store.dead_letters().await.unwrap().is_empty(),
        "no dead letter"
    );
    eprintln!(
        "merge crash test: {total} messages in {} turns across {CHATS} chats, {kills} SIGKILLs, \
         {reran} turn runs cut off by a kill and run again with the same members, {} duplicate \
         replies suppressed by uuid",
        turns.len(),
        emu.duplicate_messages_suppressed()
    );
}
