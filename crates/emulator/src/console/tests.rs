use serde_json::{json, Value};

use crate::{Emulator, EmulatorConfig, Sample};

async fn post(url: &str, body: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn get(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[test]
fn a_typed_message_is_a_receive_event_of_that_chat() {
    let v = super::message_envelope("cli_x", "ev1", "om_1", "oc_9", "p2p", "ou_u", "hi \"you\"");
    assert_eq!(v["header"]["event_type"], "im.message.receive_v1");
    assert_eq!(v["header"]["app_id"], "cli_x");
    let m = &v["event"]["message"];
    assert_eq!(
        (m["chat_id"].as_str(), m["chat_type"].as_str()),
        (Some("oc_9"), Some("p2p"))
    );
    let content: Value = serde_json::from_str(m["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"text": "hi \"you\""}));
    assert_eq!(v["event"]["sender"]["sender_id"]["open_id"], "ou_u");
}

#[tokio::test]
async fn the_page_and_its_api_are_served_and_bad_requests_are_refused() {
    let emu = Emulator::start(EmulatorConfig::fast()).await.unwrap();
    let base = emu.console_url();
    let page = reqwest::get(&base).await.unwrap().text().await.unwrap();
    assert!(page.contains("Aviary dev console") && page.contains("/_console/console.js"));
    let js = reqwest::get(format!("{base}console.js")).await.unwrap();
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));

    emu.set_console_samples(vec![Sample {
        name: "a.json".into(),
        envelope: "{}".into(),
    }]);
    assert_eq!(
        get(&format!("{base}api/samples")).await,
        json!([{"name": "a.json", "envelope": "{}"}])
    );

    let (code, body) = post(&format!("{base}api/chat"), r#"{"text":"x"}"#).await;
    assert_eq!(code, 400);
    assert!(
        body["error"].as_str().unwrap().contains("chat_id"),
        "{body}"
    );
    let (code, _) = post(
        &format!("{base}api/chat"),
        r#"{"chat_id":"oc_1","text":""}"#,
    )
    .await;
    assert_eq!(code, 400);
    let (code, body) = post(
        &format!("{base}api/chat"),
        r#"{"chat_id":"oc_1","text":"x","chat_type":"room"}"#,
    )
    .await;
    assert_eq!(code, 400);
    assert!(
        body["error"].as_str().unwrap().contains("group or p2p"),
        "{body}"
    );
    let (code, _) = post(&format!("{base}api/push"), "not json").await;
    assert_eq!(code, 400);
    let (code, _) = post(&format!("{base}api/card-action"), r#"{"value":{}}"#).await;
    assert_eq!(code, 400);
    assert!(
        emu.deliveries().is_empty(),
        "nothing was pushed by a refused request"
    );
}

#[tokio::test]
async fn typed_messages_and_card_clicks_are_pushed_and_shown_per_chat() {
    let emu = Emulator::start(EmulatorConfig::fast()).await.unwrap();
    let base = emu.console_url();
    let (code, sent) = post(
        &format!("{base}api/chat"),
        r#"{"chat_id":"oc_1","text":"hello"}"#,
    )
    .await;
    assert_eq!(code, 200, "{sent}");
    let (_, clicked) = post(
        &format!("{base}api/card-action"),
        &json!({"message_id": sent["message_id"], "value": {"choice": "approve"}}).to_string(),
    )
    .await;
    let deliveries = emu.deliveries();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0].event_id.as_deref(), sent["event_id"].as_str());
    assert_eq!(
        deliveries[1].event_id.as_deref(),
        clicked["event_id"].as_str()
    );
    let chats = get(&format!("{base}api/chats")).await;
    let chat = &chats["chats"][0];
    assert_eq!(chat["chat_id"], "oc_1");
    assert_eq!(chat["messages"][0]["from"], "user");
    assert_eq!(chat["messages"][0]["text"], "hello");
    assert_eq!(chat["messages"][0]["message_id"], sent["message_id"]);
}

#[test]
fn samples_are_the_json_files_of_the_directory_and_a_bad_one_is_named() {
    let dir = std::env::temp_dir().join(format!("aviary-console-samples-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("b.json"), "{\"b\":1}").unwrap();
    std::fs::write(dir.join("a.json"), "{\"a\":1}").unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    std::fs::write(dir.join("sub/c.json"), "{}").unwrap();
    let names: Vec<String> = crate::cli::load_samples(&dir)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["a.json", "b.json"]);
    std::fs::write(dir.join("c.json"), "{not json").unwrap();
    let e = format!("{:#}", crate::cli::load_samples(&dir).unwrap_err());
    assert!(e.contains("c.json") && e.contains("not JSON"), "{e}");
    let e = format!(
        "{:#}",
        crate::cli::load_samples(&dir.join("missing")).unwrap_err()
    );
    assert!(e.contains("--samples directory"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An app that answers with what it was asked.
struct Echo;

impl crate::ConsoleApp for Echo {
    fn request(
        &self,
        r: crate::AppRequest,
    ) -> futures_util::future::BoxFuture<'static, crate::AppAnswer> {
        Box::pin(async move {
            if r.path == "missing" {
                return crate::AppAnswer::error(404, "no such thing");
            }
            crate::AppAnswer::ok(json!({
                "method": r.method, "path": r.path, "query": r.query,
                "body": String::from_utf8_lossy(&r.body),
            }))
        })
    }
}

#[tokio::test]
async fn app_requests_are_forwarded_to_the_attached_app_or_refused_without_one() {
    let emu = Emulator::start(EmulatorConfig::fast()).await.unwrap();
    let base = emu.console_url();
    let r = reqwest::get(format!("{base}api/app/status")).await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("aviary dev"),
        "{body}"
    );

    emu.set_console_app(std::sync::Arc::new(Echo));
    assert_eq!(
        get(&format!("{base}api/app/runs?since=3")).await,
        json!({"method": "GET", "path": "runs", "query": "since=3", "body": ""})
    );
    let (code, body) = post(&format!("{base}api/app/replay"), r#"{"id":4}"#).await;
    assert_eq!(code, 200);
    assert_eq!(
        body,
        json!({"method": "POST", "path": "replay", "query": null, "body": "{\"id\":4}"})
    );
    let r = reqwest::get(format!("{base}api/app/missing"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[test]
fn the_users_messages_kept_are_bounded_and_the_oldest_go_first() {
    let console = super::Console::default();
    for i in 0..crate::limits::MAX_RECORDS + 3 {
        let v = super::message_envelope(
            "cli_x",
            "ev",
            &format!("om_{i}"),
            "oc_1",
            "group",
            "ou_u",
            "hi",
        );
        super::remember_message(&console, &v);
    }
    let state = super::lock(&console);
    assert_eq!(state.user_messages.len(), crate::limits::MAX_RECORDS);
    assert_eq!(state.user_messages[0].message_id, "om_3");
}
