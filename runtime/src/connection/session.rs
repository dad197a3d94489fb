//! One session = one socket: a reader loop (this function), one writer task, the pinger, the
//! liveness timer and the reassembly sweep. Handlers run on their own tasks; the reader only
//! waits for a free receive-queue slot (backpressure), never for a handler.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::dispatch::{EventSink, InboundEvent};
use crate::limits;
use crate::protocol::control::{parse_pong, ping_frame, PongPayload};
use crate::protocol::envelope::parse_envelope_owned;
use crate::protocol::headers::{MESSAGE_ID, TRACE_ID};
use crate::protocol::{build_ack, AckBody, Frame};

use super::config::ConfigState;
use super::dial::WsStream;
use super::error::ConnectError;
use super::handler::{run_job, Job};
use super::inbound::{Action, Inbound};
use super::options::ConnectionOptions;
use super::stats::{ConnectionStats, Counter};
use super::writer::{run_writer, Outbound};

/// How a session ended.
#[derive(Debug)]
pub(crate) enum SessionEnd {
    /// Shutdown was requested: handlers drained, close 1000 sent.
    Shutdown,
    /// Ended on request while the process goes on (replaced by a newer session, or drained):
    /// this session's handlers drained, close 1000 sent.
    Retired,
    /// The connection is gone (read error, close frame, reset, liveness, write failure).
    Lost(ConnectError),
}

/// The effective config, shared by the supervisor and its sessions (two sessions overlap
/// during a make-before-break reconnect).
pub(crate) type SharedConfig = Arc<Mutex<ConfigState>>;

/// What a session gets from its supervisor (owned, so a retiring session can finish on its
/// own task while the next one runs).
pub(crate) struct SessionContext {
    pub options: Arc<ConnectionOptions>,
    pub config: SharedConfig,
    pub stats: Arc<ConnectionStats>,
    pub sink: Arc<dyn EventSink>,
    /// Receive-queue slots, shared by all sessions of one supervisor so handlers still running
    /// from a lost connection count against the bound too.
    pub permits: Arc<Semaphore>,
    /// Every handler task, for the shutdown drain.
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
    /// Cancelled to end this session gracefully while the process goes on.
    pub retire: CancellationToken,
}

impl SessionContext {
    fn effective(&self) -> crate::protocol::ClientConfig {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .effective()
    }
}

/// An event parsed and waiting for a receive-queue slot.
struct Ready {
    event: InboundEvent,
    completing: Frame,
}

