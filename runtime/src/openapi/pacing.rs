//! Feishu's rate limits on the APIs a bot calls most, kept by the host for every handler of an
//! app, whatever its language:
//!
//! - sends and replies: [`RECEIVER_SEND_LIMIT`] per [`RECEIVER_SEND_WINDOW`] to one chat or
//!   user (a reply: to one parent message), and the app's own limits
//!   ([`AppSendLimits`]: 50 per second and 1,000 per minute unless the manifest says
//!   otherwise);
//! - CardKit operations on one card (`/open-apis/cardkit/v1/cards/{card_id}/…`, streamed
//!   updates included): [`CARD_UPDATE_LIMIT`] per [`CARD_UPDATE_WINDOW`].
//!
//! A paced call waits until it fits under every limit that applies, and takes its slot in all
//! of them at once, or fails at once as rate limited (naming the limit) when the wait would
//! outlast the handler's deadline.
//!
//! Each limit is a sliding window: at most `limit` calls started in any `window`. The host
//! counts each window [`PACING_MARGIN`] longer than Feishu does, so the jitter between the
//! moment a call is granted here and the moment it arrives cannot push one call too many into
//! one of Feishu's windows. The emulator (crate `aviary-emulator`) judges arrivals with code of
//! its own and no margin, answering 429 as Feishu does, so a bug here is not repeated there.
//!
//! [`RECEIVER_SEND_LIMIT`]: crate::limits::openapi::RECEIVER_SEND_LIMIT
//! [`RECEIVER_SEND_WINDOW`]: crate::limits::openapi::RECEIVER_SEND_WINDOW
//! [`CARD_UPDATE_LIMIT`]: crate::limits::openapi::CARD_UPDATE_LIMIT
//! [`CARD_UPDATE_WINDOW`]: crate::limits::openapi::CARD_UPDATE_WINDOW
//! [`PACING_MARGIN`]: crate::limits::openapi::PACING_MARGIN

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::limits::openapi::{
    APP_SENDS_PER_MINUTE, APP_SENDS_PER_SECOND, CARD_UPDATE_LIMIT, CARD_UPDATE_WINDOW,
    MAX_APP_SENDS_PER_MINUTE, MAX_APP_SENDS_PER_SECOND, MAX_PACED_RECEIVERS, PACING_MARGIN,
    RECEIVER_SEND_LIMIT, RECEIVER_SEND_WINDOW,
};
use crate::openapi::idempotency::{message_api, MessageApi};

/// The window of the per-app minute limit.
const MINUTE: Duration = Duration::from_secs(60);
/// The window of the per-app second limit.
const SECOND: Duration = Duration::from_secs(1);

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

/// Sliding windows per key (receiver or card), forgetting idle ones when there are too many.
#[derive(Debug)]
pub struct Windows {
    limit: usize,
    window: Duration,
    windows: HashMap<String, SlidingWindow>,
}

impl Windows {
    /// `limit` events per `window` for each key.
    pub fn new(limit: usize, window: Duration) -> Windows {
        Windows {
            limit,
            window,
            windows: HashMap::new(),
        }
    }

    /// How long until one more event for `key` fits; `None`: it fits now.
    pub fn wait(&mut self, key: &str, now: Instant) -> Option<Duration> {
        self.windows.get_mut(key).and_then(|w| w.wait(now))
    }

    /// Records an event for `key` at `now` (after [`Windows::wait`] said it fits).
    pub fn record(&mut self, key: &str, now: Instant) {
        if let Some(w) = self.windows.get_mut(key) {
            w.record(now);
            return;
        }
        if self.windows.len() >= MAX_PACED_RECEIVERS {
            self.windows.retain(|_, w| !w.idle(now));
        }
        let mut w = SlidingWindow::new(self.limit, self.window);
        w.record(now);
        self.windows.insert(key.to_string(), w);
    }

    /// [`Windows::wait`], and when it fits, [`Windows::record`].
    pub fn admit(&mut self, key: &str, now: Instant) -> Option<Duration> {
        if let Some(wait) = self.wait(key, now) {
            return Some(wait);
        }
        self.record(key, now);
        None
    }
}

