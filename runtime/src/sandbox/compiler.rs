//! Compiling components within a memory budget, in this process or in a child process.
//!
//! Cranelift needs far more memory than the code it produces: compiling the 18 MB Python
//! component peaks near 600 MiB, and an allocator keeps much of that after the compile
//! (`docs/performance.md`, "Start-up"). The `aviary` binary therefore compiles each
//! component in a child process (`aviary compile-worker`, [`run_worker`]) that writes the
//! artefact and exits, so the memory goes back to the system with it; the runtime then only
//! deserializes the artefact. Embedded in another program (no `aviary` binary to run) it
//! compiles in its own process.
//!
//! Several components compile at once while the sum of their estimated peaks
//! ([`estimate`]) fits the budget ([`Budget`]); one always may, even over the budget, and it
//! then compiles on one thread (slower, but it needs much less memory).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex};

use crate::limits::sandbox as limits;

/// Where compiling happens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CompileIn {
    /// In this process (embedding; `aviary check` and `aviary invoke`).
    #[default]
    ThisProcess,
    /// In a child process: this executable (the `aviary` binary) with the hidden
    /// `compile-worker` subcommand.
    ChildProcess(PathBuf),
}

/// The estimated peak memory of compiling a component of `len` bytes (measured: a Cranelift
/// compile needs tens of bytes per byte of component; see [`limits::COMPILE_BYTES_PER_BYTE`]).
pub(crate) fn estimate(len: u64) -> u64 {
    limits::COMPILE_BASE_BYTES.saturating_add(len.saturating_mul(limits::COMPILE_BYTES_PER_BYTE))
}

/// Bytes of compile memory in use, bounded by a limit.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// A share of the budget, given back when dropped.
pub(crate) struct Reserved<'a> {
    budget: &'a Budget,
    bytes: u64,
    /// Whether this compile has the budget to itself and still does not fit it.
    pub over: bool,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits (blocking the thread) until `bytes` fit, or nothing else is compiling.
    pub(crate) fn reserve(&self, bytes: u64) -> Reserved<'_> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used > 0 && used.saturating_add(bytes) > self.limit {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += bytes;
        Reserved {
            budget: self,
            bytes,
            over: bytes > self.limit,
        }
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// What a compile worker is asked to do (the flags of `aviary compile-worker`).
#[derive(Debug, Clone)]
pub struct WorkerRequest {
    /// The component to compile.
    pub component: PathBuf,
    /// Where to write the artefact.
    pub output: PathBuf,
    /// The engine key the parent expects; the worker refuses to compile for another engine.
    pub engine_key: String,
    /// Fuel metering compiled in.
    pub metered: bool,
    /// The parent's `SandboxConfig::max_memory_bytes` (part of the engine settings).
    pub max_memory_bytes: u64,
    /// Compile on one thread (less memory).
    pub one_thread: bool,
}

/// How a compile worker failed.
#[derive(Debug)]
pub(crate) enum WorkerFailure {
    /// The component itself is invalid: this is what wasmtime said.
    Component(String),
    /// The worker was killed (by the OOM killer, most likely): why. Not retried in this
    /// process, which would need the same memory.
    Killed(String),
    /// The worker could not do its job (not started, another engine, I/O): why.
    Worker(String),
}

/// The worker's exit code for an invalid component (anything else non-zero is the worker's
/// own failure).
pub const WORKER_INVALID_COMPONENT: i32 = 3;