/// Runs one connected socket until it is lost or shutdown is requested.
pub(crate) async fn run_session(ws: WsStream, service_id: i32, cx: SessionContext) -> SessionEnd {
    let (sink_half, mut stream) = ws.split();
    let (out, out_rx) = mpsc::channel(limits::WRITER_QUEUE_CAPACITY);
    let writer_cancel = CancellationToken::new();
    let mut writer = tokio::spawn(run_writer(
        sink_half,
        out_rx,
        writer_cancel.clone(),
        cx.stats.clone(),
    ));
    let mut inbound = Inbound::new(cx.stats.clone());
    let mut sweep = tokio::time::interval(limits::REASSEMBLY_SWEEP_INTERVAL);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A ping loop per session that starts with an immediate ping, as Node does on `open` (Go,
    // Python and Java keep one loop across reconnects; per session is simpler and equivalent).
    // Ping at once, then every PingInterval. A pong that changes the interval re-arms the
    // timer at once from the last ping (the SDKs read it only when the next sleep starts, so
    // lowering 120 s to 1 s took effect up to two minutes late).
    // Both timers live across iterations (re-armed, not re-created per message). The liveness
    // timer is checked lazily: when it fires, the deadline is recomputed from the last inbound
    // message, and it is re-armed if something arrived meanwhile.
    let ping_timer = sleep_until(Instant::now());
    tokio::pin!(ping_timer);
    let mut last_ping = Instant::now();
    let mut last_inbound = Instant::now();
    let liveness_timer = sleep_until(liveness_deadline(last_inbound, &cx));
    tokio::pin!(liveness_timer);
    let mut ready: Option<Ready> = None;
    let shutdown_token = cx.shutdown.clone();
    let shutdown = shutdown_token.cancelled();
    tokio::pin!(shutdown);
    let retire_token = cx.retire.clone();
    let retire = retire_token.cancelled();
    tokio::pin!(retire);
    // This session's own handler tasks (also in the supervisor's tracker): a retiring session
    // waits for these only, while the next session already runs.
    let own = TaskTracker::new();

    let end = loop {
        tokio::select! {
            _ = &mut shutdown => break SessionEnd::Shutdown,
            _ = &mut retire => break SessionEnd::Retired,
            // SDKs only log a failed ping write (§8.1); with one writer, any failed write means the
            // socket is broken, so we replace it instead of waiting for a read error (go#224).
            result = &mut writer => {
                let why = match result {
                    Ok(Err(e)) => e,
                    Ok(Ok(())) => ConnectError::WriterStopped,
                    Err(e) => ConnectError::WriterTask(e),
                };
                break SessionEnd::Lost(why);
            }
            permit = cx.permits.clone().acquire_owned(), if ready.is_some() => {
                let Ok(permit) = permit else { break SessionEnd::Lost(ConnectError::ReceiveQueueClosed) };
                let Ready { event, completing } = ready.take().expect("guarded by the branch condition");
                cx.stats.incr(Counter::events_dispatched);
                cx.tracker.spawn(own.track_future(run_job(Job {
                    event,
                    completing,
                    sink: cx.sink.clone(),
                    out: out.clone(),
                    stats: cx.stats.clone(),
                    permit,
                })));
                // Reading was paused; silence while paused says nothing about the socket.
                last_inbound = Instant::now();
            }
            message = stream.next(), if ready.is_none() => {
                last_inbound = Instant::now();
                let action = match message {
                    None => break SessionEnd::Lost(ConnectError::EndOfStream),
                    Some(Err(e)) => break SessionEnd::Lost(ConnectError::Read(e)),
                    Some(Ok(Message::Close(frame))) => {
                        let what = frame
                            .map(|f| format!("code {} {}", u16::from(f.code), f.reason))
                            .unwrap_or_else(|| "no code".into());
                        break SessionEnd::Lost(ConnectError::Closed(what.trim().to_string()));
                    }
                    Some(Ok(Message::Binary(bytes))) => inbound.on_binary(&bytes, std::time::Instant::now()),
                    Some(Ok(Message::Text(text))) => inbound.on_text(text.len()),
                    // RFC 6455 pings are answered by tungstenite as we keep reading; they and
                    // pongs only count as signs of life.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Action::None,
                };
                match action {
                    Action::None => {}
                    Action::Pong(frame) => {
                        apply_pong(&frame, &cx);
                        // A new ping interval moves the next ping and the liveness deadline,
                        // either way, at once (a deadline already past fires immediately).
                        ping_timer.as_mut().reset(last_ping + cx.effective().ping_interval);
                        liveness_timer.as_mut().reset(liveness_deadline(last_inbound, &cx));
                    }
                    Action::Complete { payload, completing } => {
                        cx.stats.incr(Counter::events_received);
                        ready = prepare(payload, completing, &cx.options, &cx.stats, &out);
                    }
                }
            }
            _ = &mut ping_timer => {
                match out.try_send(Outbound::Ping(ping_frame(service_id))) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!("ping skipped: the writer queue is full");
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        break SessionEnd::Lost(ConnectError::WriterStopped);
                    }
                }
                last_ping = Instant::now();
                let interval = cx.effective().ping_interval;
                ping_timer.as_mut().reset(last_ping + interval);
            }
            // Node's opt-in `pingTimeout` watchdog, on by default here and sized from the ping
            // interval: any inbound message proves life (oapi-sdk-go#224, openclaw-lark#599).
            _ = &mut liveness_timer, if cx.options.settings.liveness && ready.is_none() => {
                let deadline = liveness_deadline(last_inbound, &cx);
                if Instant::now() < deadline {
                    liveness_timer.as_mut().reset(deadline);
                    continue;
                }
                let config = cx.effective();
                cx.stats.incr(Counter::liveness_timeouts);
                break SessionEnd::Lost(ConnectError::Silent {
                    ping_interval: config.ping_interval,
                    grace: cx.options.settings.liveness_grace,
                });
            }
            _ = sweep.tick() => inbound.sweep(std::time::Instant::now()),
        }
    };

    if matches!(end, SessionEnd::Shutdown | SessionEnd::Retired) {
        if let Some(r) = ready.take() {
            tracing::info!(
                message_id = %r.event.frame_message_id,
                "session ending: an event waiting for a handler slot is not dispatched (the server will redeliver it)"
            );
        }
        if matches!(end, SessionEnd::Shutdown) {
            drain(&cx.tracker).await;
        } else {
            drain(&own).await;
        }
        // Close with 1000 after the drained handlers' acks, then wait briefly for the answer.
        if out.send(Outbound::Close).await.is_ok() {
            let _ = tokio::time::timeout(limits::CLOSE_HANDSHAKE_TIMEOUT, &mut writer).await;
            let _ = tokio::time::timeout(limits::CLOSE_HANDSHAKE_TIMEOUT, async {
                while let Some(Ok(m)) = stream.next().await {
                    if m.is_close() {
                        break;
                    }
                }
            })
            .await;
        }
    }
    // A lost connection is dropped without a close frame, as Go does (§8.2): the peer is gone
    // or misbehaving, and a new discovery follows.
    writer_cancel.cancel();
    if !writer.is_finished() {
        let _ = writer.await;
    }
    end
}

