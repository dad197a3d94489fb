//! The `feishu-request` import through the real path: the emulator pushes an event, the real
//! `aviary run` binary runs the recorder guest (tests/guests/recorder), which replies through
//! the import, and the emulator records the OpenAPI calls and the messages they created.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aviary::emulator::Emulator;

mod queue_support;
use queue_support::*;

/// A manifest with the in-memory queue, quick retries and one handler `rec` (the recorder
/// guest, replying to every message) with the handler lines `grant` (e.g. an `openapi` key).
fn manifest(dir: &Path, emu: &Emulator, grant: &str) -> PathBuf {
    let text = format!(
        "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n\n\
         [queue]\nbackend = \"memory\"\n\n\
         [[handler]]\nname = \"rec\"\ncomponent = \"{}\"\nevents = [\"*\"]\n\
         max_attempts = 2\nbackoff_ms = 20\nbackoff_max_ms = 100\n{grant}\n\
         [handler.config]\nreply = \"yes\"\n",
        emu.domain(),
        recorder_wasm().display()
    );
    let path = dir.join("aviary.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Waits until `done` holds, or fails with the log's tail.
async fn wait_for(log: &Path, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn log_text(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_reply_is_sent_once_even_when_retried_and_the_token_stays_in_the_host() {
    let dir = Dir::new("openapi-granted");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = manifest(&dir.0, &emu, "openapi = [\"/open-apis/im/v1/messages\"]");
    emu.push_event(&envelope(1, "hello"));
    emu.push_event(&envelope(2, "retry-once"));
    let mut run = spawn(&manifest, dir.0.join("run.log"), None);
    wait_for(&run.log, "both events handled (om_2 twice)", || {
        let e = effects(&run.log);
        e.contains(&("om_1".to_string(), 1)) && e.contains(&("om_2".to_string(), 2))
    })
    .await;
    wait_for(&run.log, "both replies", || {
        log_text(&run.log).matches("openapi ok").count() >= 3
    })
    .await;
    assert_eq!(sigterm(&mut run), Some(0));

    // One message per event: the retried run of om_2 sent the same uuid and got the first
    // answer back.
    let sent = emu.sent_messages();
    let mut parents: Vec<&str> = sent.iter().filter_map(|m| m.reply_to.as_deref()).collect();
    parents.sort();
    assert_eq!(parents, ["om_1", "om_2"], "{sent:?}");
    assert_eq!(emu.duplicate_messages_suppressed(), 1);
    let om2 = sent
        .iter()
        .find(|m| m.reply_to.as_deref() == Some("om_2"))
        .unwrap();
    assert_eq!(om2.content, r#"{"text":"effect om_2"}"#);
    let replies: Vec<_> = emu
        .openapi_calls()
        .into_iter()
        .filter(|c| c.path.ends_with("/om_2/reply"))
        .collect();
    assert_eq!(replies.len(), 2, "attempt 1 and attempt 2 both called");
    let uuid = replies[0].body["uuid"].as_str().unwrap().to_string();
    assert_eq!(
        replies[1].body["uuid"],
        uuid.as_str(),
        "the same key on the retry"
    );
    assert!(uuid.len() <= 50 && uuid.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(om2.uuid.as_deref(), Some(uuid.as_str()));

    // The host fetched the token once and sent it; the guest, which logs every answer it
    // gets, never saw it, and neither the token nor the secret is in any output line.
    let token_calls = emu
        .openapi_calls()
        .iter()
        .filter(|c| c.path.contains("tenant_access_token"))
        .count();
    assert_eq!(token_calls, 1, "one token fetch, then the cache");
    let auth = replies[0].header("authorization").unwrap().to_string();
    let token = auth.strip_prefix("Bearer ").unwrap();
    assert!(token.len() > 8, "{auth}");
    let out = log_text(&run.log);
    assert_eq!(out.matches("openapi ok").count(), 3, "{out}");
    assert!(
        out.contains(r#""message_id":"om_"#),
        "the guest got the answer: {out}"
    );
    assert!(
        !out.contains(token),
        "the token leaked into the output:\n{out}"
    );
    assert!(
        !out.contains("emulator-secret"),
        "the secret leaked:\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_a_grant_or_outside_it_is_denied_with_a_clear_error() {
    for (tag, grant, expected) in [
        (
            "none",
            "",
            "denied: handler `rec` has no OpenAPI grant; add the manifest key \
             `openapi = [\"/open-apis/im/v1/messages\"]`",
        ),
        (
            "other",
            "openapi = [\"/open-apis/contact/v3\"]",
            "denied: handler `rec` may not call POST /open-apis/im/v1/messages/om_7/reply: it \
             is not under any prefix of its manifest key `openapi` ([\"/open-apis/contact/v3\"])",
        ),
    ] {
        let dir = Dir::new(&format!("openapi-denied-{tag}"));
        let emu = Emulator::start(emulator_config()).await.unwrap();
        let manifest = manifest(&dir.0, &emu, grant);
        emu.push_event(&envelope(7, "hello"));
        let mut run = spawn(&manifest, dir.0.join("run.log"), None);
        // The denial is a failed reply: the guest asks for a retry, so two attempts.
        wait_for(&run.log, "two denied attempts", || {
            log_text(&run.log).matches("openapi err").count() >= 2
        })
        .await;
        assert_eq!(sigterm(&mut run), Some(0));
        let out = log_text(&run.log);
        let guest_saw: HashSet<&str> = out
            .lines()
            .filter_map(|l| l.split_once("openapi err ").map(|(_, e)| e))
            .collect();
        assert!(
            guest_saw.iter().all(|e| e.starts_with(expected)),
            "{tag}: {guest_saw:?}"
        );
        // The host logged the denial too (warn, with the handler's tags).
        assert!(
            out.lines()
                .any(|l| l.contains("feishu-request: denied") && l.contains("WARN")),
            "{tag}: {out}"
        );
        assert!(
            emu.openapi_calls().is_empty(),
            "{tag}: nothing reached Feishu"
        );
        assert!(emu.sent_messages().is_empty());
    }
}
