//! Per-chat lanes: events of one chat run one at a time in arrival order; different chats run
//! in parallel. A lane exists only while its chat has an event running or waiting, so idle
//! chats cost nothing. Waiting events are bounded by the connection's receive queue (each one
//! holds a receive slot), so lanes need no bound of their own and never drop an event.
//!
//! The order is fixed when [`ChatLanes::enter`] is called (synchronously, in the order events
//! reach [`super::EventSink::handle`]), not when a future is first polled.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Busy chats and, per chat, the events waiting for their turn (oldest first).
#[derive(Debug, Default, Clone)]
pub struct ChatLanes {
    busy: Arc<Mutex<HashMap<String, VecDeque<oneshot::Sender<()>>>>>,
}

impl ChatLanes {
    /// Empty lanes.
    #[cfg(test)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a place in `chat`'s lane: the turn comes after every ticket taken before for the
    /// same chat has been dropped.
    pub fn enter(&self, chat: &str) -> LaneTicket {
        let mut busy = self.busy.lock().expect("lanes lock");
        let wait = match busy.get_mut(chat) {
            None => {
                busy.insert(chat.to_string(), VecDeque::new());
                None
            }
            Some(waiters) => {
                let (tx, rx) = oneshot::channel();
                waiters.push_back(tx);
                Some(rx)
            }
        };
        LaneTicket {
            busy: self.busy.clone(),
            chat: chat.to_string(),
            wait,
        }
    }

    /// Chats with an event running or waiting.
    #[cfg(any(test, feature = "internals"))]
    pub fn active(&self) -> usize {
        self.busy.lock().expect("lanes lock").len()
    }
}

/// A place in one chat's lane. Dropping it (after its turn, or while still waiting) passes the
/// turn on, so a cancelled event never blocks its chat.
#[derive(Debug)]
pub struct LaneTicket {
    busy: Arc<Mutex<HashMap<String, VecDeque<oneshot::Sender<()>>>>>,
    chat: String,
    /// `None` once this ticket holds the lane.
    wait: Option<oneshot::Receiver<()>>,
}

impl LaneTicket {
    /// Waits until it is this ticket's turn.
    pub async fn turn(&mut self) {
        if let Some(rx) = self.wait.as_mut() {
            // An error means the lanes were dropped; nobody else can be running then.
            let _ = rx.await;
            self.wait = None;
        }
    }

    fn release(&self) {
        let mut busy = self.busy.lock().expect("lanes lock");
        let Some(waiters) = busy.get_mut(&self.chat) else {
            return;
        };
        while let Some(next) = waiters.pop_front() {
            if next.send(()).is_ok() {
                return;
            }
            // That event was cancelled while waiting; try the one after it.
        }
        busy.remove(&self.chat);
    }
}

impl Drop for LaneTicket {
    fn drop(&mut self) {
        match self.wait.as_mut() {
            None => self.release(),
            Some(rx) => {
                rx.close();
                // The turn may have been handed over just before the close.
                if rx.try_recv().is_ok() {
                    self.release();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_chat_in_order_others_free_and_idle_lanes_removed() {
        let lanes = ChatLanes::new();
        let mut a1 = lanes.enter("a");
        let mut a2 = lanes.enter("a");
        let mut b1 = lanes.enter("b");
        a1.turn().await;
        b1.turn().await;
        assert!(
            tokio::time::timeout(Duration::from_millis(50), a2.turn())
                .await
                .is_err(),
            "a2 must wait for a1"
        );
        drop(a1);
        a2.turn().await;
        drop(a2);
        drop(b1);
        assert_eq!(lanes.active(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_passes_the_turn_on() {
        let lanes = ChatLanes::new();
        let a1 = lanes.enter("a");
        let a2 = lanes.enter("a");
        let mut a3 = lanes.enter("a");
        drop(a2);
        drop(a1);
        tokio::time::timeout(Duration::from_secs(1), a3.turn())
            .await
            .expect("a3 gets the turn");
        drop(a3);
        assert_eq!(lanes.active(), 0);
    }
}
