//! Dead-letter operations: data in ([`DeadLetterOp`]), data out ([`DeadLetterResult`]), on an
//! open store or on a running [`Queue`]. `aviary dlq` ([`crate::cli`]) prints the results; the
//! control socket ([`super::control`]) carries both as JSON.

use serde::{Deserialize, Serialize};

use super::engine::Queue;
use super::store::{now_ms, JobRecord, QueueStore};

/// One dead-letter operation (also the control socket's request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterOp {
    /// Every dead letter.
    List,
    /// One dead letter by id.
    Show {
        /// The dead letter's id.
        id: u64,
    },
    /// Put dead letters back in the queue (their failed handlers run again, attempts reset).
    Replay {
        /// The ids; `None`: every dead letter.
        ids: Option<Vec<u64>>,
    },
    /// Delete every dead letter.
    Purge,
}

/// What an operation returned (also the control socket's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterResult {
    /// The dead letters, oldest first.
    List(Vec<JobRecord>),
    /// The asked-for dead letter.
    Show(Box<JobRecord>),
    /// The ids moved back to the queue.
    Replayed(Vec<u64>),
    /// How many dead letters were deleted.
    Purged(u64),
}

/// Runs `op` on an open store. The error is one line naming what is wrong (an id that is not
/// a dead letter, or the store's failure).
pub async fn execute_on(
    store: &dyn QueueStore,
    op: &DeadLetterOp,
) -> Result<DeadLetterResult, String> {
    let err = |e: super::StoreError| e.to_string();
    match op {
        DeadLetterOp::List => Ok(DeadLetterResult::List(
            store.dead_letters().await.map_err(err)?,
        )),
        DeadLetterOp::Show { id } => store
            .dead_letters()
            .await
            .map_err(err)?
            .into_iter()
            .find(|r| r.id == *id)
            .map(|r| DeadLetterResult::Show(Box::new(r)))
            .ok_or_else(|| format!("no dead letter with id {id} (see `aviary dlq list`)")),
        DeadLetterOp::Replay { ids } => {
            let moved = store.replay(ids.as_deref(), now_ms()).await.map_err(err)?;
            replayed(ids.as_deref(), moved)
        }
        DeadLetterOp::Purge => Ok(DeadLetterResult::Purged(store.purge().await.map_err(err)?)),
    }
}

/// Runs `op` on a running queue: a replay hands the jobs to it, so their handlers run at once.
pub async fn execute_live(queue: &Queue, op: DeadLetterOp) -> Result<DeadLetterResult, String> {
    match op {
        DeadLetterOp::Replay { ids } => {
            let moved = queue
                .replay_dead(ids.clone())
                .await
                .map_err(|e| e.to_string())?;
            replayed(ids.as_deref(), moved)
        }
        op => {
            let store = queue.store();
            execute_on(store.as_ref(), &op).await
        }
    }
}

/// A replay's result: an error if an asked-for id was not a dead letter.
fn replayed(asked: Option<&[u64]>, moved: Vec<u64>) -> Result<DeadLetterResult, String> {
    if let Some(ids) = asked {
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !moved.contains(id))
            .map(|id| id.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "no dead letter with id {} (replayed: {:?})",
                missing.join(", "),
                moved
            ));
        }
    }
    Ok(DeadLetterResult::Replayed(moved))
}