/// Feishu's per-app limits on sending messages (send and reply together): manifest keys
/// `feishu.app_sends_per_second` and `feishu.app_sends_per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct AppSendLimits {
    /// Sends and replies of the app in any second.
    pub per_second: usize,
    /// Sends and replies of the app in any minute.
    pub per_minute: usize,
}

impl Default for AppSendLimits {
    /// Feishu's: `APP_SENDS_PER_SECOND` and `APP_SENDS_PER_MINUTE`.
    fn default() -> Self {
        AppSendLimits {
            per_second: APP_SENDS_PER_SECOND,
            per_minute: APP_SENDS_PER_MINUTE,
        }
    }
}

impl AppSendLimits {
    /// Checks a per-second value (`1..=``MAX_APP_SENDS_PER_SECOND`).
    pub fn check_per_second(n: u64) -> Result<usize, crate::limits::OutOfRange> {
        crate::limits::within(n, MAX_APP_SENDS_PER_SECOND as u64).map(|n| n as usize)
    }

    /// Checks a per-minute value (`1..=``MAX_APP_SENDS_PER_MINUTE`).
    pub fn check_per_minute(n: u64) -> Result<usize, crate::limits::OutOfRange> {
        crate::limits::within(n, MAX_APP_SENDS_PER_MINUTE as u64).map(|n| n as usize)
    }
}

/// What a call is paced against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paced {
    /// A send (`receive_id_type:receive_id`) or a reply (`reply:<parent message id>`): the
    /// receiver's limit and the app's.
    Message(String),
    /// An operation on one CardKit card: the card's limit.
    Card(String),
}

/// Which of Feishu's limits a call would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Per receiving chat or user (a reply: per parent message).
    Receiver,
    /// The app's sends per second.
    AppSecond(usize),
    /// The app's sends per minute.
    AppMinute(usize),
    /// Per card.
    Card,
}

impl fmt::Display for Limit {
    /// What Feishu allows, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Receiver => write!(
                f,
                "Feishu allows {RECEIVER_SEND_LIMIT} messages per {RECEIVER_SEND_WINDOW:?} to \
                 one chat or user"
            ),
            Limit::AppSecond(n) => write!(f, "Feishu allows an app {n} messages per second"),
            Limit::AppMinute(n) => write!(f, "Feishu allows an app {n} messages per minute"),
            Limit::Card => write!(
                f,
                "Feishu allows {CARD_UPDATE_LIMIT} operations per {CARD_UPDATE_WINDOW:?} on one \
                 card"
            ),
        }
    }
}

/// Every window of one app: per receiver, per card, and the app's second and minute.
#[derive(Debug)]
pub struct Lanes {
    app: AppSendLimits,
    receivers: Windows,
    cards: Windows,
    app_second: SlidingWindow,
    app_minute: SlidingWindow,
}

impl Lanes {
    /// Feishu's limits with the app's `limits`, each window widened by `margin`.
    pub fn new(app: AppSendLimits, margin: Duration) -> Lanes {
        Lanes {
            app,
            receivers: Windows::new(RECEIVER_SEND_LIMIT, RECEIVER_SEND_WINDOW + margin),
            cards: Windows::new(CARD_UPDATE_LIMIT, CARD_UPDATE_WINDOW + margin),
            app_second: SlidingWindow::new(app.per_second, SECOND + margin),
            app_minute: SlidingWindow::new(app.per_minute, MINUTE + margin),
        }
    }

    /// How long until `paced` fits under every limit that applies, and the limit that holds
    /// it longest; `None`: it fits now, and it is recorded in every window at once.
    pub fn admit(&mut self, paced: &Paced, now: Instant) -> Option<(Duration, Limit)> {
        match paced {
            Paced::Message(receiver) => {
                let waits = [
                    (self.receivers.wait(receiver, now), Limit::Receiver),
                    (
                        self.app_second.wait(now),
                        Limit::AppSecond(self.app.per_second),
                    ),
                    (
                        self.app_minute.wait(now),
                        Limit::AppMinute(self.app.per_minute),
                    ),
                ];
                if let Some(longest) = longest(&waits) {
                    return Some(longest);
                }
                self.receivers.record(receiver, now);
                self.app_second.record(now);
                self.app_minute.record(now);
                None
            }
            Paced::Card(card) => self.cards.admit(card, now).map(|w| (w, Limit::Card)),
        }
    }
}

