//! The embedding API (`aviary::Runtime::builder()`) against the emulator: native and Wasm
//! handlers in one runtime, connection callbacks, status, make-before-break reconnect under
//! load, drain/resume, stop, and the errors `start` reports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aviary::queue::QueueBackend;
use aviary::{
    ConnectionEvent, ConnectionState, ControlError, DisconnectKind, Event, Handler, HandlerError,
    NativeHandler, Outcome, Resumed, Runtime, Settings, StartError,
};
use aviary_emulator::{Emulator, EmulatorConfig};
use aviary_test_support::guests::guest;
use aviary_test_support::{eventually, message_event, start_emulator, within};

const WAIT: Duration = Duration::from_secs(20);

/// Counts every run per dedupe id.
#[derive(Default, Clone)]
struct Counter {
    runs: Arc<Mutex<HashMap<String, u32>>>,
}

impl Counter {
    fn total(&self) -> u32 {
        self.runs.lock().unwrap().values().sum()
    }
    fn distinct(&self) -> usize {
        self.runs.lock().unwrap().len()
    }
    fn max_runs(&self) -> u32 {
        self.runs
            .lock()
            .unwrap()
            .values()
            .copied()
            .max()
            .unwrap_or(0)
    }
}

#[aviary::async_trait]
impl NativeHandler for Counter {
    async fn handle(&self, event: &Event) -> Result<Outcome, HandlerError> {
        *self
            .runs
            .lock()
            .unwrap()
            .entry(event.dedupe_id.clone())
            .or_default() += 1;
        Ok(Outcome::Done)
    }
}

fn settings(emu: &Emulator) -> Settings {
    let cfg = EmulatorConfig::default();
    let mut s = Settings::new(emu.domain(), cfg.app_id, cfg.app_secret);
    s.queue.backend = QueueBackend::Memory;
    s
}

