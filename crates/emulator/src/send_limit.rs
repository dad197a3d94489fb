//! Feishu's per-receiver limit on send and reply (§9.4), judged on arrival: at most
//! [`RECEIVER_SEND_LIMIT`] accepted requests per receiver in any [`RECEIVER_SEND_WINDOW`];
//! one more is refused with the time until the oldest of them leaves the window.
//!
//! Written apart from the runtime's client-side pacer (`openapi::pacing` in the `aviary`
//! crate) on purpose: an emulator that shared the client's pacing code could not catch the
//! client's pacing bugs, since a mistake there would be made identically on both sides.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::limits::{MAX_RATE_LIMITED_RECEIVERS, RECEIVER_SEND_LIMIT, RECEIVER_SEND_WINDOW};
use crate::openapi::MESSAGES_PATH;

/// Accepted send/reply arrivals per receiver, within the last window.
#[derive(Debug, Default)]
pub(crate) struct SendLimit {
    arrivals: HashMap<String, VecDeque<Instant>>,
}

impl SendLimit {
    /// Counts a request to `receiver` arriving at `now`: `None` when it is within the limit
    /// (and counted), else how long until the oldest counted arrival leaves the window (and it
    /// is not counted).
    pub fn arrive(&mut self, receiver: &str, now: Instant) -> Option<Duration> {
        if !self.arrivals.contains_key(receiver)
            && self.arrivals.len() >= MAX_RATE_LIMITED_RECEIVERS
        {
            self.arrivals
                .retain(|_, times| times.back().is_some_and(|t| in_window(*t, now)));
        }
        let times = self.arrivals.entry(receiver.to_string()).or_default();
        while times.front().is_some_and(|t| !in_window(*t, now)) {
            times.pop_front();
        }
        if times.len() >= RECEIVER_SEND_LIMIT {
            let oldest = times[0];
            return Some((oldest + RECEIVER_SEND_WINDOW).saturating_duration_since(now));
        }
        times.push_back(now);
        None
    }
}

/// Whether an arrival at `t` still counts at `now`.
fn in_window(t: Instant, now: Instant) -> bool {
    now.saturating_duration_since(t) < RECEIVER_SEND_WINDOW
}

/// Who a POST to `path` is limited against: `receive_id_type:receive_id` of a send (from the
/// query and the JSON body), `reply:<message id>` of a reply; `None` for every other path.
pub(crate) fn receiver(path: &str, query: &str, body: &Value) -> Option<String> {
    let path = path.trim_end_matches('/');
    if path == MESSAGES_PATH {
        let id_type = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "receive_id_type")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let id = body
            .get("receive_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Some(format!("{id_type}:{id}"));
    }
    let parent = path
        .strip_prefix(MESSAGES_PATH)?
        .strip_prefix('/')?
        .strip_suffix("/reply")?;
    (!parent.is_empty() && !parent.contains('/')).then(|| format!("reply:{parent}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_receiver_gets_its_limit_per_window_then_the_wait() {
        let t0 = Instant::now();
        let mut limit = SendLimit::default();
        for i in 0..RECEIVER_SEND_LIMIT as u64 {
            assert_eq!(
                limit.arrive("chat_id:oc_1", t0 + Duration::from_millis(i * 10)),
                None
            );
        }
        let at = t0 + Duration::from_millis(100);
        assert_eq!(
            limit.arrive("chat_id:oc_1", at),
            Some(RECEIVER_SEND_WINDOW - Duration::from_millis(100))
        );
        // A refused arrival is not counted; another receiver is not affected.
        assert_eq!(limit.arrive("chat_id:oc_2", at), None);
        assert_eq!(
            limit.arrive("chat_id:oc_1", t0 + RECEIVER_SEND_WINDOW),
            None
        );
        assert!(limit
            .arrive("chat_id:oc_1", t0 + RECEIVER_SEND_WINDOW)
            .is_some());
    }

    #[test]
    fn idle_receivers_are_forgotten_when_there_are_too_many() {
        let t0 = Instant::now();
        let mut limit = SendLimit::default();
        for i in 0..MAX_RATE_LIMITED_RECEIVERS {
            assert_eq!(limit.arrive(&format!("r{i}"), t0), None);
        }
        assert_eq!(limit.arrivals.len(), MAX_RATE_LIMITED_RECEIVERS);
        assert_eq!(limit.arrive("new", t0 + RECEIVER_SEND_WINDOW), None);
        assert_eq!(limit.arrivals.len(), 1, "the idle ones were dropped");
    }

    #[test]
    fn receivers_are_read_from_sends_and_replies() {
        let m = MESSAGES_PATH;
        let body = json!({"receive_id": "oc_1"});
        assert_eq!(
            receiver(m, "receive_id_type=chat_id", &body).as_deref(),
            Some("chat_id:oc_1")
        );
        assert_eq!(
            receiver(&format!("{m}/"), "", &Value::Null).as_deref(),
            Some(":")
        );
        assert_eq!(
            receiver(&format!("{m}/om_9/reply"), "", &json!({})).as_deref(),
            Some("reply:om_9")
        );
        assert_eq!(receiver(&format!("{m}//reply"), "", &json!({})), None);
        assert_eq!(receiver(&format!("{m}/a/b/reply"), "", &json!({})), None);
        assert_eq!(receiver("/open-apis/im/v1/chats", "", &json!({})), None);
    }
}
