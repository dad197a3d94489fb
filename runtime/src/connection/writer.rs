//! The single writer task of a session: the only code that writes to the socket. Acks and pings
//! reach it through a bounded mpsc, so a WebSocket never has two writers.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::limits;
use crate::protocol::{encode_frame, Frame};

use super::dial::WsStream;
use super::error::ConnectError;
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
) -> Result<(), ConnectError> {
    // One cancellation future for the whole task (not one registration per frame).
    let cancelled = cancel.cancelled();
    tokio::pin!(cancelled);
    loop {
        let next = tokio::select! {
            biased;
            _ = &mut cancelled => return Ok(()),
            next = rx.recv() => next,
        };
        let Some(first) = next else { return Ok(()) };
        // Queue every frame that is already waiting (up to a bound), then flush once: under
        // load many acks share one write syscall and one TCP segment instead of one each.
        let mut item = Some(first);
        let mut queued = 0;
        let mut yielded = false;
        while let Some(outbound) = item.take() {
            let (message, counter) = match outbound {
                Outbound::Close => {
                    flush(&mut sink, cancelled.as_mut()).await?;
                    let close = Message::Close(Some(CloseFrame {
                        code: CloseCode::Normal,
                        reason: "client shutting down".into(),
                    }));
                    return tokio::select! {
                        _ = &mut cancelled => Ok(()),
                        r = sink.send(close) => r.map_err(ConnectError::CloseNotSent),
                    };
                }
                Outbound::Ping(frame) => (encode_frame(&frame), Counter::pings_sent),
                Outbound::Ack(frame) => (encode_frame(&frame), Counter::acks_sent),
            };
            let fed = tokio::select! {
                _ = &mut cancelled => return Ok(()),
                r = sink.feed(Message::Binary(message)) => r,
            };
            match fed {
                Ok(()) => stats.incr(counter),
                Err(e) => return Err(ConnectError::Write(e)),
            }
            queued += 1;
            if queued < limits::WRITER_BATCH_FRAMES {
                item = rx.try_recv().ok();
                if item.is_none() && !yielded {
                    // Let the handler tasks that are about to finish queue their acks too;
                    // under load this turns many one-ack writes into a few batched ones.
                    yielded = true;
                    tokio::task::yield_now().await;
                    item = rx.try_recv().ok();
                }
            }
        }
        flush(&mut sink, cancelled.as_mut()).await?;
    }
}

/// Flushes what `feed` queued; a cancelled flush is not an error (the session is ending).
async fn flush(
    sink: &mut SplitSink<WsStream, Message>,
    cancelled: Pin<&mut WaitForCancellationFuture<'_>>,
) -> Result<(), ConnectError> {
    let flushed = tokio::select! {
        _ = cancelled => return Ok(()),
        r = sink.flush() => r,
    };
    flushed.map_err(ConnectError::Write)
}
