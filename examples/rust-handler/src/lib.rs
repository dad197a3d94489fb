//! Example Aviary handler:
//! * logs incoming messages (`im.message.receive_v1`: chat id and text) and, when
//!   `[handler.config]` sets `reply` (and the manifest grants
//!   `openapi = ["/open-apis/im/v1/messages"]`), replies `"<reply>: <text>"` through the
//!   Feishu OpenAPI — once, even if the event is handled again (the host's uuid key);
//! * answers `card.action.trigger` with a toast that depends on the button's `value.choice`
//!   (the text for "approve" comes from `approve_toast` in `[handler.config]`, if set);
//! * records contact and approval events at info level;
//! * returns `done` for everything else.

use aviary_guest::prelude::*;

pub struct Bot;

impl Handler for Bot {
    fn handle(event: Event) -> Outcome {
        let typed = match event.typed() {
            Ok(t) => t,
            // A body that does not match its model will not match on a retry either.
            Err(e) => return Outcome::from(e),
        };
        match typed {
            TypedEvent::MessageReceive(m) => {
                if m.from_app() {
                    return Outcome::done();
                }
                let text = m.text();
                match &text {
                    Some(text) => info!("message in {}: {}", m.message.chat_id, text),
                    None => info!(
                        "{} message in {}",
                        m.message.message_type, m.message.chat_id
                    ),
                }
                let Some(prefix) = config::get("reply") else {
                    return Outcome::done();
                };
                // "card" gets a card with two buttons (their clicks come back as
                // card.action.trigger, answered below); anything else gets its text back.
                let sent = if m.message.text_without_mentions().as_deref() == Some("card") {
                    feishu::reply(&m.message.message_id, "interactive", &choice_card())
                } else {
                    let answer = format!("{prefix}: {}", text.unwrap_or_default());
                    feishu::reply_text(&m.message.message_id, &answer)
                };
                match sent {
                    Ok(id) => {
                        info!("replied with {id}");
                        Outcome::done()
                    }
                    // Retrying sends the same uuid: the user still gets one reply.
                    Err(e) => Outcome::retry(format!("reply failed: {e}")),
                }
            }
            TypedEvent::CardAction(a) => {
                let who = a.operator.open_id.as_str();
                match a.value_str("choice") {
                    Some("approve") => Outcome::toast_success(config::get_or(
                        "approve_toast",
                        "Approved, thank you",
                    )),
                    Some("reject") => Outcome::toast_warning("Rejected"),
                    Some(other) => Outcome::toast_info(format!("You chose {other}")),
                    None => {
                        warn!("card action from {who} without value.choice");
                        Outcome::toast_error("Unknown action")
                    }
                }
            }
            TypedEvent::UserCreated(u) => {
                info!("user created: {} ({})", u.object.name, u.object.open_id);
                Outcome::done()
            }
            TypedEvent::UserUpdated(u) => {
                info!("user updated: {} ({})", u.object.name, u.object.open_id);
                Outcome::done()
            }
            TypedEvent::UserDeleted(u) => {
                info!("user deleted: {} ({})", u.object.name, u.object.open_id);
                Outcome::done()
            }
            TypedEvent::DepartmentCreated(d) => {
                info!("department created: {}", d.object.name);
                Outcome::done()
            }
            TypedEvent::DepartmentUpdated(d) => {
                info!("department updated: {}", d.object.name);
                Outcome::done()
            }
            TypedEvent::DepartmentDeleted(d) => {
                info!("department deleted: {}", d.object.open_department_id);
                Outcome::done()
            }
            TypedEvent::ApprovalApproved(a) => {
                info!(
                    "approval {} approved ({})",
                    a.instance_code, a.approval_code
                );
                Outcome::done()
            }
            TypedEvent::ApprovalRejected(a) => {
                info!(
                    "approval {} rejected ({})",
                    a.instance_code, a.approval_code
                );
                Outcome::done()
            }
            _ => Outcome::done(),
        }
    }
}

/// A card asking to approve or reject; each button's `value.choice` says which.
fn choice_card() -> serde_json::Value {
    let button = |label: &str, choice: &str, kind: &str| {
        serde_json::json!({
            "tag": "button",
            "text": { "tag": "plain_text", "content": label },
            "type": kind,
            "value": { "choice": choice },
        })
    };
    serde_json::json!({
        "header": { "title": { "tag": "plain_text", "content": "Ship it?" } },
        "elements": [
            { "tag": "div", "text": { "tag": "lark_md", "content": "Approve or reject the release." } },
            { "tag": "action", "actions": [
                button("Approve", "approve", "primary"),
                button("Reject", "reject", "danger"),
            ] },
        ],
    })
}

