//! `aviary emulator` (cargo feature `emulator`, on by default): the process around
//! [`aviary_emulator::cli::serve`] — logging, the async runtime, and SIGINT/SIGTERM as the stop.

use std::process::ExitCode;

use aviary_emulator::cli::{load_events, serve, EmulatorArgs};

use crate::process;

/// Runs the emulator until interrupted. Exit codes: 0 on a signal or `--exit-after-acks`;
/// 1 if it cannot start; 2 for unusable arguments (e.g. an unreadable `--event` file).
pub fn run(args: EmulatorArgs) -> ExitCode {
    process::init_tracing();
    let events = match load_events(&args.events) {
        Ok(events) => events,
        Err(e) => {
            eprintln!("aviary emulator: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match process::tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("aviary emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args, events, process::stop_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aviary emulator: {e:#}");
            ExitCode::FAILURE
        }
    }
}
