//! Handler filters (`chat_types`, `require_mention`, `ignore_senders`, `max_event_age_secs`,
//! `chats`, `users`) as a user runs them: the real `aviary run` binary, the recorder Wasm guest
//! (it logs `effect <dedupe_id> attempt <n>` for every call), the emulator on 127.0.0.1. Each
//! filter gets an event that only it refuses, next to events that pass; on the queued path
//! (`ack = "after-persist"`, the bot's open_id asked from the emulator's bot info API) and on
//! the synchronous one (`ack = "after-handle"`, the open_id from `[feishu] bot_open_id`).
//! Asserted: every delivery acked 200, the guest called for exactly the passing events, and
//! the final counters name each filtered event's handler and reason.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aviary_emulator::{Emulator, BOT_OPEN_ID};
use aviary_test_support::binary::{sigterm, Aviary, Run};
use aviary_test_support::recorder::{effects, emulator_config, recorder_wasm, APP_ID};
use aviary_test_support::Dir;
use serde_json::{json, Value};

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A message `om_<id>` of chat `chat` (type `chat_type`) by `sender` (`sender_type`),
/// @-mentioning `mentions`, created `age_ms` ago.
fn message(
    id: &str,
    chat: &str,
    chat_type: &str,
    (sender, sender_type): (&str, &str),
    mentions: &[&str],
    age_ms: u64,
) -> Value {
    let mentions: Vec<Value> = mentions
        .iter()
        .enumerate()
        .map(
            |(i, m)| json!({"key": format!("@_user_{}", i + 1), "id": {"open_id": m}, "name": "n"}),
        )
        .collect();
    json!({
        "schema": "2.0",
        "header": {"event_id": format!("ev-{id}"), "event_type": "im.message.receive_v1",
                   "create_time": (now_ms() - age_ms).to_string(), "token": "",
                   "app_id": APP_ID, "tenant_key": "t"},
        "event": {
            "sender": {"sender_id": {"open_id": sender}, "sender_type": sender_type},
            "message": {"message_id": format!("om_{id}"), "chat_id": chat, "chat_type": chat_type,
                        "message_type": "text", "content": "{\"text\":\"@_user_1 hi\"}",
                        "mentions": mentions}
        }
    })
}

/// The events, and which of them must reach the handler (by dedupe id).
fn events() -> (Vec<Value>, BTreeSet<String>) {
    let user = ("ou_ok", "user");
    let fresh = 1_000;
    let events = vec![
        message(
            "pass-mention",
            "oc_ok",
            "group",
            user,
            &[BOT_OPEN_ID],
            fresh,
        ),
        message("pass-p2p", "oc_ok", "p2p", user, &[], fresh),
        message("no-mention", "oc_ok", "group", user, &["ou_someone"], fresh),
        message(
            "old",
            "oc_ok",
            "group",
            user,
            &[BOT_OPEN_ID],
            2 * 3600 * 1000,
        ),
        message(
            "other-bot",
            "oc_ok",
            "group",
            ("ou_otherbot", "app"),
            &[BOT_OPEN_ID],
            fresh,
        ),
        message("topic", "oc_ok", "topic_group", user, &[BOT_OPEN_ID], fresh),
        message(
            "other-chat",
            "oc_other",
            "group",
            user,
            &[BOT_OPEN_ID],
            fresh,
        ),
        message(
            "stranger",
            "oc_ok",
            "group",
            ("ou_stranger", "user"),
            &[BOT_OPEN_ID],
            fresh,
        ),
        // A card callback by an allowed user in an allowed chat passes every filter (it is
        // no message: chat_types and require_mention do not apply).
        json!({
            "schema": "2.0",
            "header": {"event_id": "ev-card", "event_type": "card.action.trigger",
                       "create_time": now_ms().to_string(), "app_id": APP_ID, "tenant_key": "t"},
            "event": {"operator": {"open_id": "ou_ok"}, "token": "c-1",
                      "action": {"value": {"k": "v"}, "tag": "button"},
                      "context": {"open_message_id": "om_card", "open_chat_id": "oc_ok"}}
        }),
    ];
    let pass = ["om_pass-mention", "om_pass-p2p", "ev-card"]
        .into_iter()
        .map(String::from)
        .collect();
    (events, pass)
}

const FILTERS: &str = "chat_types = [\"p2p\", \"group\"]\nrequire_mention = true\n\
                       ignore_senders = [\"bot\"]\nmax_event_age_secs = 600\n\
                       chats = [\"oc_ok\"]\nusers = [\"ou_ok\"]\n";

