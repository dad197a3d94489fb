//! The supervisor (§8): the one owner of reconnecting. It reads events from at most one session
//! at a time, in a single loop (no timers or tasks that could start a second loop), moving
//! through the states of [`ConnectionState`] and honouring the cancellation token at every wait.
//! Control requests ([`super::ConnectionControl`]) are answered here too: a make-before-break
//! reconnect opens the next session while the current one still runs, then retires the old one
//! (it stops reading, finishes its acks and closes with 1000 on its own task); a drain retires
//! the session and waits, [`ConnectionState::Paused`], for a resume.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::dispatch::EventSink;
use crate::limits::RECONNECT_INTERVAL_FLOOR;
use crate::protocol::endpoint::connection_ids;

use super::config::ConfigState;
use super::control::{Command, ControlError, ControlReceiver, Reconnected, Resumed};
use super::dial::{dial, WsStream};
use super::discovery::{discover, http_client, redact_url, AttemptError};
use super::error::{ConnectError, FatalError};
use super::options::ConnectionOptions;
use super::policy::{attempt_allowed, jitter};
use super::session::{
    drain, lifetime, log_applied, run_session, SessionContext, SessionEnd, SharedConfig,
};
use super::stats::{ConnectionEvent, ConnectionState, ConnectionStats, Counter, DisconnectKind};

/// Runs the long connection until `shutdown` is cancelled (`Ok(())`, after draining handlers and
/// closing the socket with 1000) or a fatal error. Every complete event goes to `sink`;
/// `stats` is updated throughout and ends in [`ConnectionState::Stopped`].
#[cfg(any(test, feature = "internals"))]
pub async fn run(
    options: ConnectionOptions,
    sink: Arc<dyn EventSink>,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
) -> Result<(), FatalError> {
    let (_control, receiver) = super::control::control();
    run_with_control(options, sink, stats, shutdown, receiver).await
}

/// [`run`], also answering the requests of the [`super::ConnectionControl`] paired with
/// `control` (reconnect, drain, resume). Requests made after it returned fail with
/// [`ControlError::Stopped`].
pub async fn run_with_control(
    options: ConnectionOptions,
    sink: Arc<dyn EventSink>,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
    control: ControlReceiver,
) -> Result<(), FatalError> {
    let result = match options.validate() {
        Err(e) => Err(FatalError::InvalidOptions(e)),
        Ok(()) => {
            let mut supervisor = Supervisor::new(options, sink, stats.clone(), shutdown, control);
            let result = supervisor.run().await;
            if result.is_ok() {
                drain(&supervisor.tracker).await;
            }
            supervisor.finish_retiring().await;
            result
        }
    };
    match &result {
        Ok(()) => tracing::info!("connection stopped"),
        // Debug only: the caller reports the error (`aviary run` prints it as one line).
        Err(e) => {
            tracing::debug!(error = %e, "connection stopped for good");
            stats.emit(ConnectionEvent::Error(e.to_string()));
        }
    }
    stats.set_state(ConnectionState::Stopped);
    result
}

/// The outcome of one connect attempt.
enum Attempt {
    Connected {
        ws: Box<WsStream>,
        device_id: String,
        service_id: i32,
    },
    Retry(ConnectError),
    Fatal(FatalError),
    Shutdown,
    /// A drain was asked for while no session was up.
    Paused,
}

/// How a backoff wait ended.
enum WaitEnd {
    Elapsed,
    Shutdown,
    /// A reconnect was asked for: attempt now.
    Now,
    /// A drain was asked for.
    Drain,
}

/// What one connect attempt needs; cheap to clone, so a make-before-break attempt runs while
/// the current session keeps the supervisor busy.
#[derive(Clone)]
struct Dialer {
    options: Arc<ConnectionOptions>,
    config: SharedConfig,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
    http: reqwest::Client,
}

impl Dialer {
    /// A dialer for `options` (a reconfigure): its own HTTP client and config state (the
    /// next endpoint answer fills in the server's ClientConfig under the new pins).
    fn with_options(&self, options: ConnectionOptions) -> Dialer {
        Dialer {
            http: http_client(&options),
            config: Arc::new(Mutex::new(ConfigState::new(options.pins()))),
            options: Arc::new(options),
            stats: self.stats.clone(),
            shutdown: self.shutdown.clone(),
        }
    }

