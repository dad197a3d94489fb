//! Burst merge and key-value state together, under SIGKILL, as a user runs them: the real
//! `aviary run`, the `merger` guest (Rust SDK) merging each chat's bursts (`merge = {…}`) with
//! `kv` granted; every turn adds its number of messages to `count:<chat>` and 1 to
//! `turns:<chat>`. Bursts of 1–20 messages across 30 chats in three rounds (the driver of
//! `merge_crash.rs`, `merge_support/mod.rs`), SIGKILLed in the middle of two rounds' turns and
//! of the last round's pushes; some turns ask for a retry on their first attempt after their
//! writes (and mark the run with a `failed:` key).
//!
//! A merged call's writes commit once, with the settlement of every message of its turn, and
//! only when the call is done: asserted by each chat's counter being exactly its number of
//! messages (neither a turn cut off by a kill nor a retried attempt counts, nor does a turn
//! count once per member), `turns:` being exactly its replied turns, and no `failed:` key.

use std::collections::{BTreeMap, BTreeSet};

use aviary::queue::QueueStore;
use aviary_emulator::Emulator;
use aviary_test_support::recorder::emulator_config;
use aviary_test_support::recorder_kv::kv_cli;
use aviary_test_support::Dir;

mod merge_support;
use merge_support::{chat_of, logged_turns, push_rounds, replied_turns, write_manifest, AVIARY};

const CHATS: usize = 30;
const ROUNDS: usize = 3;

/// The first message of chat `c`'s burst in round `r` makes its turn retry once, for every
/// fourth chat.
fn text(c: usize, r: usize, j: usize) -> String {
    if j == 0 && (c + r).is_multiple_of(4) {
        "retry-once".into()
    } else {
        format!("line {j}")
    }
}

/// `aviary kv list --prefix <prefix>`, then `get` of each: key → value.
fn read_all(manifest: &std::path::Path, prefix: &str) -> BTreeMap<String, String> {
    kv_cli(&AVIARY, manifest, &["list", "--prefix", prefix])
        .lines()
        .map(|key| {
            let value = kv_cli(&AVIARY, manifest, &["get", key]);
            (key.to_string(), value.trim().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_turns_kv_writes_commit_once_with_all_its_messages_through_sigkills() {
    let dir = Dir::new("merge-kv-crash");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    // The shared namespace `rec` is the one `kv_cli` reads.
    let manifest = write_manifest(
        &dir.0,
        &emu,
        "kv = \"rec\"\n[handler.config]\nkv_counter = \"yes\"\n",
    );
    let rounds = push_rounds(&dir.0, &emu, &manifest, CHATS, ROUNDS, &text).await;
    let total = rounds.total();

    // Every message in exactly one replied turn.
    let turns = replied_turns(&emu);
    let mut seen = BTreeSet::new();
    let mut turns_of: BTreeMap<usize, u64> = BTreeMap::new();
    for (_, members) in &turns {
        for m in members {
            assert!(seen.insert(m.clone()), "{m} in more than one turn");
        }
        *turns_of.entry(chat_of(&members[0])).or_default() += 1;
    }
    assert_eq!(seen.len(), total, "every message in a turn");

    // The guest's runs: retried turns ran more than once, and so did turns cut off by a kill;
    // each such run incremented before it ended.
    let mut runs_of: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for log in &rounds.logs {
        for (first, attempt, _) in logged_turns(log) {
            runs_of.entry(first).or_default().push(attempt);
        }
    }
    let mut retried = 0;
    for (first, members) in &turns {
        let asks = members.iter().any(|m| {
            let (c, rest) = m[4..].split_once("_r").unwrap();
            let (r, j) = rest.split_once('_').unwrap();
            text(c.parse().unwrap(), r.parse().unwrap(), j.parse().unwrap()) == "retry-once"
        });
        if asks {
            retried += 1;
            assert!(
                runs_of[first].len() >= 2,
                "turn {first} asked for a retry but ran {:?}",
                runs_of[first]
            );
        }
    }
    assert!(retried > 0, "some turns asked for a retry");
    let counted_runs: usize = rounds
        .logs
        .iter()
        .map(|l| {
            std::fs::read_to_string(l)
                .unwrap_or_default()
                .matches("kv turn ")
                .count()
        })
        .sum();
    assert!(
        counted_runs >= turns.len() + retried,
        "{counted_runs} counting runs for {} turns and {retried} retries",
        turns.len()
    );

    // Exactly once: each chat's counter is its messages, its `turns:` its turns; no write of a
    // run that asked for a retry was committed.
    let failed = read_all(&manifest, "failed:");
    assert!(
        failed.is_empty(),
        "writes of runs that did not end done were committed: {failed:?}"
    );
    let want_counts: BTreeMap<String, String> = rounds
        .pushed
        .iter()
        .map(|(c, ids)| (format!("count:oc_{c}"), ids.len().to_string()))
        .collect();
    assert_eq!(
        read_all(&manifest, "count:"),
        want_counts,
        "each chat's counter equals its messages"
    );
    let want_turns: BTreeMap<String, String> = turns_of
        .iter()
        .map(|(c, n)| (format!("turns:oc_{c}"), n.to_string()))
        .collect();
    assert_eq!(
        read_all(&manifest, "turns:"),
        want_turns,
        "each chat's turn counter equals its replied turns"
    );
    assert!(turns.len() * 2 < total, "bursts were merged");

    let store = aviary::queue::open_disk(&dir.0.join("q/queue.redb")).unwrap();
    assert!(store.pending().await.unwrap().is_empty(), "nothing left");
    assert!(
        store.dead_letters().await.unwrap().is_empty(),
        "no dead letter"
    );
    eprintln!(
        "merge + kv crash test: {total} messages in {} turns across {CHATS} chats, {} SIGKILLs, \
         {retried} turns retried, {counted_runs} counting runs, {} committed; every counter exact",
        turns.len(),
        rounds.kills,
        turns.len()
    );
}
