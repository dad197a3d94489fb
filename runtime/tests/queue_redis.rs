//! The Redis backend as a user runs it: three `aviary run` processes of one app share one real
//! `redis-server` (started on a free port by the test) against the emulator in cluster mode
//! (each event goes to one random live connection); one of them is SIGKILLed mid-run. Every
//! event must be handled exactly once, except handler runs cut off by the kill (the same rule
//! as queue_crash.rs), the killed instance's jobs must be claimed by the survivors, and every
//! event must have exactly one effect: the recorder replies to each event through the
//! `feishu-request` import, and the emulator must have sent exactly one reply per event and
//! nothing else; and every chat's key-value counter (incremented by every run, committed with
//! the run's outcome in the same script) must equal its handled events exactly. Also
//! `rediss://`: TLS to a `redis-server` with certificates made by the test.
//! Needs `redis-server` on PATH (scripts/setup-tests.sh installs it); without it the test fails.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aviary::queue::redis::{RedisStore, RedisUrl};
use aviary::queue::QueueStore;
use aviary_emulator::{DeliveryStatus, Emulator};
use aviary_redis_test_server::RedisServer;

use aviary_test_support::binary::{sigterm, Aviary, Run};
use aviary_test_support::recorder::*;
use aviary_test_support::recorder_kv::{assert_counts, expected_counts, KV_COUNTER, KV_GRANT};
use aviary_test_support::Dir;

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));

