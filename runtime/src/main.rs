//! The `aviary` command line. Parsing only; everything else lives in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc malloc: every event allocates and frees small buffers on two
/// worker threads (frames, envelopes, tasks, wasmtime stores); glibc's arena locking and
/// consolidation showed up at ~15% of the per-event CPU (`--bench events`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Aviary: Feishu/Lark long-connection runtime with sandboxed handlers.
#[derive(Debug, Parser)]
#[command(name = "aviary", version, about)]
struct Cli {
    /// How log lines are written to stderr: `text` (default) or `json` (one object per line).
    /// Wins over the manifest's `[log] format`.
    #[arg(long, global = true, value_enum, env = "AVIARY_LOG_FORMAT")]
    log_format: Option<aviary::process::LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect to Feishu with the manifest's app and handle events until stopped.
    Run(aviary::app::RunArgs),
    /// Validate the manifest and load every handler's component; print a summary or every problem.
    Check(aviary::cli::check::CheckArgs),
    /// Compile every handler's component ahead of time (into the cache, or `--beside` it).
    Compile(aviary::cli::compile::CompileArgs),
    /// Compile one component for `aviary run` (started by it; not for direct use).
    #[command(hide = true)]
    CompileWorker(aviary::cli::compile::WorkerArgs),
    /// Run one event (an envelope JSON file) through one handler and report what happened.
    Invoke(aviary::cli::invoke::InvokeArgs),
    /// Create a handler project: code, manifest, sample events (`--lang rust|go|js|python`).
    New(aviary::cli::new::NewArgs),
    /// The local loop: build, run against the built-in emulator with its dev console, rebuild
    /// and restart on change.
    #[cfg(feature = "emulator")]
    Dev(aviary::cli::dev::DevArgs),
    /// Build every handler whose `[handler.build]` names its source, into its `component`.
    Build(aviary::cli::build::BuildArgs),
    /// Build handlers written in other languages than Rust (`aviary guest build --lang go`).
    Guest(aviary::cli::guest::GuestArgs),
    /// Dead letters of the manifest's queue: list, show, replay, purge.
    Dlq(aviary::cli::dlq::DlqArgs),
    /// Ask a running `aviary run` (its admin server): status, reconnect, drain, resume.
    Ctl(aviary::cli::ctl::CtlArgs),
    /// Handlers' key-value state in the manifest's queue backend: list, get, set, delete.
    Kv(aviary::cli::kv::KvArgs),
    /// Play Feishu on 127.0.0.1 (endpoint API, WebSocket gateway, OpenAPI stubs, control API).
    #[cfg(feature = "emulator")]
    Emulator(aviary_emulator::cli::EmulatorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(format) = cli.log_format {
        aviary::process::set_log_format(format);
    }
    match cli.command {
        Command::Run(args) => aviary::app::run(args),
        Command::Check(args) => aviary::cli::check::run(args),
        Command::Invoke(args) => aviary::cli::invoke::run(args),
        Command::Compile(args) => aviary::cli::compile::run(args),
        Command::CompileWorker(args) => aviary::cli::compile::worker(args),
        Command::New(args) => aviary::cli::new::run(args),
        #[cfg(feature = "emulator")]
        Command::Dev(args) => aviary::cli::dev::run(args),
        Command::Build(args) => aviary::cli::build::run(args),
        Command::Guest(args) => aviary::cli::guest::run(args),
        Command::Dlq(args) => aviary::cli::dlq::run(args),
        Command::Ctl(args) => aviary::cli::ctl::run(args),
        Command::Kv(args) => aviary::cli::kv::run(args),
        #[cfg(feature = "emulator")]
        Command::Emulator(args) => aviary::cli::emulator::run(args),
    }
}
