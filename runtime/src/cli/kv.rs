//! `aviary kv list | get <key> | set <key> <value> | delete <key> -m aviary.toml --namespace N`:
//! handlers' key-value state, for operators.
//!
//! Disk: while `aviary run` has the queue file open (locked), the commands go through that
//! process (its socket next to the file, as `aviary dlq` does); when it is stopped they use the
//! file. Redis: the shared keys, also while instances run. `set` and `delete` are committed at
//! once, checked against the same quotas as a handler's writes; a handler's run that is in
//! flight meanwhile commits its own writes on top (its increments are added, its sets win).
//!
//! Exit codes: 0 on success; 1 when the store cannot be opened, an argument is refused, or `get`
//! finds no such key; 2 when the manifest cannot be loaded.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::manifest::Manifest;
use crate::queue::kv::admin::{self, KvOp, KvResult};
use crate::queue::QueueBackend;

/// Flags of `aviary kv`.
#[derive(Debug, clap::Args)]
pub struct KvArgs {
    /// The manifest whose `[queue]` backend holds the state.
    #[arg(
        short = 'm',
        long = "manifest",
        default_value = "aviary.toml",
        global = true
    )]
    pub manifest: PathBuf,
    /// The namespace (required): a handler's name (`kv = true`) or a shared name
    /// (`kv = "name"`).
    #[arg(short = 'n', long = "namespace", global = true)]
    pub namespace: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: KvCommand,
}

/// `aviary kv` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum KvCommand {
    /// One key per line, in byte order.
    List {
        /// Only keys that start with this.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Only keys after this one (to continue a listing).
        #[arg(long, default_value = "")]
        after: String,
        /// At most this many (the most, and the default, is 1,000).
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    /// The value of one key.
    Get {
        /// The key.
        key: String,
    },
    /// Sets one key.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Expire it this many seconds from now (default: never).
        #[arg(long, default_value_t = 0)]
        ttl_secs: u32,
    },
    /// Deletes one key.
    Delete {
        /// The key.
        key: String,
    },
}

impl KvCommand {
    /// The operation on `namespace` this subcommand asks for.
    pub fn op(&self, namespace: &str) -> KvOp {
        let namespace = namespace.to_string();
        match self.clone() {
            KvCommand::List {
                prefix,
                after,
                limit,
            } => KvOp::List {
                namespace,
                prefix,
                after,
                limit,
            },
            KvCommand::Get { key } => KvOp::Get { namespace, key },
            KvCommand::Set {
                key,
                value,
                ttl_secs,
            } => KvOp::Set {
                namespace,
                key,
                value,
                ttl_secs,
            },
            KvCommand::Delete { key } => KvOp::Delete { namespace, key },
        }
    }
}

