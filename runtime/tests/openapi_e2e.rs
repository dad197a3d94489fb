//! The `feishu-request` import through the real path: the emulator pushes an event, the real
//! `aviary run` binary runs the recorder guest (tests/guests/recorder), which replies through
//! the import, and the emulator records the OpenAPI calls and the messages they created.
//!
//! Then the grant's path checks through `aviary invoke` and `aviary run`, with the emulator as
//! the recording server (it records every request it gets, inside `/open-apis/` or not): the
//! traversal corpus (`openapi_support/corpus.rs`) is denied naming the handler and the key,
//! generated paths (a property test) reach the server only when granted, and `aviary check`
//! and `aviary invoke` print each handler's grants.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aviary::openapi::Method;
use aviary_emulator::Emulator;

use aviary_test_support::binary::{sigterm, Aviary};
use aviary_test_support::recorder::*;
use aviary_test_support::Dir;

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));

mod openapi_support;
use openapi_support::corpus::{GRANTED, TRAVERSALS};
use openapi_support::wire;

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
    let mut run = AVIARY.spawn(&manifest, dir.0.join("run.log"), None);
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
            "denied: handler `rec` may not call POST /open-apis/im/v1/messages/om_7/reply: no \
             entry of its manifest key `openapi` covers the path ([\"/open-apis/contact/v3\"])",
        ),
    ] {
        let dir = Dir::new(&format!("openapi-denied-{tag}"));
        let emu = Emulator::start(emulator_config()).await.unwrap();
        let manifest = manifest(&dir.0, &emu, grant);
        emu.push_event(&envelope(7, "hello"));
        let mut run = AVIARY.spawn(&manifest, dir.0.join("run.log"), None);
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

/// A TOML string holding `s` (`$` doubled: the manifest expands `${VAR}`).
fn toml_string(s: &str) -> String {
    toml::Value::String(s.replace('$', "$$")).to_string()
}

/// A manifest of recorder handlers (name, `openapi` entries, `"METHOD PATH"` requests the
/// guest makes on every event), calling the emulator as the app's domain.
fn request_manifest(
    dir: &Path,
    emu: &Emulator,
    handlers: &[(String, Vec<&str>, Vec<String>)],
) -> PathBuf {
    let component = toml_string(&recorder_wasm().display().to_string());
    let mut text = format!(
        "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n\n\
         [queue]\nbackend = \"memory\"\n\n",
        emu.domain()
    );
    for (name, grant, requests) in handlers {
        let grant: Vec<String> = grant.iter().map(|g| toml_string(g)).collect();
        text += &format!(
            "[[handler]]\nname = \"{name}\"\ncomponent = {component}\nevents = [\"*\"]\n\
             openapi = [{}]\n[handler.config]\n",
            grant.join(", ")
        );
        for (i, r) in requests.iter().enumerate() {
            text += &format!("request_{i} = {}\n", toml_string(r));
        }
    }
    let path = dir.join("aviary.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `aviary <args…>` (sharing the manifest directory's compile cache): exit code and
/// stdout + stderr.
fn aviary(manifest: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(AVIARY.path())
        .args(args)
        .arg("-m")
        .arg(manifest)
        .env("XDG_CACHE_HOME", manifest.parent().unwrap().join("cache"))
        .output()
        .expect("aviary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// `aviary invoke` of `handler` on `event`.
fn invoke(manifest: &Path, handler: &str, event: &Path) -> (Option<i32>, String) {
    aviary(manifest, &["invoke", handler, event.to_str().unwrap()])
}

/// The corpus split over handlers `t0`, `t1`, … (a call's log is bounded), each granted only
/// [`GRANTED`], the methods taking turns; and `ctl`, with method grants, two calls that are
/// sent and two that are denied.
fn corpus_handlers() -> Vec<(String, Vec<&'static str>, Vec<String>)> {
    let mut handlers: Vec<(String, Vec<&str>, Vec<String>)> = TRAVERSALS
        .chunks(20)
        .enumerate()
        .map(|(n, chunk)| {
            let requests = chunk
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{} {p}", Method::ALL[(n * 20 + i) % 5]))
                .collect();
            (format!("t{n}"), vec![GRANTED], requests)
        })
        .collect();
    handlers.push((
        "ctl".to_string(),
        vec![
            "POST /open-apis/im/v1/messages",
            "GET /open-apis/contact/v3/users",
        ],
        CONTROL.iter().map(|r| r.to_string()).collect(),
    ));
    handlers
}

/// `ctl`'s requests: 0 and 3 are granted, 1 (a traversal) and 2 (the method) are not.
const CONTROL: [&str; 4] = [
    "POST /open-apis/im/v1/messages/om_1/reply",
    "GET /open-apis/contact/v3/users/../../../im/v1/messages",
    "DELETE /open-apis/contact/v3/users/ou_1",
    "GET /open-apis/contact/v3/users/ou_1?user_id_type=open_id",
];

/// What the emulator must have seen from `ctl`, and nothing else.
fn control_seen() -> Vec<(String, String)> {
    vec![
        (
            "POST".to_string(),
            "/open-apis/im/v1/messages/om_1/reply".to_string(),
        ),
        (
            "GET".to_string(),
            "/open-apis/contact/v3/users/ou_1?user_id_type=open_id".to_string(),
        ),
    ]
}

/// Each of `handler`'s `n` requests was denied, naming the handler and the key, in `out`.
fn assert_all_denied(out: &str, handler: &str, n: usize) {
    for i in 0..n {
        let head = format!("request {i} err denied: handler `{handler}` may not call ");
        assert!(
            out.lines()
                .any(|l| l.contains(&head) && l.contains("manifest key `openapi`")),
            "{handler} request {i} was not denied as expected:\n{out}"
        );
    }
    assert!(
        out.contains(&format!("requests done {n}")),
        "{handler}: {out}"
    );
}

/// `ctl`'s granted calls were answered by the server (the emulator emulates neither, so both
/// are errors from it), the other two denied.
fn assert_control(out: &str) {
    for (i, expected) in [
        (0, "request 0 err POST /open-apis/im/v1/messages/om_1/reply: HTTP 400"),
        (1, "request 1 err denied: handler `ctl` may not call GET \"/open-apis/contact/v3/users/../../../im/v1/messages\": a dot segment `..`"),
        (2, "request 2 err denied: handler `ctl` may not call DELETE /open-apis/contact/v3/users/ou_1: its manifest key `openapi` grants the path for GET only"),
        (3, "request 3 err GET /open-apis/contact/v3/users/ou_1?user_id_type=open_id: HTTP 404"),
    ] {
        assert!(out.contains(expected), "ctl request {i}: {expected}\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traversal_corpus_is_denied_through_aviary_invoke_and_check_lists_the_grants() {
    let dir = Dir::new("openapi-corpus-invoke");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let handlers = corpus_handlers();
    let manifest = request_manifest(&dir.0, &emu, &handlers);
    let event = dir.0.join("event.json");
    std::fs::write(&event, envelope(1, "hello").to_string()).unwrap();

    let (code, out) = aviary(&manifest, &["check"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("  handler t0: ")
            && out.contains("    openapi: /open-apis/im/v1/messages (every method)"),
        "{out}"
    );
    assert!(
        out.contains(
            "    openapi: POST /open-apis/im/v1/messages, GET /open-apis/contact/v3/users"
        ),
        "{out}"
    );

    for (name, _, requests) in &handlers {
        let (code, out) = tokio::task::block_in_place(|| invoke(&manifest, name, &event));
        assert_eq!(code, Some(0), "{name}: {out}");
        if name == "ctl" {
            assert!(
                out.contains(
                    "openapi  POST /open-apis/im/v1/messages, GET /open-apis/contact/v3/users"
                ),
                "{out}"
            );
            assert_control(&out);
        } else {
            assert!(
                out.contains("openapi  /open-apis/im/v1/messages (every method)"),
                "{out}"
            );
            assert_all_denied(&out, name, requests.len());
        }
    }
    assert_eq!(
        emu.requests_besides_tokens(),
        control_seen(),
        "the server saw only ctl's granted calls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traversal_corpus_is_denied_through_aviary_run() {
    let dir = Dir::new("openapi-corpus-run");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let handlers = corpus_handlers();
    let manifest = request_manifest(&dir.0, &emu, &handlers);
    emu.push_event(&envelope(1, "hello"));
    let mut run = AVIARY.spawn(&manifest, dir.0.join("run.log"), None);
    wait_for(&run.log, "every handler's requests", || {
        log_text(&run.log).matches("requests done").count() >= handlers.len()
    })
    .await;
    assert_eq!(sigterm(&mut run), Some(0));
    let out = log_text(&run.log);
    for (name, _, requests) in &handlers {
        if name != "ctl" {
            assert_all_denied(&out, name, requests.len());
        }
    }
    assert_control(&out);
    assert_eq!(
        emu.requests_besides_tokens(),
        control_seen(),
        "the server saw only ctl's granted calls"
    );
}

/// Generated calls (paths of random segments mixing `.`, `%`, hex digits, `/`, `\`, `;`, and
/// random methods; `openapi_support/wire.rs`), 40 per run, made by the guest through `aviary
/// invoke`: an oracle written without Aviary's checks finds every request the server receives
/// clean and granted, and exactly the calls not denied reach it.
#[test]
fn generated_paths_through_aviary_invoke_reach_the_server_only_when_granted() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(Emulator::start(emulator_config())).unwrap();
    let dir = Dir::new("openapi-prop-invoke");
    let event = dir.0.join("event.json");
    std::fs::write(&event, envelope(1, "hello").to_string()).unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 5,
        failure_persistence: None,
        ..Config::default()
    });
    let reached = std::cell::Cell::new(0);
    let calls = prop::collection::vec(wire::call(), 40);
    runner
        .run(&calls, |calls| {
            let before = emu.requests_besides_tokens().len();
            let requests: Vec<String> = calls.iter().map(|(m, p)| format!("{m} {p}")).collect();
            let handlers = [("prop".to_string(), wire::GRANT.to_vec(), requests)];
            let manifest = request_manifest(&dir.0, &emu, &handlers);
            let (code, out) = invoke(&manifest, "prop", &event);
            prop_assert_eq!(code, Some(0), "{}", out);
            prop_assert!(out.contains("requests done 40"), "{}", out);
            let denied = out.matches("err denied: handler `prop`").count();
            let new = emu.requests_besides_tokens().split_off(before);
            for (method, target) in &new {
                let problem = wire::wire_problem(method, target);
                prop_assert!(problem.is_none(), "{} {:?}: {:?}", method, target, problem);
            }
            prop_assert_eq!(new.len() + denied, 40, "{}", out);
            reached.set(reached.get() + new.len());
            Ok::<(), TestCaseError>(())
        })
        .unwrap();
    eprintln!(
        "{} of 200 generated calls were granted and sent",
        reached.get()
    );
    assert!(
        reached.get() > 0,
        "no generated call was granted: the property proved nothing"
    );
}

#[test]
fn aviary_check_names_each_bad_openapi_entry_at_its_line() {
    let dir = Dir::new("openapi-check-bad");
    let text = format!(
        "[feishu]\napp_id = \"{APP_ID}\"\napp_secret = \"s\"\n\n\
         [[handler]]\nname = \"bad\"\ncomponent = \"bad.wasm\"\nevents = [\"*\"]\n\
         openapi = [\n  \"FETCH /open-apis/im\",\n  \"GET /open-apis/im/../x\",\n  \"/open-apis/im/v1/%2e%2e\",\n  \
         \"POST /open-apis/im/v1/messages\",\n  \"post /open-apis/im/v1/messages/\",\n]\n"
    );
    let manifest = dir.0.join("aviary.toml");
    std::fs::write(&manifest, text).unwrap();
    let (code, out) = aviary(&manifest, &["check"]);
    assert_eq!(code, Some(1), "{out}");
    for (line, why) in [
        (
            10,
            "`FETCH` is not a method (GET, POST, PUT, PATCH, DELETE)",
        ),
        (11, "a dot segment `..` at byte 14"),
        (12, "write the prefix without `%` escapes"),
        (14, "`POST /open-apis/im/v1/messages` is listed twice"),
    ] {
        let at = format!("aviary.toml:{line}:3: handler.openapi: handler `bad`: ");
        assert!(
            out.lines().any(|l| l.contains(&at) && l.contains(why)),
            "line {line}: {why}\n{out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_one_message_are_paced_under_feishus_limit_and_each_lands_once() {
    let dir = Dir::new("openapi-paced");
    let emu = Emulator::start(emulator_config()).await.unwrap();
    let manifest = manifest(
        &dir.0,
        &emu,
        "openapi = [\"POST /open-apis/im/v1/messages\"]\ntimeout_ms = 20000",
    );
    // The recorder reads `replies` from its config: twelve replies to one message in one run,
    // more than Feishu's five per second to one receiver.
    let text = std::fs::read_to_string(&manifest).unwrap() + "replies = \"12\"\n";
    std::fs::write(&manifest, text).unwrap();
    emu.push_event(&envelope(1, "hello"));
    let mut run = AVIARY.spawn(&manifest, dir.0.join("run.log"), None);
    wait_for(&run.log, "twelve replies", || {
        log_text(&run.log).matches("openapi ok").count() >= 12
    })
    .await;
    wait_for(&run.log, "the run done", || {
        effects(&run.log).contains(&("om_1".to_string(), 1))
    })
    .await;
    assert_eq!(sigterm(&mut run), Some(0));
    let out = log_text(&run.log);
    assert!(!out.contains("openapi err"), "{out}");
    let sent: Vec<_> = emu
        .sent_messages()
        .into_iter()
        .filter(|m| m.reply_to.as_deref() == Some("om_1"))
        .collect();
    assert_eq!(sent.len(), 12, "each reply landed once: {sent:?}");
    let mut uuids: Vec<_> = sent.iter().map(|m| m.uuid.clone().unwrap()).collect();
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), 12, "twelve distinct keys");
    // What the emulator accepted keeps Feishu's limit in every window of one second.
    for run in sent.windows(6) {
        assert!(
            run[5].at.duration_since(run[0].at) >= std::time::Duration::from_secs(1),
            "six accepted replies within one second"
        );
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_many_chats_are_paced_under_the_apps_limit_from_the_manifest() {
    let dir = Dir::new("openapi-app-paced");
    let mut config = emulator_config();
    // Feishu's per-app limit, made small so a dozen replies cross it: the emulator answers 429
    // past four sends per second, and the manifest tells the host the same.
    config.app_send_limits = aviary_emulator::AppSendLimits {
        per_second: 4,
        per_minute: 1000,
    };
    let emu = Emulator::start(config).await.unwrap();
    let manifest = manifest(
        &dir.0,
        &emu,
        "openapi = [\"POST /open-apis/im/v1/messages\"]\ntimeout_ms = 20000",
    );
    let text = std::fs::read_to_string(&manifest).unwrap().replacen(
        "[queue]",
        "app_sends_per_second = 4\n\n[queue]",
        1,
    );
    std::fs::write(&manifest, text).unwrap();
    // Twelve messages, each its own receiver: only the app's limit can hold them.
    for i in 1..=12 {
        emu.push_event(&envelope(i, "hello"));
    }
    let mut run = AVIARY.spawn(&manifest, dir.0.join("run.log"), None);
    wait_for(&run.log, "twelve replies", || {
        log_text(&run.log).matches("openapi ok").count() >= 12
    })
    .await;
    assert_eq!(sigterm(&mut run), Some(0));
    let out = log_text(&run.log);
    assert!(!out.contains("openapi err"), "{out}");
    let sent = emu.sent_messages();
    let mut parents: Vec<&str> = sent.iter().filter_map(|m| m.reply_to.as_deref()).collect();
    parents.sort();
    parents.dedup();
    assert_eq!(parents.len(), 12, "one reply per message: {sent:?}");
    assert_eq!(sent.len(), 12);
    assert_eq!(
        emu.rate_limited_sends(),
        0,
        "the host kept the app's limit: Feishu never had to refuse"
    );
    for run in sent.windows(5) {
        assert!(
            run[4].at.duration_since(run[0].at) >= std::time::Duration::from_secs(1),
            "five accepted replies of the app within one second"
        );
    }
    emu.shutdown().await;
}
