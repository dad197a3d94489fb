//! `aviary.message.merged_v1`: a turn of messages the runtime merged (burst merge per chat,
//! `merge = { window_ms, max_events }` on the handler in the manifest).

use super::{MessageReceive, Sender};
use crate::de::model;
use crate::Envelope;

model! {
    /// One turn: the `im.message.receive_v1` messages of one chat that arrived within the
    /// handler's merge window, in order. The event's `dedupe_id` is the first message's; the
    /// handler's outcome applies to every message of the turn.
    pub struct MergedMessages {
        /// The chat of every message.
        pub chat_id: String,
        /// How many messages (`events.len()`).
        pub count: u32,
        /// The original envelopes, in arrival order.
        pub events: Vec<Envelope<MessageReceive>>,
    }
}

impl MergedMessages {
    /// The messages, in order.
    pub fn messages(&self) -> impl Iterator<Item = &MessageReceive> {
        self.events.iter().map(|e| &e.event)
    }

    /// Their `message_id`s, in order.
    pub fn message_ids(&self) -> Vec<&str> {
        self.messages()
            .map(|m| m.message.message_id.as_str())
            .collect()
    }

    /// The first message's sender.
    pub fn sender(&self) -> Option<&Sender> {
        self.messages().next().map(|m| &m.sender)
    }

    /// The combined text: each message's [`crate::events::Message::text_without_mentions`]
    /// (any message type), the non-empty ones joined with a newline.
    pub fn text(&self) -> String {
        self.join(|m| m.message.text_without_mentions())
    }

    /// Each message's [`crate::events::Message::text_with_names`], joined like
    /// [`MergedMessages::text`].
    pub fn text_with_names(&self) -> String {
        self.join(|m| m.message.text_with_names())
    }

    /// Whether some message @-mentions the bot with this open_id.
    pub fn mentions_bot(&self, bot_open_id: &str) -> bool {
        self.messages().any(|m| m.mentions_bot(bot_open_id))
    }

    fn join(&self, text: impl Fn(&MessageReceive) -> Option<String>) -> String {
        let parts: Vec<String> = self
            .messages()
            .filter_map(text)
            .filter(|t| !t.is_empty())
            .collect();
        parts.join("\n")
    }
}