fn push_messages(emu: &Emulator, from: usize, n: usize) {
    for i in from..from + n {
        emu.push_event(&message_event(
            &format!("ev-{i}"),
            &format!("om-{i}"),
            &format!("oc-{}", i % 7),
            "hi",
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_and_wasm_handlers_callbacks_reconnect_under_load_drain_resume_and_stop() {
    let emu = start_emulator(|_| {}).await;
    let counter = Counter::default();
    let events: Arc<Mutex<Vec<ConnectionEvent>>> = Arc::default();
    let seen = events.clone();
    let runtime = Runtime::builder()
        .settings(settings(&emu))
        .handler(Handler::native("counter", counter.clone()).events(["im.message.receive_v1"]))
        .handler(Handler::wasm("recorder", guest("recorder")).events(["im.chat.*"]))
        .on_connection_event(move |e| seen.lock().unwrap().push(e.clone()))
        .start()
        .await
        .expect("starts");
    let mut state = runtime.connection_state();
    within(
        "connected",
        WAIT,
        state.wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
    )
    .await
    .unwrap();

    push_messages(&emu, 0, 20);
    eventually("20 events handled", WAIT, || counter.total() == 20).await;
    let status = runtime.status().await;
    assert_eq!(status.connection.state, "connected");
    let first_conn = status.connection.conn_id.clone().unwrap();
    assert_eq!(status.handlers.len(), 2);
    assert_eq!(
        (status.handlers[0].name.as_str(), status.handlers[0].kind),
        ("counter", "native")
    );
    assert_eq!(status.handlers[0].calls, 20);
    assert_eq!(status.handlers[1].kind, "wasm");
    assert_eq!(
        status.handlers[1].sha256.as_ref().map(|h| h.len()),
        Some(64)
    );
    assert!(status.queue.as_ref().unwrap().backend.starts_with("memory"));

    // Make-before-break under load: events keep arriving while the connection is replaced.
    push_messages(&emu, 100, 20);
    let reconnecting = tokio::spawn({
        let runtime = runtime.clone();
        async move { runtime.reconnect().await }
    });
    for batch in 0..18 {
        push_messages(&emu, 120 + batch * 10, 10);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let moved = reconnecting.await.unwrap().expect("reconnects");
    assert_eq!(moved.replaced.as_deref(), Some(first_conn.as_str()));
    assert_ne!(moved.conn_id, first_conn);
    eventually("220 distinct events handled", WAIT, || {
        counter.distinct() == 220
    })
    .await;
    eventually("every delivery acked", WAIT, || {
        emu.deliveries().iter().all(|d| d.acked)
    })
    .await;
    assert_eq!(counter.max_runs(), 1, "no event handled twice");
    assert_eq!(counter.total(), 220);
    eventually("the replaced connection reported", WAIT, || {
        events.lock().unwrap().iter().any(|e| {
            matches!(e, ConnectionEvent::Disconnected { conn_id, disconnect }
                if *conn_id == first_conn && disconnect.kind == DisconnectKind::Replaced)
        })
    })
    .await;
    {
        let seen = events.lock().unwrap();
        let connected: Vec<&str> = seen
            .iter()
            .filter_map(|e| match e {
                ConnectionEvent::Connected { conn_id } => Some(conn_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(connected, [first_conn.as_str(), moved.conn_id.as_str()]);
    }

    // Drain: the connection closes and stays closed; events wait at the server.
    runtime.drain().await.unwrap();
    assert!(runtime.is_drained());
    eventually("paused", WAIT, || {
        *runtime.connection_state().borrow() == ConnectionState::Paused
    })
    .await;
    // The emulator sees the close a moment after the client has paused.
    eventually("the emulator saw the connection close", WAIT, || {
        emu.connections().is_empty()
    })
    .await;
    assert_eq!(runtime.reconnect().await, Err(ControlError::Drained));
    push_messages(&emu, 1000, 5);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(counter.total(), 220, "nothing arrives while drained");
    assert!(runtime.status().await.drained);
    assert_eq!(runtime.resume().await, Ok(Resumed::Resumed));
    eventually("the 5 waiting events handled", WAIT, || {
        counter.total() == 225
    })
    .await;
    assert!(!runtime.is_drained());

    runtime.stop().await.expect("graceful stop");
    assert_eq!(runtime.status().await.connection.state, "stopped");
    assert!(runtime.is_stopped());
    emu.shutdown().await;
}

#[tokio::test]
async fn start_reports_every_problem_of_the_handlers_added_in_code() {
    let emu = start_emulator(|_| {}).await;
    let err = Runtime::builder()
        .settings(settings(&emu))
        .handler(Handler::native("a", Counter::default()).events(["im.message.receive_v1"]))
        .handler(Handler::native("a", Counter::default()).events(["*"]))
        .handler(Handler::native("b c", Counter::default()).events(["not a pattern!"]))
        .handler(
            Handler::native("mem", Counter::default())
                .events(["*"])
                .memory_mb(64),
        )
        .handler(Handler::wasm("missing", "/nonexistent/x.wasm").events(["*"]))
        .handler(
            Handler::wasm("slow", guest("recorder"))
                .events(["*"])
                .timeout(Duration::from_secs(301)),
        )
        .handler(Handler::native("none", Counter::default()))
        .start()
        .await
        .unwrap_err();
    let problems = err.problems();
    let text = problems.join("\n");
    assert!(matches!(err, StartError::Handlers(_)), "{err}");
    for expected in [
        "handler `a`: name: already used",
        "handler `b c`: name: contains ` `",
        "handler `b c`: events:",
        "handler `mem`: memory_mb: applies to Wasm handlers only",
        "handler `missing`: component: /nonexistent/x.wasm is not a file",
        "handler `slow`: timeout: must be between 1 and 300000 (got 301000)",
        "handler `none`: events: subscribes to no event type",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert_eq!(problems.len(), 7, "{text}");
    assert!(!err.is_manifest());

    assert!(matches!(
        Runtime::builder().start().await.unwrap_err(),
        StartError::NoApp
    ));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_fatal_error_reaches_on_error_and_wait() {
    let emu = start_emulator(|_| {}).await;
    let mut s = settings(&emu);
    s.connection.app_secret = aviary::secret::Secret::new("wrong-secret".to_string());
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = errors.clone();
    let runtime = Runtime::builder()
        .settings(s)
        .on_error(move |e| seen.lock().unwrap().push(e.to_string()))
        .start()
        .await
        .unwrap();
    let ended = within("a fatal error", WAIT, runtime.wait()).await;
    let err = ended.unwrap_err();
    assert!(err.to_string().contains("10003"), "{err}");
    eventually("on_error called", WAIT, || {
        errors.lock().unwrap().len() == 1
    })
    .await;
    assert!(!errors.lock().unwrap()[0].contains("wrong-secret"));
    emu.shutdown().await;
}