/// When the connection counts as dead if nothing arrives after `last_inbound`: one ping
/// interval (the server's, or the pinned one) plus the configured grace.
fn liveness_deadline(last_inbound: Instant, cx: &SessionContext) -> Instant {
    last_inbound + cx.effective().ping_interval + cx.options.settings.liveness_grace
}

/// Waits (up to [`limits::SHUTDOWN_DRAIN_TIMEOUT`]) for every handler so its ack is sent.
pub(crate) async fn drain(tracker: &TaskTracker) {
    tracker.close();
    if tracker.is_empty() {
        return;
    }
    let in_flight = tracker.len();
    tracing::info!(in_flight, "shutdown: waiting for handlers in flight");
    if tokio::time::timeout(limits::SHUTDOWN_DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            still_running = tracker.len(),
            timeout = ?limits::SHUTDOWN_DRAIN_TIMEOUT,
            "shutdown: handlers still running after the drain timeout; their events will be redelivered"
        );
    }
}

/// Applies a pong's ClientConfig (respecting the manifest's pins).
fn apply_pong(frame: &Frame, cx: &SessionContext) {
    match parse_pong(frame) {
        PongPayload::Empty => {}
        PongPayload::Invalid(e) => {
            tracing::warn!(error = %e, "ignoring a pong payload that is not a ClientConfig")
        }
        PongPayload::Config(update) => {
            let (applied, effective) = {
                let mut config = cx.config.lock().unwrap_or_else(|e| e.into_inner());
                (config.apply(&update), config.effective())
            };
            cx.stats.incr(Counter::config_updates);
            log_applied("pong", &applied);
            cx.stats.set_config(effective);
        }
    }
}

/// Logs what applying a server ClientConfig did.
pub(crate) fn log_applied(source: &str, applied: &super::config::Applied) {
    for key in &applied.refused {
        tracing::warn!(
            source,
            key = key.key,
            reason = key.reason,
            "ignoring an invalid ClientConfig value"
        );
    }
    if !applied.pinned.is_empty() {
        tracing::debug!(source, keys = ?applied.pinned, "server config ignored for settings pinned by the manifest");
    }
}

/// Parses a complete payload into an event, or acks 500 at once when it is unusable.
fn prepare(
    payload: Vec<u8>,
    completing: Frame,
    options: &ConnectionOptions,
    stats: &ConnectionStats,
    out: &mpsc::Sender<Outbound>,
) -> Option<Ready> {
    let trace_id = completing.header(TRACE_ID).unwrap_or("").to_string();
    let frame_message_id = completing.header(MESSAGE_ID).unwrap_or("").to_string();
    let key = options.encrypt_key.as_ref().map(|k| k.expose());
    let bytes = payload.len();
    match parse_envelope_owned(payload, key) {
        Ok(envelope) => Some(Ready {
            event: InboundEvent {
                meta: envelope.meta,
                json: envelope.json,
                trace_id,
                frame_message_id,
            },
            completing,
        }),
        Err(e) => {
            stats.incr(Counter::events_failed);
            tracing::warn!(
                trace_id = %trace_id,
                message_id = %frame_message_id,
                bytes,
                error = %e,
                "event payload is not a usable envelope; acking 500"
            );
            let ack = build_ack(&completing, 0, &AckBody::Failed);
            stats.incr(Counter::acks_500);
            if out.try_send(Outbound::Ack(ack)).is_err() {
                tracing::warn!("the 500 ack could not be queued; the server will redeliver");
            }
            None
        }
    }
}

/// How long a session lasted, for the disconnect log line.
pub(crate) fn lifetime(since: Instant) -> Duration {
    Instant::now().saturating_duration_since(since)
}
