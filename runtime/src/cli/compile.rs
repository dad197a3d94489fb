//! `aviary compile -m aviary.toml`: compiles every handler's component ahead of time, so that
//! `aviary run` only deserializes it (for container images: run it in the image build, with
//! `--beside` to put each artefact next to its component). Each component is compiled for the
//! engine its handlers need (fuel-metered when a handler sets `fuel`), in child processes,
//! several at once within the compile memory budget; an artefact that is already usable is
//! kept. Also `aviary compile-worker`, the hidden child process that compiles one component.
//!
//! Exit codes: 0 when every component is compiled; 1 with one `error: file:line:col: …` line per
//! component that does not compile or load; 2 when the manifest cannot be loaded.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::sandbox::{
    beside_path, run_worker, CompileIn, Origin, Sandbox, SandboxConfig, WorkerRequest,
};

/// Flags of `aviary compile`.
#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// The manifest whose handlers to compile.
    #[arg(short = 'm', long = "manifest", default_value = "aviary.toml")]
    pub manifest: PathBuf,
    /// Also write each artefact next to its component (`handler.wasm` → `handler.cwasm`, or
    /// `handler.fuel.cwasm` for handlers with a fuel budget), where `aviary run` finds it first.
    #[arg(long)]
    pub beside: bool,
    /// Memory budget for compiles at once, in MiB (as `aviary run --compile-memory-mb`).
    #[arg(
        long = "compile-memory-mb",
        env = "AVIARY_COMPILE_MEMORY_MB",
        value_name = "MIB"
    )]
    pub compile_memory_mb: Option<u64>,
}

/// Runs `aviary compile`.
pub fn run(args: CompileArgs) -> ExitCode {
    crate::process::init_tracing();
    let manifest = match super::load_manifest(&args.manifest) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let mut config = SandboxConfig::default();
    if let Ok(exe) = std::env::current_exe() {
        config.compile_in = CompileIn::ChildProcess(exe);
    }
    if let Some(mb) = args.compile_memory_mb {
        config.compile_memory_bytes = mb.saturating_mul(1024 * 1024);
    }
    let sandbox = match Sandbox::new(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the Wasm sandbox: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    // One compile per component and engine; the first handler naming it locates errors.
    let mut units: Vec<(PathBuf, bool, &crate::manifest::HandlerSettings)> = Vec::new();
    for h in &manifest.handlers {
        let metered = h.limits.fuel().is_some();
        if !units
            .iter()
            .any(|(c, m, _)| *c == h.component && *m == metered)
        {
            units.push((h.component.clone(), metered, h));
        }
    }
    let results: Vec<_> = std::thread::scope(|scope| {
        let tasks: Vec<_> = units
            .iter()
            .map(|(component, metered, _)| {
                let sandbox = &sandbox;
                scope.spawn(move || {
                    let started = Instant::now();
                    let info = sandbox.precompile(component, *metered, args.beside);
                    (info, started.elapsed())
                })
            })
            .collect();
        tasks
            .into_iter()
            .map(|t| t.join().expect("a compile thread never panics"))
            .collect()
    });
    let mut failed = false;
    for ((component, metered, h), (result, took)) in units.iter().zip(results) {
        let engine = if *metered { "fuel-metered" } else { "default" };
        match result {
            Ok(info) => {
                let what = match info.origin {
                    Origin::Compiled => format!("compiled in {:.1} s", took.as_secs_f64()),
                    Origin::Cache => "up to date (cache)".to_string(),
                    Origin::Beside => "up to date (next to the component)".to_string(),
                };
                let place = if args.beside {
                    format!(" -> {}", beside_path(component, *metered).display())
                } else {
                    String::new()
                };
                println!("{}: {what}, {engine} engine{place}", component.display());
            }
            Err(e) => {
                failed = true;
                eprintln!(
                    "error: {}:{}:{}: handler.component: handler `{}`: {e}",
                    manifest.path.display(),
                    h.component_at.line,
                    h.component_at.column,
                    h.name
                );
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Flags of the hidden `aviary compile-worker` (started by the runtime, see
/// [`crate::sandbox::CompileIn::ChildProcess`]).
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// The component to compile.
    #[arg(long)]
    pub component: PathBuf,
    /// Where to write the artefact.
    #[arg(long)]
    pub output: PathBuf,
    /// The engine key the runtime expects.
    #[arg(long)]
    pub engine_key: String,
    /// The runtime's largest linear memory (an engine setting).
    #[arg(long)]
    pub max_memory_bytes: u64,
    /// Fuel metering compiled in.
    #[arg(long)]
    pub fuel: bool,
    /// Compile on one thread.
    #[arg(long)]
    pub one_thread: bool,
}

/// Runs `aviary compile-worker`: exit code 0, or the worker's code with the reason on stderr.
pub fn worker(args: WorkerArgs) -> ExitCode {
    let request = WorkerRequest {
        component: args.component,
        output: args.output,
        engine_key: args.engine_key,
        metered: args.fuel,
        max_memory_bytes: args.max_memory_bytes,
        one_thread: args.one_thread,
    };
    match run_worker(&request) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, why)) => {
            eprintln!("{why}");
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
