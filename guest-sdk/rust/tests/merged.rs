//! `examples/events/aviary.message.merged_v1.json` (a merged turn) reads to the values in
//! `examples/events/merged/expected.json`, the file every Aviary SDK's tests check against.

use aviary_guest::events::{MergedMessages, TypedEvent};
use aviary_guest::Event;
use serde_json::Value;
use std::path::PathBuf;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/events")
}

#[test]
fn the_merged_sample_reads_to_the_shared_expectations() {
    let exp: Value = serde_json::from_str(
        &std::fs::read_to_string(events_dir().join("merged/expected.json")).unwrap(),
    )
    .unwrap();
    let json = std::fs::read_to_string(events_dir().join(exp["sample"].as_str().unwrap())).unwrap();
    let event = Event::from_envelope(json).unwrap();
    let Ok(TypedEvent::MergedMessages(m)) = event.typed() else {
        panic!("not typed as a merged turn: {:?}", event.typed());
    };
    assert_eq!(m.chat_id, exp["chat_id"].as_str().unwrap());
    assert_eq!(u64::from(m.count), exp["count"].as_u64().unwrap());
    let ids: Vec<Value> = m.message_ids().into_iter().map(Value::from).collect();
    assert_eq!(Value::from(ids), exp["message_ids"]);
    let types: Vec<Value> = m
        .messages()
        .map(|x| Value::from(x.message.message_type.clone()))
        .collect();
    assert_eq!(Value::from(types), exp["message_types"]);
    assert_eq!(
        m.sender().unwrap().sender_id.open_id,
        exp["sender_open_id"].as_str().unwrap()
    );
    assert_eq!(m.text(), exp["text"].as_str().unwrap());
    assert_eq!(
        m.text_with_names(),
        exp["text_with_names"].as_str().unwrap()
    );
    assert_eq!(
        m.mentions_bot(exp["bot_open_id"].as_str().unwrap()),
        exp["mentions_bot"].as_bool().unwrap()
    );
    assert!(!m.mentions_bot(""));
    let empty: MergedMessages = serde_json::from_str(r#"{"events": null}"#).unwrap();
    assert_eq!(
        (empty.text(), empty.message_ids().len()),
        (String::new(), 0)
    );
}
