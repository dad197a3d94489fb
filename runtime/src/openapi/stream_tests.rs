//! Streamed card content against the emulator, without a guest: 200 texts set as fast as the
//! host takes them land as a few paced updates whose last is the whole text; a failed update
//! ends the stream and says why.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::stream::CardStream;
use super::{call, FeishuClient, OpenApiApp, OpenApiGrant};
use aviary_emulator::{Emulator, EmulatorConfig};

const T: Duration = Duration::from_secs(10);

fn client(emu: &Emulator) -> Arc<FeishuClient> {
    let config = EmulatorConfig::default();
    Arc::new(
        FeishuClient::new(OpenApiApp {
            app_id: config.app_id,
            app_secret: config.app_secret.as_str().into(),
            domain: emu.domain(),
            send_limits: Default::default(),
        })
        .unwrap(),
    )
}

async fn card(c: &FeishuClient, grant: &OpenApiGrant, streaming: bool) -> String {
    let create = call::check(
        "t",
        grant,
        c.domain(),
        "POST",
        "/open-apis/cardkit/v1/cards",
    )
    .unwrap();
    let card = json!({"schema": "2.0", "config": {"streaming_mode": streaming},
        "body": {"elements": [{"tag": "markdown", "content": "", "element_id": "md"}]}});
    let body = json!({"type": "card_json", "data": card.to_string()}).to_string();
    let answer: Value = serde_json::from_str(&c.request(&create, &body, T).await.unwrap()).unwrap();
    answer["data"]["card_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_texts_become_a_few_paced_updates_ending_with_the_last() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let c = client(&emu);
    let grant = OpenApiGrant::parse(&["/open-apis/cardkit/v1/cards"]).unwrap();
    let id = card(&c, &grant, true).await;
    let path = format!("/open-apis/cardkit/v1/cards/{id}/elements/md/content");
    let put = call::check("t", &grant, c.domain(), "PUT", &path).unwrap();
    let stream = CardStream::new();
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!("{i} "));
        stream.set(c.clone(), put.clone(), text.clone()).unwrap();
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    let sequence = stream.flush(Instant::now() + T).await.unwrap();
    let cards = emu.cards();
    let ops = &cards[0].ops;
    assert_eq!(
        cards[0].element_content("md").as_deref(),
        Some(text.as_str())
    );
    assert_eq!(ops.len() as u32, sequence, "one sequence per update sent");
    assert!(ops.len() < 200, "coalesced: {} updates", ops.len());
    for (i, op) in ops.iter().enumerate() {
        let within = ops[i..]
            .iter()
            .take_while(|o| o.at.duration_since(op.at) < Duration::from_secs(1))
            .count();
        assert!(within <= 10, "{within} updates within one second");
    }
    assert_eq!(emu.rate_limited_card_ops(), 0);
    // Flushing again has nothing to wait for.
    assert_eq!(stream.flush(Instant::now() + T).await, Ok(sequence));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_failed_update_ends_the_stream_with_the_reason() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let c = client(&emu);
    let grant = OpenApiGrant::parse(&["/open-apis/cardkit/v1/cards"]).unwrap();
    let id = card(&c, &grant, false).await;
    let path = format!("/open-apis/cardkit/v1/cards/{id}/elements/md/content");
    let put = call::check("t", &grant, c.domain(), "PUT", &path).unwrap();
    let stream = CardStream::new();
    stream.set(c.clone(), put.clone(), "a".into()).unwrap();
    let e = stream.flush(Instant::now() + T).await.unwrap_err();
    assert!(
        e.contains("streaming the card failed") && e.contains("300309"),
        "{e}"
    );
    assert_eq!(stream.set(c.clone(), put, "b".into()).unwrap_err(), e);
    emu.shutdown().await;
}
