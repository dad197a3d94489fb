use super::scripts::FORGET_CONSUMERS;
use super::*;
use crate::queue::store::{ChatTurn, HandlerStatus, NewJob, Settle};
use aviary_redis_test_server::RedisServer;
use redis::Value;
use std::sync::Arc;

/// An event of its own chat (`oc_<id>`).
fn job(id: &str) -> NewJob {
    chat_job(id, &format!("oc_{id}"))
}

fn chat_job(id: &str, chat: &str) -> NewJob {
    NewJob {
        dedupe_id: id.into(),
        event_id: id.into(),
        event_type: "im.message.receive_v1".into(),
        chat_id: Some(chat.into()),
        trace_id: String::new(),
        envelope: "{}".into(),
        handlers: vec!["a".into(), "b".into()],
    }
}

fn batch(admit: Vec<NewJob>, settle: Vec<Settle>, now_ms: u64) -> Batch {
    Batch {
        admit,
        settle,
        now_ms,
        dedupe_window: Duration::from_secs(2),
        dedupe_max_entries: 3,
        capacity: 2,
        kv: Vec::new(),
    }
}

async fn open(server: &RedisServer, app: &str, consumer: &str) -> RedisStore {
    open_idle(server, app, consumer, Duration::from_millis(600)).await
}

async fn open_idle(server: &RedisServer, app: &str, consumer: &str, idle: Duration) -> RedisStore {
    RedisStore::open(&RedisUrl::new(server.url(0)), app, consumer, idle)
        .await
        .unwrap()
}

