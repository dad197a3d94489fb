//! `aviary emulator` (placeholder until the emulator lands).
use std::process::ExitCode;

/// Flags of `aviary emulator`.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {}

/// Runs the emulator until interrupted.
pub fn run(_args: EmulatorArgs) -> ExitCode {
    ExitCode::FAILURE
}
