//! The crate `aviary-test-support`: what Aviary's tests and benchmarks share, in `tests/` and
//! in `runtime/tests/`. Here: a recording event sink with scripted behaviour per event type, a
//! client runner, envelope builders, the emulator's test settings and polling helpers; in the
//! modules: building the test guests ([`guests`], [`go_guests`], [`lang_guests`]), the official
//! SDK peers ([`peers`]), the real binary ([`binary`]), the recorder guest's scenario
//! ([`recorder`]) and temporary directories ([`Dir`]). Every server these tests talk to is the
//! in-process emulator on 127.0.0.1 (the crate `aviary-emulator`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use aviary::connection::{
    ConnectionOptions, ConnectionState, ConnectionStats, FatalError, StatsSnapshot,
};
use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::{EventSink, HandleFuture, HandlerResult, InboundEvent};
use aviary_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the recording sink does for an event type.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Done,
    Respond(Value),
    Fail,
    NoHandler,
    /// Sleep, then report done.
    Slow(Duration),
}

/// An [`EventSink`] that records every event it runs and behaves as scripted per event type.
pub struct RecordingSink {
    events: Mutex<Vec<InboundEvent>>,
    rules: Mutex<HashMap<String, Behaviour>>,
    default: Behaviour,
    arrived: Notify,
}

impl RecordingSink {
    /// A sink that reports every event done unless told otherwise.
    pub fn new() -> Arc<Self> {
        Self::with_default(Behaviour::Done)
    }

    /// A sink whose unscripted event types get `default`.
    pub fn with_default(default: Behaviour) -> Arc<Self> {
        Arc::new(RecordingSink {
            events: Mutex::default(),
            rules: Mutex::default(),
            default,
            arrived: Notify::new(),
        })
    }

    /// Scripts the behaviour for one event type.
    pub fn on(&self, event_type: &str, behaviour: Behaviour) {
        self.rules
            .lock()
            .unwrap()
            .insert(event_type.to_string(), behaviour);
    }

    /// Every event the handler actually ran on, in arrival order.
    pub fn events(&self) -> Vec<InboundEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Waits until at least `n` events were handled.
    pub async fn wait_for_events(&self, n: usize, timeout: Duration) -> Vec<InboundEvent> {
        let waited = tokio::time::timeout(timeout, async {
            loop {
                let notified = self.arrived.notified();
                if self.events.lock().unwrap().len() >= n {
                    return;
                }
                notified.await;
            }
        })
        .await;
        let events = self.events();
        assert!(
            waited.is_ok(),
            "expected {n} handled events within {timeout:?}, got {}",
            events.len()
        );
        events
    }
}

impl EventSink for RecordingSink {
    fn handle(&self, event: InboundEvent) -> HandleFuture {
        let behaviour = self
            .rules
            .lock()
            .unwrap()
            .get(&event.meta.event_type)
            .cloned()
            .unwrap_or_else(|| self.default.clone());
        self.events.lock().unwrap().push(event);
        self.arrived.notify_waiters();
        Box::pin(async move {
            match behaviour {
                Behaviour::Done => HandlerResult::Done,
                Behaviour::Respond(v) => HandlerResult::Respond(serde_json::to_vec(&v).unwrap()),
                Behaviour::Fail => HandlerResult::Failed("scripted failure".into()),
                Behaviour::NoHandler => HandlerResult::NoHandler,
                Behaviour::Slow(d) => {
                    tokio::time::sleep(d).await;
                    HandlerResult::Done
                }
            }
        })
    }
}

/// A running client (the real supervisor) under test.
pub struct RunningClient {
    pub stats: Arc<ConnectionStats>,
    pub sink: Arc<RecordingSink>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), FatalError>>,
}

/// Starts the real connection supervisor with a deduplicating recording sink.
pub fn start_client(options: ConnectionOptions, sink: Arc<RecordingSink>) -> RunningClient {
    init_tracing();
    let stats = ConnectionStats::new();
    let shutdown = CancellationToken::new();
    let dedupe: Arc<dyn EventSink> = Arc::new(Deduplicating::new(sink.clone()));
    let task = tokio::spawn(aviary::connection::run(
        options,
        dedupe,
        stats.clone(),
        shutdown.clone(),
    ));
    RunningClient {
        stats,
        sink,
        shutdown,
        task,
    }
}

