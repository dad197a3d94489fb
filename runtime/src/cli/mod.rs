//! Subcommands that work on a manifest without connecting: `aviary check`, `aviary invoke`,
//! `aviary build`, `aviary compile`, `aviary dlq` and `aviary kv`; also `aviary guest`,
//! `aviary emulator`, and `aviary ctl` (which talks to a running process's admin server).
//! Each takes the sandbox loader as a parameter in its library entry point, so it is testable
//! with fake handlers; the binary passes [`crate::app::wasm::sandbox_loader`].

pub mod build;
pub mod check;
mod command;
pub mod compile;
pub mod ctl;
#[cfg(feature = "emulator")]
pub mod dev;
#[cfg(feature = "emulator")]
pub mod dev_console;
#[cfg(feature = "emulator")]
pub mod dev_reload;
pub mod dlq;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod guest;
pub mod invoke;
pub mod kv;
pub mod new;

pub use command::main;

use crate::app::loading::HandlerLoader;

/// Makes the loader handlers are loaded with (the Wasm sandbox in the binary).
pub type MakeLoader<'a> = &'a dyn Fn() -> Result<Box<dyn HandlerLoader>, String>;

/// The manifest at `path`; or every problem printed (`error: …`, one a line) and exit code 2.
fn load_manifest(path: &std::path::Path) -> Result<crate::manifest::Manifest, std::process::ExitCode> {
    crate::manifest::Manifest::load(path).map_err(|e| {
        for problem in e.problems() {
            eprintln!("error: {problem}");
        }
        std::process::ExitCode::from(2)
    })
}

/// A single-threaded async runtime for a command that makes a few store or HTTP calls; or why
/// not printed and exit code 1.
fn current_thread_runtime() -> Result<tokio::runtime::Runtime, std::process::ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        })
}
