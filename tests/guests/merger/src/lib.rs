//! Burst merge under test, written with the Rust guest SDK: for each merged turn
//! (`aviary.message.merged_v1`, typed by the SDK as `MergedMessages`) it logs
//! `turn <dedupe_id> attempt <n> members <id>,<id>,…` and replies once to the turn's first
//! message through the host (`feishu::reply_text`, whose `uuid` the host derives from the
//! turn's dedupe id), saying `turn <id>,<id>,…`. A failed reply asks for a retry. Any other
//! event logs `single <dedupe_id>`.
//!
//! With `[handler.config] kv_counter = "yes"` (and `kv` granted) each turn first adds its
//! number of messages to `count:<chat_id>` and 1 to `turns:<chat_id>` in key-value state and
//! logs `kv turn <dedupe_id> count <n>`; a turn with a message `retry-once` asks for a retry on
//! its first attempt. A run that is about to ask for a retry also sets
//! `failed:<dedupe_id>:<attempt>`: writes the runtime must drop (the run does not end `done`),
//! so a test can check that each chat's counter equals its messages, `turns:` its turns, and
//! that no `failed:` key exists.

use aviary_guest::prelude::*;

struct Merger;

/// The turn's key-value writes (with `kv_counter`).
fn count(event: &Event, turn: &events::MergedMessages) -> Result<(), String> {
    let n = kv::increment(&format!("count:{}", turn.chat_id), turn.message_ids().len() as i32)?;
    kv::increment(&format!("turns:{}", turn.chat_id), 1)?;
    info!("kv turn {} count {n}", event.dedupe_id);
    Ok(())
}

/// Asks for a retry, after a write that must never be committed (with `kv_counter`).
fn retry(event: &Event, counting: bool, why: String) -> Outcome {
    if counting {
        let _ = kv::set(&format!("failed:{}:{}", event.dedupe_id, event.attempt), &why);
    }
    Outcome::retry(why)
}

impl Handler for Merger {
    fn handle(event: Event) -> Outcome {
        match event.typed() {
            Ok(TypedEvent::MergedMessages(turn)) => {
                let members = turn.message_ids().join(",");
                info!(
                    "turn {} attempt {} members {}",
                    event.dedupe_id, event.attempt, members
                );
                let counting = config::get("kv_counter").as_deref() == Some("yes");
                if counting {
                    if let Err(e) = count(&event, &turn) {
                        return Outcome::retry(format!("kv failed: {e}"));
                    }
                }
                if event.attempt == 1 && turn.text().lines().any(|l| l == "retry-once") {
                    return retry(&event, counting, "retry-once".into());
                }
                match feishu::reply_text(&event.dedupe_id, &format!("turn {members}")) {
                    Ok(_) => Outcome::done(),
                    Err(e) => retry(&event, counting, format!("reply failed: {e}")),
                }
            }
            Ok(_) => {
                info!("single {}", event.dedupe_id);
                Outcome::done()
            }
            Err(e) => Outcome::reject(e.to_string()),
        }
    }
}

aviary_guest::export_handler!(Merger);