fn longest(waits: &[(Option<Duration>, Limit)]) -> Option<(Duration, Limit)> {
    waits
        .iter()
        .filter_map(|(w, l)| w.map(|w| (w, *l)))
        .max_by_key(|(w, _)| *w)
}

/// A call that cannot start before its deadline: how long it would have had to wait, and for
/// which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// The wait.
    pub wait: Duration,
    /// The limit that holds it.
    pub limit: Limit,
}

/// The pacer of one app's calls (host side: windows widened by [`PACING_MARGIN`]).
#[derive(Debug)]
pub struct Pacer {
    lanes: Mutex<Lanes>,
}

impl Default for Pacer {
    /// Feishu's limits with the default per-app limits.
    fn default() -> Self {
        Pacer::new(AppSendLimits::default())
    }
}

impl Pacer {
    /// A pacer with the app's `limits`.
    pub fn new(limits: AppSendLimits) -> Pacer {
        Pacer {
            lanes: Mutex::new(Lanes::new(limits, PACING_MARGIN)),
        }
    }

    /// Waits until `paced` fits under its limits and records it; `Err` at once (recording
    /// nothing) when that moment is after `deadline`. Returns how many times it had to wait.
    pub async fn acquire(&self, paced: &Paced, deadline: Instant) -> Result<u32, RateLimited> {
        let mut waits = 0;
        loop {
            let now = Instant::now();
            let Some((wait, limit)) = self.lanes.lock().await.admit(paced, now) else {
                return Ok(waits);
            };
            if now + wait > deadline {
                return Err(RateLimited { wait, limit });
            }
            waits += 1;
            tokio::time::sleep(wait).await;
        }
    }
}

/// The CardKit path of one card's operations.
const CARDS: &str = "/open-apis/cardkit/v1/cards/";

/// What `method path` (query apart) with `body` is paced against, if anything: a send
/// (`receive_id_type:receive_id`, from its query and JSON body) or a reply
/// (`reply:<parent id>`) by POST, or any operation below one CardKit card
/// (`/open-apis/cardkit/v1/cards/{card_id}/…`, the card itself included). Creating a card
/// (`POST /open-apis/cardkit/v1/cards`) is not an operation on a card.
pub fn paced(method: &str, path: &str, query: Option<&str>, body: &str) -> Option<Paced> {
    if let Some(rest) = path.strip_prefix(CARDS) {
        let card = rest.split('/').next().unwrap_or("");
        return (!card.is_empty()).then(|| Paced::Card(card.to_string()));
    }
    if !method.eq_ignore_ascii_case("POST") {
        return None;
    }
    receiver_of(path, query, body).map(Paced::Message)
}