impl RunningClient {
    /// Counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Waits until the client is connected; returns (device_id, service_id).
    pub async fn wait_connected(&self, timeout: Duration) -> (String, i32) {
        let mut rx = self.stats.state();
        let state = tokio::time::timeout(
            timeout,
            rx.wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "client not connected within {timeout:?}; state {:?}",
                *self.stats.state().borrow()
            )
        })
        .expect("state channel open")
        .clone();
        match state {
            ConnectionState::Connected {
                device_id,
                service_id,
            } => (device_id, service_id),
            _ => unreachable!(),
        }
    }

    /// Waits until `pred` holds for the counters.
    pub async fn wait_stats(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&StatsSnapshot) -> bool,
    ) -> StatsSnapshot {
        eventually(what, timeout, || pred(&self.snapshot())).await;
        self.snapshot()
    }

    /// Whether the supervisor has returned.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the supervisor to return on its own (a fatal error, or exhaustion).
    pub async fn outcome(self, timeout: Duration) -> Result<(), FatalError> {
        tokio::time::timeout(timeout, self.task)
            .await
            .expect("supervisor did not return in time")
            .expect("supervisor task panicked")
    }

    /// Graceful shutdown; returns what the supervisor returned.
    pub async fn stop(self) -> Result<(), FatalError> {
        self.shutdown.cancel();
        self.outcome(Duration::from_secs(20)).await
    }
}

/// The emulator's config for tests: [`EmulatorConfig::fast`] (tests that measure pings set
/// their own interval).
pub fn emulator_config() -> EmulatorConfig {
    EmulatorConfig::fast()
}

/// Starts an emulator with [`emulator_config`] tweaked by `tweak`.
pub async fn start_emulator(tweak: impl FnOnce(&mut EmulatorConfig)) -> Emulator {
    init_tracing();
    let mut cfg = emulator_config();
    tweak(&mut cfg);
    Emulator::start(cfg).await.expect("emulator starts")
}

/// Client options pointing at `emulator` with its credentials.
pub fn options_for(emulator: &Emulator) -> ConnectionOptions {
    let cfg = EmulatorConfig::default();
    let mut o = ConnectionOptions::new(emulator.domain(), cfg.app_id, cfg.app_secret);
    o.settings
        .set_connection_timeout(Duration::from_secs(5))
        .unwrap();
    o
}

/// A schema 2.0 envelope.
pub fn envelope(event_type: &str, event_id: &str, event: Value) -> Value {
    json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "event_type": event_type,
            "create_time": "1608725989000",
            "token": "",
            "app_id": EmulatorConfig::default().app_id,
            "tenant_key": "tenant-1"
        },
        "event": event
    })
}

/// An `im.message.receive_v1` envelope.
pub fn message_event(event_id: &str, message_id: &str, chat_id: &str, text: &str) -> Value {
    envelope(
        "im.message.receive_v1",
        event_id,
        json!({
            "sender": {"sender_id": {"open_id": "ou_1", "user_id": "u1", "union_id": "on_1"}, "sender_type": "user", "tenant_key": "tenant-1"},
            "message": {
                "message_id": message_id, "chat_id": chat_id, "chat_type": "group", "message_type": "text",
                "create_time": "1608725989000", "content": json!({"text": text}).to_string(), "mentions": []
            }
        }),
    )
}

/// A `card.action.trigger` envelope with a button value.
pub fn card_event(event_id: &str, value: Value) -> Value {
    envelope(
        "card.action.trigger",
        event_id,
        json!({
            "operator": {"open_id": "ou_1", "tenant_key": "tenant-1"},
            "token": "c-token",
            "action": {"value": value, "tag": "button"},
            "context": {"open_message_id": "om_card", "open_chat_id": "oc_1"}
        }),
    )
}

/// Polls `cond` every 20 ms until it holds; panics naming `what` after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts that `cond` stays false for `period` (for "nothing happens" checks).
pub async fn never(what: &str, period: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + period;
    while tokio::time::Instant::now() < deadline {
        assert!(!cond(), "unexpectedly: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a future with a timeout, panicking with `what`.
pub async fn within<T>(what: &str, timeout: Duration, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out after {timeout:?}: {what}"))
}

/// Test logging: RUST_LOG decides, off by default; safe to call many times.
pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "off".into()),
            )
            .with_test_writer()
            .try_init();
    });
}

pub mod binary;
mod dir;
pub mod examples;
pub mod go_guests;
pub mod guests;
pub mod http_server;
pub mod lang_guests;
pub mod metrics;
pub mod peers;
pub mod recorder;
pub mod recorder_kv;
pub mod secrets;

pub use dir::Dir;

/// The repository root (this crate lives in `tests/support`).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/support has a grandparent")
        .to_path_buf()
}

/// The outer build's target directory (`CARGO_TARGET_DIR`, relative to the repository root when
/// relative; else `<repo>/target`): where guests, toolchains and caches of the tests live.
pub fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                repo_root().join(p)
            }
        })
        .unwrap_or_else(|| repo_root().join("target"))
}