fn write_manifest(dir: &Path, emu: &Emulator, feishu_extra: &str, queue: &str) -> PathBuf {
    let text = format!(
        "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n\
         {feishu_extra}\n[queue]\n{queue}\n\n\
         [[handler]]\nname = \"rec\"\ncomponent = \"{}\"\n\
         events = [\"im.message.receive_v1\", \"card.action.trigger\"]\n{FILTERS}",
        emu.domain(),
        recorder_wasm().display()
    );
    let path = dir.join("aviary.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `aviary run` with the counters and the filters' info lines in its log.
fn spawn(manifest: &Path, log: PathBuf) -> Run {
    let cache = manifest.parent().unwrap().join("cache");
    AVIARY.run_with(
        manifest,
        log,
        None,
        &[
            ("RUST_LOG", "info"),
            ("XDG_CACHE_HOME", cache.to_str().unwrap()),
        ],
    )
}

async fn filters_through_the_binary(tag: &str, feishu_extra: &str, queue: &str) -> String {
    let dir = Dir::new(tag);
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(&dir.0, &emu, feishu_extra, queue);
    let (events, pass) = events();
    let mut run = spawn(&manifest, dir.0.join("run.log"));
    for e in &events {
        emu.push_event(e);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let acked = emu.acks().len();
        let ran: BTreeSet<String> = effects(&run.log).into_iter().map(|(id, _)| id).collect();
        if acked >= events.len() && ran.len() >= pass.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{acked} of {} acked, ran {ran:?}; log:\n{}",
            events.len(),
            std::fs::read_to_string(&run.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sigterm(&mut run), Some(0), "graceful exit");
    let log = std::fs::read_to_string(&run.log).unwrap();
    let acks = emu.acks();
    assert_eq!(acks.len(), events.len(), "one ack per event: {acks:?}");
    assert!(
        acks.iter().all(|a| a.code == 200),
        "every event acked 200, filtered or not: {acks:?}"
    );
    let ran: Vec<String> = effects(&run.log).into_iter().map(|(id, _)| id).collect();
    let ran_set: BTreeSet<String> = ran.iter().cloned().collect();
    assert_eq!(ran_set, pass, "the guest ran exactly the passing events");
    assert_eq!(ran.len(), pass.len(), "each once: {ran:?}");
    // Per handler and reason, in the final counters (whichever path filtered them).
    let counters: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("handler rec: "))
        .collect();
    assert_eq!(counters.len(), 1, "{log}");
    assert!(
        counters[0].contains(
            "failed 0; filtered 6 (too old 1, ignored sender 1, chat type 1, chat not allowed 1, \
             user not allowed 1, not mentioned 1)"
        ),
        "{}",
        counters[0]
    );
    // The storm after an outage is visible at the default level, naming the event.
    let old: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("filtered: event skipped"))
        .collect();
    assert_eq!(old.len(), 1, "{old:?}");
    assert!(
        old[0].contains("ev-old") && old[0].contains("too old"),
        "{}",
        old[0]
    );
    emu.shutdown().await;
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_on_the_queued_path_with_the_open_id_from_the_bot_info_api() {
    let log = filters_through_the_binary("filters-queue", "", "backend = \"memory\"").await;
    assert!(
        log.contains("learned the bot's open_id from the bot info API")
            && log.contains(BOT_OPEN_ID),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_on_the_synchronous_path_with_the_open_id_from_the_manifest() {
    let log = filters_through_the_binary(
        "filters-sync",
        &format!("bot_open_id = \"{BOT_OPEN_ID}\""),
        "ack = \"after-handle\"",
    )
    .await;
    assert!(
        !log.contains("bot info API"),
        "the manifest's open_id is used, the API not asked: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_whose_bot_info_cannot_be_read_stops_with_a_clear_error() {
    let dir = Dir::new("filters-nobot");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    // A wrong secret: the token (and so the bot info) cannot be had.
    let text = format!(
        "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"wrong\"\ndomain = \"{}\"\n\n\
         [[handler]]\nname = \"rec\"\ncomponent = \"{}\"\nevents = [\"*\"]\nrequire_mention = true\n",
        emu.domain(),
        recorder_wasm().display()
    );
    let manifest = dir.0.join("aviary.toml");
    std::fs::write(&manifest, text).unwrap();
    let mut run = spawn(&manifest, dir.0.join("run.log"));
    let code = run.wait_exit(Duration::from_secs(90)).await;
    let log = std::fs::read_to_string(&run.log).unwrap();
    assert_eq!(code, Some(1), "{log}");
    let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].contains("GET /open-apis/bot/v3/info") && errors[0].contains("bot_open_id"),
        "{}",
        errors[0]
    );
    assert!(!log.contains("wrong\""), "the secret is never printed");
    assert_eq!(
        emu.connections_total(),
        0,
        "never connected without the open_id"
    );
    emu.shutdown().await;
}

/// `aviary invoke` says why the handler was not called; `aviary check` lists the filters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_shows_the_filter_reason_and_check_lists_the_filters() {
    let dir = Dir::new("filters-invoke");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = write_manifest(
        &dir.0,
        &emu,
        &format!("bot_open_id = \"{BOT_OPEN_ID}\""),
        "backend = \"memory\"",
    );
    let invoke = |name: &str, event: &Value| {
        let path = dir.0.join(format!("{name}.json"));
        std::fs::write(&path, event.to_string()).unwrap();
        let out = Command::new(AVIARY.path())
            .args(["invoke", "-m"])
            .arg(&manifest)
            .arg("rec")
            .arg(&path)
            .env("XDG_CACHE_HOME", dir.0.join("cache"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (events, _) = events();
    let (code, text) = invoke("quiet", &events[2]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "outcome  filtered: not mentioned (a group message that does not @-mention the bot)"
        ),
        "{text}"
    );
    assert!(text.contains("the handler was not called"), "{text}");
    assert!(!text.contains("effect "), "the guest did not run: {text}");
    let (code, text) = invoke("old", &events[3]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("outcome  filtered: too old (created 7200 s ago"),
        "{text}"
    );
    let (code, text) = invoke("pass", &events[0]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("outcome  done"), "{text}");
    assert!(
        text.contains("effect om_pass-mention attempt 1"),
        "the guest ran: {text}"
    );
    assert!(
        text.contains(
            "filters  chat_types [p2p, group], require_mention, ignore_senders [bot], \
             max_event_age_secs 600, chats (1), users (1)"
        ),
        "{text}"
    );

    let out = Command::new(AVIARY.path())
        .args(["check", "-m"])
        .arg(&manifest)
        .env("XDG_CACHE_HOME", dir.0.join("cache"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("    filters: chat_types [p2p, group], require_mention")
            && text.contains("(bot open_id from [feishu] bot_open_id)"),
        "{text}"
    );
    emu.shutdown().await;
}
