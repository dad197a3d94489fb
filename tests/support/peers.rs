//! The official Feishu SDKs as child processes ("peers", `tests/peers/`), for conformance tests
//! against the emulator. Install them with `scripts/install-peers.sh`; they live in
//! `$AVIARY_PEERS_DIR`, default `$CARGO_TARGET_DIR/peers` (`<repo>/target/peers`).
//!
//! A [`Peer`] is killed when dropped (also while a failing test unwinds). Its stdout carries one
//! JSON object per line (what the peer handled); stderr (the SDK's logs) is kept, bounded, for
//! failure messages.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::repo_root;

/// Lines of peer stderr kept for failure messages.
const STDERR_LINES_KEPT: usize = 300;

/// Which SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    /// PyPI `lark-oapi` 1.7.5, `tests/peers/python_peer.py`.
    Python,
    /// npm `@larksuiteoapi/node-sdk` 1.74.0, `tests/peers/node_peer.js`.
    Node,
}

impl PeerKind {
    /// `python` / `node`: the value of the `peer` key in the peer's JSON lines.
    pub fn name(self) -> &'static str {
        match self {
            PeerKind::Python => "python",
            PeerKind::Node => "node",
        }
    }
}

/// Where `scripts/install-peers.sh` put the SDKs: `$AVIARY_PEERS_DIR`, else the `peers`
/// directory of the cargo target directory (`$CARGO_TARGET_DIR`, default `<repo>/target`), the
/// same rule as the script's.
pub fn peers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AVIARY_PEERS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                repo_root().join(p)
            }
        })
        .unwrap_or_else(|| repo_root().join("target"));
    target.join("peers")
}

/// A running peer process.
pub struct Peer {
    kind: PeerKind,
    child: Child,
    lines: mpsc::UnboundedReceiver<Value>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Peer {
    /// Starts the peer against `domain` (e.g. `http://127.0.0.1:PORT`). Fails, saying how to
    /// install them, when the SDKs are missing.
    pub fn spawn(kind: PeerKind, domain: &str) -> anyhow::Result<Peer> {
        let dir = peers_dir();
        let install_hint = || {
            format!(
                "the official {} SDK peer is not installed in {}; run `bash scripts/install-peers.sh` \
                 (set AVIARY_PEERS_DIR to use another directory)",
                kind.name(),
                dir.display()
            )
        };
        let peers_src = repo_root().join("tests").join("peers");
        let mut command = match kind {
            PeerKind::Python => {
                let python = dir.join("venv").join("bin").join("python");
                if !python.is_file() {
                    bail!("{}", install_hint());
                }
                let mut c = Command::new(python);
                c.arg("-u").arg(peers_src.join("python_peer.py"));
                c
            }
            PeerKind::Node => {
                let modules = dir.join("node").join("node_modules");
                if !modules
                    .join("@larksuiteoapi/node-sdk/package.json")
                    .is_file()
                {
                    bail!("{}", install_hint());
                }
                let mut c = Command::new("node");
                c.arg(peers_src.join("node_peer.js"))
                    .env("NODE_PATH", modules);
                c
            }
        };
        command
            .arg(domain)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting the {} peer", kind.name()))?;

        let (tx, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().context("peer stdout")?;
        let stderr_lines = Arc::new(Mutex::new(VecDeque::new()));
        let keep = Arc::clone(&stderr_lines);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                match serde_json::from_str::<Value>(&line) {
                    Ok(value) if value.is_object() => {
                        let _ = tx.send(value);
                    }
                    _ => remember(&keep, format!("[stdout] {line}")),
                }
            }
        });
        let stderr = child.stderr.take().context("peer stderr")?;
        let keep = Arc::clone(&stderr_lines);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                remember(&keep, line);
            }
        });
        Ok(Peer {
            kind,
            child,
            lines,
            stderr: stderr_lines,
        })
    }

    /// Which SDK this is.
    pub fn kind(&self) -> PeerKind {
        self.kind
    }

    /// Waits for a JSON line from the peer's stdout matching `wanted` (earlier non-matching
    /// lines are dropped). Fails with the peer's recent logs on timeout or exit.
    pub async fn wait_for_line(
        &mut self,
        timeout: Duration,
        mut wanted: impl FnMut(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) if wanted(&line) => return Ok(line),
                Ok(Some(_)) => {}
                Ok(None) => bail!(
                    "the {} peer closed stdout (exited?); its log:\n{}",
                    self.kind.name(),
                    self.log_tail()
                ),
                Err(_) => bail!(
                    "no matching line from the {} peer within {timeout:?}; its log:\n{}",
                    self.kind.name(),
                    self.log_tail()
                ),
            }
        }
    }

    /// The peer's recent stderr (and non-JSON stdout) lines.
    pub fn log_tail(&self) -> String {
        let lines = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process and waits for it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // kill_on_drop also does this; being explicit keeps it working if that changes.
        let _ = self.child.start_kill();
    }
}

fn remember(lines: &Mutex<VecDeque<String>>, line: String) {
    let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
    if lines.len() >= STDERR_LINES_KEPT {
        lines.pop_front();
    }
    lines.push_back(line);
}
