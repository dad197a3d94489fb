//! `aviary run --watch` (for development): reloads ([`RuntimeHandle::reload`]) when the
//! manifest or a handler's component file changes. Polls modification times and sizes every
//! [`crate::limits::reload::WATCH_POLL`]; a change is acted on once the files have stayed the
//! same for one more poll (an editor or a build writing in several steps causes one reload).
//! A refused reload is logged and the running handlers kept; the next change tries again.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::handle::RuntimeHandle;
use crate::limits::reload::WATCH_POLL;

/// What is watched, as last seen: each file's modification time and size (`None`: missing).
type Seen = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

fn look(paths: &[PathBuf]) -> Seen {
    paths
        .iter()
        .map(|p| {
            let meta = std::fs::metadata(p).ok();
            (
                p.clone(),
                meta.and_then(|m| Some((m.modified().ok()?, m.len()))),
            )
        })
        .collect()
}

/// The manifest and the component files of the handlers in force.
fn watched(manifest: &Path, runtime: &RuntimeHandle) -> Vec<PathBuf> {
    let mut paths = vec![manifest.to_path_buf()];
    paths.extend(
        runtime
            .shared
            .generation()
            .handlers
            .iter()
            .filter_map(|h| h.component.as_ref().map(PathBuf::from)),
    );
    paths
}

/// Watches until the app stops.
pub(crate) async fn reload_on_change(manifest: PathBuf, runtime: RuntimeHandle) {
    tracing::info!(manifest = %manifest.display(), "watching the manifest and the handlers' components; a change reloads");
    let mut seen = look(&watched(&manifest, &runtime));
    let mut changed: Option<Seen> = None;
    loop {
        tokio::time::sleep(WATCH_POLL).await;
        if runtime.is_stopped() {
            return;
        }
        let now = look(&seen.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>());
        if now == seen {
            changed = None;
            continue;
        }
        // Wait for the files to settle: the same for two polls in a row.
        if changed.as_ref() != Some(&now) {
            changed = Some(now);
            continue;
        }
        let what: Vec<String> = now
            .iter()
            .zip(&seen)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.0.display().to_string())
            .collect();
        tracing::info!(changed = %what.join(", "), "--watch: reloading");
        let _ = runtime.reload().await;
        // The handlers in force may name other files now.
        seen = look(&watched(&manifest, &runtime));
        changed = None;
    }
}
