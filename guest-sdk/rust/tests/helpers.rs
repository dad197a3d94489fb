//! Outcome, card response, leniency and host-shim behaviour.

// The host shim (`aviary_guest::testing`) only exists off wasm.
#![cfg(not(target_arch = "wasm32"))]

use aviary_guest::events::{Message, MessageReceive, UserCreated};
use aviary_guest::prelude::*;
use aviary_guest::testing;
use serde_json::json;

#[test]
fn outcomes() {
    assert_eq!(Outcome::done(), Outcome::Done);
    assert_eq!(Outcome::retry("later"), Outcome::Retry("later".into()));
    assert_eq!(
        Outcome::reject(String::from("no")),
        Outcome::Reject("no".into())
    );
    assert_eq!(
        Outcome::respond(&json!({"a": 1})),
        Outcome::Respond(r#"{"a":1}"#.into())
    );
    assert_eq!(Outcome::respond_json("{}"), Outcome::Respond("{}".into()));
    assert_eq!(Outcome::from_result(Ok::<(), String>(())), Outcome::Done);
    assert_eq!(
        Outcome::from_result(Err::<(), _>("bad")),
        Outcome::Reject("bad".into())
    );
    // A map with non-string keys cannot be JSON: reject instead of panicking.
    let mut m = std::collections::HashMap::new();
    m.insert((1, 2), 3);
    assert!(matches!(Outcome::respond(&m), Outcome::Reject(_)));
}

#[test]
fn toasts_and_cards() {
    assert_eq!(
        Outcome::toast_info("ok"),
        Outcome::Respond(r#"{"toast":{"type":"info","content":"ok"}}"#.into())
    );
    assert_eq!(
        Outcome::toast_error("x"),
        Outcome::Respond(r#"{"toast":{"type":"error","content":"x"}}"#.into())
    );
    let r = CardResponse::toast(
        Toast::success("Done")
            .with_i18n("zh_cn", "完成")
            .with_i18n("en_us", "Done"),
    )
    .with_card(CardUpdate::template(
        "AAqk1",
        Some("1.0.2"),
        json!({"n": 3}),
    ));
    let Outcome::Respond(body) = Outcome::from(r.clone()) else {
        panic!()
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v,
        json!({
            "toast": {"type": "success", "content": "Done", "i18n": {"en_us": "Done", "zh_cn": "完成"}},
            "card": {"type": "template", "data": {"template_id": "AAqk1", "template_version_name": "1.0.2", "template_variable": {"n": 3}}}
        })
    );
    let back: CardResponse = serde_json::from_str(&body).unwrap();
    assert_eq!(back, r);
    let raw = CardResponse::card(CardUpdate::raw(json!({"schema": "2.0", "body": {}})));
    assert_eq!(
        serde_json::to_value(raw).unwrap(),
        json!({"card": {"type": "raw", "data": {"schema": "2.0", "body": {}}}})
    );
}

#[test]
fn models_are_lenient() {
    // Missing fields, nulls and unknown fields are all fine.
    let m: MessageReceive = serde_json::from_value(json!({
        "message": {"message_id": "om_1", "root_id": null, "mentions": null, "brand_new": [1, 2]},
        "sender": null,
        "extra": true
    }))
    .unwrap();
    assert_eq!(m.message.message_id, "om_1");
    assert_eq!(m.message.root_id, "");
    assert!(m.message.mentions.is_empty());
    assert_eq!(m.sender.sender_type, "");
    let u: UserCreated = serde_json::from_value(json!({})).unwrap();
    assert_eq!(u.object.gender, None);
}

#[test]
fn message_text() {
    let text = |t: &str, c: &str| Message {
        message_type: t.into(),
        content: c.into(),
        ..Default::default()
    };
    assert_eq!(
        text("text", r#"{"text":"hi"}"#).text().as_deref(),
        Some("hi")
    );
    assert_eq!(text("post", r#"{"text":"hi"}"#).text(), None);
    assert_eq!(text("text", "not json").text(), None);
    assert_eq!(
        text("image", r#"{"image_key":"img_v2_1"}"#)
            .content_json()
            .unwrap()["image_key"],
        "img_v2_1"
    );
}

#[test]
fn parse_errors_name_the_event_and_type() {
    let ev = Event::from_envelope(
        r#"{"schema":"2.0","header":{"event_id":"e1","event_type":"im.message.receive_v1"},"event":{"message":5}}"#,
    )
    .unwrap();
    let err = ev.typed().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "cannot read `im.message.receive_v1` event as aviary_guest::events::im::MessageReceive"
        ),
        "{msg}"
    );
    assert!(matches!(Outcome::from(err), Outcome::Reject(_)));
    // The raw JSON is still there.
    assert_eq!(ev.json().unwrap()["event"]["message"], 5);
    assert_eq!(ev.body::<serde_json::Value>().unwrap()["message"], 5);
}

#[test]
fn routing_fields_like_the_runtime() {
    let ev = Event::from_envelope(
        r#"{"schema":"2.0","header":{"event_id":"e1","event_type":"url.preview.get","app_id":"cli_x","tenant_key":"t","create_time":"1"},"event":{}}"#,
    )
    .unwrap();
    assert_eq!(ev.kind, EventKind::Callback);
    assert_eq!(ev.dedupe_id, "e1");
    assert_eq!(ev.attempt, 1);
    assert_eq!(
        (
            ev.app_id.as_str(),
            ev.tenant_key.as_str(),
            ev.create_time.as_str()
        ),
        ("cli_x", "t", "1")
    );
    assert!(Event::from_envelope("not json").is_err());
}

#[test]
fn logs_and_config_through_the_shim() {
    testing::take_logs();
    trace!("t");
    debug!("d {}", 1);
    info!("i {x}", x = "y");
    warn!("w");
    error!("e {:?}", [1]);
    aviary_guest::log(Level::Info, "plain");
    assert_eq!(
        testing::take_logs(),
        vec![
            (Level::Trace, "t".into()),
            (Level::Debug, "d 1".into()),
            (Level::Info, "i y".into()),
            (Level::Warn, "w".into()),
            (Level::Error, "e [1]".into()),
            (Level::Info, "plain".into()),
        ]
    );
    assert_eq!(config::get("missing"), None);
    testing::set_config("k", "v");
    assert_eq!(config::get("k").as_deref(), Some("v"));
    assert_eq!(config::get_or("other", "dflt"), "dflt");
    testing::clear_config();
    assert_eq!(config::get("k"), None);
}

struct Echo;
impl Handler for Echo {
    fn handle(event: Event) -> Outcome {
        Outcome::respond_json(event.event_type)
    }
}
aviary_guest::export_handler!(Echo);

#[test]
fn export_handler_type_checks_on_the_host() {
    let ev = Event::from_envelope(r#"{"uuid":"u","event":{"type":"message"}}"#).unwrap();
    assert_eq!(Echo::handle(ev), Outcome::Respond("message".into()));
}

#[test]
fn card_and_preview_answers_have_feishus_shape() {
    use aviary_guest::{CardResponse, CardUpdate, Outcome, Toast, UrlPreviewResponse};
    let card = serde_json::json!({"schema": "2.0", "body": {"elements": []}});
    assert_eq!(
        Outcome::card(CardUpdate::raw(card.clone())),
        Outcome::Respond(format!(r#"{{"card":{{"type":"raw","data":{card}}}}}"#))
    );
    let both: Outcome = CardResponse::toast(Toast::success("saved"))
        .with_card(CardUpdate::template(
            "AAq1",
            Some("1.0.0"),
            serde_json::json!({"n": 1}),
        ))
        .into();
    assert_eq!(
        both,
        Outcome::Respond(
            r#"{"toast":{"type":"success","content":"saved"},"card":{"type":"template","data":{"template_id":"AAq1","template_variable":{"n":1},"template_version_name":"1.0.0"}}}"#
                .into()
        )
    );
    assert_eq!(
        Outcome::url_preview("T-1042: printer on fire"),
        Outcome::Respond(r#"{"inline":{"title":"T-1042: printer on fire"}}"#.into())
    );
    let rich: Outcome = UrlPreviewResponse::title("t")
        .with_image("img_1")
        .with_i18n_title("zh_cn", "标题")
        .into();
    assert_eq!(
        rich,
        Outcome::Respond(
            r#"{"inline":{"title":"t","i18n_title":{"zh_cn":"标题"},"image_key":"img_1"}}"#.into()
        )
    );
}

#[test]
fn a_deferred_card_update_posts_the_token_and_the_card() {
    use aviary_guest::{feishu, testing};
    testing::take_feishu_requests();
    feishu::update_card("c-1", &serde_json::json!({"elements": []})).unwrap();
    let calls = testing::take_feishu_requests();
    assert_eq!(calls[0].0, "POST");
    assert_eq!(calls[0].1, "/open-apis/interactive/v1/card/update");
    let body: serde_json::Value = serde_json::from_str(&calls[0].2).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"token": "c-1", "card": {"elements": []}})
    );
    assert!(feishu::update_card("", &serde_json::json!({})).is_err());
}