    /// Runs `future` unless shutdown comes first.
    async fn or_shutdown<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            _ = self.shutdown.cancelled() => None,
            value = future => Some(value),
        }
    }

    /// One attempt: a fresh discovery (applying its ClientConfig) and a dial. `report` moves
    /// the state through `Discovering` and `Connecting` (not while another session is up).
    async fn attempt(self, report: bool) -> Attempt {
        if self.shutdown.is_cancelled() {
            return Attempt::Shutdown;
        }
        if report {
            self.stats.set_state(ConnectionState::Discovering);
        }
        self.stats.incr(Counter::endpoint_requests);
        let endpoint = match self.or_shutdown(discover(&self.http, &self.options)).await {
            None => return Attempt::Shutdown,
            Some(Err(AttemptError::Retry(r))) => return Attempt::Retry(r),
            Some(Err(AttemptError::Fatal(e))) => return Attempt::Fatal(e),
            Some(Ok(endpoint)) => endpoint,
        };
        match &endpoint.client_config {
            Some(update) => {
                let (applied, effective) = {
                    let mut config = self.config.lock().unwrap_or_else(|e| e.into_inner());
                    (config.apply(update), config.effective())
                };
                log_applied("endpoint", &applied);
                self.stats.set_config(effective);
            }
            None => {
                tracing::warn!("endpoint answer without ClientConfig; keeping the current settings")
            }
        }
        let ids = connection_ids(&endpoint.url);
        let device_id = ids.device_id.unwrap_or_default();
        if report {
            self.stats.set_state(ConnectionState::Connecting);
        }
        tracing::debug!(url = %redact_url(&endpoint.url), conn_id = %device_id, "dialling");
        match self
            .or_shutdown(dial(
                &endpoint.url,
                self.options.settings.connection_timeout(),
            ))
            .await
        {
            None => Attempt::Shutdown,
            Some(Err(AttemptError::Retry(r))) => Attempt::Retry(r),
            Some(Err(AttemptError::Fatal(e))) => Attempt::Fatal(e),
            Some(Ok(ws)) => {
                self.stats.incr(Counter::connects);
                Attempt::Connected {
                    ws: Box::new(ws),
                    device_id,
                    service_id: ids.service_id,
                }
            }
        }
    }
}

/// A session running on its own task.
struct Live {
    task: JoinHandle<SessionEnd>,
    retire: CancellationToken,
    device_id: String,
    started: Instant,
}

type Pending<T> = Vec<oneshot::Sender<Result<T, ControlError>>>;

/// Where the answer of a reconfigure goes.
type ReconfigureReply = oneshot::Sender<Result<Option<Reconnected>, ControlError>>;

struct Supervisor {
    dialer: Dialer,
    stats: Arc<ConnectionStats>,
    sink: Arc<dyn EventSink>,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    control: mpsc::UnboundedReceiver<Command>,
    /// False once every [`super::ConnectionControl`] is gone.
    control_open: bool,
    /// Reconnect requests waiting for the next attempt's result.
    reconnects: Pending<Reconnected>,
    /// Replaced sessions finishing their acks and close.
    retiring: Vec<JoinHandle<()>>,
}

impl Supervisor {
    fn new(
        options: ConnectionOptions,
        sink: Arc<dyn EventSink>,
        stats: Arc<ConnectionStats>,
        shutdown: CancellationToken,
        control: ControlReceiver,
    ) -> Self {
        let config = ConfigState::new(options.pins());
        stats.set_config(config.effective());
        Supervisor {
            permits: Arc::new(Semaphore::new(options.settings.receive_queue_capacity())),
            dialer: Dialer {
                http: http_client(&options),
                options: Arc::new(options),
                config: Arc::new(Mutex::new(config)),
                stats: stats.clone(),
                shutdown: shutdown.clone(),
            },
            stats,
            sink,
            tracker: TaskTracker::new(),
            shutdown,
            control: control.rx,
            control_open: true,
            reconnects: Vec::new(),
            retiring: Vec::new(),
        }
    }

