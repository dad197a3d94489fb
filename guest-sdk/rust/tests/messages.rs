//! Every sample in `examples/events/messages/` parses to the values in its `expected.json`,
//! the file every Aviary SDK's tests check against.

use aviary_guest::events::{Message, MessageContent, MessageReceive};
use aviary_guest::Event;
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/events/messages")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap()
}

fn message(file: &str) -> Message {
    let json = std::fs::read_to_string(dir().join(file)).unwrap();
    let m: MessageReceive = Event::from_envelope(json).unwrap().body().unwrap();
    m.message
}

/// Every key of `want` is in `got` with the same value (arrays: same length, item by item).
fn assert_subset(path: &str, want: &Value, got: &Value) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let gv = g
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} missing in {got}"));
                assert_subset(&format!("{path}.{k}"), wv, gv);
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "{path}: length");
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                assert_subset(&format!("{path}[{i}]"), wv, gv);
            }
        }
        _ => assert_eq!(want, got, "{path}"),
    }
}

#[test]
fn every_message_sample_has_expectations_and_back() {
    let exp = expected();
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && n != "expected.json")
        .collect();
    files.sort();
    let mut listed: Vec<String> = exp["samples"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    listed.sort();
    assert_eq!(files, listed);
}

#[test]
fn every_message_sample_parses_to_the_shared_expectations() {
    let exp = expected();
    let bot = exp["bot_open_id"].as_str().unwrap();
    for (file, want) in exp["samples"].as_object().unwrap() {
        let m = message(file);
        let content = m.parse_content().unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(content.kind(), want["kind"], "{file}: kind");
        let s = |k: &str| Some(want[k].as_str().unwrap().to_string());
        assert_eq!(m.plain_text(), s("plain_text"), "{file}: plain_text");
        assert_eq!(m.text_with_names(), s("text_with_names"), "{file}");
        assert_eq!(
            m.text_without_mentions(),
            s("text_without_mentions"),
            "{file}"
        );
        assert_eq!(
            m.mentions_bot(bot),
            want["mentions_bot"],
            "{file}: mentions_bot"
        );
        assert_eq!(
            m.mentions_all(),
            want["mentions_all"],
            "{file}: mentions_all"
        );
        let got = serde_json::to_value(&content).unwrap();
        assert_subset(file, &want["content"], &got);
    }
}

#[test]
fn content_variants_and_edge_cases() {
    let MessageContent::File(f) = message("file.json").parse_content().unwrap() else {
        panic!("file.json is not a file")
    };
    assert_eq!(f.file_key, "file_v3_0001");
    let MessageContent::Unknown(u) = message("unknown.json").parse_content().unwrap() else {
        panic!("unknown.json is not unknown")
    };
    assert_eq!(u.message_type, "share_calendar_event");
    assert_eq!(u.raw["summary"], "Planning");
    // A post sent with a locale level reads like the received form.
    let c = MessageContent::parse(
        "post",
        r#"{"en_us":{"title":"T","content":[[{"tag":"text","text":"hi"}]]}}"#,
    )
    .unwrap();
    assert_eq!(c.plain_text(), "T\nhi");
    // Unparsable content is an error, and the text helpers say None.
    let mut m = message("text.json");
    m.content = "not json".into();
    assert!(m.parse_content().is_err());
    assert_eq!(m.text_without_mentions(), None);
    assert!(!m.mentions_bot(""));
    // @_user_1 never eats the start of @_user_10.
    let mut m = message("text.json");
    m.content = r#"{"text":"@_user_10 and @_user_1"}"#.into();
    m.mentions[0].key = "@_user_10".into();
    m.mentions[1].key = "@_user_1".into();
    assert_eq!(m.text_with_names().unwrap(), "@Aviary bot and @Alice");
}
