//! Feishu's per-receiver rate limit of sends and replies, kept by the host for every handler of
//! an app: a send or reply waits until it fits under
//! [`crate::limits::openapi::RECEIVER_SEND_LIMIT`] per
//! [`crate::limits::openapi::RECEIVER_SEND_WINDOW`], or fails at once as
//! rate limited when the wait would outlast the handler's deadline.
//!
//! The limit is a sliding window: at most `limit` sends started in any `window`. The host
//! counts the window [`PACING_MARGIN`] longer than Feishu does, so the jitter between the
//! moment a send is granted here and the moment it arrives cannot push one send too many into
//! one of Feishu's windows. The emulator (crate `aviary-emulator`) judges arrivals with code of
//! its own and no margin, answering 429 as Feishu does, so a bug here is not repeated there.
//!
//! [`PACING_MARGIN`]: crate::limits::openapi::PACING_MARGIN

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::Mutex;

use crate::openapi::idempotency::{message_api, MessageApi};
use tokio::time::Instant;

use crate::limits::openapi::{
    MAX_PACED_RECEIVERS, PACING_MARGIN, RECEIVER_SEND_LIMIT, RECEIVER_SEND_WINDOW,
};

/// At most `limit` events in any `window`, over the times recorded so far.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    times: VecDeque<Instant>,
}

impl SlidingWindow {
    /// An empty window of `limit` events per `window`.
    pub fn new(limit: usize, window: Duration) -> SlidingWindow {
        SlidingWindow {
            limit: limit.max(1),
            window,
            times: VecDeque::new(),
        }
    }

    /// How long from `now` until one more event fits; `None` when it fits now.
    pub fn wait(&mut self, now: Instant) -> Option<Duration> {
        while self
            .times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            self.times.pop_front();
        }
        if self.times.len() < self.limit {
            return None;
        }
        let oldest = self.times[self.times.len() - self.limit];
        Some((oldest + self.window).saturating_duration_since(now))
    }

    /// Records an event at `now` (after [`SlidingWindow::wait`] said it fits).
    pub fn record(&mut self, now: Instant) {
        self.times.push_back(now);
    }

    /// Whether nothing recorded is inside the window any more.
    pub fn idle(&self, now: Instant) -> bool {
        self.times
            .back()
            .is_none_or(|t| now.saturating_duration_since(*t) >= self.window)
    }
}

/// What a send is paced against besides the app: the receiving chat or user of a send
/// (`receive_id_type:receive_id`), or the parent message of a reply.
pub type Receiver = String;

/// The pacer of one app's sends and replies, one window per receiver.
#[derive(Debug, Default)]
pub struct SendPacer {
    receivers: Mutex<Windows>,
}

/// Sliding windows per receiver, forgetting idle ones when there are too many.
#[derive(Debug)]
pub struct Windows {
    limit: usize,
    window: Duration,
    windows: HashMap<Receiver, SlidingWindow>,
}

impl Default for Windows {
    /// Feishu's per-receiver limit, widened by [`PACING_MARGIN`].
    fn default() -> Self {
        Windows::new(RECEIVER_SEND_LIMIT, RECEIVER_SEND_WINDOW + PACING_MARGIN)
    }
}

impl Windows {
    /// `limit` events per `window` for each receiver.
    pub fn new(limit: usize, window: Duration) -> Windows {
        Windows {
            limit,
            window,
            windows: HashMap::new(),
        }
    }

    /// How long until one more event for `receiver` fits; `None`: it fits now, and it is
    /// recorded.
    pub fn admit(&mut self, receiver: &str, now: Instant) -> Option<Duration> {
        if let Some(w) = self.windows.get_mut(receiver) {
            if let Some(wait) = w.wait(now) {
                return Some(wait);
            }
            w.record(now);
            return None;
        }
        if self.windows.len() >= MAX_PACED_RECEIVERS {
            self.windows.retain(|_, w| !w.idle(now));
        }
        let mut w = SlidingWindow::new(self.limit, self.window);
        w.record(now);
        self.windows.insert(receiver.to_string(), w);
        None
    }
}

/// A send that cannot start before its deadline: how long it would have had to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited(pub Duration);