    fn options(&self) -> &ConnectionOptions {
        &self.dialer.options
    }

    /// Connects with `dialer`'s options from now on (sessions started later use them).
    fn apply(&mut self, dialer: Dialer) {
        let capacity = dialer.options.settings.receive_queue_capacity();
        if capacity != self.options().settings.receive_queue_capacity() {
            self.permits = Arc::new(Semaphore::new(capacity));
        }
        self.stats.set_config(
            dialer
                .config
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .effective(),
        );
        self.dialer = dialer;
    }

    fn effective(&self) -> crate::protocol::ClientConfig {
        self.dialer
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .effective()
    }

    /// Answers every waiting reconnect request.
    fn answer_reconnects(&mut self, answer: Result<Reconnected, ControlError>) {
        for reply in self.reconnects.drain(..) {
            let _ = reply.send(answer.clone());
        }
    }

    /// Connect, run sessions, reconnect; returns only on shutdown or a fatal error.
    async fn run(&mut self) -> Result<(), FatalError> {
        // The first connect is not a reconnect attempt; when it fails (retryable) the reconnect
        // procedure follows, as in Go (`connect`, then `reconnect` with its N attempts).
        let mut outcome = self.attempt().await;
        loop {
            let reason = match outcome {
                Attempt::Shutdown => return Ok(()),
                Attempt::Fatal(e) => {
                    self.answer_reconnects(Err(ControlError::ReconnectFailed(e.to_string())));
                    return Err(e);
                }
                Attempt::Paused => {
                    if !self.paused().await {
                        return Ok(());
                    }
                    outcome = self.attempt().await;
                    continue;
                }
                Attempt::Retry(reason) => {
                    tracing::warn!(reason = %reason, "connect attempt failed");
                    self.answer_reconnects(Err(ControlError::ReconnectFailed(reason.to_string())));
                    if !self.options().settings.auto_reconnect {
                        return Err(FatalError::ConnectFailed { reason });
                    }
                    reason
                }
                Attempt::Connected {
                    ws,
                    device_id,
                    service_id,
                } => {
                    self.answer_reconnects(Ok(Reconnected {
                        conn_id: device_id.clone(),
                        replaced: None,
                    }));
                    match self.session(ws, device_id, service_id).await {
                        SessionEnd::Shutdown => return Ok(()),
                        SessionEnd::Retired => {
                            if !self.paused().await {
                                return Ok(());
                            }
                            outcome = self.attempt().await;
                            continue;
                        }
                        SessionEnd::Lost(reason) => {
                            // Newer Go: with auto-reconnect off a lost connection ends the run
                            // with an error (old Go/Python leave a dead client blocking).
                            if !self.options().settings.auto_reconnect {
                                return Err(FatalError::Disconnected);
                            }
                            reason
                        }
                    }
                }
            };
            outcome = self.reconnect(reason).await?;
        }
    }

    /// The reconnect procedure of §8.3: one jitter in `[0, ReconnectNonce)`, then attempts spaced
    /// by `ReconnectInterval`, at most `ReconnectCount` of them (negative = unlimited). The
    /// latest config is read before every wait. Returns the first attempt that is not retryable.
    /// A reconnect request cuts a wait short; a drain ends the procedure.
    async fn reconnect(&mut self, mut last_error: ConnectError) -> Result<Attempt, FatalError> {
        let nonce = self.effective().reconnect_nonce;
        let pause = jitter(nonce, &mut rand::thread_rng());
        match self.wait(0, pause).await {
            WaitEnd::Shutdown => return Ok(Attempt::Shutdown),
            WaitEnd::Drain => return Ok(Attempt::Paused),
            WaitEnd::Elapsed | WaitEnd::Now => {}
        }
        let mut made: u64 = 0;
        loop {
            let count = self.effective().reconnect_count;
            if !attempt_allowed(count, made) {
                return Err(FatalError::ReconnectExhausted {
                    attempts: made,
                    last_error,
                });
            }
            made += 1;
            self.stats.incr(Counter::reconnect_attempts);
            tracing::warn!(
                attempt = made,
                max_attempts = count,
                reason = %last_error,
                "reconnecting"
            );
            match self.attempt().await {
                // Logged by the next "reconnecting" line, or carried by ReconnectExhausted.
                Attempt::Retry(reason) => {
                    self.answer_reconnects(Err(ControlError::ReconnectFailed(reason.to_string())));
                    last_error = reason;
                }
                other => return Ok(other),
            }
            // Go also sleeps after the last allowed attempt; we skip that pointless wait.
            // A floor under the interval: a server (or pin) saying 0 must not become a hot loop
            // of thousands of requests per second against an endpoint that is down.
            let config = self.effective();
            let pause = config.reconnect_interval.max(RECONNECT_INTERVAL_FLOOR);
            if attempt_allowed(config.reconnect_count, made) {
                match self.wait(made, pause).await {
                    WaitEnd::Shutdown => return Ok(Attempt::Shutdown),
                    WaitEnd::Drain => return Ok(Attempt::Paused),
                    WaitEnd::Elapsed | WaitEnd::Now => {}
                }
            }
        }
    }

