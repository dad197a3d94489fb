//! Feishu's per-app send limits against the emulator: it answers 429 past them as Feishu does,
//! and the host's pacing keeps under them (and says which limit held a call it refused).

use std::time::Duration;

use serde_json::{json, Value};

use super::pacing::AppSendLimits;
use super::token::TOKEN_PATH;
use super::{call, FeishuClient, OpenApiApp, OpenApiGrant};
use crate::limits::openapi::RATE_LIMITED_CODE;
use aviary_emulator::{Emulator, EmulatorConfig};

fn config(per_second: usize, per_minute: usize) -> EmulatorConfig {
    EmulatorConfig {
        app_send_limits: aviary_emulator::AppSendLimits {
            per_second,
            per_minute,
        },
        ..EmulatorConfig::default()
    }
}

fn client(emu: &Emulator, limits: AppSendLimits) -> FeishuClient {
    let config = EmulatorConfig::default();
    FeishuClient::new(OpenApiApp {
        app_id: config.app_id,
        app_secret: config.app_secret.as_str().into(),
        domain: emu.domain(),
        send_limits: limits,
    })
    .unwrap()
}

fn send_body(chat: &str) -> String {
    json!({"receive_id": chat, "msg_type": "text", "content": "{\"text\":\"hi\"}"}).to_string()
}

/// Raw sends (not paced by any host) to a fresh chat each: the HTTP statuses and the
/// `x-ogw-ratelimit-limit` of the refused ones.
async fn burst(emu: &Emulator, n: usize) -> (Vec<u16>, Vec<String>) {
    let config = EmulatorConfig::default();
    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{}{TOKEN_PATH}", emu.domain()))
        .json(&json!({"app_id": config.app_id, "app_secret": config.app_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant = answer["tenant_access_token"].as_str().unwrap().to_string();
    let url = format!(
        "{}/open-apis/im/v1/messages?receive_id_type=chat_id",
        emu.domain()
    );
    let (mut statuses, mut limits) = (Vec::new(), Vec::new());
    for i in 0..n {
        let r = http
            .post(&url)
            .bearer_auth(&tenant)
            .header("content-type", "application/json")
            .body(send_body(&format!("oc_{i}")))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let limit = r.headers()["x-ogw-ratelimit-limit"].to_str().unwrap();
            limits.push(limit.to_string());
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["code"], RATE_LIMITED_CODE);
        }
    }
    (statuses, limits)
}

#[tokio::test]
async fn the_emulator_answers_429_past_the_apps_sends_per_second_whatever_the_chat() {
    let emu = Emulator::start(config(50, 1000)).await.unwrap();
    let (statuses, limits) = burst(&emu, 51).await;
    assert_eq!(statuses[..50], [200; 50]);
    assert_eq!(statuses[50], 429);
    assert_eq!(limits, ["50"]);
    assert_eq!(emu.rate_limited_sends(), 1);
    assert_eq!(emu.sent_messages().len(), 50);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_emulator_answers_429_past_the_apps_sends_per_minute() {
    let emu = Emulator::start(config(1000, 7)).await.unwrap();
    let (statuses, limits) = burst(&emu, 9).await;
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 429, 429]);
    assert_eq!(limits, ["7", "7"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_host_paces_the_apps_sends_so_feishu_never_refuses_one() {
    let limits = AppSendLimits {
        per_second: 4,
        per_minute: 1000,
    };
    let emu = Emulator::start(config(4, 1000)).await.unwrap();
    let c = client(&emu, limits);
    let grant = OpenApiGrant::parse(&["POST /open-apis/im/v1/messages"]).unwrap();
    let send = call::check(
        "t",
        &grant,
        c.domain(),
        "POST",
        "/open-apis/im/v1/messages?receive_id_type=chat_id",
    )
    .unwrap();
    for i in 0..10 {
        c.request(
            &send,
            &send_body(&format!("oc_{i}")),
            Duration::from_secs(20),
        )
        .await
        .unwrap_or_else(|e| panic!("send {i}: {e}"));
    }
    let sent = emu.sent_messages();
    assert_eq!(sent.len(), 10);
    assert_eq!(emu.rate_limited_sends(), 0);
    for run in sent.windows(5) {
        assert!(run[4].at.duration_since(run[0].at) >= Duration::from_secs(1));
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn a_send_held_by_the_apps_minute_fails_at_once_naming_that_limit() {
    let limits = AppSendLimits {
        per_second: 100,
        per_minute: 3,
    };
    let emu = Emulator::start(config(100, 3)).await.unwrap();
    let c = client(&emu, limits);
    let grant = OpenApiGrant::parse(&["POST /open-apis/im/v1/messages"]).unwrap();
    let send = call::check(
        "t",
        &grant,
        c.domain(),
        "POST",
        "/open-apis/im/v1/messages?receive_id_type=chat_id",
    )
    .unwrap();
    for i in 0..3 {
        c.request(
            &send,
            &send_body(&format!("oc_{i}")),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    }
    let started = std::time::Instant::now();
    let refused = c
        .request(&send, &send_body("oc_9"), Duration::from_secs(5))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
    assert!(
        refused.contains("rate limited: Feishu allows an app 3 messages per minute"),
        "{refused}"
    );
    assert!(refused.contains("answer `retry`"), "{refused}");
    assert_eq!(emu.sent_messages().len(), 3, "nothing sent for it");
    assert_eq!(emu.rate_limited_sends(), 0);
    emu.shutdown().await;
}