fn accepted(a: &Admission) -> JobRecord {
    match a {
        Admission::Accepted(r) => (**r).clone(),
        other => panic!("not accepted: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admits_dedupes_bounds_retries_dead_letters_and_replays() {
    let server = RedisServer::start();
    let idle = Duration::from_secs(30);
    let store = open_idle(&server, "cli_a", "one", idle).await;
    let out = store
        .commit(batch(
            vec![job("a"), job("a"), job("b"), job("c")],
            vec![],
            1000,
        ))
        .await
        .unwrap();
    let a = accepted(&out[0]);
    assert_eq!(a.id, 1);
    assert_eq!(out[1], Admission::Duplicate, "a duplicate within one batch");
    let b = accepted(&out[2]);
    assert_eq!(b.id, 2);
    assert_eq!(out[3], Admission::Full, "capacity 2");
    // Another app on the same Redis is not affected by cli_a's keys.
    let other = open(&server, "cli_b", "x").await;
    assert!(matches!(
        other
            .commit(batch(vec![job("a")], vec![], 1000))
            .await
            .unwrap()[0],
        Admission::Accepted(_)
    ));

    // Retry: only handler a failed; the stored record keeps b done.
    let mut retry = a.clone();
    retry.states[0].attempts = 1;
    retry.states[0].next_at_ms = 5000;
    retry.states[1].status = HandlerStatus::Done;
    retry.states[1].attempts = 1;
    let out = store
        .commit(batch(
            vec![job("c")],
            vec![Settle::of(retry.clone()), Settle::Done(2)],
            2000,
        ))
        .await
        .unwrap();
    assert_eq!(accepted(&out[0]).id, 3, "c got b's room");
    // A fresh consumer sees nothing to claim yet (entries are not idle).
    let second = open_idle(&server, "cli_a", "two", idle).await;
    assert!(second.claim().await.unwrap().is_empty());
    assert_eq!(
        store.dead_letters().await.unwrap(),
        vec![],
        "nothing dead yet"
    );

    // Dead: handler a gave up.
    let mut dead = retry.clone();
    dead.states[0].status = HandlerStatus::Dead;
    dead.states[0].last_error = Some("boom".into());
    store
        .commit(batch(vec![], vec![Settle::of(dead.clone())], 3000))
        .await
        .unwrap();
    let letters = store.dead_letters().await.unwrap();
    assert_eq!(letters, vec![dead.clone()]);
    // a stays deduped after it finished (within the window)...
    assert_eq!(
        store
            .commit(batch(vec![job("a")], vec![], 3000))
            .await
            .unwrap()[0],
        Admission::Duplicate
    );
    // ...and is new again after it (Redis expiry: the window is 2 s here).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = accepted(
        &store
            .commit(batch(vec![job("a")], vec![], 5000))
            .await
            .unwrap()[0],
    );
    assert_eq!(again.id, 4);
    store
        .commit(batch(vec![], vec![Settle::Done(4)], 5000))
        .await
        .unwrap();

    // Replay: only the dead handler is pending again; another instance picks it up.
    assert_eq!(
        store.replay(Some(&[99]), 6000).await.unwrap(),
        Vec::<u64>::new()
    );
    assert_eq!(store.replay(None, 6000).await.unwrap(), vec![1]);
    assert!(store.dead_letters().await.unwrap().is_empty());
    let picked = second.claim().await.unwrap();
    assert_eq!(picked.len(), 1);
    assert_eq!(picked[0].id, 1);
    assert_eq!(picked[0].states[0].status, HandlerStatus::Pending);
    assert_eq!(picked[0].states[0].attempts, 0);
    assert_eq!(picked[0].states[1].status, HandlerStatus::Done);

    // Purge.
    let mut dead = picked[0].clone();
    dead.states[0].status = HandlerStatus::Dead;
    second
        .commit(batch(vec![], vec![Settle::of(dead)], 7000))
        .await
        .unwrap();
    assert_eq!(store.purge().await.unwrap(), 1);
    assert!(store.dead_letters().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_consumers_entries_are_claimed_after_the_idle_timeout_and_a_live_ones_are_not() {
    let server = RedisServer::start();
    let dying = open(&server, "cli_a", "dying").await;
    let live = open(&server, "cli_a", "live").await;
    let claimer = open(&server, "cli_a", "claimer").await;
    let d = accepted(
        &dying
            .commit(batch(vec![job("d")], vec![], 1))
            .await
            .unwrap()[0],
    );
    let l = accepted(&live.commit(batch(vec![job("l")], vec![], 1)).await.unwrap()[0]);
    let mut got = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The live instance's heartbeat (it may claim the dying one's entry, too).
        got.extend(
            live.claim()
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.id, "live")),
        );
    }
    got.extend(
        claimer
            .claim()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.id, "claimer")),
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].0, d.id,
        "only the silent consumer's entry is claimed: {got:?}"
    );
    let new_owner = if got[0].1 == "live" { &live } else { &claimer };
    // The dying instance (if it was only stalled) can no longer settle what was claimed.
    let mut retry = d.clone();
    retry.states[0].attempts = 9;
    dying
        .commit(batch(vec![], vec![Settle::Retry(retry)], 2))
        .await
        .unwrap();
    let mut conn = redis::Client::open(server.url(0))
        .unwrap()
        .get_connection()
        .unwrap();
    let rec: String = redis::cmd("HGET")
        .arg(format!("aviary:{{cli_a}}:job:{}", d.id))
        .arg("rec")
        .query(&mut conn)
        .unwrap();
    assert!(!rec.contains("\"attempts\":9"), "{rec}");
    new_owner
        .commit(batch(vec![], vec![Settle::Done(d.id)], 2))
        .await
        .unwrap();
    live.commit(batch(vec![], vec![Settle::Done(l.id)], 2))
        .await
        .unwrap();
    assert!(claimer.claim().await.unwrap().is_empty());
    let len: u64 = redis::cmd("XLEN")
        .arg("aviary:{cli_a}:stream")
        .query(&mut conn)
        .unwrap();
    assert_eq!(len, 0, "every job settled once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_of_stopped_instances_are_forgotten_once_empty() {
    let server = RedisServer::start();
    let gone = open(&server, "cli_a", "gone").await;
    let live = open(&server, "cli_a", "live").await;
    let j = accepted(&gone.commit(batch(vec![job("g")], vec![], 1)).await.unwrap()[0]);
    drop(gone);
    let mut conn = redis::Client::open(server.url(0))
        .unwrap()
        .get_connection()
        .unwrap();
    let names = |conn: &mut redis::Connection| -> Vec<String> {
        let v: Vec<Vec<Value>> = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg("aviary:{cli_a}:stream")
            .arg("aviary")
            .query(conn)
            .unwrap();
        let mut n: Vec<String> = v
            .iter()
            .map(|c| redis::from_redis_value_ref(&c[1]).unwrap())
            .collect();
        n.sort();
        n
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        live.claim().await.unwrap()[0].id,
        j.id,
        "claimed from the stopped one"
    );
    // Its idle time (over 700 ms) is below the 60 s floor: still listed.
    assert_eq!(names(&mut conn), vec!["gone", "live"]);
    redis::Script::new(FORGET_CONSUMERS)
        .arg("aviary:{cli_a}:stream")
        .arg("live")
        .arg(500)
        .invoke::<Value>(&mut conn)
        .unwrap();
    assert_eq!(
        names(&mut conn),
        vec!["live"],
        "empty and silent: forgotten"
    );
    live.commit(batch(vec![], vec![Settle::Done(j.id)], 2))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_from_a_stalled_owner_is_not_applied_after_a_claim() {
    let server = RedisServer::start();
    let stalled = open(&server, "cli_a", "stalled").await;
    let claimer = open(&server, "cli_a", "claimer").await;
    let j = accepted(
        &stalled
            .commit(batch(vec![job("j")], vec![], 1))
            .await
            .unwrap()[0],
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(claimer.claim().await.unwrap().len(), 1);
    let mut dead = j.clone();
    dead.states[0].status = HandlerStatus::Dead;
    stalled
        .commit(batch(vec![], vec![Settle::of(dead)], 2))
        .await
        .unwrap();
    assert!(
        stalled.dead_letters().await.unwrap().is_empty(),
        "the stalled owner's outcome is dropped"
    );
    assert!(
        stalled.describe().starts_with("redis redis://127.0.0.1:")
            && stalled.describe().ends_with("(consumer stalled)"),
        "{}",
        stalled.describe()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_admitting_the_same_event_at_once_accept_it_once() {
    let server = RedisServer::start();
    let mut stores = Vec::new();
    for i in 0..4 {
        stores.push(open_idle(&server, "cli_a", &format!("c{i}"), Duration::from_secs(30)).await);
    }
    let stores: Vec<Arc<RedisStore>> = stores.into_iter().map(Arc::new).collect();
    // Each store's commit on a task of its own, so the four run at once.
    let commits: Vec<_> = stores
        .iter()
        .map(|st| {
            let mut b = batch((0..50).map(|i| job(&format!("e{i}"))).collect(), vec![], 1);
            b.capacity = 1_000;
            let st = st.clone();
            tokio::spawn(async move { st.commit(b).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for c in commits {
        accepted += c
            .await
            .unwrap()
            .iter()
            .filter(|a| matches!(a, Admission::Accepted(_)))
            .count();
    }
    assert_eq!(
        accepted, 50,
        "each of the 50 events accepted by exactly one instance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_whose_reply_was_lost_is_handed_over_by_the_heartbeat() {
    let server = RedisServer::start();
    let store = open_idle(&server, "cli_a", "one", Duration::from_secs(30)).await;
    let kept = accepted(
        &store
            .commit(batch(vec![job("k")], vec![], 1))
            .await
            .unwrap()[0],
    );
    let lost = accepted(
        &store
            .commit(batch(vec![job("l")], vec![], 1))
            .await
            .unwrap()[0],
    );
    // As if the reply of `lost`'s commit never arrived: the engine does not hold it.
    store.held.lock().unwrap().remove(&lost.id);
    assert!(
        store.claim().await.unwrap().is_empty(),
        "first sighting: only a suspect"
    );
    let back = store.claim().await.unwrap();
    assert_eq!(back.iter().map(|r| r.id).collect::<Vec<_>>(), vec![lost.id]);
    assert!(store.claim().await.unwrap().is_empty(), "now held again");
    store
        .commit(batch(
            vec![],
            vec![Settle::Done(kept.id), Settle::Done(lost.id)],
            2,
        ))
        .await
        .unwrap();
    assert!(store.held.lock().unwrap().is_empty());
}

fn ids(records: &[JobRecord]) -> Vec<u64> {
    records.iter().map(|r| r.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chats_later_events_go_to_the_instance_holding_its_earlier_ones() {
    let server = RedisServer::start();
    let idle = Duration::from_secs(30);
    let a = open_idle(&server, "cli_a", "a", idle).await;
    let b = open_idle(&server, "cli_a", "b", idle).await;
    let mut big = batch(vec![chat_job("1", "oc_x")], vec![], 1);
    big.capacity = 100;
    let x1 = accepted(&a.commit(big.clone()).await.unwrap()[0]);
    big.admit = vec![chat_job("2", "oc_x"), chat_job("3", "oc_y")];
    let out = b.commit(big.clone()).await.unwrap();
    let Admission::Forwarded(x2) = out[0] else {
        panic!("oc_x's earlier event is unfinished on a: {:?}", out[0]);
    };
    let y3 = accepted(&out[1]);
    assert!(b.claim().await.unwrap().is_empty(), "b must not run x2");
    assert_eq!(ids(&a.claim().await.unwrap()), vec![x2], "a's inbox");
    assert!(a.claim().await.unwrap().is_empty(), "handed over once");
    // While x2 is unfinished (even waiting for a retry), oc_x stays with a.
    big.admit = vec![];
    big.settle = vec![Settle::Done(x1.id)];
    a.commit(big.clone()).await.unwrap();
    big.settle = vec![];
    big.admit = vec![chat_job("4", "oc_x")];
    let Admission::Forwarded(x4) = b.commit(big.clone()).await.unwrap()[0] else {
        panic!("x2 is unfinished on a");
    };
    assert_eq!(ids(&a.claim().await.unwrap()), vec![x4]);
    big.admit = vec![];
    big.settle = vec![Settle::Done(x2), Settle::Done(x4)];
    a.commit(big.clone()).await.unwrap();
    // The chat is free again: its next event stays with whoever admits it.
    big.settle = vec![Settle::Done(y3.id)];
    big.admit = vec![chat_job("5", "oc_x")];
    let x5 = accepted(&b.commit(big.clone()).await.unwrap()[0]);
    assert!(x5.id > x4);
    let mut conn = redis::Client::open(server.url(0))
        .unwrap()
        .get_connection()
        .unwrap();
    let owner: String = redis::cmd("GET")
        .arg("aviary:{cli_a}:chat:oc_x")
        .query(&mut conn)
        .unwrap();
    assert_eq!(owner, "b");
    big.admit = vec![];
    big.settle = vec![Settle::Done(x5.id)];
    b.commit(big).await.unwrap();
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("aviary:{cli_a}:*")
        .query(&mut conn)
        .unwrap();
    assert!(
        !left
            .iter()
            .any(|k| k.contains(":lane:") || k.contains(":chat:")),
        "no lane or lease left once every job settled: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holders_chat_moves_whole_to_one_claimer() {
    let server = RedisServer::start();
    let dying = open(&server, "cli_a", "dying").await;
    let one = open(&server, "cli_a", "one").await;
    let two = open(&server, "cli_a", "two").await;
    let mut big = batch(
        vec![chat_job("1", "oc_x"), chat_job("2", "oc_x")],
        vec![],
        1,
    );
    big.capacity = 100;
    let first: Vec<u64> = dying
        .commit(big.clone())
        .await
        .unwrap()
        .iter()
        .map(|a| accepted(a).id)
        .collect();
    // As if SIGKILLed: its liveness key expires and its entries go idle.
    std::mem::forget(dying);
    tokio::time::sleep(Duration::from_millis(700)).await;
    // A new event of the chat still joins its (dead) holder: it must not run before 1 and 2.
    big.admit = vec![chat_job("3", "oc_x")];
    let Admission::Forwarded(third) = one.commit(big.clone()).await.unwrap()[0] else {
        panic!("x3 must follow x1 and x2");
    };
    // 1 and 2 are idle, 3 is not: the claimer still takes the whole chat, in order.
    let got = two.claim().await.unwrap();
    assert_eq!(ids(&got), vec![first[0], first[1], third]);
    assert!(
        one.claim().await.unwrap().is_empty(),
        "nothing of oc_x for one"
    );
    big.admit = vec![chat_job("4", "oc_x")];
    assert!(matches!(
        one.commit(big.clone()).await.unwrap()[0],
        Admission::Forwarded(_)
    ));
    assert_eq!(two.claim().await.unwrap().len(), 1, "x4 joins two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chats_job_runs_only_as_its_lanes_head_and_a_stalled_holder_learns_it_lost_the_chat() {
    let server = RedisServer::start();
    let stalled = open(&server, "cli_a", "stalled").await;
    let other = open(&server, "cli_a", "other").await;
    let mut big = batch(
        vec![chat_job("1", "oc_x"), chat_job("2", "oc_x"), job("3")],
        vec![],
        1,
    );
    big.capacity = 100;
    let out: Vec<JobRecord> = stalled
        .commit(big)
        .await
        .unwrap()
        .iter()
        .map(accepted)
        .collect();
    assert_eq!(
        stalled.is_next_of_chat(&out[0]).await.unwrap(),
        ChatTurn::Next
    );
    assert_eq!(
        stalled.is_next_of_chat(&out[1]).await.unwrap(),
        ChatTurn::NotYet
    );
    assert_eq!(
        stalled.is_next_of_chat(&out[2]).await.unwrap(),
        ChatTurn::Next
    );
    // No heartbeat for longer than the claim timeout: its chat moves to `other`.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        ids(&other.claim().await.unwrap()),
        vec![out[0].id, out[1].id, out[2].id]
    );
    assert_eq!(
        stalled.is_next_of_chat(&out[0]).await.unwrap(),
        ChatTurn::Lost
    );
    assert_eq!(
        other.is_next_of_chat(&out[0]).await.unwrap(),
        ChatTurn::Next
    );
    assert_eq!(
        other.is_next_of_chat(&out[1]).await.unwrap(),
        ChatTurn::NotYet
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dedupe_set_is_bounded_by_count_as_well_as_by_the_window() {
    let server = RedisServer::start();
    let store = open_idle(&server, "cli_a", "one", Duration::from_secs(30)).await;
    let mut b = batch(
        ["a", "b", "c", "d", "e"].iter().map(|i| job(i)).collect(),
        vec![],
        1,
    );
    b.capacity = 100;
    b.dedupe_window = Duration::from_secs(3600);
    let out = store.commit(b.clone()).await.unwrap();
    assert!(out.iter().all(|a| matches!(a, Admission::Accepted(_))));
    let mut conn = redis::Client::open(server.url(0))
        .unwrap()
        .get_connection()
        .unwrap();
    let kept: u64 = redis::cmd("ZCARD")
        .arg("aviary:{cli_a}:dedupe_ids")
        .query(&mut conn)
        .unwrap();
    assert_eq!(kept, 3, "dedupe_max_entries = 3");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("aviary:{cli_a}:dedupe:*")
        .query(&mut conn)
        .unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    // The oldest (a, b) are forgotten, the newest (e) is still a duplicate.
    b.admit = vec![job("e"), job("a")];
    let out = store.commit(b).await.unwrap();
    assert_eq!(out[0], Admission::Duplicate);
    assert!(matches!(out[1], Admission::Accepted(_)), "{:?}", out[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_name_is_held_by_one_live_process_and_resumed_after_it_died() {
    let server = RedisServer::start();
    let idle = Duration::from_secs(30);
    let url = RedisUrl::new(server.url(0));
    let first = open_idle(&server, "cli_a", "inst", idle).await;
    let e = RedisStore::open(&url, "cli_a", "inst", idle)
        .await
        .err()
        .expect("the name is held");
    assert!(
        e.to_string()
            .contains("instance name `inst` is in use by another live process"),
        "{e}"
    );
    // The default identity falls back to the next free name.
    let second = RedisStore::open_instance(&url, "cli_a", "inst", idle)
        .await
        .unwrap();
    assert_eq!(second.consumer(), "inst-2");
    drop(second);
    let j = accepted(
        &first
            .commit(batch(vec![job("j")], vec![], 1))
            .await
            .unwrap()[0],
    );
    // Killed (its key stays): a holder on this host whose process is gone is replaced...
    std::mem::forget(first);
    let mut conn = redis::Client::open(server.url(0))
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("aviary:{cli_a}:alive:inst")
        .arg(format!("{} 4000000000 dead", hostname()))
        .query(&mut conn)
        .unwrap();
    let again = open_idle(&server, "cli_a", "inst", idle).await;
    // ...and the restarted instance resumes its entries at once, not after `idle`.
    assert_eq!(ids(&again.pending().await.unwrap()), vec![j.id]);
    drop(again);
    // A holder on another host is never replaced.
    let _: () = redis::cmd("SET")
        .arg("aviary:{cli_a}:alive:inst")
        .arg("elsewhere 1 tok")
        .query(&mut conn)
        .unwrap();
    let e = RedisStore::open(&url, "cli_a", "inst", idle)
        .await
        .err()
        .expect("held on another host");
    assert!(e.to_string().contains("host elsewhere"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_never_appears_in_errors() {
    let server = RedisServer::start();
    let url = RedisUrl::new(format!("redis://:hunter2@127.0.0.1:{}/0", server.port()));
    let e = RedisStore::open(&url, "cli_a", "c", Duration::from_secs(1))
        .await
        .err()
        .expect("no password is set on the server, so AUTH fails");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(e.to_string().contains("redis://:***@127.0.0.1"), "{e}");

    // Nothing listening: a clear error, still without the password.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = RedisUrl::new(format!("redis://app:hunter2@127.0.0.1:{port}/0"));
    let e = RedisStore::open(&url, "cli_a", "c", Duration::from_secs(1))
        .await
        .err()
        .expect("nothing listens there");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("redis://app:***@127.0.0.1:{port}/0"))
            && e.to_string().contains("cannot connect"),
        "{e}"
    );
}
