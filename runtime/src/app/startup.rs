//! Start fast: handlers are loaded (their components compiled or read from an artefact) in
//! the background while the connection opens and the durable queue persists and acks events.
//!
//! [`load_in_background`] returns at once with one [`Pending`] handler per Wasm handler and a
//! [`Loading`] to watch. A `Pending` handler is not ready ([`Invoke::ready`]) until its
//! component is loaded, so the queue holds its jobs back; called directly (card callbacks,
//! `ack = "after-handle"`), it waits for its component. Loads run in parallel on blocking
//! threads, smallest component first; the sandbox bounds the memory of compiles running at
//! once.
//!
//! A handler that fails to load is reported at its manifest line ([`Loading::failed`]); the
//! runtime then stops gracefully and `aviary run` exits 1 with that line, as it did when it
//! loaded handlers before connecting. Its events stay in the queue for the next start.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tokio::sync::watch;

use super::loading::{HandlerLoader, KvBinding};
use crate::handler::{Failure, GuestEvent, Invocation, Invoke, InvokeFuture, ReadyFuture};
use crate::manifest::HandlerSettings;

/// A handler whose component may still be loading: see the module doc.
pub struct Pending {
    name: String,
    /// Set once loaded (the hot path reads only this).
    loaded: OnceLock<Arc<dyn Invoke>>,
    /// Changes when the load ends (loaded or failed).
    state: watch::Receiver<State>,
}

#[derive(Clone)]
enum State {
    Loading,
    Loaded,
    Failed(Arc<str>),
}

impl Pending {
    /// The loaded handler, if it is loaded.
    fn get(&self) -> Option<&Arc<dyn Invoke>> {
        self.loaded.get()
    }
}

impl Invoke for Pending {
    fn name(&self) -> &str {
        &self.name
    }

    fn instances(&self) -> Option<(u64, u64)> {
        self.get().and_then(|h| h.instances())
    }

    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        if let Some(h) = self.get() {
            return h.invoke(event);
        }
        Box::pin(async move {
            let mut state = self.state.clone();
            let ended = state
                .wait_for(|s| !matches!(s, State::Loading))
                .await
                .map(|s| s.clone());
            match (ended, self.get()) {
                (_, Some(h)) => h.invoke(event).await,
                (Ok(State::Failed(why)), None) => not_loaded(&why),
                _ => not_loaded("the runtime is stopping"),
            }
        })
    }

    fn ready(&self) -> Option<ReadyFuture> {
        if self.get().is_some() {
            return None;
        }
        let mut state = self.state.clone();
        Some(Box::pin(async move {
            // A failed load never becomes ready: the future stays pending (the runtime stops).
            if state
                .wait_for(|s| matches!(s, State::Loaded))
                .await
                .is_err()
            {
                std::future::pending::<()>().await;
            }
        }))
    }
}

fn not_loaded(why: &str) -> Invocation {
    Invocation {
        result: Err(Failure::Host {
            message: format!("the handler's component did not load: {why}"),
        }),
        fuel_used: None,
        peak_memory_bytes: 0,
        wall: std::time::Duration::ZERO,
        logs: Vec::new(),
        kv: None,
    }
}

/// The loads started by [`load_in_background`].
#[derive(Clone)]
pub struct Loading {
    /// One line per handler that failed (`file:line:col: handler.component: …`).
    failures: Arc<Mutex<Vec<String>>>,
    /// Handlers still loading, by name.
    loading: Arc<Mutex<Vec<String>>>,
    /// Loads not finished, and whether one failed.
    progress: watch::Receiver<(usize, bool)>,
}

