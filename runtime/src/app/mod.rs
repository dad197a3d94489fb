//! The composition root, and the embedding API.
//!
//! **Embedding.** [`Runtime::builder`] takes an app — a manifest file
//! ([`RuntimeBuilder::manifest`]) or typed [`Settings`] — and handlers added in code
//! ([`Handler::wasm`] for components, [`Handler::native`] for Rust code implementing
//! [`NativeHandler`], which is **not sandboxed**), connection callbacks
//! ([`RuntimeBuilder::on_connected`], [`RuntimeBuilder::on_disconnected`],
//! [`RuntimeBuilder::on_error`]), then [`RuntimeBuilder::start`] returns a
//! [`RuntimeHandle`]: [`RuntimeHandle::status`], [`RuntimeHandle::connection_state`] (a
//! `tokio::sync::watch`), [`RuntimeHandle::reconnect`] (make-before-break),
//! [`RuntimeHandle::drain`], [`RuntimeHandle::resume`], [`RuntimeHandle::reload`] (hot
//! reload), [`RuntimeHandle::stop`]. The crate
//! root re-exports exactly this surface; `examples/embed/` is a complete program.
//!
//! **Composition.** This module is the one place that wires manifest → sandbox → dispatcher →
//! queue → connection ([`loading`] builds a dispatcher through a [`loading::HandlerLoader`] for
//! `aviary check`/`invoke`, [`wasm`] is the one file that names sandbox types); `aviary run`
//! ([`run`]) is a thin caller of the builder.
//!
//! **Start-up.** Handlers load in the background ([`startup`]): the connection opens and the
//! queue persists and acks events while components compile; each handler takes its jobs when
//! its component is ready.
//!
//! Exit codes of `aviary run`: 0 after a graceful stop, 1 on a fatal connection error or a
//! handler that cannot be loaded (one `error: …` line each; a handler failing in the
//! background stops the runtime gracefully first), 2 when the manifest cannot be loaded (the
//! precise messages on stderr).

#![warn(missing_docs)]

use std::path::PathBuf;
use std::process::ExitCode;

mod exporter;
pub mod filters;
mod generation;
mod handle;
mod handlers;
mod journaled;
pub mod loading;
mod many;
mod metered;
mod native;
mod operator;
mod reload;
mod runtime;
mod settings;
pub mod startup;
mod status;
pub mod wasm;
mod watch;

pub use handle::RuntimeHandle;
pub use handlers::Handler;
pub use native::{HandlerError, NativeHandler};
pub use reload::{LastReload, ReloadError, ReloadReport, ReloadStatus};
pub use runtime::{Runtime, RuntimeBuilder, StartError};
pub use settings::Settings;
pub use status::{
    ClientConfigStatus, ConnectionStatus, HandlerStatus, LastDisconnect, LimitsStatus, QueueStatus,
    Status,
};

use crate::admin::AdminSettings;
use crate::manifest::Deployment;
use crate::process;

/// Flags of `aviary run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The manifest to run.
    #[arg(short = 'm', long = "manifest", default_value = "aviary.toml")]
    pub manifest: PathBuf,
    /// Memory budget for compiling components at once, in MiB (estimated peaks; one compile
    /// always runs, on one thread when it alone is over).
    #[arg(
        long = "compile-memory-mb",
        env = "AVIARY_COMPILE_MEMORY_MB",
        value_name = "MIB"
    )]
    pub compile_memory_mb: Option<u64>,
    /// Where the admin server listens (IP:PORT), instead of the manifest's `[admin] listen`;
    /// "" turns it off.
    #[arg(long = "admin", value_name = "ADDR")]
    pub admin: Option<String>,
    /// Keep a journal of the recent events' timelines (each handler run with its logs and
    /// calls), served at `GET /debug/runs` on the admin server (what `aviary dev` shows).
    #[arg(long = "debug-runs")]
    pub debug_runs: bool,
    /// Reload (without dropping the connection) when the manifest or a handler's component
    /// file changes — for development.
    #[arg(long = "watch")]
    pub watch: bool,
}

/// Reloads on each SIGHUP (the outcome is logged by the reload).
#[cfg(unix)]
async fn reload_on_sighup(runtime: RuntimeHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "SIGHUP cannot be watched; reload through the admin server");
            return;
        }
    };
    while hup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the manifest");
        let _ = runtime.reload().await;
    }
}

/// `aviary run`: runs the manifest through [`Runtime::builder`] until SIGINT/SIGTERM (graceful)
/// or a fatal error; SIGHUP reloads it ([`RuntimeHandle::reload`]).
pub fn run(args: RunArgs) -> ExitCode {
    let mut deployment = match Deployment::load(&args.manifest) {
        Ok(d) => d,
        Err(e) => {
            for problem in e.problems() {
                eprintln!("error: {problem}");
            }
            return ExitCode::from(2);
        }
    };
    if let Some(format) = deployment.log_format {
        // Only if `--log-format` / AVIARY_LOG_FORMAT did not choose already.
        process::set_log_format(format);
    }
    process::init_tracing();
    // `--admin` overrides through the builder: the manifest keeps `[admin]` as written (a
    // reload compares against it).
    let mut admin: Option<AdminSettings> = None;
    if let Some(addr) = &args.admin {
        match AdminSettings::parse_listen(addr) {
            Ok(listen) => {
                let mut a = deployment.admin.clone();
                a.listen = listen;
                a.explicit = true;
                admin = Some(a);
            }
            Err(why) => {
                eprintln!("error: --admin: {why}");
                return ExitCode::from(2);
            }
        }
    }
    let tokio = match process::tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if deployment.including {
        let admin = admin.unwrap_or_else(|| deployment.admin.clone());
        return tokio.block_on(many::run_many(
            deployment,
            admin,
            args.compile_memory_mb,
            args.watch,
            args.debug_runs,
        ));
    }
    let manifest = deployment.apps.remove(0);
    tokio.block_on(async {
        let mut builder = Runtime::builder()
            .loaded_manifest(manifest)
            .debug_runs(args.debug_runs)
            .compiling(wasm::Compiling::in_child_processes(args.compile_memory_mb));
        if let Some(admin) = admin {
            builder = builder.admin(admin);
        }
        let runtime = match builder.start().await {
            Ok(r) => r,
            Err(e) => {
                for problem in e.problems() {
                    eprintln!("error: {problem}");
                }
                return if e.is_manifest() {
                    ExitCode::from(2)
                } else {
                    ExitCode::FAILURE
                };
            }
        };
        let stopper = runtime.clone();
        tokio::spawn(async move {
            process::stop_signal().await;
            tracing::info!("stop requested; draining handlers and closing the connection");
            let _ = stopper.stop().await;
        });
        #[cfg(unix)]
        tokio::spawn(reload_on_sighup(runtime.clone()));
        if args.watch {
            tokio::spawn(watch::reload_on_change(
                args.manifest.clone(),
                runtime.clone(),
            ));
        }
        let ended = runtime.wait().await;
        // A handler that failed to load stopped the runtime: its line, exit 1.
        let failures = runtime.load_failures();
        if !failures.is_empty() {
            for f in failures {
                eprintln!("error: {f}");
            }
            return ExitCode::FAILURE;
        }
        match ended {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
