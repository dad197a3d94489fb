//! Streamed card content (`card-stream-set`, `card-stream-flush`): a guest sets the whole text
//! of a card element as it grows, and returns at once; one sender per card sends the latest
//! text with `PUT …/cards/{card_id}/elements/{element_id}/content`, one request at a time,
//! through the app's client, which paces it within Feishu's per-card limit
//! ([`super::pacing`]). Texts set while a request is on its way are coalesced: only the latest
//! is sent next. So the number of updates is bounded by the limit, not by how often the guest
//! writes, and the last text set is always the last one sent — also when the run has already
//! ended (the sender outlives it; each request is bounded by [`REQUEST_TIMEOUT`]).
//!
//! Each request carries `sequence`, counted per stream from 1, which Feishu requires to grow
//! for every operation on a streaming card. A failed update ends the stream: the error is
//! returned to the next `set` or `flush`.
//!
//! [`REQUEST_TIMEOUT`]: crate::limits::openapi::REQUEST_TIMEOUT

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::call::CheckedCall;
use super::FeishuClient;
use crate::limits::openapi::REQUEST_TIMEOUT;

/// One card's stream: the latest text not yet sent, and how far the sender got.
#[derive(Debug, Default)]
pub struct CardStream {
    state: Mutex<StreamState>,
    progress: Notify,
}

#[derive(Debug, Default)]
struct StreamState {
    /// The latest text set and not yet taken by the sender, with the call it goes to.
    pending: Option<(CheckedCall, String)>,
    /// How many texts were set, and how many of those the sender has dealt with (a text that
    /// was coalesced away counts as dealt with when a later one is sent).
    set: u64,
    done: u64,
    /// The `sequence` of the last request sent.
    sequence: u32,
    /// Why the stream ended, if it failed.
    error: Option<String>,
    /// Whether a sender task is running.
    sending: bool,
}

impl CardStream {
    /// A stream with nothing set.
    #[cfg(test)]
    pub fn new() -> Arc<CardStream> {
        Arc::new(CardStream::default())
    }

    /// Makes `content` the latest text, to be sent as `call` (the checked PUT of the element's
    /// content), and starts the sender unless it runs. `Err`: the stream failed earlier.
    pub fn set(
        self: &Arc<Self>,
        client: Arc<FeishuClient>,
        call: CheckedCall,
        content: String,
    ) -> Result<(), String> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = &s.error {
            return Err(e.clone());
        }
        s.pending = Some((call, content));
        s.set += 1;
        if !s.sending {
            s.sending = true;
            tokio::spawn(send(self.clone(), client));
        }
        Ok(())
    }

    /// Waits until every text set so far was sent (or the stream failed), at most until
    /// `deadline`; answers the last `sequence` sent.
    pub async fn flush(&self, deadline: Instant) -> Result<u32, String> {
        loop {
            let notified = self.progress.notified();
            {
                let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(e) = &s.error {
                    return Err(e.clone());
                }
                if s.done == s.set {
                    return Ok(s.sequence);
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(
                    "the card's last update did not land before the handler's deadline \
                            (the host still sends it)"
                        .to_string(),
                );
            }
        }
    }
}

/// The sender: the latest pending text, one request at a time, until nothing is pending.
async fn send(stream: Arc<CardStream>, client: Arc<FeishuClient>) {
    loop {
        let (call, content, upto, sequence) = {
            let mut s = stream.state.lock().unwrap_or_else(|e| e.into_inner());
            let Some((call, content)) = s.pending.take() else {
                s.sending = false;
                drop(s);
                stream.progress.notify_waiters();
                return;
            };
            s.sequence += 1;
            (call, content, s.set, s.sequence)
        };
        let body = json!({"content": content, "sequence": sequence}).to_string();
        let result = client
            .request(&call, &body, REQUEST_TIMEOUT)
            .await
            .map_err(|e| e.to_string());
        let mut s = stream.state.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => s.done = upto,
            Err(e) => {
                tracing::warn!(error = %e, "a streamed card update failed; the stream ends");
                s.error = Some(format!("streaming the card failed: {e}"));
                s.pending = None;
                s.done = s.set;
                s.sending = false;
                drop(s);
                stream.progress.notify_waiters();
                return;
            }
        }
        drop(s);
        stream.progress.notify_waiters();
    }
}
