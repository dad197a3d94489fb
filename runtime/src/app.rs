//! `aviary run` (placeholder until the connection lands).
use std::process::ExitCode;

/// Flags of `aviary run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Runs the manifest until interrupted or a fatal error.
pub fn run(_args: RunArgs) -> ExitCode {
    ExitCode::FAILURE
}