/// The manifest of this test: the Redis queue at `redis_url`, a claim timeout short enough for
/// the test yet long enough that a live instance on a loaded 2-core machine (heartbeats late
/// under load) is not mistaken for a dead one,
/// retries slow enough that a killed instance surely holds jobs, a reply to every event and a
/// key-value counter per chat.
fn manifest(dir: &Path, emu: &Emulator, redis_url: &str) -> PathBuf {
    write_manifest(
        dir,
        emu,
        &format!("backend = \"{redis_url}\"\nclaim_idle_secs = 10\n"),
        &format!(
            "max_attempts = 3\nbackoff_ms = 2000\nbackoff_max_ms = 4000\n{KV_GRANT}{REPLY}{KV_COUNTER}"
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_one_redis_one_is_sigkilled_every_event_handled_and_replied_to_once()
{
    const N: usize = 3_000;
    const INSTANCES: usize = 3;
    let redis = RedisServer::start();
    let dir = Dir::new("redis-multi");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = manifest(&dir.0, &emu, &redis.url(3));
    let mut requested_dead = HashSet::new();
    let mut retry_once = HashSet::new();
    let mut envelopes = Vec::new();
    for i in 0..N {
        let text = if i % 250 == 3 {
            requested_dead.insert(format!("om_{i}"));
            "please reject"
        } else if i % 150 == 7 {
            retry_once.insert(format!("om_{i}"));
            "retry-once"
        } else {
            "hello"
        };
        envelopes.push(envelope(i, text));
    }
    let mut runs: Vec<Run> = (0..INSTANCES)
        .map(|i| AVIARY.spawn(&manifest, dir.0.join(format!("run-{i}.log")), None))
        .collect();
    let mut logs: Vec<PathBuf> = runs.iter().map(|r| r.log.clone()).collect();
    // Wait until all three are connected, so the pushes spread over them.
    let deadline = Instant::now() + Duration::from_secs(60);
    while emu.connections().len() < INSTANCES {
        assert!(
            Instant::now() < deadline,
            "the instances did not all connect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    // SIGKILL instance 0 once it is well into its share and holds jobs (admitted by it, not
    // yet settled: running, or waiting for a retry), which the survivors must then take over.
    let mut conn = redis::Client::open(redis.url(3))
        .unwrap()
        .get_connection()
        .unwrap();
    let stream = format!("aviary:{{{APP_ID}}}:stream");
    // An instance's consumer name: the one whose liveness key (`<host> <pid> <token>`) has its
    // pid (instances started from one manifest take `<host>-<hash>`, `…-2`, `…-3`).
    let mut names: HashMap<String, String> = HashMap::new();
    let mut held_by = |conn: &mut redis::Connection, pid: &str| -> Vec<(String, String)> {
        if !names.contains_key(pid) {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("aviary:{{{APP_ID}}}:alive:*"))
                .query(conn)
                .unwrap_or_default();
            for k in keys {
                let v: Option<String> = redis::cmd("GET").arg(&k).query(conn).unwrap();
                if v.is_some_and(|v| v.split(' ').nth(1) == Some(pid)) {
                    names.insert(
                        pid.to_string(),
                        k.rsplit_once(":alive:").unwrap().1.to_string(),
                    );
                }
            }
        }
        let name = names.get(pid).cloned();
        let Some(name) = name else { return Vec::new() };
        let pending: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(&stream)
            .arg("aviary")
            .arg("-")
            .arg("+")
            .arg(100_000)
            .arg(&name)
            .query(conn)
            .unwrap();
        pending
            .into_iter()
            .filter_map(|(sid, ..)| {
                // An entry may be settled (deleted) between XPENDING and here: skip it.
                let fields: Vec<(String, String)> = redis::cmd("XRANGE")
                    .arg(&stream)
                    .arg(&sid)
                    .arg(&sid)
                    .query::<Vec<(String, Vec<(String, String)>)>>(conn)
                    .unwrap()
                    .into_iter()
                    .flat_map(|(_, f)| f)
                    .collect();
                let job = fields.into_iter().find(|(k, _)| k == "job")?.1;
                let rec: Option<String> = redis::cmd("HGET")
                    .arg(format!("aviary:{{{APP_ID}}}:job:{job}"))
                    .arg("rec")
                    .query(conn)
                    .unwrap();
                let rec: serde_json::Value = serde_json::from_str(&rec?).unwrap();
                Some((job, rec["dedupe_id"].as_str().unwrap().to_string()))
            })
            .collect()
    };
    // With per-chat order across instances, a chat's events go to the instance holding it, so
    // the victim is whichever instance is well into its share and holds jobs (admitted or
    // forwarded to it, not yet settled: running, or waiting for a retry); it becomes index 0.
    let pids: Vec<String> = runs.iter().map(|r| r.child.id().to_string()).collect();
    let started = Instant::now();
    let victim = 'found: loop {
        // Retries wait 1-2 s (backoff 2 s with jitter), so retry-once events stay held.
        for (k, pid) in pids.iter().enumerate() {
            if effects(&logs[k]).len() >= 200 && held_by(&mut conn, pid).len() >= 3 {
                break 'found k;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no instance got going: effects per instance: {:?}",
            logs.iter().map(|l| effects(l).len()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    runs.swap(0, victim);
    logs.swap(0, victim);
    runs[0].child.kill().unwrap();
    runs[0].child.wait().unwrap();
    let killed_at = effects(&logs[0]).len();
    let orphaned = held_by(&mut conn, &pids[victim]);
    assert!(!orphaned.is_empty(), "the killed instance held no job");
    pusher.await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let all: HashSet<String> = logs
            .iter()
            .flat_map(|l| effects(l))
            .map(|(id, _)| id)
            .collect();
        let unacked = emu.deliveries().iter().filter(|d| !d.acked).count();
        let held: u64 = redis::cmd("XLEN").arg(&stream).query(&mut conn).unwrap();
        let replied = replies_per_message(&emu).len();
        if all.len() == N && unacked == 0 && held == 0 && replied == N {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {N} events have an effect, {replied} a reply, {unacked} deliveries unacked, \
             {held} jobs held; a survivor's log:\n{}",
            all.len(),
            std::fs::read_to_string(&logs[1])
                .unwrap_or_default()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for run in &mut runs[1..] {
        assert_eq!(sigterm(run), Some(0), "graceful exit");
    }
    let failed = emu
        .deliveries()
        .iter()
        .filter(|d| d.status == DeliveryStatus::Failed)
        .count();
    assert_eq!(failed, 0, "every delivery was eventually acked");
    let connections: HashSet<u64> = emu
        .deliveries()
        .iter()
        .flat_map(|d| d.attempts.iter().map(|a| a.connection))
        .collect();
    assert!(
        connections.len() >= INSTANCES,
        "cluster mode spread the events: {connections:?}"
    );

    let mut per: BTreeMap<String, Vec<(usize, u32)>> = BTreeMap::new();
    for (run_index, log) in logs.iter().enumerate() {
        for (id, attempt) in effects(log) {
            per.entry(id).or_default().push((run_index, attempt));
        }
    }
    assert_eq!(per.len(), N, "every event handled");
    let mut by_run = [0usize; INSTANCES];
    for runs in per.values() {
        for &(r, _) in runs {
            by_run[r] += 1;
        }
    }
    for (r, n) in by_run.iter().enumerate() {
        assert!(*n > 0, "instance {r} handled nothing: {by_run:?}");
    }
    let mut cut_off_reruns = 0;
    for (id, runs) in &per {
        let mut seen: HashMap<u32, usize> = HashMap::new();
        for &(run_index, attempt) in runs {
            if let Some(&earlier) = seen.get(&attempt) {
                // Only a run of the killed instance may have been cut off before its outcome
                // was committed; a survivor then ran the same attempt again.
                assert!(
                    earlier == 0 && run_index != 0,
                    "{id}: attempt {attempt} ran twice without a crash: {runs:?}"
                );
                cut_off_reruns += 1;
            }
            seen.insert(attempt, run_index);
        }
        let mut attempts: Vec<u32> = seen.keys().copied().collect();
        attempts.sort();
        let want = if retry_once.contains(id) {
            vec![1, 2]
        } else {
            vec![1]
        };
        assert_eq!(attempts, want, "{id}: {runs:?}");
    }
    // Every job the killed instance held (outcome not committed) was run by a survivor.
    for (job, id) in &orphaned {
        assert!(
            per[id].iter().any(|(r, _)| *r != 0),
            "job {job} ({id}) of the killed instance never ran on a survivor: {:?}",
            per[id]
        );
    }
    let survivors_took_over = logs[1..]
        .iter()
        .filter(|l| {
            std::fs::read_to_string(l)
                .unwrap_or_default()
                .contains("took over jobs")
        })
        .count();
    assert!(
        survivors_took_over > 0,
        "no survivor claimed the killed instance's jobs"
    );
    assert!(
        cut_off_reruns <= 32,
        "{cut_off_reruns} reruns after one kill (max_in_flight 32)"
    );
    // Exactly once by effect, across instances: one reply per event and nothing else, whatever
    // ran twice (runs cut off by the kill and re-run by a survivor, retries): a re-run sends
    // the same uuid, and the emulator, like Feishu, answers it without sending again.
    let suppressed = assert_one_reply_per_event(&emu, N);
    let total_runs: usize = logs.iter().map(|l| effects(l).len()).sum();
    let reply_calls = |what: &str| -> usize {
        logs.iter()
            .map(|l| {
                std::fs::read_to_string(l)
                    .unwrap_or_default()
                    .matches(what)
                    .count()
            })
            .sum()
    };
    let (replies_ok, replies_err) = (reply_calls("openapi ok "), reply_calls("openapi err "));
    assert!(
        suppressed >= (retry_once.len() + cut_off_reruns) as u64,
        "every retry and every re-run re-sent its reply and was suppressed: {suppressed} < {} + \
         {cut_off_reruns}",
        retry_once.len()
    );
    // A guest's log lines are written when its call returns, so a run the kill cut off
    // mid-call left no `effect` line; the suppressed replies show the ones that had replied.
    // Either way a SIGKILL cuts off at most max_in_flight (32) runs.
    let cut_off_mid_call = suppressed as usize - retry_once.len() - cut_off_reruns;
    assert!(
        cut_off_reruns + cut_off_mid_call <= 32,
        "{cut_off_reruns} + {cut_off_mid_call} runs cut off by one kill (max_in_flight 32)"
    );
    eprintln!(
        "redis multi-instance: {N} events over {INSTANCES} instances (handled per instance: \
         {by_run:?}; instance 0 SIGKILLed after {killed_at}), {cut_off_reruns} runs cut off by \
         the kill and run again; it held {} jobs when killed, taken over by the survivors; \
         {} retried runs; {cut_off_mid_call} more runs cut off mid-call (after their reply, \
         before their log lines) and run again; {total_runs} handler runs logged, {replies_ok} reply calls answered \
         ({replies_err} failed); {} replies sent (one per event), {suppressed} duplicate replies \
         suppressed by uuid",
        orphaned.len(),
        retry_once.len(),
        emu.sent_messages().len()
    );

    // Only the requested dead letters, and `aviary dlq` reads them from Redis.
    let store = RedisStore::open(
        &RedisUrl::new(redis.url(3)),
        APP_ID,
        "checker",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let dead: HashSet<String> = store
        .dead_letters()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.job.dedupe_id)
        .collect();
    assert_eq!(dead, requested_dead);
    let listed = AVIARY.dlq_list(&manifest);
    assert_eq!(listed.lines().count(), requested_dead.len(), "{listed}");
    assert!(listed.contains("rejected: asked to reject"), "{listed}");

    // Exactly once by key-value state across instances: runs cut off by the kill (re-run by a
    // survivor) and retried attempts incremented too, and none of those writes was committed.
    let chats = assert_counts(&AVIARY, &manifest, &expected_counts(N, &requested_dead));
    eprintln!("redis multi-instance, key-value: {chats} chat counters exact");
}

/// An `im.message.receive_v1` envelope `om_<i>` in chat `chat`.
fn chat_envelope(i: usize, chat: &str, text: &str) -> serde_json::Value {
    let mut e = envelope(i, text);
    e["event"]["message"]["chat_id"] = serde_json::Value::String(chat.into());
    e
}

/// `effect` lines of one log with their timestamps (the log's first column, RFC 3339 UTC with
/// microseconds: the processes share one clock, so strings sort in time order).
fn timed_effects(log: &Path) -> Vec<(String, String, u32)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let ts = l.split_whitespace().next()?.to_string();
            let (id, attempt) = effect_of_line(l)?;
            Some((ts, id, attempt))
        })
        .collect()
}

async fn wait_connected(emu: &Emulator, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while emu.connections().len() < n {
        assert!(
            Instant::now() < deadline,
            "the instances did not all connect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Per-chat order across instances: three `aviary run` processes on one Redis, the emulator
/// spreading each chat's messages over them at random. Each round pushes one message per chat
/// and waits for the acks, so each chat's messages arrive (are stored) in push order; some ask
/// for one retry, holding their chat for the backoff while later messages of the chat land on
/// other instances. Every chat's effects (all instances' logs merged by time) must follow the
/// push order: a message's retry comes before the next message's first run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_keep_each_chats_order() {
    const ROUNDS: usize = 40;
    const CHATS: usize = 6;
    const INSTANCES: usize = 3;
    let redis = RedisServer::start();
    let dir = Dir::new("redis-order");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(
        &dir.0,
        &emu,
        &format!("backend = \"{}\"\nclaim_idle_secs = 30\n", redis.url(4)),
        &format!("max_attempts = 3\nbackoff_ms = 600\nbackoff_max_ms = 1200\n{REPLY}"),
    );
    let mut runs: Vec<Run> = (0..INSTANCES)
        .map(|i| AVIARY.spawn(&manifest, dir.0.join(format!("run-{i}.log")), None))
        .collect();
    let logs: Vec<PathBuf> = runs.iter().map(|r| r.log.clone()).collect();
    wait_connected(&emu, INSTANCES).await;
    let mut retry_once = HashSet::new();
    let mut chat_of = HashMap::new();
    for r in 0..ROUNDS {
        let mut ids = Vec::new();
        for c in 0..CHATS {
            let i = r * CHATS + c;
            let text = if (r + c) % 5 == 0 {
                retry_once.insert(format!("om_{i}"));
                "retry-once"
            } else {
                "hello"
            };
            chat_of.insert(format!("om_{i}"), (c, r));
            ids.push(emu.push_event(&chat_envelope(i, &format!("oc_{c}"), text)));
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ids
            .iter()
            .all(|&id| emu.delivery(id).is_some_and(|d| d.acked))
        {
            assert!(Instant::now() < deadline, "round {r} was not acked");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let mut conn = redis::Client::open(redis.url(4))
        .unwrap()
        .get_connection()
        .unwrap();
    let stream = format!("aviary:{{{APP_ID}}}:stream");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let done: HashSet<(String, u32)> = logs.iter().flat_map(|l| effects(l)).collect();
        let finished = chat_of
            .keys()
            .all(|id| done.contains(&(id.clone(), if retry_once.contains(id) { 2 } else { 1 })));
        let held: u64 = redis::cmd("XLEN").arg(&stream).query(&mut conn).unwrap();
        if finished && held == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} effects, {held} jobs held",
            done.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for run in &mut runs {
        assert_eq!(sigterm(run), Some(0), "graceful exit");
    }
    // All effects by time, per chat: (round, attempt, instance).
    let mut all: Vec<(String, String, u32, usize)> = Vec::new();
    for (n, log) in logs.iter().enumerate() {
        all.extend(
            timed_effects(log)
                .into_iter()
                .map(|(ts, id, a)| (ts, id, a, n)),
        );
    }
    all.sort();
    let mut per_chat: BTreeMap<usize, Vec<(usize, u32, usize)>> = BTreeMap::new();
    for (_, id, attempt, n) in &all {
        let (c, r) = chat_of[id];
        per_chat.entry(c).or_default().push((r, *attempt, *n));
    }
    let mut spread = 0;
    for (c, seq) in &per_chat {
        let want: Vec<(usize, u32)> = (0..ROUNDS)
            .flat_map(|r| {
                let id = format!("om_{}", r * CHATS + c);
                let n = if retry_once.contains(&id) { 2 } else { 1 };
                (1..=n).map(move |a| (r, a))
            })
            .collect();
        let got: Vec<(usize, u32)> = seq.iter().map(|&(r, a, _)| (r, a)).collect();
        assert_eq!(
            got, want,
            "chat oc_{c}: effects (round, attempt) out of order"
        );
        let instances: HashSet<usize> = seq.iter().map(|&(.., n)| n).collect();
        if instances.len() > 1 {
            spread += 1;
        }
    }
    // The point: each chat's messages reached several instances (cluster mode), so their
    // order was kept across instances, not merely within one.
    let mut connections_per_chat: HashMap<usize, HashSet<u64>> = HashMap::new();
    for d in emu.deliveries() {
        let Some(i) = d
            .event_id
            .as_deref()
            .and_then(|e| e.strip_prefix("ev-"))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if let Some(first) = d.attempts.first() {
            connections_per_chat
                .entry(i % CHATS)
                .or_default()
                .insert(first.connection);
        }
    }
    let arrived_spread = connections_per_chat
        .values()
        .filter(|c| c.len() > 1)
        .count();
    assert!(
        arrived_spread > 0,
        "no chat's messages reached more than one instance: the test proved nothing"
    );
    let suppressed = assert_one_reply_per_event(&emu, ROUNDS * CHATS);
    eprintln!(
        "per-chat order held over {INSTANCES} instances: {arrived_spread} of {CHATS} chats \
         arrived at several, {spread} ran on several; one reply per event, {suppressed} \
         repeated replies (retries) suppressed"
    );
}

/// A SIGKILLed instance restarted under the same name (`[queue] instance`) resumes its own
/// pending entries at start, although `claim_idle_secs` (600 s) is far beyond this test's
/// deadline and no other instance exists to claim them; a second live process with that name is
/// refused with an error naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_instance_resumes_its_own_entries_at_once() {
    const N: usize = 300;
    let redis = RedisServer::start();
    let dir = Dir::new("redis-restart");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(
        &dir.0,
        &emu,
        &format!(
            "backend = \"{}\"\nclaim_idle_secs = 600\ninstance = \"solo\"\n",
            redis.url(5)
        ),
        "max_attempts = 3\nbackoff_ms = 3000\nbackoff_max_ms = 4000\n",
    );
    let mut first = AVIARY.spawn(&manifest, dir.0.join("first.log"), None);
    wait_connected(&emu, 1).await;
    // Same name, while the first runs: refused.
    let mut twin = AVIARY.spawn(&manifest, dir.0.join("twin.log"), None);
    let status = twin.child.wait().unwrap();
    let twin_log = std::fs::read_to_string(&twin.log).unwrap();
    assert!(!status.success(), "{twin_log}");
    assert!(
        twin_log.contains("instance name `solo` is in use by another live process"),
        "{twin_log}"
    );
    let mut retry_once = HashSet::new();
    for i in 0..N {
        let text = if i % 10 == 3 {
            retry_once.insert(format!("om_{i}"));
            "retry-once"
        } else {
            "hello"
        };
        emu.push_event(&envelope(i, text));
    }
    let mut conn = redis::Client::open(redis.url(5))
        .unwrap()
        .get_connection()
        .unwrap();
    let stream = format!("aviary:{{{APP_ID}}}:stream");
    let held = |conn: &mut redis::Connection| -> usize {
        let p: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(&stream)
            .arg("aviary")
            .arg("-")
            .arg("+")
            .arg(100_000)
            .arg("solo")
            .query(conn)
            .unwrap_or_default();
        p.len()
    };
    let started = Instant::now();
    while !(effects(&first.log).len() >= N / 2 && held(&mut conn) >= 3) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never got going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let orphaned = held(&mut conn);
    assert!(orphaned > 0);
    let second = AVIARY.spawn(&manifest, dir.0.join("second.log"), None);
    let logs = [first.log.clone(), second.log.clone()];
    // Far below claim_idle_secs: only resuming its own entries can finish in time.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done: HashSet<(String, u32)> = logs.iter().flat_map(|l| effects(l)).collect();
        let finished = (0..N).all(|i| {
            let id = format!("om_{i}");
            let last = if retry_once.contains(&id) { 2 } else { 1 };
            done.contains(&(id, last))
        });
        let len: u64 = redis::cmd("XLEN").arg(&stream).query(&mut conn).unwrap();
        if finished && len == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} effects, {len} jobs held; the restarted instance's log:\n{}",
            done.len(),
            std::fs::read_to_string(&logs[1]).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = std::fs::read_to_string(&logs[1]).unwrap();
    assert!(
        log.contains("resuming jobs left by the previous run"),
        "{log}"
    );
    eprintln!("restarted instance resumed {orphaned} entries it held when killed");
}

/// A CA (its certificate in `<name>-ca.pem`) and, signed by it, a server certificate for
/// 127.0.0.1 (`<name>-cert.pem`, key `<name>-key.pem`), written to `dir`. Returns
/// (ca, cert, key).
fn tls_files(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("aviary test CA {name}"));
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let files = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-cert.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&files.0, ca_cert.pem()).unwrap();
    std::fs::write(&files.1, cert.pem()).unwrap();
    std::fs::write(&files.2, key.serialize_pem()).unwrap();
    files
}

/// `rediss://`: `aviary run` on a TLS-only `redis-server` whose certificate is signed by a CA
/// made here, trusted through `[queue] tls_ca`: events flow (each handled and replied to once,
/// a dead letter readable by `aviary dlq` over TLS). With another CA, or with the built-in
/// roots, it refuses to start, and the error names the URL (password redacted), the TLS
/// failure and what to set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_flow_over_rediss_and_an_untrusted_certificate_is_a_clear_error() {
    const N: usize = 60;
    let dir = Dir::new("redis-tls");
    let (ca, cert, key) = tls_files(&dir.0, "good");
    let (other_ca, ..) = tls_files(&dir.0, "other");
    let redis = RedisServer::start_tls(&cert, &key);
    assert!(redis.url(0).starts_with("rediss://"));
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(
        &dir.0,
        &emu,
        &format!(
            "backend = \"{}\"\ntls_ca = \"{}\"\n",
            redis.url(0),
            ca.display()
        ),
        &format!("max_attempts = 2\nbackoff_ms = 20\nbackoff_max_ms = 100\n{REPLY}"),
    );
    let mut run = AVIARY.spawn(&manifest, dir.0.join("tls.log"), None);
    wait_connected(&emu, 1).await;
    for i in 0..N {
        let text = match i % 20 {
            3 => "please reject",
            7 => "retry-once",
            _ => "hello",
        };
        emu.push_event(&envelope(i, text));
    }
    let mut conn = redis::Client::build_with_tls(
        redis.url(0),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(std::fs::read(&ca).unwrap()),
        },
    )
    .unwrap()
    .get_connection()
    .unwrap();
    let stream = format!("aviary:{{{APP_ID}}}:stream");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let handled: HashSet<String> = effects(&run.log).into_iter().map(|(id, _)| id).collect();
        let unacked = emu.deliveries().iter().filter(|d| !d.acked).count();
        let held: u64 = redis::cmd("XLEN").arg(&stream).query(&mut conn).unwrap();
        if handled.len() == N && unacked == 0 && held == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {N} handled, {unacked} unacked, {held} held:\n{}",
            handled.len(),
            std::fs::read_to_string(&run.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sigterm(&mut run), Some(0), "graceful exit");
    let mut runs: HashMap<(String, u32), usize> = HashMap::new();
    for e in effects(&run.log) {
        *runs.entry(e).or_default() += 1;
    }
    assert!(
        runs.values().all(|&n| n == 1),
        "an attempt ran twice: {runs:?}"
    );
    assert_eq!(
        runs.len(),
        N + N / 20,
        "one run per event, two for retry-once"
    );
    let suppressed = assert_one_reply_per_event(&emu, N);
    let listed = AVIARY.dlq_list(&manifest);
    assert_eq!(listed.lines().count(), N / 20, "{listed}");

    // The server's certificate is not signed by the CA given, or by a public one: refused,
    // naming the URL without its password, what failed and what to set.
    let url = format!("rediss://:hunter2@127.0.0.1:{}/0", redis.port());
    let shown = format!("rediss://:***@127.0.0.1:{}/0", redis.port());
    for (tag, ca_line, says) in [
        (
            "wrong-ca",
            format!("tls_ca = \"{}\"\n", other_ca.display()),
            format!("not signed by the CA in tls_ca `{}`", other_ca.display()),
        ),
        (
            "no-ca",
            String::new(),
            "for a private CA set `[queue] tls_ca`".to_string(),
        ),
    ] {
        let sub = dir.0.join(tag);
        std::fs::create_dir_all(&sub).unwrap();
        let manifest = write_manifest(&sub, &emu, &format!("backend = \"{url}\"\n{ca_line}"), "");
        let (code, log) = AVIARY.run_until_exit(&manifest, sub.join("run.log")).await;
        assert_eq!(code, Some(1), "{tag}: {log}");
        let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{tag}: {log}");
        let error = errors[0];
        assert!(
            error.contains(&shown)
                && error.contains("cannot connect")
                && error.to_ascii_lowercase().contains("certificate")
                && error.contains(&says),
            "{tag}: {error}"
        );
        assert!(!log.contains("hunter2"), "{tag}: password leaked: {log}");
        eprintln!("{tag}: {error}");
    }
    eprintln!(
        "rediss: {N} events through a TLS redis-server, one reply each ({suppressed} repeated \
         replies suppressed); an untrusted certificate refused"
    );
}
