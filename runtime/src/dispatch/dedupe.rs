//! In-memory, bounded idempotency for redeliveries (spec §7, scenario 14): Feishu redelivers an
//! event whose ack was late or failed, with the same `event_id` (or `message_id` for
//! `im.message.*`), possibly to another connection. [`Deduplicating`] wraps any sink so that:
//! - a duplicate of an event that was handled successfully is answered from memory (the same
//!   ack, including a callback's answer) without running the handler again;
//! - a duplicate that arrives while the first copy is still being handled waits for that result;
//! - a failed event is forgotten, so its redelivery runs the handler again.
//!
//! The window is per process and lost on restart; the durable queue (a later issue) replaces it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{EventSink, HandleFuture, HandlerResult, InboundEvent};
use crate::limits::{DEDUPE_MAX_ENTRIES, DEDUPE_WINDOW};

/// A sink that runs `inner` at most once per successfully handled dedupe id.
pub struct Deduplicating<S> {
    inner: S,
    state: Arc<Mutex<State>>,
    window: Duration,
    max_entries: usize,
}

#[derive(Default)]
struct State {
    done: HashMap<String, HandlerResult>,
    done_order: VecDeque<(Instant, String)>,
    /// Ids being handled, with the duplicates waiting for their result (no allocation until a
    /// duplicate actually arrives).
    in_flight: HashMap<String, Vec<oneshot::Sender<HandlerResult>>>,
    duplicates: u64,
}

impl<S: EventSink> Deduplicating<S> {
    /// Wraps `inner` with the default window and bound from `limits`.
    pub fn new(inner: S) -> Self {
        Self::with_bounds(inner, DEDUPE_WINDOW, DEDUPE_MAX_ENTRIES)
    }

    /// Wraps `inner`, remembering at most `max_entries` ids for at most `window`.
    pub fn with_bounds(inner: S, window: Duration, max_entries: usize) -> Self {
        Deduplicating {
            inner,
            state: Arc::default(),
            window,
            max_entries: max_entries.max(1),
        }
    }

    /// Wraps `inner` with this one's memory and bounds (a reload swaps the sink behind it): a
    /// delivery handled, or being handled, through either is a duplicate for both, and the
    /// duplicates count is shared.
    pub fn sharing<T: EventSink>(&self, inner: T) -> Deduplicating<T> {
        Deduplicating {
            inner,
            state: self.state.clone(),
            window: self.window,
            max_entries: self.max_entries,
        }
    }

    /// Duplicates answered without running the handler so far.
    pub fn duplicates(&self) -> u64 {
        self.state.lock().expect("dedupe lock").duplicates
    }
}

/// Removes the in-flight entry and wakes waiters even if the handler's future is dropped.
struct InFlight {
    key: String,
    state: Arc<Mutex<State>>,
    window: Duration,
    max_entries: usize,
    finished: bool,
}

impl InFlight {
    fn finish(mut self, result: &HandlerResult) {
        self.finished = true;
        let mut st = self.state.lock().expect("dedupe lock");
        let waiters = st.in_flight.remove(&self.key).unwrap_or_default();
        if matches!(result, HandlerResult::Done | HandlerResult::Respond(_)) {
            let now = Instant::now();
            let key = std::mem::take(&mut self.key);
            st.done.insert(key.clone(), result.clone());
            st.done_order.push_back((now, key));
            expire(&mut st, now, self.window, self.max_entries);
        }
        drop(st);
        for waiter in waiters {
            let _ = waiter.send(result.clone());
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.finished {
            let waiters = self
                .state
                .lock()
                .expect("dedupe lock")
                .in_flight
                .remove(&self.key)
                .unwrap_or_default();
            for waiter in waiters {
                let _ = waiter.send(HandlerResult::Failed("handling was cancelled".into()));
            }
        }
    }
}

fn expire(st: &mut State, now: Instant, window: Duration, max_entries: usize) {
    while let Some((at, key)) = st.done_order.front() {
        if now.duration_since(*at) < window && st.done.len() <= max_entries {
            break;
        }
        st.done.remove(key);
        st.done_order.pop_front();
    }
}

impl<S: EventSink> EventSink for Deduplicating<S> {
    fn handle(&self, event: InboundEvent) -> HandleFuture {
        let key = event.meta.dedupe_id.clone();
        let mut st = self.state.lock().expect("dedupe lock");
        expire(&mut st, Instant::now(), self.window, self.max_entries);
        if let Some(result) = st.done.get(&key).cloned() {
            st.duplicates += 1;
            tracing::info!(dedupe_id = %key, event_type = %event.meta.event_type, "duplicate delivery answered from the dedupe window");
            return Box::pin(async move { result });
        }
        if let Some(waiters) = st.in_flight.get_mut(&key) {
            let (tx, rx) = oneshot::channel();
            waiters.push(tx);
            st.duplicates += 1;
            tracing::info!(dedupe_id = %key, "duplicate delivery while the first copy is being handled; waiting for it");
            return Box::pin(async move {
                rx.await
                    .unwrap_or_else(|_| HandlerResult::Failed("first copy vanished".into()))
            });
        }
        st.in_flight.insert(key.clone(), Vec::new());
        drop(st);
        let guard = InFlight {
            key,
            state: self.state.clone(),
            window: self.window,
            max_entries: self.max_entries,
            finished: false,
        };
        let fut = self.inner.handle(event);
        Box::pin(async move {
            let result = fut.await;
            guard.finish(&result);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::envelope::parse_envelope;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        calls: AtomicUsize,
        fail_first: bool,
        delay: Duration,
    }

    impl EventSink for Arc<Counting> {
        fn handle(&self, _event: InboundEvent) -> HandleFuture {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let (fail, delay) = (self.fail_first && n == 0, self.delay);
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                if fail {
                    HandlerResult::Failed("boom".into())
                } else {
                    HandlerResult::Respond(b"{}".to_vec())
                }
            })
        }
    }