/// Runs `exe compile-worker` for `request` and waits for it.
pub(crate) fn in_child(exe: &Path, request: &WorkerRequest) -> Result<(), WorkerFailure> {
    let mut cmd = Command::new(exe);
    cmd.arg("compile-worker")
        .arg("--component")
        .arg(&request.component)
        .arg("--output")
        .arg(&request.output)
        .arg("--engine-key")
        .arg(&request.engine_key)
        .arg("--max-memory-bytes")
        .arg(request.max_memory_bytes.to_string());
    if request.metered {
        cmd.arg("--fuel");
    }
    if request.one_thread {
        cmd.arg("--one-thread");
    }
    cmd.stdin(Stdio::null());
    let out = cmd.output().map_err(|e| {
        WorkerFailure::Worker(format!(
            "cannot start the compiler process {}: {e}",
            exe.display()
        ))
    })?;
    let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
    match out.status.code() {
        Some(0) => Ok(()),
        Some(WORKER_INVALID_COMPONENT) => Err(WorkerFailure::Component(said)),
        Some(code) => Err(WorkerFailure::Worker(format!(
            "the compiler process exited with code {code}: {said}"
        ))),
        None => Err(WorkerFailure::Killed(format!(
            "the compiler process was killed ({}){}; if the memory limit ended it, precompile \
             with `aviary compile` or raise the limit",
            signal_of(&out.status),
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        ))),
    }
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(9) => "SIGKILL".into(),
        Some(n) => format!("signal {n}"),
        None => "no exit code".into(),
    }
}

#[cfg(not(unix))]
fn signal_of(_: &std::process::ExitStatus) -> String {
    "no exit code".into()
}

/// What `aviary compile-worker` does: compiles `request.component` with the engine the parent
/// described and writes the artefact to `request.output`. The exit code is
/// `WORKER_INVALID_COMPONENT` for an invalid component, 1 for anything else, with the reason
/// on stderr.
pub fn run_worker(request: &WorkerRequest) -> Result<(), (i32, String)> {
    let config = crate::sandbox::SandboxConfig {
        max_memory_bytes: request.max_memory_bytes,
        ..crate::sandbox::SandboxConfig::default()
    };
    let mut cfg = crate::sandbox::engine::config(&config, request.metered);
    cfg.parallel_compilation(!request.one_thread);
    // The instance pool is no compile setting (the engine key below proves it) and this
    // process instantiates nothing: without it the worker needs tens of MB less.
    cfg.allocation_strategy(wasmtime::InstanceAllocationStrategy::OnDemand);
    let engine = wasmtime::Engine::new(&cfg).map_err(|e| (1, format!("{e:#}")))?;
    let key = crate::sandbox::cache::engine_key(&engine);
    if key != request.engine_key {
        return Err((
            1,
            format!(
                "this executable's engine ({key}) is not the runtime's ({}); was it replaced \
                 while the runtime ran?",
                request.engine_key
            ),
        ));
    }
    let bytes = std::fs::read(&request.component)
        .map_err(|e| (1, format!("{}: {e}", request.component.display())))?;
    let component = wasmtime::component::Component::from_binary(&engine, &bytes)
        .map_err(|e| (WORKER_INVALID_COMPONENT, format!("{e:#}")))?;
    let payload = component.serialize().map_err(|e| (1, format!("{e:#}")))?;
    let file =
        crate::sandbox::artefact::encode(&crate::sandbox::artefact::sha256(&bytes), &payload);
    crate::sandbox::artefact::write_atomically(&request.output, &file)
        .map_err(|e| (1, format!("{}: {e}", request.output.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn compiles_wait_while_the_budget_is_spent_but_one_always_runs() {
        let budget = Arc::new(Budget::new(100));
        let big = budget.reserve(500);
        assert!(big.over, "alone and over the budget: allowed, flagged");
        let (tx, rx) = std::sync::mpsc::channel();
        let b = budget.clone();
        let waiter = std::thread::spawn(move || {
            let r = b.reserve(60);
            tx.send(r.over).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "waits while the budget is spent"
        );
        drop(big);
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(false));
        waiter.join().unwrap();

        let a = budget.reserve(40);
        let b = budget.reserve(60);
        assert!(!a.over && !b.over, "two that fit run together");
    }

    #[test]
    fn the_estimate_grows_with_the_component() {
        assert!(estimate(18 << 20) > estimate(400 << 10));
        assert!(estimate(0) >= limits::COMPILE_BASE_BYTES);
    }
}
