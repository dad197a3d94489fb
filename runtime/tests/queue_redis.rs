//! The Redis backend as a user runs it: three `aviary run` processes of one app share one real
//! `redis-server` (started on a free port by the test) against the emulator in cluster mode
//! (each event goes to one random live connection); one of them is SIGKILLed mid-run. Every
//! event must be handled exactly once, except handler runs cut off by the kill (the same rule
//! as queue_crash.rs), and the killed instance's jobs must be claimed by the survivors.
//! Needs `redis-server` on PATH (scripts/setup-tests.sh installs it); without it the test fails.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aviary::emulator::{DeliveryStatus, Emulator};
use aviary::queue::redis::test_server::RedisServer;
use aviary::queue::redis::{RedisStore, RedisUrl};
use aviary::queue::QueueStore;

mod queue_support;
use queue_support::*;

/// The manifest of this test: the Redis queue at `redis_url`, a short claim timeout, and
/// retries slow enough that a killed instance surely holds jobs.
fn manifest(dir: &Path, emu: &Emulator, redis_url: &str) -> PathBuf {
    write_manifest(
        dir,
        emu,
        &format!("backend = \"{redis_url}\"\nclaim_idle_secs = 2\n"),
        "max_attempts = 3\nbackoff_ms = 2000\nbackoff_max_ms = 4000\n",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_one_redis_one_is_sigkilled_every_event_handled_once() {
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
        .map(|i| spawn(&manifest, dir.0.join(format!("run-{i}.log")), None))
        .collect();
    let logs: Vec<PathBuf> = runs.iter().map(|r| r.log.clone()).collect();
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
    let consumer0_prefix = format!("-{}-", runs[0].child.id());
    let held_by_0 = |conn: &mut redis::Connection| -> Vec<(String, String)> {
        let consumers: Vec<redis::Value> = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&stream)
            .arg("aviary")
            .query(conn)
            .unwrap_or_default();
        let mut name = None;
        for c in consumers {
            let map: HashMap<String, redis::Value> = redis::from_redis_value(c).unwrap();
            let n: String = redis::from_redis_value(map["name"].clone()).unwrap();
            if n.contains(&consumer0_prefix) {
                name = Some(n);
            }
        }
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
    let started = Instant::now();
    loop {
        // Retries wait 1-2 s (backoff 2 s with jitter), so retry-once events stay held.
        if effects(&logs[0]).len() >= 300 && held_by_0(&mut conn).len() >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "instance 0 never got going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    runs[0].child.kill().unwrap();
    runs[0].child.wait().unwrap();
    let killed_at = effects(&logs[0]).len();
    let orphaned = held_by_0(&mut conn);
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
        if all.len() == N && unacked == 0 && held == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {N} events have an effect, {unacked} deliveries unacked, {held} jobs held; \
             a survivor's log:\n{}",
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
    eprintln!(
        "redis multi-instance: {N} events over {INSTANCES} instances (handled per instance: \
         {by_run:?}; instance 0 SIGKILLed after {killed_at}), {cut_off_reruns} runs cut off by \
         the kill and run again; it held {} jobs when killed, taken over by the survivors",
        orphaned.len()
    );

    // Only the requested dead letters, and `aviary dlq` reads them from Redis.
    let store = RedisStore::open(
        &RedisUrl::new(redis.url(3)),
        APP_ID,
        "checker",
        Duration::from_secs(60),
    )
    .unwrap();
    let dead: HashSet<String> = store
        .dead_letters()
        .unwrap()
        .into_iter()
        .map(|r| r.job.dedupe_id)
        .collect();
    assert_eq!(dead, requested_dead);
    let out = Command::new(binary())
        .args(["dlq", "list", "-m"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listed.lines().count(), requested_dead.len(), "{listed}");
    assert!(listed.contains("rejected: asked to reject"), "{listed}");
}