    fn event(id: &str) -> InboundEvent {
        let json = format!(
            r#"{{"schema":"2.0","header":{{"event_id":"{id}","event_type":"x.y"}},"event":{{}}}}"#
        );
        let env = parse_envelope(json.as_bytes(), None).unwrap();
        InboundEvent {
            meta: env.meta,
            json: env.json,
            trace_id: String::new(),
            frame_message_id: String::new(),
        }
    }

    fn counting(fail_first: bool, delay_ms: u64) -> Arc<Counting> {
        Arc::new(Counting {
            calls: AtomicUsize::new(0),
            fail_first,
            delay: Duration::from_millis(delay_ms),
        })
    }

    #[tokio::test]
    async fn success_is_remembered_and_replayed() {
        let inner = counting(false, 0);
        let sink = Deduplicating::new(inner.clone());
        assert_eq!(
            sink.handle(event("a")).await,
            HandlerResult::Respond(b"{}".to_vec())
        );
        assert_eq!(
            sink.handle(event("a")).await,
            HandlerResult::Respond(b"{}".to_vec())
        );
        sink.handle(event("b")).await;
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
        assert_eq!(sink.duplicates(), 1);
    }

    #[tokio::test]
    async fn a_successor_sharing_the_memory_answers_what_its_predecessor_handled() {
        let old_inner = counting(false, 100);
        let old = Deduplicating::new(old_inner.clone());
        let new_inner = counting(false, 0);
        let new = old.sharing(new_inner.clone());
        // "a" still running on the old sink while its redelivery reaches the new one; "b"
        // handled by the old one before the swap.
        old.handle(event("b")).await;
        let (first, again) = tokio::join!(old.handle(event("a")), new.handle(event("a")));
        assert_eq!(first, again);
        assert_eq!(
            new.handle(event("b")).await,
            HandlerResult::Respond(b"{}".to_vec())
        );
        assert_eq!(old_inner.calls.load(Ordering::SeqCst), 2);
        assert_eq!(
            new_inner.calls.load(Ordering::SeqCst),
            0,
            "nothing ran twice"
        );
        new.handle(event("c")).await;
        assert_eq!(new_inner.calls.load(Ordering::SeqCst), 1);
        assert_eq!((old.duplicates(), new.duplicates()), (2, 2));
    }

    #[tokio::test]
    async fn concurrent_duplicate_waits_for_the_first() {
        let inner = counting(false, 100);
        let sink = Deduplicating::new(inner.clone());
        let (a, b) = tokio::join!(sink.handle(event("a")), sink.handle(event("a")));
        assert_eq!(a, b);
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failures_are_forgotten_so_redelivery_runs_again() {
        let inner = counting(true, 0);
        let sink = Deduplicating::new(inner.clone());
        assert!(matches!(
            sink.handle(event("a")).await,
            HandlerResult::Failed(_)
        ));
        assert!(matches!(
            sink.handle(event("a")).await,
            HandlerResult::Respond(_)
        ));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn window_is_bounded() {
        let inner = counting(false, 0);
        let sink = Deduplicating::with_bounds(inner.clone(), Duration::from_secs(60), 2);
        for id in ["a", "b", "c", "a"] {
            sink.handle(event(id)).await;
        }
        assert_eq!(
            inner.calls.load(Ordering::SeqCst),
            4,
            "a was evicted by the bound"
        );
        let dropped = Deduplicating::new(inner.clone());
        let fut = dropped.handle(event("z"));
        drop(fut);
        assert!(
            dropped.state.lock().unwrap().in_flight.is_empty(),
            "a dropped handler leaves no in-flight entry"
        );
    }
}
