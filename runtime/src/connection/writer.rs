//! The single writer task of a session: the only code that writes to the socket. Acks and pings
//! reach it through a bounded mpsc, so a WebSocket never has two writers.

use std::sync::Arc;

use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::protocol::{encode_frame, Frame};

use super::dial::WsStream;
use super::discovery::chain;
use super::stats::{ConnectionStats, Counter};

/// Something for the writer to send.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A ping frame (§4).
    Ping(Frame),
    /// An ack frame (§5.3).
    Ack(Frame),
    /// Close the socket with code 1000 and stop (graceful shutdown).
    Close,
}

/// Runs until `cancel` fires, the queue closes, a `Close` was sent, or a write fails (the
/// error text is returned so the session can end with it). Every write also races `cancel`,
/// so a socket blocked on a dead peer never holds the task.
pub(crate) async fn run_writer(
    mut sink: SplitSink<WsStream, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    cancel: CancellationToken,
    stats: Arc<ConnectionStats>,
) -> Result<(), String> {
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(()),
            next = rx.recv() => next,
        };
        let (message, counter) = match next {
            None => return Ok(()),
            Some(Outbound::Close) => {
                let close = Message::Close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "client shutting down".into(),
                }));
                return tokio::select! {
                    _ = cancel.cancelled() => Ok(()),
                    r = sink.send(close) => r.map_err(|e| format!("close frame not sent: {}", chain(&e))),
                };
            }
            Some(Outbound::Ping(frame)) => (encode_frame(&frame), Counter::pings_sent),
            Some(Outbound::Ack(frame)) => (encode_frame(&frame), Counter::acks_sent),
        };
        let written = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            r = sink.send(Message::Binary(message)) => r,
        };
        match written {
            Ok(()) => stats.incr(counter),
            Err(e) => return Err(format!("write failed: {}", chain(&e))),
        }
    }
}
