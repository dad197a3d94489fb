//! Feishu's per-app limits on send and reply (50 per second, 1,000 per minute unless
//! [`crate::EmulatorConfig::app_send_limits`] says otherwise) and CardKit's limit per card
//! ([`CARD_OPS_LIMIT`] operations per [`CARD_OPS_WINDOW`]), judged on arrival like the
//! per-receiver limit of [`crate::send_limit`], and written apart from the runtime's pacer for
//! the same reason: a shared mistake could not be caught.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::config::AppSendLimits;
use crate::limits::{CARD_OPS_LIMIT, CARD_OPS_WINDOW, MAX_RATE_LIMITED_CARDS};

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// Accepted arrivals within the last `window`, at most `limit`.
#[derive(Debug)]
struct Arrivals {
    limit: usize,
    window: Duration,
    times: VecDeque<Instant>,
}

impl Arrivals {
    fn new(limit: usize, window: Duration) -> Arrivals {
        Arrivals {
            limit: limit.max(1),
            window,
            times: VecDeque::new(),
        }
    }

    /// How long until one more arrival would be accepted at `now`; `None`: it would be now.
    fn wait(&mut self, now: Instant) -> Option<Duration> {
        while self
            .times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            self.times.pop_front();
        }
        (self.times.len() >= self.limit).then(|| {
            let oldest = self.times[self.times.len() - self.limit];
            (oldest + self.window).saturating_duration_since(now)
        })
    }
}

/// The app's sends and replies per second and per minute.
#[derive(Debug)]
pub(crate) struct AppLimit {
    second: Arrivals,
    minute: Arrivals,
}

impl AppLimit {
    pub fn new(limits: AppSendLimits) -> AppLimit {
        AppLimit {
            second: Arrivals::new(limits.per_second, SECOND),
            minute: Arrivals::new(limits.per_minute, MINUTE),
        }
    }

    /// Whether a send arriving at `now` exceeds a window: the wait and that window's limit.
    /// Nothing is counted (see [`AppLimit::count`]).
    pub fn check(&mut self, now: Instant) -> Option<(Duration, usize)> {
        let second = self.second.wait(now).map(|w| (w, self.second.limit));
        let minute = self.minute.wait(now).map(|w| (w, self.minute.limit));
        match (second, minute) {
            (Some(s), Some(m)) => Some(if m.0 > s.0 { m } else { s }),
            (s, m) => s.or(m),
        }
    }

    /// Counts an accepted send at `now`.
    pub fn count(&mut self, now: Instant) {
        self.second.times.push_back(now);
        self.minute.times.push_back(now);
    }
}

/// Operations per card.
#[derive(Debug, Default)]
pub(crate) struct CardLimit {
    cards: HashMap<String, Arrivals>,
}

impl CardLimit {
    /// Counts an operation on `card` arriving at `now`: `None` when accepted (and counted),
    /// else the wait.
    pub fn arrive(&mut self, card: &str, now: Instant) -> Option<Duration> {
        if !self.cards.contains_key(card) && self.cards.len() >= MAX_RATE_LIMITED_CARDS {
            self.cards.retain(|_, a| {
                a.times
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < CARD_OPS_WINDOW)
            });
        }
        let a = self
            .cards
            .entry(card.to_string())
            .or_insert_with(|| Arrivals::new(CARD_OPS_LIMIT, CARD_OPS_WINDOW));
        if let Some(wait) = a.wait(now) {
            return Some(wait);
        }
        a.times.push_back(now);
        None
    }
}

/// The card a CardKit path operates on: `/open-apis/cardkit/v1/cards/{card_id}[/…]`.
pub(crate) fn card_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/open-apis/cardkit/v1/cards/")?;
    let card = rest.split('/').next()?;
    (!card.is_empty()).then_some(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_limit_counts_both_windows_and_names_the_longer_wait() {
        let t0 = Instant::now();
        let mut app = AppLimit::new(AppSendLimits {
            per_second: 2,
            per_minute: 3,
        });
        for _ in 0..2 {
            assert_eq!(app.check(t0), None);
            app.count(t0);
        }
        assert_eq!(app.check(t0), Some((SECOND, 2)));
        let t1 = t0 + SECOND;
        assert_eq!(app.check(t1), None);
        app.count(t1);
        // Three in the minute: the minute's wait is the longer one.
        assert_eq!(app.check(t1), Some((MINUTE - SECOND, 3)));
    }

    #[test]
    fn each_card_gets_its_limit_per_window() {
        let t0 = Instant::now();
        let mut cards = CardLimit::default();
        for _ in 0..CARD_OPS_LIMIT {
            assert_eq!(cards.arrive("c1", t0), None);
        }
        assert_eq!(cards.arrive("c1", t0), Some(CARD_OPS_WINDOW));
        assert_eq!(cards.arrive("c2", t0), None);
        assert_eq!(cards.arrive("c1", t0 + CARD_OPS_WINDOW), None);
        assert_eq!(
            card_of("/open-apis/cardkit/v1/cards/7/elements/e/content"),
            Some("7")
        );
        assert_eq!(card_of("/open-apis/cardkit/v1/cards"), None);
    }
}