/// What a send or reply is paced against: `receive_id_type:receive_id` of a send (from its
/// query and JSON body), `reply:<message id>` of a reply. `None`: not a send or reply.
pub fn receiver_of(path: &str, query: Option<&str>, body: &str) -> Option<String> {
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
    fn calls_are_classified_by_what_they_are_paced_against() {
        let m = "/open-apis/im/v1/messages";
        assert_eq!(
            paced(
                "POST",
                m,
                Some("receive_id_type=chat_id"),
                r#"{"receive_id":"oc_1"}"#
            ),
            Some(Paced::Message("chat_id:oc_1".to_string()))
        );
        assert_eq!(
            paced("post", &format!("{m}/om_9/reply"), None, "{}"),
            Some(Paced::Message("reply:om_9".to_string()))
        );
        assert_eq!(paced("GET", m, None, ""), None);
        assert_eq!(paced("POST", "/open-apis/im/v1/chats", None, ""), None);
        let card = "/open-apis/cardkit/v1/cards/7355/elements/md/content";
        assert_eq!(
            paced("PUT", card, None, "{}"),
            Some(Paced::Card("7355".to_string()))
        );
        assert_eq!(
            paced(
                "PATCH",
                "/open-apis/cardkit/v1/cards/7355/settings",
                None,
                ""
            ),
            Some(Paced::Card("7355".to_string()))
        );
        assert_eq!(paced("POST", "/open-apis/cardkit/v1/cards", None, ""), None);
    }

    #[tokio::test]
    async fn sends_to_one_receiver_are_spread_and_a_late_one_is_refused() {
        let pacer = Pacer::default();
        let far = Instant::now() + Duration::from_secs(60);
        let start = Instant::now();
        let mut starts = Vec::new();
        let mut waited = Vec::new();
        let oc1 = Paced::Message("chat_id:oc_1".into());
        for _ in 0..12 {
            waited.push(pacer.acquire(&oc1, far).await.unwrap());
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
        let oc2 = Paced::Message("chat_id:oc_2".into());
        assert_eq!(pacer.acquire(&oc2, far).await, Ok(0));
        // A send whose wait would pass its deadline fails at once and takes no slot.
        let oc3 = Paced::Message("chat_id:oc_3".into());
        for _ in 0..RECEIVER_SEND_LIMIT {
            assert_eq!(pacer.acquire(&oc3, far).await, Ok(0));
        }
        let soon = Instant::now() + Duration::from_millis(10);
        let refused = pacer.acquire(&oc3, soon).await.unwrap_err();
        assert!(refused.wait > Duration::from_millis(10));
        assert_eq!(refused.limit, Limit::Receiver);
        let lanes = pacer.lanes.lock().await;
        assert_eq!(
            lanes.receivers.windows["chat_id:oc_3"].times.len(),
            RECEIVER_SEND_LIMIT
        );
    }

    #[test]
    fn the_app_limits_hold_sends_to_many_receivers_and_take_no_slot_when_they_wait() {
        let t0 = Instant::now();
        let mut lanes = Lanes::new(
            AppSendLimits {
                per_second: 4,
                per_minute: 6,
            },
            Duration::ZERO,
        );
        for i in 0..4 {
            assert_eq!(lanes.admit(&Paced::Message(format!("r{i}")), t0), None);
        }
        // The fifth in the same second waits for the app's second, though its receiver is new.
        let (wait, limit) = lanes.admit(&Paced::Message("r9".into()), t0).unwrap();
        assert_eq!((wait, limit), (SECOND, Limit::AppSecond(4)));
        assert!(!lanes.receivers.windows.contains_key("r9"), "no slot taken");
        let t1 = t0 + SECOND;
        for i in 0..2 {
            assert_eq!(lanes.admit(&Paced::Message(format!("s{i}")), t1), None);
        }
        // Six in the minute: the seventh waits for the minute to pass.
        let (wait, limit) = lanes.admit(&Paced::Message("s9".into()), t1).unwrap();
        assert_eq!(limit, Limit::AppMinute(6));
        assert_eq!(wait, MINUTE - SECOND);
        assert!(limit.to_string().contains("6 messages per minute"));
        // Cards have their own window and are not held by the app's sends.
        for _ in 0..CARD_UPDATE_LIMIT {
            assert_eq!(lanes.admit(&Paced::Card("c1".into()), t1), None);
        }
        let (_, limit) = lanes.admit(&Paced::Card("c1".into()), t1).unwrap();
        assert_eq!(limit, Limit::Card);
        assert_eq!(lanes.admit(&Paced::Card("c2".into()), t1), None);
    }

    #[test]
    fn app_limits_are_checked_against_their_bounds() {
        assert_eq!(AppSendLimits::check_per_second(50), Ok(50));
        assert!(AppSendLimits::check_per_second(0).is_err());
        assert!(AppSendLimits::check_per_minute(MAX_APP_SENDS_PER_MINUTE as u64 + 1).is_err());
    }

    #[test]
    fn idle_keys_are_forgotten_when_there_are_too_many() {
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