impl Loading {
    /// Resolves with the failures so far once a handler failed to load; never resolves when
    /// every handler loads.
    pub async fn failed(&self) -> Vec<String> {
        let mut progress = self.progress.clone();
        if progress.wait_for(|(_, failed)| *failed).await.is_err() {
            std::future::pending::<()>().await;
        }
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Resolves once every load has finished (loaded or failed).
    pub async fn finished(&self) {
        let mut progress = self.progress.clone();
        let _ = progress.wait_for(|(left, _)| *left == 0).await;
    }

    /// The failures so far, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The handlers still loading, by name.
    pub fn still_loading(&self) -> Vec<String> {
        self.loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A Wasm handler to load, and the manifest it was declared in (errors name its line).
pub struct ToLoad {
    /// Its settings.
    pub settings: HandlerSettings,
    /// The manifest it comes from (`None`: added in code).
    pub manifest: Option<PathBuf>,
}

/// Starts loading `handlers` with `loader` (and `kv`, the app's key-value state) in the
/// background; returns them (same order) at once. Must be called inside a Tokio runtime.
pub fn load_in_background(
    handlers: Vec<ToLoad>,
    loader: Box<dyn HandlerLoader>,
    kv: &KvBinding,
) -> (Vec<Arc<dyn Invoke>>, Loading) {
    let started = Instant::now();
    let loader: Arc<dyn HandlerLoader> = Arc::from(loader);
    let total = handlers.len();
    let (progress_tx, progress) = watch::channel((total, false));
    let progress_tx = Arc::new(progress_tx);
    let failures = Arc::new(Mutex::new(Vec::new()));
    let loading = Arc::new(Mutex::new(
        handlers
            .iter()
            .map(|h| h.settings.name.clone())
            .collect::<Vec<_>>(),
    ));
    let mut pendings: Vec<Arc<dyn Invoke>> = Vec::with_capacity(total);
    let mut jobs = Vec::with_capacity(total);
    for h in handlers {
        let (state_tx, state) = watch::channel(State::Loading);
        let pending = Arc::new(Pending {
            name: h.settings.name.clone(),
            loaded: OnceLock::new(),
            state,
        });
        pendings.push(pending.clone());
        let size = std::fs::metadata(&h.settings.component).map_or(0, |m| m.len());
        jobs.push((size, h, pending, state_tx));
    }
    // Smallest first: small handlers are ready soonest, and go first for the compile budget.
    jobs.sort_by_key(|(size, ..)| *size);
    for (_, ToLoad { settings, manifest }, pending, state_tx) in jobs {
        let loader = loader.clone();
        let failures = failures.clone();
        let loading = loading.clone();
        let progress_tx = progress_tx.clone();
        let kv = kv.clone();
        tokio::task::spawn_blocking(move || {
            let outcome = loader.load_with(&settings, &kv);
            // Reading a compiled component allocates its size once (tens of MB for large
            // guests); give that back now rather than keep it resident.
            crate::process::release_free_memory();
            let failed = match outcome {
                Ok(invoke) => {
                    let _ = pending.loaded.set(invoke);
                    tracing::info!(
                        handler = %settings.name,
                        ms_since_start = started.elapsed().as_millis() as u64,
                        "handler ready"
                    );
                    state_tx.send_replace(State::Loaded);
                    false
                }
                Err(why) => {
                    let failure = located(&settings, manifest.as_deref(), &why);
                    tracing::error!(handler = %settings.name, "{failure}");
                    failures
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(failure);
                    state_tx.send_replace(State::Failed(why.into()));
                    true
                }
            };
            loading
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|n| *n != settings.name);
            progress_tx.send_modify(|(left, any_failed)| {
                *left -= 1;
                *any_failed |= failed;
                if *left == 0 && !*any_failed {
                    tracing::info!(
                        ms_since_start = started.elapsed().as_millis() as u64,
                        "all handlers ready"
                    );
                }
            });
        });
    }
    (
        pendings,
        Loading {
            failures,
            loading,
            progress,
        },
    )
}

/// A component that did not load, at its manifest line (the wording `aviary check` prints), or
/// named by handler when it was added in code.
pub(crate) fn located(h: &HandlerSettings, manifest: Option<&Path>, why: &str) -> String {
    match manifest {
        Some(path) => format!(
            "{}:{}:{}: handler.component: handler `{}`: {why}",
            path.display(),
            h.component_at.line,
            h.component_at.column,
            h.name
        ),
        None => format!(
            "handler `{}`: component {}: {why}",
            h.name,
            h.component.display()
        ),
    }
}
