//! The filters on hand-made envelopes: each refuses what it should, passes what it should,
//! and names the reason.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::handler::GuestEvent;
use crate::protocol::envelope::EventKind;

const BOT: &str = "ou_bot";
const NOW: u64 = 1_700_000_000_000;

fn event(envelope: Value) -> GuestEvent {
    GuestEvent {
        dedupe_id: "om_1".into(),
        event_id: "ev-1".into(),
        event_type: envelope["header"]["event_type"]
            .as_str()
            .unwrap_or("im.message.receive_v1")
            .into(),
        kind: EventKind::Event,
        app_id: "cli_1".into(),
        tenant_key: "t".into(),
        create_time: envelope["header"]["create_time"]
            .as_str()
            .unwrap_or_default()
            .into(),
        attempt: 1,
        envelope: envelope.to_string(),
    }
}

/// A message in `chat` of type `chat_type` from `sender` (`sender_type`), mentioning `mentions`.
fn message(
    chat: &str,
    chat_type: &str,
    sender: &str,
    sender_type: &str,
    mentions: &[&str],
) -> GuestEvent {
    let mentions: Vec<Value> = mentions
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"key": format!("@_user_{}", i + 1), "id": {"open_id": id}, "name": "x"}))
        .collect();
    event(json!({
        "schema": "2.0",
        "header": {"event_id": "ev-1", "event_type": "im.message.receive_v1",
                   "create_time": (NOW - 1000).to_string(), "app_id": "cli_1", "tenant_key": "t"},
        "event": {
            "sender": {"sender_id": {"open_id": sender, "union_id": format!("on_{sender}")},
                       "sender_type": sender_type},
            "message": {"message_id": "om_1", "chat_id": chat, "chat_type": chat_type,
                        "message_type": "text", "content": "{\"text\":\"hi\"}",
                        "mentions": mentions}
        }
    }))
}

fn filter(settings: FilterSettings) -> HandlerFilter {
    HandlerFilter::new("h", settings, Some(BOT.into())).unwrap()
}

fn reason(f: &HandlerFilter, e: &GuestEvent) -> Option<FilterReason> {
    f.check(e, NOW).map(|x| x.reason)
}

#[test]
fn no_filter_passes_everything() {
    let f = filter(FilterSettings::default());
    assert!(FilterSettings::default().is_empty());
    assert_eq!(
        reason(&f, &message("oc_1", "group", "ou_u", "user", &[])),
        None
    );
    assert_eq!(reason(&f, &event(json!({"not": "an envelope"}))), None);
}

#[test]
fn chat_types_refuse_other_chat_types_and_pass_events_without_one() {
    let f = filter(FilterSettings {
        chat_types: Some(BTreeSet::from([ChatType::P2p])),
        ..Default::default()
    });
    assert_eq!(
        reason(&f, &message("oc_1", "p2p", "ou_u", "user", &[])),
        None
    );
    let group = f
        .check(&message("oc_1", "group", "ou_u", "user", &[]), NOW)
        .unwrap();
    assert_eq!(group.reason, FilterReason::ChatType);
    assert_eq!(group.detail, "a group chat, not one of [p2p]");
    assert_eq!(
        reason(&f, &message("oc_1", "weird", "ou_u", "user", &[])),
        Some(FilterReason::ChatType),
        "an unknown chat type is not an allowed one"
    );
    let card = event(
        json!({"schema": "2.0", "header": {"event_type": "card.action.trigger"},
                            "event": {"operator": {"open_id": "ou_u"}}}),
    );
    assert_eq!(reason(&f, &card), None, "no chat_type: passes");
}

#[test]
fn require_mention_refuses_group_messages_without_the_bot() {
    let f = filter(FilterSettings {
        require_mention: true,
        ..Default::default()
    });
    assert_eq!(
        reason(&f, &message("oc_1", "group", "ou_u", "user", &[BOT])),
        None
    );
    assert_eq!(
        reason(&f, &message("oc_1", "group", "ou_u", "user", &["ou_other"])),
        Some(FilterReason::NotMentioned)
    );
    assert_eq!(
        reason(&f, &message("oc_1", "topic_group", "ou_u", "user", &[])),
        Some(FilterReason::NotMentioned)
    );
    assert_eq!(
        reason(&f, &message("oc_1", "p2p", "ou_u", "user", &[])),
        None,
        "p2p always passes"
    );
    let reaction = event(
        json!({"schema": "2.0", "header": {"event_type": "im.message.reaction.created_v1"},
                                "event": {"message_id": "om_1"}}),
    );
    assert_eq!(reason(&f, &reaction), None, "not a message: passes");
}