    /// Sleeps in the `Backoff` state, answering control requests meanwhile.
    async fn wait(&mut self, attempt: u64, delay: Duration) -> WaitEnd {
        self.stats
            .set_state(ConnectionState::Backoff { attempt, delay });
        if self.shutdown.is_cancelled() {
            return WaitEnd::Shutdown;
        }
        if delay.is_zero() {
            return WaitEnd::Elapsed;
        }
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return WaitEnd::Shutdown,
                _ = &mut sleep => return WaitEnd::Elapsed,
                cmd = self.control.recv(), if self.control_open => match cmd {
                    None => self.control_open = false,
                    Some(Command::Reconnect(reply)) => {
                        tracing::info!("reconnect requested: attempting now instead of waiting");
                        self.reconnects.push(reply);
                        return WaitEnd::Now;
                    }
                    Some(Command::Drain(reply)) => {
                        tracing::info!("drain requested: no further connect attempt until resumed");
                        self.answer_reconnects(Err(ControlError::Drained));
                        let _ = reply.send(Ok(()));
                        return WaitEnd::Drain;
                    }
                    Some(Command::Resume(reply)) => {
                        let _ = reply.send(Ok(Resumed::NotDrained));
                    }
                    Some(Command::Reconfigure(options, reply)) => {
                        tracing::info!("new connection settings: attempting now with them");
                        let next = self.dialer.with_options(*options);
                        self.apply(next);
                        let _ = reply.send(Ok(None));
                        return WaitEnd::Now;
                    }
                },
            }
        }
    }

    /// Drained: waits for a resume (true) or shutdown (false).
    async fn paused(&mut self) -> bool {
        self.stats.set_state(ConnectionState::Paused);
        tracing::info!("drained: not connected until resumed");
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return false,
                cmd = self.control.recv(), if self.control_open => match cmd {
                    None => self.control_open = false,
                    Some(Command::Resume(reply)) => {
                        tracing::info!("resume requested: connecting");
                        let _ = reply.send(Ok(Resumed::Resumed));
                        return true;
                    }
                    Some(Command::Drain(reply)) => {
                        let _ = reply.send(Ok(()));
                    }
                    Some(Command::Reconnect(reply)) => {
                        let _ = reply.send(Err(ControlError::Drained));
                    }
                    Some(Command::Reconfigure(options, reply)) => {
                        tracing::info!("new connection settings: used when resumed");
                        let next = self.dialer.with_options(*options);
                        self.apply(next);
                        let _ = reply.send(Ok(None));
                    }
                },
            }
        }
    }

    /// One attempt that reports its progress in the state.
    async fn attempt(&self) -> Attempt {
        self.dialer.clone().attempt(true).await
    }

    /// Starts a session on its own task, in the `Connected` state.
    fn start_session(&self, ws: Box<WsStream>, device_id: String, service_id: i32) -> Live {
        self.stats.set_state(ConnectionState::Connected {
            device_id: device_id.clone(),
            service_id,
        });
        let config = self.effective();
        tracing::info!(
            conn_id = %device_id,
            service_id,
            ping_interval = ?config.ping_interval,
            "connected"
        );
        self.stats.emit(ConnectionEvent::Connected {
            conn_id: device_id.clone(),
        });
        let retire = CancellationToken::new();
        let span = tracing::info_span!("session", conn_id = %device_id);
        let cx = SessionContext {
            options: self.dialer.options.clone(),
            config: self.dialer.config.clone(),
            stats: self.stats.clone(),
            sink: self.sink.clone(),
            permits: self.permits.clone(),
            tracker: self.tracker.clone(),
            shutdown: self.shutdown.clone(),
            retire: retire.clone(),
        };
        Live {
            task: tokio::spawn(run_session(*ws, service_id, cx).instrument(span)),
            retire,
            device_id,
            started: Instant::now(),
        }
    }

    /// Runs one session (and the sessions that replace it on request) until the one reading
    /// events ends; logs how each ended and how long it lived.
    async fn session(
        &mut self,
        ws: Box<WsStream>,
        device_id: String,
        service_id: i32,
    ) -> SessionEnd {
        let mut current = self.start_session(ws, device_id, service_id);
        let mut dialing: Option<Pin<Box<dyn Future<Output = Attempt> + Send>>> = None;
        let mut drains: Pending<()> = Vec::new();
        // A reconfigure whose session is being dialled: the dialer with the new options.
        let mut reconfiguring: Option<(Dialer, ReconfigureReply)> = None;
        loop {
            tokio::select! {
                joined = &mut current.task => {
                    let end = joined.unwrap_or_else(|e| SessionEnd::Lost(ConnectError::WriterTask(e)));
                    let kind = match &end {
                        SessionEnd::Shutdown => DisconnectKind::Shutdown,
                        SessionEnd::Retired => DisconnectKind::Drained,
                        SessionEnd::Lost(e) => kind_of(e),
                    };
                    ended(&self.stats, &current, kind, &end);
                    if dialing.is_some() {
                        self.answer_reconnects(Err(match end {
                            SessionEnd::Lost(..) => ControlError::Lost,
                            _ => ControlError::Stopped,
                        }));
                    }
                    if let Some((next, reply)) = reconfiguring {
                        // The usual reconnect (or the resume) takes over, with the new options.
                        self.apply(next);
                        let _ = reply.send(Ok(None));
                    }
                    for reply in drains {
                        let _ = reply.send(Ok(()));
                    }
                    return end;
                }
                cmd = self.control.recv(), if self.control_open => match cmd {
                    None => self.control_open = false,
                    Some(Command::Reconnect(reply)) => {
                        if !drains.is_empty() {
                            let _ = reply.send(Err(ControlError::Drained));
                            continue;
                        }
                        self.reconnects.push(reply);
                        if dialing.is_none() {
                            tracing::info!(conn_id = %current.device_id, "reconnect requested: opening a new connection before closing this one");
                            dialing = Some(Box::pin(self.dialer.clone().attempt(false)));
                        }
                    }
                    Some(Command::Drain(reply)) => {
                        if drains.is_empty() {
                            tracing::info!(conn_id = %current.device_id, "drain requested: finishing in-flight acks, then closing with 1000");
                            current.retire.cancel();
                            dialing = None;
                            self.answer_reconnects(Err(ControlError::Drained));
                        }
                        drains.push(reply);
                    }
                    Some(Command::Resume(reply)) => {
                        let _ = reply.send(Ok(Resumed::NotDrained));
                    }
                    Some(Command::Reconfigure(options, reply)) => {
                        let next = self.dialer.with_options(*options);
                        if !drains.is_empty() {
                            self.apply(next);
                            let _ = reply.send(Ok(None));
                            continue;
                        }
                        tracing::info!(conn_id = %current.device_id, "new connection settings: opening a connection with them before closing this one");
                        // A reconnect being dialled is superseded: its requests get this
                        // attempt's result.
                        dialing = Some(Box::pin(next.clone().attempt(false)));
                        if let Some((_, earlier)) = reconfiguring.replace((next, reply)) {
                            let _ = earlier.send(Err(ControlError::ReconnectFailed(
                                "superseded by later connection settings".into(),
                            )));
                        }
                    }
                },
                attempt = async { dialing.as_mut().expect("guarded").await }, if dialing.is_some() => {
                    dialing = None;
                    let reconfigured = reconfiguring.take();
                    match attempt {
                        Attempt::Connected { ws, device_id, service_id } => {
                            if let Some((next, _)) = &reconfigured {
                                self.apply(next.clone());
                            }
                            let old = std::mem::replace(
                                &mut current,
                                self.start_session(ws, device_id.clone(), service_id),
                            );
                            tracing::info!(old = %old.device_id, new = %device_id, "reconnect: new connection up; closing the old one with 1000 after its acks");
                            old.retire.cancel();
                            self.stats.incr(Counter::manual_reconnects);
                            let replaced = old.device_id.clone();
                            let stats = self.stats.clone();
                            self.retiring.push(tokio::spawn(async move {
                                let mut old = old;
                                let end = (&mut old.task)
                                    .await
                                    .unwrap_or_else(|e| SessionEnd::Lost(ConnectError::WriterTask(e)));
                                let kind = match &end {
                                    SessionEnd::Lost(e) => kind_of(e),
                                    SessionEnd::Shutdown => DisconnectKind::Shutdown,
                                    SessionEnd::Retired => DisconnectKind::Replaced,
                                };
                                ended(&stats, &old, kind, &end);
                            }));
                            let done = Reconnected {
                                conn_id: device_id,
                                replaced: Some(replaced),
                            };
                            if let Some((_, reply)) = reconfigured {
                                let _ = reply.send(Ok(Some(done.clone())));
                            }
                            self.answer_reconnects(Ok(done));
                        }
                        failed => {
                            let error = match failed {
                                Attempt::Retry(reason) => {
                                    tracing::warn!(reason = %reason, "reconnect failed; keeping the current connection");
                                    ControlError::ReconnectFailed(reason.to_string())
                                }
                                Attempt::Fatal(e) => {
                                    tracing::warn!(error = %e, "reconnect failed; keeping the current connection");
                                    ControlError::ReconnectFailed(e.to_string())
                                }
                                _ => ControlError::Stopped,
                            };
                            if let Some((_, reply)) = reconfigured {
                                let _ = reply.send(Err(error.clone()));
                            }
                            self.answer_reconnects(Err(error));
                        }
                    }
                }
            }
        }
    }

    /// Waits (bounded) for replaced sessions to finish their close.
    async fn finish_retiring(&mut self) {
        let all = futures_util::future::join_all(self.retiring.drain(..));
        let bound = crate::limits::SHUTDOWN_DRAIN_TIMEOUT + crate::limits::CLOSE_HANDSHAKE_TIMEOUT;
        let _ = tokio::time::timeout(bound, all).await;
    }
}

