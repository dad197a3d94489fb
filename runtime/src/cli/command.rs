//! The `aviary` command line: the subcommands and their dispatch. The binary (`main.rs`) only
//! sets the allocator and calls [`main`]; everything else lives in the library, behind the
//! embedding API.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::process;

/// Aviary: Feishu/Lark long-connection runtime with sandboxed handlers.
#[derive(Debug, Parser)]
#[command(name = "aviary", version, about)]
struct Cli {
    /// How log lines are written to stderr: `text` (default) or `json` (one object per line).
    /// Wins over the manifest's `[log] format`.
    #[arg(long, global = true, value_enum, env = "AVIARY_LOG_FORMAT")]
    log_format: Option<process::LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect to Feishu with the manifest's app and handle events until stopped.
    Run(crate::app::RunArgs),
    /// Validate the manifest and load every handler's component; print a summary or every problem.
    Check(super::check::CheckArgs),
    /// Compile every handler's component ahead of time (into the cache, or `--beside` it).
    Compile(super::compile::CompileArgs),
    /// Compile one component for `aviary run` (started by it; not for direct use).
    #[command(hide = true)]
    CompileWorker(super::compile::WorkerArgs),
    /// Run one event (an envelope JSON file) through one handler and report what happened.
    Invoke(super::invoke::InvokeArgs),
    /// Create a handler project: code, manifest, sample events (`--lang rust|go|js|python`).
    New(super::new::NewArgs),
    /// The local loop: build, run against the built-in emulator with its dev console, rebuild
    /// and hot-reload on change.
    #[cfg(feature = "emulator")]
    Dev(super::dev::DevArgs),
    /// Build every handler whose `[handler.build]` names its source, into its `component`.
    Build(super::build::BuildArgs),
    /// Build handlers written in other languages than Rust (`aviary guest build --lang go`).
    Guest(super::guest::GuestArgs),
    /// Dead letters of the manifest's queue: list, show, replay, purge.
    Dlq(super::dlq::DlqArgs),
    /// Ask a running `aviary run` (its admin server): status, reconnect, drain, resume.
    Ctl(super::ctl::CtlArgs),
    /// Handlers' key-value state in the manifest's queue backend: list, get, set, delete.
    Kv(super::kv::KvArgs),
    /// Play Feishu on 127.0.0.1 (endpoint API, WebSocket gateway, OpenAPI stubs, control API).
    #[cfg(feature = "emulator")]
    Emulator(aviary_emulator::cli::EmulatorArgs),
}

/// Parses the process's arguments and runs the subcommand; its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(format) = cli.log_format {
        process::set_log_format(format);
    }
    match cli.command {
        Command::Run(args) => crate::app::run(args),
        Command::Check(args) => super::check::run(args),
        Command::Invoke(args) => super::invoke::run(args),
        Command::Compile(args) => super::compile::run(args),
        Command::CompileWorker(args) => super::compile::worker(args),
        Command::New(args) => super::new::run(args),
        #[cfg(feature = "emulator")]
        Command::Dev(args) => super::dev::run(args),
        Command::Build(args) => super::build::run(args),
        Command::Guest(args) => super::guest::run(args),
        Command::Dlq(args) => super::dlq::run(args),
        Command::Ctl(args) => super::ctl::run(args),
        Command::Kv(args) => super::kv::run(args),
        #[cfg(feature = "emulator")]
        Command::Emulator(args) => super::emulator::run(args),
    }
}
