//! `aviary dlq` while `aviary run` runs on the disk backend: the queue file is locked, so the
//! CLI asks the running process over its socket (`<queue file>.sock`, mode 0600). The real
//! binary both ways: list, show, replay (the replayed handlers run at once in the running
//! process), purge; and the error when the file is locked and nobody answers on the socket.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use aviary_emulator::Emulator;

use aviary_test_support::binary::{sigterm, stdout, Aviary};
use aviary_test_support::recorder::*;
use aviary_test_support::Dir;

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_commands_work_while_aviary_run_holds_the_queue_file() {
    let dir = Dir::new("dlq-live");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(&dir.0, &emu, "", "max_attempts = 2\nbackoff_ms = 100\n");
    let queue_file = dir.0.join(".aviary/queue.redb");
    let socket = dir.0.join(".aviary/queue.redb.sock");
    let mut run = AVIARY.spawn(&manifest, dir.0.join("run.log"), None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while emu.connections().is_empty() {
        assert!(Instant::now() < deadline, "aviary run did not connect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut rejected = HashSet::new();
    for i in 0..10 {
        let text = if i % 2 == 0 {
            rejected.insert(format!("om_{i}"));
            "please reject"
        } else {
            "hello"
        };
        emu.push_event(&envelope(i, text));
    }
    // The file is locked by the running process: the CLI goes through its socket.
    let deadline = Instant::now() + Duration::from_secs(60);
    let listed = loop {
        let out = stdout(&AVIARY.dlq(&manifest, &["list"]));
        if out.lines().count() == rejected.len() && !out.contains("no dead letters") {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "dead letters never listed: {out}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        aviary::queue::open_disk(&queue_file).is_err(),
        "the file is locked while aviary run runs"
    );
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only the owner may connect");
    let listed_ids: HashSet<String> = listed
        .lines()
        .map(|l| l.split('\t').nth(2).unwrap().to_string())
        .collect();
    assert_eq!(listed_ids, rejected, "{listed}");
    let first_id = listed.lines().next().unwrap().split('\t').next().unwrap();
    let shown = stdout(&AVIARY.dlq(&manifest, &["show", first_id]));
    assert!(
        shown.contains("please reject") && shown.contains("\"dead\""),
        "{shown}"
    );
    let missing = AVIARY.dlq(&manifest, &["show", "999999"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no dead letter with id 999999"),
        "{missing:?}"
    );

    // Replay: the running process runs the handler again at once (it rejects again).
    let replayed = stdout(&AVIARY.dlq(&manifest, &["replay", "--all"]));
    assert!(
        replayed.contains(&format!("replayed {} dead letters", rejected.len()))
            && replayed.contains("they run now in the running aviary"),
        "{replayed}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = effects(&run.log);
        let done = rejected
            .iter()
            .all(|id| runs.iter().filter(|(e, _)| e == id).count() == 2);
        let out = stdout(&AVIARY.dlq(&manifest, &["list"]));
        if done && out.lines().count() == rejected.len() && !out.contains("no dead letters") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replayed jobs did not run in the running process: {out}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let purged = stdout(&AVIARY.dlq(&manifest, &["purge"]));
    assert!(
        purged.contains(&format!("purged {} dead letters", rejected.len())),
        "{purged}"
    );
    assert!(stdout(&AVIARY.dlq(&manifest, &["list"])).contains("no dead letters"));

    assert_eq!(sigterm(&mut run), Some(0));
    assert!(!socket.exists(), "the socket is removed at exit");

    // Locked by someone who does not answer (a stale socket): a clear error naming both.
    let holder = aviary::queue::open_disk(&queue_file).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let out = AVIARY.dlq(&manifest, &["list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("another aviary process has this queue open")
            && err.contains("does not answer on")
            && err.contains("queue.redb.sock"),
        "{err}"
    );
    drop(holder);
    // Not locked: the file is used directly, the stale socket ignored.
    assert!(stdout(&AVIARY.dlq(&manifest, &["list"])).contains("no dead letters"));
}
