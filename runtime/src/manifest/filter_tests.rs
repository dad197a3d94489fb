//! The filter keys of `[[handler]]` and `[feishu] bot_open_id`: typed when right, every bad
//! value reported at its own file:line:col and key.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::dispatch::filter::{ChatType, SenderKind};

const PATH: &str = "bots/aviary.toml";
const HEAD: &str = "[feishu]\napp_id = \"cli_1\"\napp_secret = \"s\"\n";

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(text, PATH, &|_| None)
}

fn handler(keys: &str) -> String {
    format!("{HEAD}\n[[handler]]\nname = \"h\"\ncomponent = \"h.wasm\"\nevents = [\"*\"]\n{keys}")
}

/// Every problem of `text`, one `file:line:col: key: message` string each.
fn problems(text: &str) -> Vec<String> {
    let e = parse(text).expect_err("should be refused");
    e.problems().iter().map(|p| p.to_string()).collect()
}

#[test]
fn filters_are_typed() {
    let m = parse(&handler(
        "chat_types = [\"p2p\", \"group\"]\nrequire_mention = true\n\
         ignore_senders = [\"app\", \"bot\"]\nmax_event_age_secs = 600\n\
         chats = [\"oc_1\", \"oc_2\"]\nusers = [\"ou_1\"]\n",
    ))
    .unwrap();
    let f = &m.handlers[0].filter;
    assert_eq!(
        f.chat_types,
        Some(BTreeSet::from([ChatType::P2p, ChatType::Group]))
    );
    assert!(f.require_mention);
    assert_eq!(
        f.ignore_senders,
        BTreeSet::from([SenderKind::App, SenderKind::Bot])
    );
    assert_eq!(f.max_event_age, Some(Duration::from_secs(600)));
    assert_eq!(f.chats.as_ref().unwrap().len(), 2);
    assert_eq!(f.users, Some(BTreeSet::from(["ou_1".to_string()])));
    let none = parse(&handler("")).unwrap();
    assert!(none.handlers[0].filter.is_empty(), "no key: no filter");
    assert!(none.feishu.bot_open_id.is_none());
}

#[test]
fn bad_filter_values_are_each_reported_where_they_are() {
    let text = handler(
        "chat_types = [\"p2p\", \"groups\", \"p2p\"]\n\
         ignore_senders = [\"user\"]\n\
         max_event_age_secs = 0\n\
         chats = []\n\
         users = [\"ou_1\", \"ou 2\"]\n",
    );
    let all = problems(&text);
    let want = [
        "bots/aviary.toml:9:22: handler.chat_types: handler `h`: `groups` is not a chat type",
        "bots/aviary.toml:9:32: handler.chat_types: handler `h`: `p2p` is listed twice",
        "bots/aviary.toml:10:19: handler.ignore_senders: handler `h`: `user` is not a sender kind",
        "bots/aviary.toml:11:22: handler.max_event_age_secs: handler `h`: must be between 1 and 2592000 (got 0)",
        "bots/aviary.toml:12:9: handler.chats: handler `h`: an empty allow-list refuses every event",
        "bots/aviary.toml:13:18: handler.users: handler `h`: `ou 2` is not an id",
    ];
    assert_eq!(all.len(), want.len(), "{all:#?}");
    for (got, want) in all.iter().zip(want) {
        assert!(got.starts_with(want), "{got}\n  should start with\n{want}");
    }
}

#[test]
fn wrong_types_and_unknown_filter_keys_are_refused() {
    let msg = problems(&handler("require_mention = \"yes\"\n")).join("\n");
    assert!(
        msg.starts_with("bots/aviary.toml:9:") && msg.contains("handler.require_mention"),
        "{msg}"
    );
    let msg = problems(&handler("require_mentions = true\n")).join("\n");
    assert!(msg.contains("handler.require_mentions"), "{msg}");
    let msg = problems(&handler("chat_types = []\n")).join("\n");
    assert!(
        msg.starts_with("bots/aviary.toml:9:14: handler.chat_types:")
            && msg.contains("omit the key"),
        "{msg}"
    );
}

#[test]
fn bot_open_id_is_checked() {
    let m = parse(&format!("{HEAD}bot_open_id = \"ou_abc\"\n")).unwrap();
    assert_eq!(m.feishu.bot_open_id.as_deref(), Some("ou_abc"));
    let msg = problems(&format!("{HEAD}bot_open_id = \"cli_abc\"\n")).join("\n");
    assert!(
        msg.starts_with("bots/aviary.toml:4:15: feishu.bot_open_id: `cli_abc` is not an open_id"),
        "{msg}"
    );
}

#[test]
fn merge_is_typed_with_defaults() {
    let m = parse(&handler(
        "merge = { window_ms = 1500, max_events = 10, same_sender = true }\n",
    ))
    .unwrap();
    let merge = m.handlers[0].merge.unwrap();
    assert_eq!(merge.window, Duration::from_millis(1500));
    assert_eq!(merge.max_events, 10);
    assert!(merge.same_sender);
    let m = parse(&handler("merge = {}\n")).unwrap();
    assert_eq!(
        m.handlers[0].merge,
        Some(crate::queue::merge::MergeSettings::default())
    );
    assert!(parse(&handler("")).unwrap().handlers[0].merge.is_none());
}

#[test]
fn bad_merge_values_and_queues_are_reported_at_the_key() {
    let all = problems(&handler("merge = { window_ms = 0, max_events = 101 }\n"));
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all[0].starts_with(
            "bots/aviary.toml:9:23: handler.merge.window_ms: must be between 1 and 60000 (got 0)"
        ),
        "{}",
        all[0]
    );
    assert!(
        all[1].starts_with(
            "bots/aviary.toml:9:39: handler.merge.max_events: must be between 1 and 100 (got 101)"
        ),
        "{}",
        all[1]
    );
    let msg = problems(&format!(
        "{}\n[queue]\nack = \"after-handle\"\n",
        handler("merge = {}\n")
    ))
    .join("\n");
    assert!(
        msg.starts_with(
            "bots/aviary.toml:9:9: handler.merge: handler `h`: needs the durable queue"
        ),
        "{msg}"
    );
    let msg = problems(&format!(
        "{}\n[queue]\nbackend = \"redis://127.0.0.1:6379/0\"\n",
        handler("merge = {}\n")
    ))
    .join("\n");
    assert!(
        msg.contains("handler.merge: handler `h`: is not supported with a Redis queue"),
        "{msg}"
    );
    let text = format!(
        "{HEAD}\n[[handler]]\nname = \"h\"\ncomponent = \"h.wasm\"\nevents = [\"card.*\"]\nmerge = {{}}\n"
    );
    let msg = problems(&text).join("\n");
    assert!(
        msg.contains("handler.merge: handler `h`: merges im.message.receive_v1 messages, which its events do not include"),
        "{msg}"
    );
    let msg = problems(&handler("merge = { window = 5 }\n")).join("\n");
    assert!(
        msg.contains("handler.merge.window") && msg.contains("window_ms"),
        "{msg}"
    );
}
