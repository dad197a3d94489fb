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
//! left in the queue. The driver (pushes, kills, restarts) is `merge_support/mod.rs`, shared
//! with `merge_kv_crash.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aviary::queue::QueueStore;
use aviary_emulator::Emulator;
use aviary_test_support::recorder::emulator_config;
use aviary_test_support::Dir;

mod merge_support;
use merge_support::{
    burst, chat_of, logged_turns, push_rounds, replied_turns, write_manifest, MAX_EVENTS,
};

const CHATS: usize = 50;
const ROUNDS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_merge_into_turns_exactly_once_and_in_order_through_sigkills() {
    let dir = Dir::new("merge-crash");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(&dir.0, &emu, "");
    let rounds = push_rounds(&dir.0, &emu, &manifest, CHATS, ROUNDS, &|_, _, j| {
        format!("line {j}")
    })
    .await;
    let (pushed, bursts, logs, kills) =
        (&rounds.pushed, &rounds.bursts, &rounds.logs, rounds.kills);
    let total = rounds.total();

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
    for log in logs {
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
    for (c, ids) in pushed {
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
