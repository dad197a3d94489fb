//! `aviary run` of a manifest with `include` ([`Deployment`]): several apps in one process,
//! each started through [`Runtime::builder`] with its own connection, queue and handlers, and
//! one admin server over all of them (`/status`, `/readyz`, `/metrics` per app; control
//! actions apply to every app). Isolated: an app that stops on a fatal error (refused
//! credentials, a handler that cannot load) stops alone, and says so in `/status` (`stopped`)
//! and `/readyz`; the others keep running. The process exits once every app has stopped
//! (SIGINT/SIGTERM stop them all): 0 when all stopped gracefully, 1 when one ended on an error.
//! SIGHUP (and `--watch`) reload each app from its own file.
//!
//! Each app's log lines carry its id (span `app{id=…}`).

use std::process::ExitCode;
use std::sync::Arc;

use tracing::Instrument;

use super::handle::RuntimeHandle;
use super::operator::Apps;
use super::runtime::Runtime;
use super::wasm;
use crate::admin::{self, AdminSettings};
use crate::manifest::Deployment;
use crate::process;

/// Runs every app of `deployment` (with `include`) until all have stopped.
pub(crate) async fn run_many(
    deployment: Deployment,
    admin_settings: AdminSettings,
    compile_memory_mb: Option<u64>,
    watch: bool,
    debug_runs: bool,
) -> ExitCode {
    if let Err(e) = admin_settings.check() {
        eprintln!("error: {}: {e}", deployment.path.display());
        return ExitCode::from(2);
    }
    let mut apps: Vec<RuntimeHandle> = Vec::new();
    for manifest in deployment.apps {
        let span = tracing::info_span!("app", id = %manifest.feishu.app_id);
        let path = manifest.path.clone();
        let started = Runtime::builder()
            .loaded_manifest(manifest)
            .admin(AdminSettings::off())
            .debug_runs(debug_runs)
            .compiling(wasm::Compiling::in_child_processes(compile_memory_mb))
            .start()
            .instrument(span)
            .await;
        match started {
            Ok(handle) => apps.push(handle),
            Err(e) => {
                for problem in e.problems() {
                    eprintln!("error: {}: {problem}", path.display());
                }
                for app in &apps {
                    let _ = app.stop().await;
                }
                return if e.is_manifest() {
                    ExitCode::from(2)
                } else {
                    ExitCode::FAILURE
                };
            }
        }
    }
    let server = match admin::serve(&admin_settings, Arc::new(Apps(apps.clone()))).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            for app in &apps {
                let _ = app.stop().await;
            }
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(apps = apps.len(), manifest = %deployment.path.display(), "running several apps");
    let stoppers = apps.clone();
    tokio::spawn(async move {
        process::stop_signal().await;
        tracing::info!("stop requested; stopping every app");
        for app in &stoppers {
            let _ = app.stop().await;
        }
    });
    for app in &apps {
        let span = tracing::info_span!("app", id = %app.app_id());
        #[cfg(unix)]
        tokio::spawn(super::reload_on_sighup(app.clone()).instrument(span.clone()));
        if watch {
            if let Some(path) = app.shared.reload.manifest.clone() {
                tokio::spawn(super::watch::reload_on_change(path, app.clone()).instrument(span));
            }
        }
    }
    let mut failed = false;
    for app in &apps {
        let ended = app.wait().await;
        let failures = app.load_failures();
        for f in &failures {
            eprintln!("error: app {}: {f}", app.app_id());
        }
        if let Err(e) = ended {
            eprintln!("error: app {}: {e}", app.app_id());
            failed = true;
        }
        failed |= !failures.is_empty();
    }
    if let Some(server) = server {
        server.shutdown().await;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