/// Runs `aviary kv`.
pub fn run(args: KvArgs) -> ExitCode {
    let manifest = match super::load_manifest(&args.manifest) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let runtime = match super::current_thread_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let Some(namespace) = args.namespace else {
        eprintln!("error: --namespace is required: a handler's name (kv = true) or a shared name (kv = \"name\")");
        return ExitCode::from(2);
    };
    let op = args.command.op(&namespace);
    match runtime.block_on(execute(&manifest, &op)) {
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

/// Runs `op` on the manifest's key-value state; returns what to print.
pub async fn execute(manifest: &Manifest, op: &KvOp) -> Result<Vec<String>, String> {
    if manifest.queue.backend == QueueBackend::Memory {
        return Err(format!(
            "{}: [queue] backend = \"memory\" keeps no key-value state between runs",
            manifest.path.display()
        ));
    }
    let result = match crate::queue::open_kv(&manifest.queue, &manifest.feishu.app_id).await {
        Ok(store) => admin::execute(store.as_ref(), op).await?,
        Err(e) if manifest.queue.backend == QueueBackend::Disk => {
            through_running(&manifest.queue.path, op, e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    lines(op, result)
}

/// The queue file could not be opened (`why`): asks the `aviary run` that holds it.
#[cfg(unix)]
fn through_running(path: &std::path::Path, op: &KvOp, why: String) -> Result<KvResult, String> {
    let socket = crate::queue::control::socket_path(path);
    if !socket.exists() {
        return Err(why);
    }
    crate::queue::control::request_kv(&socket, op).map_err(|e| match e {
        Ok(message) => message,
        Err(io) => format!(
            "{why}; and the running aviary does not answer on {}: {io}",
            socket.display()
        ),
    })
}

#[cfg(not(unix))]
fn through_running(_path: &std::path::Path, _op: &KvOp, why: String) -> Result<KvResult, String> {
    Err(why)
}

fn lines(op: &KvOp, result: KvResult) -> Result<Vec<String>, String> {
    let ns = op.namespace();
    match (op, result) {
        (KvOp::Get { key, .. }, KvResult::Value(None)) => {
            Err(format!("no key `{key}` in namespace `{ns}`"))
        }
        (_, KvResult::Value(Some(v))) => Ok(vec![v]),
        (_, KvResult::Keys(keys)) => Ok(keys),
        (KvOp::Delete { key, .. }, _) => Ok(vec![format!("deleted `{key}` in namespace `{ns}`")]),
        (KvOp::Set { key, .. }, _) => Ok(vec![format!("set `{key}` in namespace `{ns}`")]),
        (_, other) => Err(format!("unexpected answer {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Top {
        Kv(KvArgs),
    }

    #[test]
    fn the_flags_go_after_the_subcommand() {
        use clap::{CommandFactory, Parser};
        Cli::command().debug_assert();
        let Top::Kv(args) = Cli::try_parse_from([
            "aviary",
            "kv",
            "set",
            "k",
            "v",
            "--ttl-secs",
            "5",
            "-m",
            "x.toml",
            "--namespace",
            "bot",
        ])
        .unwrap()
        .command;
        assert_eq!(args.namespace.as_deref(), Some("bot"));
        assert_eq!(args.manifest, PathBuf::from("x.toml"));
        assert_eq!(
            args.command.op("bot"),
            KvOp::Set {
                namespace: "bot".into(),
                key: "k".into(),
                value: "v".into(),
                ttl_secs: 5
            }
        );
    }

    #[tokio::test]
    async fn on_the_file_when_no_process_runs() {
        let dir = std::env::temp_dir().join(format!("aviary-kv-cli-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("aviary.toml");
        std::fs::write(
            &path,
            "[feishu]\napp_id = \"a\"\napp_secret = \"b\"\n[queue]\npath = \"q.redb\"\n",
        )
        .unwrap();
        let m = Manifest::load(&path).unwrap();
        let run = |c: KvCommand| {
            let m = m.clone();
            async move { execute(&m, &c.op("bot")).await }
        };
        let set = |k: &str, v: &str| KvCommand::Set {
            key: k.into(),
            value: v.into(),
            ttl_secs: 0,
        };
        assert_eq!(
            run(set("chat:1", "hello")).await.unwrap(),
            ["set `chat:1` in namespace `bot`"]
        );
        run(set("chat:2", "x")).await.unwrap();
        let get = |k: &str| KvCommand::Get { key: k.into() };
        assert_eq!(run(get("chat:1")).await.unwrap(), ["hello"]);
        let list = |prefix: &str, after: &str| KvCommand::List {
            prefix: prefix.into(),
            after: after.into(),
            limit: 0,
        };
        assert_eq!(run(list("chat:", "")).await.unwrap(), ["chat:1", "chat:2"]);
        assert_eq!(run(list("", "chat:1")).await.unwrap(), ["chat:2"]);
        run(KvCommand::Delete {
            key: "chat:1".into(),
        })
        .await
        .unwrap();
        let e = run(get("chat:1")).await.unwrap_err();
        assert_eq!(e, "no key `chat:1` in namespace `bot`");
        let e = execute(
            &m,
            &KvOp::Get {
                namespace: "a:b".into(),
                key: "k".into(),
            },
        )
        .await
        .unwrap_err();
        assert!(e.contains("contains `:`"), "{e}");
        let e = run(set(&"k".repeat(600), "v")).await.unwrap_err();
        assert!(e.contains("over the limit of 512 bytes"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
