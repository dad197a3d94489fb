//! `aviary run`: load the manifest, connect, hand events (deduplicated) to the built-in [`LogSink`] until
//! SIGINT/SIGTERM (graceful) or a fatal error.
//!
//! Exit codes: 0 after a graceful stop, 1 on a fatal connection error (one `error: …` line),
//! 2 when the manifest cannot be loaded (the precise message on stderr).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::connection::{self, ConnectionStats};
use crate::dispatch::dedupe::Deduplicating;
use crate::dispatch::LogSink;
use crate::manifest::Manifest;
use crate::process;

/// Flags of `aviary run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The manifest to run.
    #[arg(short = 'm', long = "manifest", default_value = "aviary.toml")]
    pub manifest: PathBuf,
}

/// Runs the manifest until interrupted or a fatal error.
pub fn run(args: RunArgs) -> ExitCode {
    process::init_tracing();
    let manifest = match Manifest::load(&args.manifest) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match process::tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        let stats = ConnectionStats::new();
        tracing::info!(
            manifest = %manifest.path.display(),
            app_id = %manifest.feishu.app_id,
            domain = %manifest.feishu.domain,
            "starting"
        );
        match connection::run(
            manifest.connection_options(),
            Arc::new(Deduplicating::new(LogSink)),
            stats,
            shutdown,
        )
        .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    process::stop_signal().await;
    tracing::info!("stop requested; draining handlers and closing the connection");
    shutdown.cancel();
}
