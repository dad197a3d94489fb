//! The durable queue as a user runs it: the real `aviary run` binary with a Wasm handler that
//! records each run in its log (and, in the SIGKILL test, replies to every message through the
//! `feishu-request` import and counts every event of its chat in key-value state), the
//! emulator on 127.0.0.1, and SIGKILLs. Also the failure modes of
//! the queue file: an unusable path, and a file that cannot grow (disk full).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aviary::queue::QueueStore;
use aviary_emulator::{DeliveryStatus, Emulator};

use aviary_test_support::binary::{sigterm, Aviary};
use aviary_test_support::recorder::*;
use aviary_test_support::recorder_kv::{assert_counts, expected_counts, KV_COUNTER, KV_GRANT};
use aviary_test_support::Dir;

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));

/// The manifest of these tests: the disk queue at `queue_path` plus `extra` `[queue]` lines,
/// and quick retries. With `reply`, the handler may reply to messages and does so for every
/// event (its effect, counted by the emulator).
fn manifest(dir: &Path, emu: &Emulator, queue_path: &str, extra: &str, reply: bool) -> PathBuf {
    let mut handler = "max_attempts = 3\nbackoff_ms = 20\nbackoff_max_ms = 100\n".to_string();
    if reply {
        handler.push_str(REPLY);
    }
    write_manifest(
        dir,
        emu,
        &format!("path = \"{queue_path}\"\n{extra}"),
        &handler,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_survive_repeated_sigkill_each_with_exactly_one_reply() {
    const N: usize = 10_000;
    const KILLS: usize = 4;
    let dir = Dir::new("crash-kill");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    // The recorder replies to every event and adds 1 to its chat's counter (key-value state,
    // committed with the run's outcome).
    let manifest = write_manifest(
        &dir.0,
        &emu,
        "path = \"q/queue.redb\"\n",
        &format!(
            "max_attempts = 3\nbackoff_ms = 20\nbackoff_max_ms = 100\n{KV_GRANT}{REPLY}{KV_COUNTER}"
        ),
    );
    let mut requested_dead = HashSet::new();
    let mut retry_once = HashSet::new();
    let mut always_retry = HashSet::new();
    let mut envelopes = Vec::new();
    for i in 0..N {
        let text = if i % 500 == 3 {
            requested_dead.insert(format!("om_{i}"));
            "please reject"
        } else if i % 700 == 5 {
            requested_dead.insert(format!("om_{i}"));
            always_retry.insert(format!("om_{i}"));
            "always-retry"
        } else if i % 300 == 7 {
            retry_once.insert(format!("om_{i}"));
            "retry-once"
        } else {
            "hello"
        };
        envelopes.push(envelope(i, text));
    }
    // Pushed at 1,000 events/s while the runtime is killed and restarted (what piles up while
    // it is down arrives in a burst when it reconnects).
    let emu = std::sync::Arc::new(emu);
    let pusher = {
        let emu = emu.clone();
        tokio::spawn(async move {
            for chunk in envelopes.chunks(50) {
                for e in chunk {
                    emu.push_event(e);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let mut logs = Vec::new();
    let mut killed = Vec::new();
    let mut run = AVIARY.spawn(&manifest, dir.0.join("run-0.log"), None);
    logs.push(run.log.clone());
    for k in 0..KILLS {
        // Let it make progress, then SIGKILL it mid-flight.
        let started = Instant::now();
        let before: usize = logs.iter().map(|l| effects(l).len()).sum();
        loop {
            let now: usize = logs.iter().map(|l| effects(l).len()).sum();
            if now >= before + 300 + 400 * k || started.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        run.child.kill().unwrap();
        run.child.wait().unwrap();
        killed.push(logs.len() - 1);
        run = AVIARY.spawn(&manifest, dir.0.join(format!("run-{}.log", k + 1)), None);
        logs.push(run.log.clone());
    }
    pusher.await.unwrap();
    // Let the last run finish everything: every delivery acked, every event's effects in.
    let deadline = Instant::now() + Duration::from_secs(400);
    loop {
        let all: HashSet<String> = logs
            .iter()
            .flat_map(|l| effects(l))
            .map(|(id, _)| id)
            .collect();
        let unacked = emu.deliveries().iter().filter(|d| !d.acked).count();
        let replied = replies_per_message(&emu).len();
        if all.len() == N && unacked == 0 && replied == N {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after {KILLS} kills: {} of {N} events were run, {replied} have a reply, {unacked} \
             deliveries unacked; last log:\n{}",
            all.len(),
            std::fs::read_to_string(logs.last().unwrap())
                .unwrap_or_default()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    // Retries and dead letters take a few more backoffs.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sigterm(&mut run), Some(0), "graceful exit");
    let failed = emu
        .deliveries()
        .iter()
        .filter(|d| d.status == DeliveryStatus::Failed)
        .count();
    assert_eq!(failed, 0, "every delivery was eventually acked");

    // Effects by id, per run.
    let mut per: BTreeMap<String, Vec<(usize, u32)>> = BTreeMap::new();
    for (run_index, log) in logs.iter().enumerate() {
        for (id, attempt) in effects(log) {
            per.entry(id).or_default().push((run_index, attempt));
        }
    }
    assert_eq!(per.len(), N, "every event handled");
    let mut cut_off_reruns = 0;
    for (id, runs) in &per {
        let mut seen: HashMap<u32, usize> = HashMap::new();
        for &(run_index, attempt) in runs {
            if let Some(&earlier) = seen.get(&attempt) {
                // The same attempt twice is only allowed when the earlier run was SIGKILLed
                // before that attempt's outcome was committed.
                assert!(
                    earlier != run_index && killed.contains(&earlier),
                    "{id}: attempt {attempt} ran twice without a crash in between: {runs:?}"
                );
                cut_off_reruns += 1;
            }
            seen.insert(attempt, run_index);
        }
        let attempts: Vec<u32> = {
            let mut a: Vec<u32> = seen.keys().copied().collect();
            a.sort();
            a
        };
        let want: Vec<u32> = if retry_once.contains(id) {
            vec![1, 2]
        } else if always_retry.contains(id) {
            vec![1, 2, 3]
        } else {
            vec![1]
        };
        assert_eq!(attempts, want, "{id}: {runs:?}");
    }
    // A SIGKILL can only cut off what was running: at most max_in_flight (32) per kill.
    assert!(
        cut_off_reruns <= KILLS * 32,
        "{cut_off_reruns} reruns after {KILLS} kills"
    );

    // Exactly once by effect: every event has exactly one reply, whatever was re-run (runs cut
    // off by a kill, retries): a re-run sends the same uuid and the emulator, like Feishu,
    // answers it without sending a second message.
    let suppressed = assert_one_reply_per_event(&emu, N);
    let retried_runs = retry_once.len() + 2 * always_retry.len();
    assert!(
        suppressed >= retried_runs as u64,
        "every retry re-sent its reply and was suppressed: {suppressed} < {retried_runs}"
    );
    eprintln!(
        "crash test: {N} events, {KILLS} SIGKILLs, {cut_off_reruns} handler runs cut off by a kill \
         and run again, {retried_runs} runs asked for by retries; {} replies sent (one per \
         event), {suppressed} duplicate replies suppressed by uuid; {} deliveries in total",
        emu.sent_messages().len(),
        emu.deliveries().iter().map(|d| d.attempts.len()).sum::<usize>()
    );

    // Nothing left but the dead letters that were asked for.
    let store = aviary::queue::open_disk(&dir.0.join("q/queue.redb")).unwrap();
    assert!(
        store.pending().await.unwrap().is_empty(),
        "no job left behind"
    );
    let dead: HashSet<String> = store
        .dead_letters()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.job.dedupe_id)
        .collect();
    assert_eq!(dead, requested_dead);
    drop(store);

    // The CLI sees the same.
    let listed = AVIARY.dlq_list(&manifest);
    assert_eq!(listed.lines().count(), requested_dead.len(), "{listed}");
    assert!(listed.contains("rejected: asked to reject"), "{listed}");
    assert!(listed.contains("attempt 3 of 3"), "{listed}");

    // Exactly once by key-value state: every chat's counter equals the number of its events
    // that ended done — not one more for a run cut off by a kill or a retried attempt (each of
    // those incremented too, and its writes were dropped), not one less — and no write of a
    // run that asked for a retry or rejected exists.
    let chats = assert_counts(&AVIARY, &manifest, &expected_counts(N, &requested_dead));
    let increments: usize = logs
        .iter()
        .map(|l| {
            std::fs::read_to_string(l)
                .unwrap_or_default()
                .matches("kv count:")
                .count()
        })
        .sum();
    assert!(
        increments > N - requested_dead.len(),
        "more increments ran ({increments}) than were committed"
    );
    eprintln!(
        "crash test, key-value: {chats} chat counters exact after {KILLS} SIGKILLs; {increments} \
         increments ran, {} committed",
        N - requested_dead.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_queue_path_is_a_clear_error_and_nothing_is_acked() {
    let dir = Dir::new("crash-badpath");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    std::fs::write(dir.0.join("not-a-dir"), b"x").unwrap();
    let manifest = manifest(&dir.0, &emu, "not-a-dir/queue.redb", "", false);
    emu.push_event(&envelope(1, "hello"));
    let (code, out) = AVIARY
        .run_until_exit(&manifest, dir.0.join("run.log"))
        .await;
    assert_eq!(code, Some(1), "{out}");
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{out}");
    assert!(
        errors[0].contains("not-a-dir") && errors[0].contains("cannot create the queue directory"),
        "{}",
        errors[0]
    );
    assert_eq!(emu.connections_total(), 0, "never connected");
    assert!(emu.acks().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_queue_file_cannot_grow_nothing_is_acked_and_nothing_is_lost() {
    const N: usize = 30;
    let dir = Dir::new("crash-full");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = manifest(&dir.0, &emu, "q/queue.redb", "", false);
    // Create the queue file, then measure it.
    {
        let _ = aviary::queue::open_disk(&dir.0.join("q/queue.redb")).unwrap();
    }
    let initial = std::fs::metadata(dir.0.join("q/queue.redb")).unwrap().len();
    // Files may grow to the current size plus 512 KiB (SIGXFSZ ignored, so writes fail with
    // EFBIG like a full disk); each event carries 100 KiB, so only a few fit.
    let limit_kib = initial / 1024 + 512;
    let big = "x".repeat(100 * 1024);
    for i in 0..N {
        emu.push_event(&envelope(i, &big));
    }
    let mut limited = AVIARY.spawn(
        &manifest,
        dir.0.join("full.log"),
        Some(&format!("trap '' XFSZ; ulimit -f {limit_kib}")),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = std::fs::read_to_string(&limited.log).unwrap_or_default();
        if log.contains("cannot persist") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no persist failure reported:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let log = std::fs::read_to_string(&limited.log).unwrap();
    assert!(
        log.contains("is the disk full or read-only?") && log.contains("File too large"),
        "{log}"
    );
    let handled_while_full: HashSet<String> = effects(&limited.log)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let acked: HashSet<String> = emu
        .deliveries()
        .iter()
        .filter(|d| d.acked)
        .filter_map(|d| d.event_id.clone())
        .collect();
    assert!(
        acked.len() < N,
        "some events could not be persisted, so were not acked"
    );
    // Every acked event was persisted: it runs now or after the restart.
    limited.child.kill().unwrap();
    limited.child.wait().unwrap();

    // Space is back: everything arrives (redelivered or from the queue), each once.
    let run = AVIARY.spawn(&manifest, dir.0.join("after.log"), None);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let after: Vec<(String, u32)> = effects(&run.log);
        let all: HashSet<&String> = handled_while_full
            .iter()
            .chain(after.iter().map(|(id, _)| id))
            .collect();
        let unacked = emu.deliveries().iter().filter(|d| !d.acked).count();
        if all.len() == N && unacked == 0 {
            // Outside the jobs whose outcome could not be stored while the file was full
            // (they run again), nothing ran twice.
            let mut seen = HashSet::new();
            for (id, _) in &after {
                assert!(seen.insert(id), "{id} handled twice after the restart");
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {N} handled, {unacked} unacked",
            all.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(run);
    let _ = acked;
}
