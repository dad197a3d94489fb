//! `aviary guest build --lang go <dir> -o handler.wasm`: builds a handler written in another
//! language than Rust into a component (see [`crate::guest_build`]).
//!
//! Exit codes: 0 built; 1 the build failed (the Go toolchain's messages are shown); 2 the
//! toolchain is missing or too old, or the arguments are wrong.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::guest_build::{self, BuildError, GoBuild};

/// Flags of `aviary guest`.
#[derive(Debug, clap::Args)]
pub struct GuestArgs {
    #[command(subcommand)]
    pub command: GuestCommand,
}

/// Subcommands of `aviary guest`.
#[derive(Debug, clap::Subcommand)]
pub enum GuestCommand {
    /// Build a handler into a WebAssembly component for the manifest's `component`.
    Build(BuildArgs),
}

/// Guest languages `aviary guest build` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Go ≥ 1.24 with the Aviary Go SDK (guest-sdk/go).
    Go,
}

/// Flags of `aviary guest build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The handler's language.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// The package directory (Go: package main, importing aviary.local/aviary).
    pub dir: PathBuf,
    /// Where to write the component.
    #[arg(short = 'o', long = "output", default_value = "handler.wasm")]
    pub output: PathBuf,
    /// The Go binary (default: $AVIARY_GO, then `go` on PATH).
    #[arg(long, env = "AVIARY_GO")]
    pub go: Option<PathBuf>,
    /// Size of the argument arena in MiB (1, 4, 16 or 64): the largest event the handler accepts.
    #[arg(long = "arena-mib", default_value_t = guest_build::DEFAULT_ARENA_MIB)]
    pub arena_mib: u32,
    /// Also write the patched core module as `<output>.core.wasm` (for inspection).
    #[arg(long)]
    pub keep_core: bool,
}

/// Runs `aviary guest`.
pub fn run(args: GuestArgs) -> ExitCode {
    match args.command {
        GuestCommand::Build(b) => build(b),
    }
}

fn build(args: BuildArgs) -> ExitCode {
    let Lang::Go = args.lang;
    let spec = GoBuild {
        dir: args.dir,
        output: args.output,
        go: args.go,
        arena_mib: args.arena_mib,
        keep_core: args.keep_core,
    };
    match guest_build::build_go(&spec) {
        Ok(b) => {
            println!(
                "built {} ({} bytes) with {} in {:.1} s (go build {:.1} s); argument arena {} MiB: events up to that size",
                b.output.display(),
                b.component_bytes,
                b.go_version,
                b.total_time.as_secs_f64(),
                b.go_build_time.as_secs_f64(),
                b.arg_arena.size >> 20,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                BuildError::GoMissing { .. }
                | BuildError::GoTooOld { .. }
                | BuildError::ArenaSize(_)
                | BuildError::NoPackage(_) => 2,
                _ => 1,
            })
        }
    }
}