impl SendPacer {
    /// Waits until a send to `receiver` fits under the limit and records it; `Err` at once
    /// (recording nothing) when that moment is after `deadline`. Returns how many times it
    /// had to wait.
    pub async fn acquire(&self, receiver: &str, deadline: Instant) -> Result<u32, RateLimited> {
        let mut waits = 0;
        loop {
            let now = Instant::now();
            let Some(wait) = self.receivers.lock().await.admit(receiver, now) else {
                return Ok(waits);
            };
            if now + wait > deadline {
                return Err(RateLimited(wait));
            }
            waits += 1;
            tokio::time::sleep(wait).await;
        }
    }
}

/// What a send or reply is paced against: `receive_id_type:receive_id` of a send (from its
/// query and JSON body), `reply:<message id>` of a reply. `None`: not a send or reply.
pub fn receiver_of(path: &str, query: Option<&str>, body: &str) -> Option<Receiver> {
    match message_api(path)? {
        MessageApi::Send => {
            let id_type = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .find(|(k, _)| k == "receive_id_type")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let id = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    v.get("receive_id")
                        .and_then(|r| r.as_str().map(str::to_string))
                })
                .unwrap_or_default();
            Some(format!("{id_type}:{id}"))
        }
        MessageApi::Reply(parent) => Some(format!("reply:{parent}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_then_names_the_wait() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(5, Duration::from_secs(1));
        for i in 0..5 {
            let at = t0 + Duration::from_millis(i * 10);
            assert_eq!(w.wait(at), None, "send {i}");
            w.record(at);
        }
        let at = t0 + Duration::from_millis(100);
        assert_eq!(w.wait(at), Some(Duration::from_millis(900)));
        // Once the first leaves the window, one more fits.
        assert_eq!(w.wait(t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn receivers_are_read_from_sends_and_replies() {
        let m = "/open-apis/im/v1/messages";
        assert_eq!(
            receiver_of(
                m,
                Some("receive_id_type=chat_id"),
                r#"{"receive_id":"oc_1"}"#
            ),
            Some("chat_id:oc_1".to_string())
        );
        assert_eq!(
            receiver_of(&format!("{m}/om_9/reply"), None, "{}"),
            Some("reply:om_9".to_string())
        );
        assert_eq!(receiver_of("/open-apis/im/v1/chats", None, ""), None);
    }

    #[tokio::test]
    async fn sends_to_one_receiver_are_spread_and_a_late_one_is_refused() {
        let pacer = SendPacer::default();
        let far = Instant::now() + Duration::from_secs(60);
        let start = Instant::now();
        let mut starts = Vec::new();
        let mut waited = Vec::new();
        for _ in 0..12 {
            waited.push(pacer.acquire("chat_id:oc_1", far).await.unwrap());
            starts.push(Instant::now() - start);
        }
        // The first `limit` go at once; any limit + 1 consecutive sends span more than a window.
        assert_eq!(waited[..RECEIVER_SEND_LIMIT], [0; RECEIVER_SEND_LIMIT]);
        assert!(waited[RECEIVER_SEND_LIMIT] > 0);
        for run in starts.windows(RECEIVER_SEND_LIMIT + 1) {
            assert!(
                run[RECEIVER_SEND_LIMIT] - run[0] >= RECEIVER_SEND_WINDOW,
                "{starts:?}"
            );
        }
        // Another receiver is not held up by this one.
        assert_eq!(pacer.acquire("chat_id:oc_2", far).await, Ok(0));
        // A send whose wait would pass its deadline fails at once and takes no slot.
        for _ in 0..RECEIVER_SEND_LIMIT {
            assert_eq!(pacer.acquire("chat_id:oc_3", far).await, Ok(0));
        }
        let soon = Instant::now() + Duration::from_millis(10);
        let RateLimited(wait) = pacer.acquire("chat_id:oc_3", soon).await.unwrap_err();
        assert!(wait > Duration::from_millis(10));
        let w = pacer.receivers.lock().await;
        assert_eq!(w.windows["chat_id:oc_3"].times.len(), RECEIVER_SEND_LIMIT);
        drop(w);
    }

    #[test]
    fn idle_receivers_are_forgotten_when_there_are_too_many() {
        let t0 = Instant::now();
        let mut w = Windows::new(1, Duration::from_secs(1));
        for i in 0..MAX_PACED_RECEIVERS {
            assert_eq!(w.admit(&format!("r{i}"), t0), None);
        }
        assert!(w.admit("r0", t0).is_some(), "still inside its window");
        let later = t0 + Duration::from_secs(2);
        assert_eq!(w.admit("new", later), None);
        assert_eq!(w.windows.len(), 1, "the idle ones were dropped");
    }
}
