//! Burst merge under test, written with the Rust guest SDK: for each merged turn
//! (`aviary.message.merged_v1`, typed by the SDK as `MergedMessages`) it logs
//! `turn <dedupe_id> attempt <n> members <id>,<id>,…` and replies once to the turn's first
//! message through the host (`feishu::reply_text`, whose `uuid` the host derives from the
//! turn's dedupe id), saying `turn <id>,<id>,…`. A failed reply asks for a retry. Any other
//! event logs `single <dedupe_id>`.

use aviary_guest::prelude::*;

struct Merger;

impl Handler for Merger {
    fn handle(event: Event) -> Outcome {
        match event.typed() {
            Ok(TypedEvent::MergedMessages(turn)) => {
                let members = turn.message_ids().join(",");
                info!(
                    "turn {} attempt {} members {}",
                    event.dedupe_id, event.attempt, members
                );
                match feishu::reply_text(&event.dedupe_id, &format!("turn {members}")) {
                    Ok(_) => Outcome::done(),
                    Err(e) => Outcome::retry(format!("reply failed: {e}")),
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
