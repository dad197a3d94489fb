//! `aviary dlq list | show <id> | replay <id>… | replay --all | purge -m aviary.toml`: the dead
//! letters of the manifest's disk queue.
//!
//! The queue file is locked by a running `aviary run`; then these commands go through that
//! process (its socket next to the file, see [`crate::queue::control`]) and a replay runs the
//! jobs at once. When it is stopped they use the file, and replayed jobs run at the next start.
//! Either way only the handlers that gave up run again, with their attempts reset.
//!
//! Exit codes: 0 on success; 1 when the queue cannot be opened or an id is not a dead letter;
//! 2 when the manifest cannot be loaded.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::manifest::Manifest;
use crate::queue::admin::{self, DeadLetterOp, DeadLetterResult};
use crate::queue::store::{HandlerStatus, JobRecord};
use crate::queue::QueueBackend;

/// Flags of `aviary dlq`.
#[derive(Debug, clap::Args)]
pub struct DlqArgs {
    /// The manifest whose `[queue]` to use.
    #[arg(
        short = 'm',
        long = "manifest",
        default_value = "aviary.toml",
        global = true
    )]
    pub manifest: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: DlqCommand,
}

/// `aviary dlq` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DlqCommand {
    /// One line per dead letter: id, event type, dedupe id, the handlers that gave up and why.
    List,
    /// Everything about one dead letter (JSON): the event and each handler's state.
    Show {
        /// The dead letter's id (from `list`).
        id: u64,
    },
    /// Put dead letters back in the queue: their failed handlers run again at the next start.
    Replay {
        /// Dead letter ids (from `list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<u64>,
        /// Replay every dead letter.
        #[arg(long)]
        all: bool,
    },
    /// Delete every dead letter.
    Purge,
}

impl DlqCommand {
    /// The queue's operation this subcommand asks for.
    pub fn op(&self) -> DeadLetterOp {
        match self {
            DlqCommand::List => DeadLetterOp::List,
            DlqCommand::Show { id } => DeadLetterOp::Show { id: *id },
            DlqCommand::Replay { ids, all } => DeadLetterOp::Replay {
                ids: (!*all).then(|| ids.clone()),
            },
            DlqCommand::Purge => DeadLetterOp::Purge,
        }
    }
}

