//! The `feishu` wrappers build the requests the OpenAPI expects (checked through the host shim).

use aviary_guest::{feishu, testing};
use serde_json::Value;

#[test]
fn reply_and_send_text_build_the_documented_requests() {
    let id = feishu::reply_text("om_1", "hi \"you\"").unwrap();
    assert_eq!(id, "om_test");
    feishu::send_text("chat_id", "oc_9", "hello").unwrap();
    let calls = testing::take_feishu_requests();
    assert_eq!(calls.len(), 2);
    let (method, path, body) = &calls[0];
    assert_eq!(
        (method.as_str(), path.as_str()),
        ("POST", "/open-apis/im/v1/messages/om_1/reply")
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["msg_type"], "text");
    let content: Value = serde_json::from_str(body["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["text"], "hi \"you\"");
    assert!(body.get("uuid").is_none(), "the host adds the uuid");
    let (_, path, body) = &calls[1];
    assert_eq!(path, "/open-apis/im/v1/messages?receive_id_type=chat_id");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["receive_id"], "oc_9");
}

#[test]
fn errors_and_odd_answers_come_back_as_errors() {
    testing::push_feishu_answer(Err("denied: handler `x` has no OpenAPI grant".into()));
    let e = feishu::reply_text("om_1", "hi").unwrap_err();
    assert!(e.contains("no OpenAPI grant"), "{e}");
    testing::push_feishu_answer(Ok(r#"{"code":0,"data":{}}"#.into()));
    let e = feishu::send_text("open_id", "ou_1", "x").unwrap_err();
    assert!(e.contains("no data.message_id"), "{e}");
    testing::push_feishu_answer(Ok("{\"code\":0}".into()));
    let raw = feishu::request("GET", "/open-apis/im/v1/chats", "").unwrap();
    assert_eq!(raw, "{\"code\":0}");
    assert_eq!(testing::take_feishu_requests().len(), 3);
}

#[test]
fn uploads_send_the_form_and_return_the_key_and_bad_ids_stay_in_the_guest() {
    testing::take_feishu_requests();
    let key = feishu::upload_image(b"\x89PNG", "message").unwrap();
    assert_eq!(key, "img_test");
    let key = feishu::upload_file(b"%PDF", "pdf", "report.pdf").unwrap();
    assert_eq!(key, "file_test");
    let calls = testing::take_feishu_requests();
    assert_eq!(calls[0].0, "UPLOAD");
    assert_eq!(calls[0].1, "/open-apis/im/v1/images");
    assert_eq!(calls[0].2, r#"{"image_type":"message"}"#);
    let files = testing::take_feishu_uploads();
    assert_eq!(
        files[0],
        (
            "image".to_string(),
            "image".to_string(),
            b"\x89PNG".to_vec()
        )
    );
    assert_eq!(files[1].1, "report.pdf");
    let e = feishu::reply_text("om_1/../x", "x").unwrap_err();
    assert!(e.contains("only letters"), "{e}");
    let e = feishu::send_text("phone", "1", "x").unwrap_err();
    assert!(e.contains("receive_id_type"), "{e}");
    assert!(testing::take_feishu_requests().is_empty());
}

#[test]
fn a_card_stream_creates_replies_streams_and_closes() {
    use aviary_guest::stream::{CardStream, ELEMENT};
    testing::take_feishu_requests();
    let mut s = CardStream::reply("om_1").unwrap();
    assert_eq!(s.card_id(), "card_test");
    s.push("Hel").unwrap();
    s.push("lo").unwrap();
    assert_eq!(s.finish().unwrap(), "Hello");
    let calls = testing::take_feishu_requests();
    let methods: Vec<&str> = calls.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        methods,
        ["POST", "POST", "STREAM", "STREAM", "STREAM", "PATCH"]
    );
    let create: Value = serde_json::from_str(&calls[0].2).unwrap();
    let card: Value = serde_json::from_str(create["data"].as_str().unwrap()).unwrap();
    assert_eq!(card["config"]["streaming_mode"], true);
    assert_eq!(card["body"]["elements"][0]["element_id"], ELEMENT);
    let reply: Value = serde_json::from_str(&calls[1].2).unwrap();
    assert_eq!(reply["msg_type"], "interactive");
    assert_eq!(
        reply["content"],
        r#"{"data":{"card_id":"card_test"},"type":"card"}"#
    );
    assert_eq!(calls[3].2, "Hello");
    assert_eq!(calls[5].1, "/open-apis/cardkit/v1/cards/card_test/settings");
    let close: Value = serde_json::from_str(&calls[5].2).unwrap();
    assert_eq!(close["sequence"], 4, "after the host's three updates");
    assert_eq!(close["settings"], r#"{"config":{"streaming_mode":false}}"#);
}