aviary_guest::export_handler!(Bot);

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use aviary_guest::testing;

    fn run(file: &str) -> (Outcome, Vec<(Level, String)>) {
        // examples/events next to the example; events/ inside a project `aviary new` made.
        let dir = env!("CARGO_MANIFEST_DIR");
        let path = [format!("{dir}/events/{file}"), format!("{dir}/../events/{file}")]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .unwrap_or_else(|| panic!("no sample {file}"));
        let json = std::fs::read_to_string(&path).unwrap();
        testing::take_logs();
        let outcome = Bot::handle(Event::from_envelope(json).unwrap());
        (outcome, testing::take_logs())
    }

    #[test]
    fn logs_messages() {
        let (outcome, logs) = run("im.message.receive_v1.json");
        assert_eq!(outcome, Outcome::Done);
        assert_eq!(
            logs,
            vec![(
                Level::Info,
                "message in oc_5ce6d572455d361153b7xx51da133945: @_user_1 hello, Aviary"
                    .to_string()
            )]
        );
    }

    #[test]
    fn replies_when_configured() {
        testing::set_config("reply", "Got it");
        testing::take_feishu_requests();
        let (outcome, logs) = run("im.message.receive_v1.json");
        assert_eq!(outcome, Outcome::Done);
        assert_eq!(logs[1], (Level::Info, "replied with om_test".to_string()));
        let calls = testing::take_feishu_requests();
        assert_eq!(calls.len(), 1);
        assert!(
            calls[0].1.ends_with("/reply") && calls[0].2.contains("Got it: @_user_1 hello, Aviary"),
            "{calls:?}"
        );

        testing::push_feishu_answer(Err("denied".into()));
        let (outcome, _) = run("im.message.receive_v1.json");
        testing::clear_config();
        assert_eq!(outcome, Outcome::retry("reply failed: denied"));
    }

    #[test]
    fn card_gets_a_card_with_buttons() {
        testing::set_config("reply", "Got it");
        testing::take_feishu_requests();
        let json = std::fs::read_to_string(format!(
            "{}/../events/im.message.receive_v1.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .or_else(|_| {
            std::fs::read_to_string(format!(
                "{}/events/im.message.receive_v1.json",
                env!("CARGO_MANIFEST_DIR")
            ))
        })
        .unwrap()
        .replace("@_user_1 hello, Aviary", "@_user_1 card");
        let outcome = Bot::handle(Event::from_envelope(json).unwrap());
        testing::clear_config();
        assert_eq!(outcome, Outcome::Done);
        let calls = testing::take_feishu_requests();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0].2.contains(r#""msg_type":"interactive""#), "{calls:?}");
        assert!(calls[0].2.contains(r#"\"choice\":\"approve\""#), "{calls:?}");
    }

    #[test]
    fn answers_card_actions_with_a_toast() {
        let (outcome, _) = run("card.action.trigger.json");
        let Outcome::Respond(body) = outcome else {
            panic!("expected a response, got {outcome:?}")
        };
        assert_eq!(
            body,
            r#"{"toast":{"type":"success","content":"Approved, thank you"}}"#
        );
    }

    #[test]
    fn toast_text_from_config() {
        testing::set_config("approve_toast", "Merci");
        let (outcome, _) = run("card.action.trigger.json");
        testing::clear_config();
        assert_eq!(
            outcome,
            Outcome::Respond(r#"{"toast":{"type":"success","content":"Merci"}}"#.into())
        );
    }

    #[test]
    fn records_contact_and_approval_events() {
        let (outcome, logs) = run("contact.user.created_v3.json");
        assert_eq!(outcome, Outcome::Done);
        assert_eq!(logs[0].0, Level::Info);
        assert!(logs[0].1.starts_with("user created: Zhang San"), "{logs:?}");
        let (_, logs) = run("approval.approval.approved_v1.json");
        assert!(logs[0].1.contains("approved"), "{logs:?}");
    }

    #[test]
    fn everything_else_is_done() {
        let (outcome, logs) = run("legacy-v1.message.json");
        assert_eq!(outcome, Outcome::Done);
        assert!(logs.is_empty());
    }
}
