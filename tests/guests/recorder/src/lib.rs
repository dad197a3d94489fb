//! Records every run through its log (`effect <dedupe_id> attempt <n>`), so a test can count
//! runs from the host's log. By the message text: `reject` → reject; `retry-once` → retry on
//! the first attempt; `always-retry` → retry every time; anything else → done.
//!
//! With `[handler.config] reply = "yes"` it first replies to the message through the
//! `feishu-request` import (text `effect <dedupe_id>`; the host adds the token and the `uuid`),
//! so a test can count effects from the emulator's sent messages, and logs
//! `openapi ok <response>` or `openapi err <error>`. A failed reply is a `retry`. With
//! `replies = "N"` it replies N times (each call its own `uuid`).
//!
//! With `request_0`, `request_1`, … (`"METHOD PATH"`) in its config it makes those
//! `feishu-request` calls in order (body `{}`, empty for GET), logs `request <i> ok <response>`
//! or `request <i> err <error>` for each and then `requests done <n>`, so a test can send any
//! method and path through the import.
//!
//! With `kv_counter = "yes"` (and `kv` granted) it adds 1 to `count:<chat_id>` for every run and
//! logs `kv count:<chat_id> = <n>`; a run that is about to ask for a retry (or to reject) also
//! sets `failed:<dedupe_id>:<attempt>` — writes the runtime must drop, since that run does not
//! end `done` — so a test can check that each counter equals its chat's handled events and that
//! no `failed:` key exists.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

struct Component;

fn reply(event: &Event) -> Result<(), String> {
    let content = format!(r#"{{\"text\":\"effect {}\"}}"#, event.dedupe_id);
    let body = format!(r#"{{"msg_type":"text","content":"{content}"}}"#);
    let path = format!("/open-apis/im/v1/messages/{}/reply", event.dedupe_id);
    match feishu_request("POST", &path, &body) {
        Ok(answer) => {
            log(Level::Info, &format!("openapi ok {answer}"));
            Ok(())
        }
        Err(e) => {
            log(Level::Warn, &format!("openapi err {e}"));
            Err(e)
        }
    }
}

fn configured_requests() {
    let mut n = 0;
    while let Some(request) = config_get(&format!("request_{n}")) {
        let (method, path) = request.split_once(' ').unwrap_or((request.as_str(), ""));
        let body = if method == "GET" { "" } else { "{}" };
        match feishu_request(method, path, body) {
            Ok(answer) => log(Level::Info, &format!("request {n} ok {answer}")),
            Err(e) => log(Level::Info, &format!("request {n} err {e}")),
        }
        n += 1;
    }
    if n > 0 {
        log(Level::Info, &format!("requests done {n}"));
    }
}

/// The envelope's `chat_id`, found by text (this guest parses no JSON).
fn chat_id(envelope: &str) -> String {
    let Some(at) = envelope.find("\"chat_id\":\"") else {
        return "none".into();
    };
    let rest = &envelope[at + 11..];
    rest[..rest.find('"').unwrap_or(0)].to_string()
}

fn count(event: &Event, will_fail: bool) -> Result<(), String> {
    let key = format!("count:{}", chat_id(&event.envelope));
    let n = kv_increment(&key, 1)?;
    log(Level::Info, &format!("kv {key} = {n}"));
    if will_fail {
        kv_set(
            &format!("failed:{}:{}", event.dedupe_id, event.attempt),
            "this write must never be committed",
            0,
        )?;
    }
    Ok(())
}

impl Guest for Component {
    fn handle(event: Event) -> Outcome {
        log(
            Level::Info,
            &format!("effect {} attempt {}", event.dedupe_id, event.attempt),
        );
        configured_requests();
        if config_get("reply").as_deref() == Some("yes") {
            let times: u32 = config_get("replies").and_then(|n| n.parse().ok()).unwrap_or(1);
            for _ in 0..times {
                if let Err(e) = reply(&event) {
                    return Outcome::Retry(format!("reply failed: {e}"));
                }
            }
        }
        let text = &event.envelope;
        if config_get("kv_counter").as_deref() == Some("yes") {
            let will_fail = text.contains("always-retry")
                || (text.contains("retry-once") && event.attempt == 1)
                || text.contains("reject");
            if let Err(e) = count(&event, will_fail) {
                log(Level::Warn, &format!("kv err {e}"));
                return Outcome::Retry(format!("kv failed: {e}"));
            }
        }
        if text.contains("always-retry") {
            Outcome::Retry("asked to always retry".into())
        } else if text.contains("retry-once") && event.attempt == 1 {
            Outcome::Retry("asked to retry once".into())
        } else if text.contains("reject") {
            Outcome::Reject("asked to reject".into())
        } else {
            Outcome::Done
        }
    }
}

export!(Component);