/// Counts and logs the end of a session.
fn ended(stats: &ConnectionStats, live: &Live, kind: DisconnectKind, end: &SessionEnd) {
    let lived = lifetime(live.started);
    let reason = match end {
        SessionEnd::Lost(e) => e.to_string(),
        _ => format!("{} (close 1000 sent)", kind.name()),
    };
    stats.disconnected(&live.device_id, kind, &reason);
    match end {
        SessionEnd::Lost(..) => tracing::warn!(
            conn_id = %live.device_id,
            lifetime = ?lived,
            reason = %reason,
            "disconnected"
        ),
        _ => tracing::info!(
            conn_id = %live.device_id,
            lifetime = ?lived,
            "disconnected: {reason}"
        ),
    }
}

/// The `reason` label of a lost connection.
fn kind_of(e: &ConnectError) -> DisconnectKind {
    match e {
        ConnectError::EndOfStream | ConnectError::Closed(_) => DisconnectKind::ServerClosed,
        ConnectError::Silent { .. } => DisconnectKind::Liveness,
        ConnectError::Write(_)
        | ConnectError::CloseNotSent(_)
        | ConnectError::WriterStopped
        | ConnectError::WriterTask(_) => DisconnectKind::WriteError,
        _ => DisconnectKind::ReadError,
    }
}
