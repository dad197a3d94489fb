//! The supervisor (§8): the one owner of reconnecting. It runs at most one session at a time,
//! in a single loop (no timers or tasks that could start a second loop), moving through the
//! states of [`ConnectionState`] and honouring the cancellation token at every wait.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::dispatch::EventSink;
use crate::limits::RECONNECT_INTERVAL_FLOOR;
use crate::protocol::endpoint::connection_ids;

use super::config::ConfigState;
use super::dial::{dial, WsStream};
use super::discovery::{discover, http_client, redact_url, AttemptError};
use super::error::{ConnectError, FatalError};
use super::options::ConnectionOptions;
use super::policy::{attempt_allowed, jitter};
use super::session::{drain, lifetime, log_applied, run_session, SessionContext, SessionEnd};
use super::stats::{ConnectionState, ConnectionStats, Counter};

/// Runs the long connection until `shutdown` is cancelled (`Ok(())`, after draining handlers and
/// closing the socket with 1000) or a fatal error. Every complete event goes to `sink`;
/// `stats` is updated throughout and ends in [`ConnectionState::Stopped`].
pub async fn run(
    options: ConnectionOptions,
    sink: Arc<dyn EventSink>,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
) -> Result<(), FatalError> {
    let result = match options.validate() {
        Err(e) => Err(FatalError::InvalidOptions(e)),
        Ok(()) => {
            let mut supervisor = Supervisor::new(options, sink, stats.clone(), shutdown);
            let result = supervisor.run().await;
            if result.is_ok() {
                drain(&supervisor.tracker).await;
            }
            result
        }
    };
    match &result {
        Ok(()) => tracing::info!("connection stopped"),
        // Debug only: the caller reports the error (`aviary run` prints it as one line).
        Err(e) => tracing::debug!(error = %e, "connection stopped for good"),
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
}

struct Supervisor {
    options: ConnectionOptions,
    config: ConfigState,
    stats: Arc<ConnectionStats>,
    sink: Arc<dyn EventSink>,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    http: reqwest::Client,
}

impl Supervisor {
    fn new(
        options: ConnectionOptions,
        sink: Arc<dyn EventSink>,
        stats: Arc<ConnectionStats>,
        shutdown: CancellationToken,
    ) -> Self {
        let config = ConfigState::new(options.pins());
        stats.set_config(config.effective());
        Supervisor {
            permits: Arc::new(Semaphore::new(options.settings.receive_queue_capacity())),
            http: http_client(&options),
            options,
            config,
            stats,
            sink,
            tracker: TaskTracker::new(),
            shutdown,
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
                Attempt::Fatal(e) => return Err(e),
                Attempt::Retry(reason) => {
                    tracing::warn!(reason = %reason, "connect attempt failed");
                    if !self.options.settings.auto_reconnect {
                        return Err(FatalError::ConnectFailed { reason });
                    }
                    reason
                }
                Attempt::Connected {
                    ws,
                    device_id,
                    service_id,
                } => match self.session(ws, device_id, service_id).await {
                    SessionEnd::Shutdown => return Ok(()),
                    SessionEnd::Lost(reason) => {
                        // Newer Go: with auto-reconnect off a lost connection ends the run with
                        // an error (old Go/Python leave a dead client blocking).
                        if !self.options.settings.auto_reconnect {
                            return Err(FatalError::Disconnected);
                        }
                        reason
                    }
                },
            };
            outcome = self.reconnect(reason).await?;
        }
    }

    /// The reconnect procedure of §8.3: one jitter in `[0, ReconnectNonce)`, then attempts spaced
    /// by `ReconnectInterval`, at most `ReconnectCount` of them (negative = unlimited). The
    /// latest config is read before every wait. Returns the first attempt that is not retryable.
    async fn reconnect(&mut self, mut last_error: ConnectError) -> Result<Attempt, FatalError> {
        let nonce = self.config.effective().reconnect_nonce;
        let pause = jitter(nonce, &mut rand::thread_rng());
        if !self.wait(0, pause).await {
            return Ok(Attempt::Shutdown);
        }
        let mut made: u64 = 0;
        loop {
            let count = self.config.effective().reconnect_count;
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
                Attempt::Retry(reason) => last_error = reason,
                other => return Ok(other),
            }
            // Go also sleeps after the last allowed attempt; we skip that pointless wait.
            // A floor under the interval: a server (or pin) saying 0 must not become a hot loop
            // of thousands of requests per second against an endpoint that is down.
            let config = self.config.effective();
            let pause = config.reconnect_interval.max(RECONNECT_INTERVAL_FLOOR);
            if attempt_allowed(config.reconnect_count, made) && !self.wait(made, pause).await {
                return Ok(Attempt::Shutdown);
            }
        }
    }

    /// Sleeps in the `Backoff` state; false if shutdown came first.
    async fn wait(&self, attempt: u64, delay: Duration) -> bool {
        self.stats
            .set_state(ConnectionState::Backoff { attempt, delay });
        if delay.is_zero() {
            return !self.shutdown.is_cancelled();
        }
        tokio::select! {
            _ = self.shutdown.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }

    /// Runs `future` unless shutdown comes first.
    async fn or_shutdown<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            _ = self.shutdown.cancelled() => None,
            value = future => Some(value),
        }
    }

    /// One attempt: a fresh discovery (applying its ClientConfig) and a dial.
    async fn attempt(&mut self) -> Attempt {
        if self.shutdown.is_cancelled() {
            return Attempt::Shutdown;
        }
        self.stats.set_state(ConnectionState::Discovering);
        self.stats.incr(Counter::endpoint_requests);
        let endpoint = match self.or_shutdown(discover(&self.http, &self.options)).await {
            None => return Attempt::Shutdown,
            Some(Err(AttemptError::Retry(r))) => return Attempt::Retry(r),
            Some(Err(AttemptError::Fatal(e))) => return Attempt::Fatal(e),
            Some(Ok(endpoint)) => endpoint,
        };
        match &endpoint.client_config {
            Some(update) => {
                let applied = self.config.apply(update);
                log_applied("endpoint", &applied);
                self.stats.set_config(self.config.effective());
            }
            None => {
                tracing::warn!("endpoint answer without ClientConfig; keeping the current settings")
            }
        }
        let ids = connection_ids(&endpoint.url);
        let device_id = ids.device_id.unwrap_or_default();
        self.stats.set_state(ConnectionState::Connecting);
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

    /// Runs one session and logs how it ended and how long it lived.
    async fn session(
        &mut self,
        ws: Box<WsStream>,
        device_id: String,
        service_id: i32,
    ) -> SessionEnd {
        self.stats.set_state(ConnectionState::Connected {
            device_id: device_id.clone(),
            service_id,
        });
        let config = self.config.effective();
        tracing::info!(
            conn_id = %device_id,
            service_id,
            ping_interval = ?config.ping_interval,
            "connected"
        );
        let started = Instant::now();
        let span = tracing::info_span!("session", conn_id = %device_id);
        let end = run_session(
            *ws,
            service_id,
            SessionContext {
                options: &self.options,
                config: &mut self.config,
                stats: &self.stats,
                sink: &self.sink,
                permits: &self.permits,
                tracker: &self.tracker,
                shutdown: &self.shutdown,
            },
        )
        .instrument(span)
        .await;
        self.stats.incr(Counter::disconnects);
        let lived = lifetime(started);
        match &end {
            SessionEnd::Shutdown => tracing::info!(
                conn_id = %device_id,
                lifetime = ?lived,
                "disconnected: shutdown (close 1000 sent)"
            ),
            SessionEnd::Lost(reason) => tracing::warn!(
                conn_id = %device_id,
                lifetime = ?lived,
                reason = %reason,
                "disconnected"
            ),
        }
        end
    }
}
