//! Every sample in `examples/events/` deserializes into its typed model.

use aviary_guest::events::*;
use aviary_guest::{Envelope, Event, EventKind, LegacyEnvelope, TypedEvent};
use std::path::PathBuf;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/events")
}

fn sample(event_type: &str) -> Event {
    let path = events_dir().join(format!("{event_type}.json"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    Event::from_envelope(json).unwrap()
}

/// Strict check that the model saw the sample's fields: re-serializing the model and comparing
/// it key by key with the sample must not lose any value the model declares.
fn assert_all_model_fields_read<T: serde::Serialize + serde::de::DeserializeOwned>(ev: &Event) {
    let body: serde_json::Value = ev.body().unwrap();
    let model: T = ev.body().unwrap();
    let back = serde_json::to_value(&model).unwrap();
    fn walk(path: &str, sample: &serde_json::Value, model: &serde_json::Value) {
        if let (Some(s), Some(m)) = (sample.as_object(), model.as_object()) {
            for (k, mv) in m {
                if let Some(sv) = s.get(k) {
                    walk(&format!("{path}.{k}"), sv, mv);
                }
            }
        } else if let (Some(s), Some(m)) = (sample.as_array(), model.as_array()) {
            assert_eq!(s.len(), m.len(), "{path}");
            for (i, (sv, mv)) in s.iter().zip(m).enumerate() {
                walk(&format!("{path}[{i}]"), sv, mv);
            }
        } else {
            assert_eq!(sample, model, "{path}");
        }
    }
    walk(&ev.event_type, &body, &back);
}

#[test]
fn every_typed_event_has_a_sample_that_parses() {
    for event_type in TypedEvent::EVENT_TYPES {
        let ev = sample(event_type);
        assert_eq!(&ev.event_type, event_type);
        assert_eq!(ev.app_id, "cli_0123456789abcdef");
        let typed = ev.typed().unwrap_or_else(|e| panic!("{event_type}: {e}"));
        assert_eq!(typed.event_type(), Some(*event_type));
        let env: Envelope<serde_json::Value> = ev.parse().unwrap();
        assert_eq!(env.schema, "2.0");
        assert_eq!(env.header.event_type, *event_type);
        assert_eq!(env.header.event_id, ev.event_id);
    }
}

#[test]
fn every_sample_file_is_a_known_event_or_legacy() {
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(event_type) = name.strip_suffix(".json") else {
            continue;
        };
        if event_type.starts_with("legacy-") {
            continue;
        }
        assert!(
            TypedEvent::EVENT_TYPES.contains(&event_type),
            "{name} has no model"
        );
    }
}

#[test]
fn models_read_every_field_they_declare() {
    macro_rules! check {
        ($($t:ty),*) => {$(
            assert_all_model_fields_read::<$t>(&sample(<$t as EventBody>::EVENT_TYPE));
        )*};
    }
    check!(
        MessageReceive,
        MessageRead,
        ChatMemberUserAdded,
        ChatMemberUserDeleted,
        ChatUpdated,
        ChatMemberBotAdded,
        ChatMemberBotDeleted,
        ReactionCreated,
        ReactionDeleted,
        MessageRecalled,
        ChatDisbanded,
        BotP2pChatEntered,
        BotMenu,
        UserCreated,
        UserUpdated,
        UserDeleted,
        DepartmentCreated,
        DepartmentUpdated,
        DepartmentDeleted,
        ApprovalApproved,
        ApprovalRejected,
        CalendarEventChanged,
        MeetingStarted,
        MeetingEnded,
        CardAction
    );
}

#[test]
fn message_receive() {
    let ev = sample("im.message.receive_v1");
    assert_eq!(ev.dedupe_id, "om_5ce6d572455d361153b7cb51da133945");
    assert_eq!(ev.kind, EventKind::Event);
    assert!(ev.is::<MessageReceive>());
    assert!(!ev.is::<CardAction>());
    let m: MessageReceive = ev.body().unwrap();
    assert_eq!(m.message.chat_type, "group");
    assert_eq!(m.text().as_deref(), Some("@_user_1 hello, Aviary"));
    assert_eq!(
        m.message.text_without_mentions().as_deref(),
        Some("hello, Aviary")
    );
    assert_eq!(
        m.message.mentions[0].id.open_id,
        "ou_84aad35d084aa403a838cf73ee18467"
    );
    assert_eq!(m.sender.sender_type, "user");
    assert!(!m.from_app());
}

#[test]
fn card_action() {
    let ev = sample("card.action.trigger");
    assert_eq!(ev.kind, EventKind::Callback);
    assert!(ev.is_callback());
    let TypedEvent::CardAction(a) = ev.typed().unwrap() else {
        panic!()
    };
    assert_eq!(a.value_str("choice"), Some("approve"));
    assert_eq!(a.action.tag, "button");
    assert_eq!(
        a.context.open_chat_id,
        "oc_e4d2605ca917e695f54f11aaf56edb21"
    );
    assert_eq!(a.operator.open_id, "ou_84aad35d084aa403a838cf73ee18467");
}

#[test]
fn contact_and_approval() {
    let u: UserUpdated = sample("contact.user.updated_v3").body().unwrap();
    assert_eq!(u.object.gender, Some(1));
    assert_eq!(u.object.join_time, Some(1615381702));
    assert_eq!(u.old_object.job_title, "Junior Engineer");
    assert!(u.object.status.is_activated);
    let d: DepartmentCreated = sample("contact.department.created_v3").body().unwrap();
    assert_eq!(d.object.leaders[0].leader_type, Some(1));
    assert_eq!(d.object.i18n_name["zh_cn"], "平台工程部");
    let a: ApprovalApproved = sample("approval.approval.approved_v1").body().unwrap();
    assert_eq!(a.status, "APPROVED");
    assert_eq!(a.instance_code, "81D31358-93AF-92D6-7425-01A5D67C4E71");
    let m: MeetingEnded = sample("vc.meeting.meeting_ended_v1").body().unwrap();
    assert_eq!(m.meeting.host_user.user_role, Some(2));
}

#[test]
fn legacy_envelope() {
    let path = events_dir().join("legacy-v1.message.json");
    let ev = Event::from_envelope(std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(ev.event_type, "message");
    assert_eq!(ev.dedupe_id, "41b5f371157e3d5341b38b20396e77a3");
    assert_eq!(ev.event_id, ev.dedupe_id);
    assert_eq!(ev.app_id, "cli_0123456789abcdef");
    assert_eq!(ev.create_time, "1608725989.000");
    assert!(matches!(ev.typed().unwrap(), TypedEvent::Other));
    let body: serde_json::Value = ev.body().unwrap();
    assert_eq!(body["text"], "hello from a v1 envelope");
    let env: LegacyEnvelope<serde_json::Value> = serde_json::from_str(ev.raw()).unwrap();
    assert_eq!(env.kind, "event_callback");
    assert_eq!(
        ev.json().unwrap()["uuid"],
        "41b5f371157e3d5341b38b20396e77a3"
    );
}

/// Every file of `examples/events/expected/events.json` (shared by every SDK) types to the
/// listed body values.
#[test]
fn samples_type_to_the_shared_expectations() {
    let path = events_dir().join("expected/events.json");
    let exp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    fn subset(path: &str, want: &serde_json::Value, got: &serde_json::Value) {
        match (want, got) {
            (serde_json::Value::Object(w), serde_json::Value::Object(g)) => {
                for (k, wv) in w {
                    let gv = g.get(k).unwrap_or_else(|| panic!("{path}.{k} missing"));
                    subset(&format!("{path}.{k}"), wv, gv);
                }
            }
            _ => assert_eq!(want, got, "{path}"),
        }
    }
    let samples = exp["samples"].as_object().unwrap();
    assert!(samples.len() >= 9);
    for (file, want) in samples {
        let ev = sample(file.strip_suffix(".json").unwrap());
        assert_eq!(ev.event_type, want["event_type"], "{file}");
        let typed = ev.typed().unwrap();
        assert_eq!(typed.event_type(), want["event_type"].as_str(), "{file}");
        subset(file, &want["body"], &serde_json::to_value(&typed).unwrap());
    }
}

#[test]
fn card_action_form_values() {
    let a: CardAction = sample("card.action.trigger").body().unwrap();
    assert_eq!(a.form_value_str("reason"), Some("ship it"));
    assert_eq!(a.form_value_str("env"), None);
    assert_eq!(a.action.form_value["env"][1], "staging");
    assert_eq!(a.open_chat_id(), "oc_e4d2605ca917e695f54f11aaf56edb21");
    assert_eq!(a.open_message_id(), "om_574d639e4a44e4dd646eaf628e2f2d26");
}

#[test]
fn url_preview_is_a_callback_with_its_link_and_token() {
    let ev = sample("url.preview.get");
    assert_eq!(ev.kind, EventKind::Callback);
    let TypedEvent::UrlPreview(p) = ev.typed().unwrap() else {
        panic!("not a UrlPreview")
    };
    assert_eq!(p.url(), "https://tickets.example.com/T-1042");
    assert_eq!(
        p.preview_token(),
        "p-7b1f3c9a2d4e5f60718293a4b5c6d7e8f9012345"
    );
    assert_eq!(p.operator.open_id, "ou_84aad35d084aa403a838cf73ee18467");
    assert_all_model_fields_read::<UrlPreview>(&ev);
}