/// Runs `aviary dlq`.
pub fn run(args: DlqArgs) -> ExitCode {
    let manifest = match super::load_manifest(&args.manifest) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let runtime = match super::current_thread_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match runtime.block_on(execute(&manifest, &args.command)) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one subcommand on the manifest's queue; returns what to print.
pub async fn execute(manifest: &Manifest, command: &DlqCommand) -> Result<Vec<String>, String> {
    let (result, live) = execute_op(manifest, &command.op()).await?;
    let note = if live {
        "they run now in the running aviary"
    } else {
        "their failed handlers run at the next `aviary run`"
    };
    Ok(lines(&result, note))
}

/// Runs `op` on the manifest's queue: the result, and whether a running `aviary run` carried
/// it out (then replayed jobs run at once). The error is one line.
pub async fn execute_op(
    manifest: &Manifest,
    op: &DeadLetterOp,
) -> Result<(DeadLetterResult, bool), String> {
    if manifest.queue.backend == QueueBackend::Memory {
        return Err(format!(
            "{}: [queue] backend = \"memory\" keeps no dead letters between runs",
            manifest.path.display()
        ));
    }
    // Disk: the file, or, while `aviary run` has it open (locked), that process through its
    // socket. Redis: the shared dead-letter stream (works while instances run; replayed jobs
    // are picked up by one of them).
    let store = match crate::queue::open_admin_store(&manifest.queue, &manifest.feishu.app_id).await
    {
        Ok(store) => store,
        Err(e) if manifest.queue.backend == QueueBackend::Disk => {
            return through_running(&manifest.queue.path, op, e.to_string())
                .map(|result| (result, true))
        }
        Err(e) => return Err(e.to_string()),
    };
    let result = admin::execute_on(store.as_ref(), op).await?;
    Ok((result, false))
}

/// The queue file at `path` could not be opened (`why`): asks the `aviary run` that holds it.
#[cfg(unix)]
fn through_running(
    path: &std::path::Path,
    op: &DeadLetterOp,
    why: String,
) -> Result<DeadLetterResult, String> {
    let socket = crate::queue::control::socket_path(path);
    if !socket.exists() {
        return Err(why);
    }
    crate::queue::control::request(&socket, op).map_err(|e| match e {
        Ok(message) => message,
        Err(io) => format!(
            "{why}; and the running aviary does not answer on {}: {io}",
            socket.display()
        ),
    })
}

#[cfg(not(unix))]
fn through_running(
    _path: &std::path::Path,
    _op: &DeadLetterOp,
    why: String,
) -> Result<DeadLetterResult, String> {
    Err(why)
}

/// What to print for `result`; `replayed_note` ends the replay line (when the replayed
/// handlers will run).
fn lines(result: &DeadLetterResult, replayed_note: &str) -> Vec<String> {
    match result {
        DeadLetterResult::List(dead) if dead.is_empty() => vec!["no dead letters".into()],
        DeadLetterResult::List(dead) => dead.iter().map(list_line).collect(),
        DeadLetterResult::Show(record) => vec![show(record)],
        DeadLetterResult::Replayed(moved) => vec![format!(
            "replayed {} dead letter{} {:?}; {replayed_note}",
            moved.len(),
            if moved.len() == 1 { "" } else { "s" },
            moved
        )],
        DeadLetterResult::Purged(n) => vec![format!(
            "purged {n} dead letter{}",
            if *n == 1 { "" } else { "s" }
        )],
    }
}

fn list_line(r: &JobRecord) -> String {
    let dead: Vec<String> = r
        .states
        .iter()
        .filter(|s| s.status == HandlerStatus::Dead)
        .map(|s| {
            format!(
                "{}: {}",
                s.name,
                s.last_error.as_deref().unwrap_or("(no error recorded)")
            )
        })
        .collect();
    format!(
        "{}\t{}\t{}\t{}",
        r.id,
        r.job.event_type,
        r.job.dedupe_id,
        dead.join("; ")
    )
}

fn show(r: &JobRecord) -> String {
    let envelope: serde_json::Value = serde_json::from_str(&r.job.envelope)
        .unwrap_or_else(|_| serde_json::Value::String(r.job.envelope.clone()));
    let value = serde_json::json!({
        "id": r.id,
        "enqueued_at_ms": r.enqueued_at_ms,
        "dedupe_id": r.job.dedupe_id,
        "event_id": r.job.event_id,
        "event_type": r.job.event_type,
        "chat_id": r.job.chat_id,
        "trace_id": r.job.trace_id,
        "handlers": r.states,
        "envelope": envelope,
    });
    serde_json::to_string_pretty(&value).expect("JSON values serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::store::{
        now_ms, Admission, Batch, HandlerStatus, NewJob, QueueStore, Settle,
    };
    use std::time::Duration;

    #[tokio::test]
    async fn list_show_replay_purge() {
        let dir = std::env::temp_dir().join(format!("aviary-dlq-cli-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("aviary.toml");
        std::fs::write(
            &path,
            "[feishu]\napp_id = \"a\"\napp_secret = \"b\"\n[queue]\npath = \"q.redb\"\n",
        )
        .unwrap();
        let manifest = Manifest::load(&path).unwrap();
        let store = crate::queue::open_disk(&manifest.queue.path).unwrap();
        let job = |id: &str| NewJob {
            dedupe_id: id.into(),
            event_id: id.into(),
            event_type: "x.y".into(),
            chat_id: None,
            trace_id: String::new(),
            envelope: "{\"schema\":\"2.0\"}".into(),
            handlers: vec!["h".into()],
        };
        let batch = |admit, settle| Batch {
            admit,
            settle,
            now_ms: now_ms(),
            dedupe_window: Duration::from_secs(60),
            dedupe_max_entries: 10,
            capacity: 10,
            kv: Vec::new(),
        };
        let out = store
            .commit(batch(vec![job("e1"), job("e2")], vec![]))
            .await
            .unwrap();
        let dead: Vec<Settle> = out
            .into_iter()
            .map(|a| match a {
                Admission::Accepted(r) => {
                    let mut r = *r;
                    r.states[0].status = HandlerStatus::Dead;
                    r.states[0].last_error = Some("rejected: no".into());
                    Settle::of(r)
                }
                other => panic!("{other:?}"),
            })
            .collect();
        store.commit(batch(vec![], dead)).await.unwrap();
        drop(store);

        let list = execute(&manifest, &DlqCommand::List).await.unwrap();
        assert_eq!(list.len(), 2);
        assert!(
            list[0].starts_with("1\tx.y\te1\th: rejected: no"),
            "{list:?}"
        );
        let show = execute(&manifest, &DlqCommand::Show { id: 2 })
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&show[0]).unwrap();
        assert_eq!(v["dedupe_id"], "e2");
        assert_eq!(v["envelope"]["schema"], "2.0");
        assert!(execute(&manifest, &DlqCommand::Show { id: 9 })
            .await
            .unwrap_err()
            .contains("no dead letter with id 9"));
        let replay_1 = DlqCommand::Replay {
            ids: vec![1],
            all: false,
        };
        assert!(
            execute(&manifest, &replay_1).await.unwrap()[0].contains("replayed 1 dead letter [1]")
        );
        assert!(execute(&manifest, &replay_1)
            .await
            .unwrap_err()
            .contains("no dead letter with id 1"));
        let store = crate::queue::open_disk(&manifest.queue.path).unwrap();
        let pending = store.pending().await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].states[0].status, HandlerStatus::Pending);
        assert_eq!(pending[0].states[0].attempts, 0);
        drop(store);
        assert_eq!(
            execute(&manifest, &DlqCommand::Purge).await.unwrap(),
            vec!["purged 1 dead letter"]
        );
        assert_eq!(
            execute(&manifest, &DlqCommand::List).await.unwrap(),
            vec!["no dead letters"]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