#[test]
fn require_mention_needs_the_bot_open_id() {
    let settings = FilterSettings {
        require_mention: true,
        ..Default::default()
    };
    assert!(settings.needs_bot_open_id());
    let err = HandlerFilter::new("echo", settings, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("handler `echo`") && err.contains("bot_open_id"),
        "{err}"
    );
    let both = FilterSettings {
        ignore_senders: BTreeSet::from([SenderKind::App, SenderKind::Bot]),
        ..Default::default()
    };
    assert!(
        !both.needs_bot_open_id(),
        "every app sender: no need to tell them apart"
    );
    assert!(HandlerFilter::new("h", both, None).is_ok());
}

#[test]
fn ignore_senders_tells_this_bot_from_other_bots() {
    let own = message("oc_1", "group", BOT, "app", &[]);
    let other = message("oc_1", "group", "ou_otherbot", "app", &[]);
    let user = message("oc_1", "group", "ou_u", "user", &[]);
    let app_only = filter(FilterSettings {
        ignore_senders: BTreeSet::from([SenderKind::App]),
        ..Default::default()
    });
    assert_eq!(reason(&app_only, &own), Some(FilterReason::Sender));
    assert_eq!(reason(&app_only, &other), None);
    assert_eq!(reason(&app_only, &user), None);
    let bot_only = filter(FilterSettings {
        ignore_senders: BTreeSet::from([SenderKind::Bot]),
        ..Default::default()
    });
    assert_eq!(reason(&bot_only, &own), None);
    let why = bot_only.check(&other, NOW).unwrap();
    assert_eq!(why.reason, FilterReason::Sender);
    assert!(why.detail.contains("another bot"), "{}", why.detail);
    let both = HandlerFilter::new(
        "h",
        FilterSettings {
            ignore_senders: BTreeSet::from([SenderKind::App, SenderKind::Bot]),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(reason(&both, &own), Some(FilterReason::Sender));
    assert_eq!(reason(&both, &other), Some(FilterReason::Sender));
    assert_eq!(reason(&both, &user), None);
}

#[test]
fn max_event_age_reads_v2_milliseconds_and_v1_seconds() {
    let f = filter(FilterSettings {
        max_event_age: Some(Duration::from_secs(60)),
        ..Default::default()
    });
    let at = |t: String| {
        let mut e = message("oc_1", "p2p", "ou_u", "user", &[]);
        e.create_time = t;
        e
    };
    assert_eq!(reason(&f, &at((NOW - 59_000).to_string())), None);
    let old = f.check(&at((NOW - 61_000).to_string()), NOW).unwrap();
    assert_eq!(old.reason, FilterReason::TooOld);
    assert_eq!(
        old.detail,
        "created 61 s ago, more than max_event_age_secs = 60"
    );
    assert_eq!(
        reason(&f, &at(format!("{}.500", (NOW - 120_000) / 1000))),
        Some(FilterReason::TooOld),
        "v1 ts: seconds with a fraction"
    );
    assert_eq!(reason(&f, &at(format!("{}.000", NOW / 1000))), None);
    assert_eq!(reason(&f, &at(String::new())), None, "unknown age passes");
    assert_eq!(reason(&f, &at("yesterday".into())), None);
    assert_eq!(
        reason(&f, &at((NOW + 5000).to_string())),
        None,
        "from the future (clock skew): age 0"
    );
}

#[test]
fn allow_lists_refuse_others_and_events_without_the_field() {
    let chats = filter(FilterSettings {
        chats: Some(BTreeSet::from(["oc_ok".to_string()])),
        ..Default::default()
    });
    assert_eq!(
        reason(&chats, &message("oc_ok", "group", "ou_u", "user", &[])),
        None
    );
    assert_eq!(
        reason(&chats, &message("oc_no", "group", "ou_u", "user", &[])),
        Some(FilterReason::ChatNotAllowed)
    );
    let card_in_chat = event(
        json!({"schema": "2.0", "header": {"event_type": "card.action.trigger"},
        "event": {"operator": {"open_id": "ou_u"}, "context": {"open_chat_id": "oc_ok"}}}),
    );
    assert_eq!(
        reason(&chats, &card_in_chat),
        None,
        "a card's open_chat_id is its chat"
    );
    let no_chat = event(
        json!({"schema": "2.0", "header": {"event_type": "contact.user.created_v3"},
                               "event": {"object": {}}}),
    );
    let why = chats.check(&no_chat, NOW).unwrap();
    assert_eq!(why.reason, FilterReason::ChatNotAllowed);
    assert!(why.detail.contains("names no chat"), "{}", why.detail);

    let users = filter(FilterSettings {
        users: Some(BTreeSet::from([
            "ou_ok".to_string(),
            "on_ou_friend".to_string(),
        ])),
        ..Default::default()
    });
    assert_eq!(
        reason(&users, &message("oc_1", "group", "ou_ok", "user", &[])),
        None
    );
    assert_eq!(
        reason(&users, &message("oc_1", "group", "ou_friend", "user", &[])),
        None,
        "a union_id in the list matches too"
    );
    assert_eq!(
        reason(&users, &message("oc_1", "group", "ou_no", "user", &[])),
        Some(FilterReason::UserNotAllowed)
    );
    let card_by = |who: &str| {
        event(
            json!({"schema": "2.0", "header": {"event_type": "card.action.trigger"},
                     "event": {"operator": {"open_id": who}}}),
        )
    };
    assert_eq!(reason(&users, &card_by("ou_ok")), None);
    assert_eq!(
        reason(&users, &card_by("ou_no")),
        Some(FilterReason::UserNotAllowed)
    );
    let reaction = event(
        json!({"schema": "2.0", "header": {"event_type": "im.message.reaction.created_v1"},
                                "event": {"user_id": {"open_id": "ou_ok"}}}),
    );
    assert_eq!(reason(&users, &reaction), None);
    assert_eq!(
        reason(&users, &no_chat),
        Some(FilterReason::UserNotAllowed),
        "no user: refused by an allow-list"
    );
}

#[test]
fn the_first_refusing_filter_names_the_reason_and_apply_counts() {
    let f = filter(FilterSettings {
        max_event_age: Some(Duration::from_secs(3600)),
        require_mention: true,
        ignore_senders: BTreeSet::from([SenderKind::Bot]),
        ..Default::default()
    });
    // `apply` measures ages against the clock: these messages were created just now.
    let fresh = |mut e: GuestEvent| {
        e.create_time = super::now_ms().to_string();
        e
    };
    // A bot's group message without mention: the sender filter comes first.
    let e = fresh(message("oc_1", "group", "ou_otherbot", "app", &[]));
    assert_eq!(reason(&f, &e), Some(FilterReason::Sender));
    assert_eq!(
        f.apply(&e, "trace").map(|x| x.reason),
        Some(FilterReason::Sender)
    );
    let quiet = fresh(message("oc_1", "group", "ou_u", "user", &[]));
    assert_eq!(
        f.apply(&quiet, "").map(|x| x.reason),
        Some(FilterReason::NotMentioned)
    );
    assert_eq!(
        f.apply(&quiet, "").map(|x| x.reason),
        Some(FilterReason::NotMentioned)
    );
    assert!(f
        .apply(&fresh(message("oc_1", "group", "ou_u", "user", &[BOT])), "")
        .is_none());
    let stale = message("oc_1", "group", "ou_u", "user", &[BOT]);
    assert_eq!(
        f.apply(&stale, "").map(|x| x.reason),
        Some(FilterReason::TooOld)
    );
    let c = f.counts();
    assert_eq!(c.get(FilterReason::Sender), 1);
    assert_eq!(c.get(FilterReason::NotMentioned), 2);
    assert_eq!(c.get(FilterReason::TooOld), 1);
    assert_eq!(c.total(), 4);
}

#[test]
fn checks_name_what_is_wrong() {
    assert_eq!(
        FilterSettings::check_chat_type("group"),
        Ok(ChatType::Group)
    );
    let e = FilterSettings::check_chat_type("groups")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`groups`") && e.contains("\"p2p\", \"group\", \"topic_group\""),
        "{e}"
    );
    assert!(FilterSettings::check_sender("user")
        .unwrap_err()
        .to_string()
        .contains("\"app\""));
    assert_eq!(
        FilterSettings::check_max_event_age_secs(0)
            .unwrap_err()
            .to_string(),
        "must be between 1 and 2592000 (got 0)"
    );
    assert!(FilterSettings::check_id("oc 1").is_err());
    assert!(FilterSettings::check_id("").is_err());
    assert!(FilterSettings::check_allow_list_len(0)
        .unwrap_err()
        .to_string()
        .contains("omit the key"));
    assert!(FilterSettings::check_allow_list_len(10_001).is_err());
    let s = FilterSettings {
        chat_types: Some(BTreeSet::from([ChatType::Group, ChatType::P2p])),
        require_mention: true,
        max_event_age: Some(Duration::from_secs(600)),
        users: Some(BTreeSet::from(["ou_1".to_string()])),
        ..Default::default()
    };
    assert_eq!(
        s.summary(),
        "chat_types [p2p, group], require_mention, max_event_age_secs 600, users (1)"
    );
}
