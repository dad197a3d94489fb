//! `im.*` events: messages and chats.

use super::{MessageContent, UserId};
use crate::de::model;
use std::collections::BTreeMap;

model! {
    /// `im.message.receive_v1`: a message sent to the bot (p2p) or in a group it is in.
    pub struct MessageReceive {
        pub sender: Sender,
        pub message: Message,
    }
}

/// Another name for [`MessageReceive`].
pub type MessageEvent = MessageReceive;

model! {
    /// Who sent a message.
    pub struct Sender {
        pub sender_id: UserId,
        /// `"user"`, `"app"` (another bot) …
        pub sender_type: String,
        pub tenant_key: String,
    }
}

model! {
    /// A received message.
    pub struct Message {
        pub message_id: String,
        pub root_id: String,
        pub parent_id: String,
        /// Epoch milliseconds, as a string.
        pub create_time: String,
        pub update_time: String,
        pub chat_id: String,
        pub thread_id: String,
        /// `"p2p"` or `"group"`.
        pub chat_type: String,
        /// `"text"`, `"post"`, `"image"`, `"file"`, `"interactive"`, …
        pub message_type: String,
        /// The content as a JSON **string**, e.g. `{"text":"hello"}`; see [`Message::text`].
        pub content: String,
        pub mentions: Vec<Mention>,
        pub user_agent: String,
    }
}

model! {
    /// An @-mention; its `key` (`@_user_1`) appears in the message text.
    pub struct Mention {
        pub key: String,
        pub id: UserId,
        pub name: String,
        pub tenant_key: String,
    }
}

impl Message {
    /// The `content` JSON string, parsed.
    pub fn content_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.content).ok()
    }

    /// The text of a `text` message (mention keys such as `@_user_1` included); `None` for
    /// other message types or unparsable content.
    pub fn text(&self) -> Option<String> {
        if self.message_type != "text" {
            return None;
        }
        match self.content_json()?.get("text")? {
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The content typed by `message_type` ([`MessageContent::Unknown`] for other types).
    pub fn parse_content(&self) -> Result<MessageContent, serde_json::Error> {
        MessageContent::parse(&self.message_type, &self.content)
    }

    /// The content as plain text, any message type ([`MessageContent::plain_text`]), mention
    /// placeholders kept; `None` for unparsable content.
    pub fn plain_text(&self) -> Option<String> {
        self.parse_content().ok().map(|c| c.plain_text())
    }

    /// [`Message::plain_text`] with each `@_user_N` replaced by `@name` and `@_all` by `@all`.
    pub fn text_with_names(&self) -> Option<String> {
        let mut text = self.plain_text()?;
        for m in self.mentions_longest_first() {
            let name = if m.name.is_empty() {
                String::new()
            } else {
                format!("@{}", m.name)
            };
            text = text.replace(&m.key, &name);
        }
        Some(text.replace(AT_ALL, "@all"))
    }

    /// [`Message::plain_text`] without the mention placeholders (and `@_all`), spaces collapsed
    /// within each line, trimmed: what the user typed after `@bot`.
    pub fn text_without_mentions(&self) -> Option<String> {
        let mut text = self.plain_text()?;
        for m in self.mentions_longest_first() {
            text = text.replace(&m.key, "");
        }
        let text = text.replace(AT_ALL, "");
        let lines: Vec<String> = text
            .split('\n')
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        Some(lines.join("\n").trim().to_string())
    }

    /// Whether the bot with this open_id is @-mentioned (from config, or learned from
    /// `im.chat.member.bot.added_v1`).
    pub fn mentions_bot(&self, bot_open_id: &str) -> bool {
        !bot_open_id.is_empty() && self.mentions.iter().any(|m| m.id.open_id == bot_open_id)
    }

    /// Whether the message @-mentions everyone (`@_all` in the text, or an `at` of all).
    pub fn mentions_all(&self) -> bool {
        self.mentions.iter().any(|m| m.key == AT_ALL)
            || self.plain_text().is_some_and(|t| t.contains(AT_ALL))
    }

    /// Mentions with a key, longest key first (so `@_user_1` never eats part of `@_user_10`).
    fn mentions_longest_first(&self) -> Vec<&Mention> {
        let mut ms: Vec<&Mention> = self.mentions.iter().filter(|m| !m.key.is_empty()).collect();
        ms.sort_by_key(|m| std::cmp::Reverse(m.key.len()));
        ms
    }
}

/// The placeholder Feishu puts in the text for an @all.
const AT_ALL: &str = "@_all";

impl MessageReceive {
    /// The text of a `text` message; see [`Message::text`].
    pub fn text(&self) -> Option<String> {
        self.message.text()
    }

    /// The content typed by `message_type`; see [`Message::parse_content`].
    pub fn parse_content(&self) -> Result<MessageContent, serde_json::Error> {
        self.message.parse_content()
    }

    /// Whether the bot with this open_id is @-mentioned; see [`Message::mentions_bot`].
    pub fn mentions_bot(&self, bot_open_id: &str) -> bool {
        self.message.mentions_bot(bot_open_id)
    }

    /// Whether another app (bot) sent it: most bots should ignore those.
    pub fn from_app(&self) -> bool {
        self.sender.sender_type == "app"
    }
}

model! {
    /// `im.message.message_read_v1`: a user read messages the bot sent (p2p only).
    pub struct MessageRead {
        pub reader: Reader,
        pub message_id_list: Vec<String>,
    }
}

model! {
    /// Who read messages, and when.
    pub struct Reader {
        pub reader_id: UserId,
        /// Epoch milliseconds, as a string.
        pub read_time: String,
        pub tenant_key: String,
    }
}

model! {
    /// A user added to or removed from a chat.
    pub struct ChatMember {
        pub name: String,
        pub tenant_key: String,
        pub user_id: UserId,
    }
}

model! {
    /// `im.chat.member.user_added_v1`: users joined a chat the bot is in.
    pub struct ChatMemberUserAdded {
        pub chat_id: String,
        pub operator_id: UserId,
        pub external: bool,
        pub operator_tenant_key: String,
        pub users: Vec<ChatMember>,
        /// The chat's name.
        pub name: String,
        pub i18n_names: BTreeMap<String, String>,
    }
}

model! {
    /// `im.chat.member.user_deleted_v1`: users were removed from a chat the bot is in.
    pub struct ChatMemberUserDeleted {
        pub chat_id: String,
        pub operator_id: UserId,
        pub external: bool,
        pub operator_tenant_key: String,
        pub users: Vec<ChatMember>,
        pub name: String,
        pub i18n_names: BTreeMap<String, String>,
    }
}

model! {
    /// `im.chat.updated_v1`: a chat's settings changed.
    pub struct ChatUpdated {
        pub chat_id: String,
        pub operator_id: UserId,
        pub external: bool,
        pub operator_tenant_key: String,
        pub after_change: ChatChange,
        pub before_change: ChatChange,
        pub moderator_list: ModeratorList,
    }
}

model! {
    /// The changed chat settings (only changed fields are present).
    pub struct ChatChange {
        pub avatar: String,
        pub name: String,
        pub description: String,
        pub i18n_names: BTreeMap<String, String>,
        pub add_member_permission: String,
        pub share_card_permission: String,
        pub at_all_permission: String,
        pub edit_permission: String,
        pub membership_approval: String,
        pub join_message_visibility: String,
        pub leave_message_visibility: String,
        pub moderation_permission: String,
        pub owner_id: UserId,
        /// `{status, screenshot_has_permission_setting, download_has_permission_setting,
        /// message_has_permission_setting}`, as raw JSON.
        pub restricted_mode_setting: serde_json::Value,
    }
}

model! {
    /// Moderators added and removed.
    pub struct ModeratorList {
        pub added_member_list: Vec<Moderator>,
        pub removed_member_list: Vec<Moderator>,
    }
}

model! {
    pub struct Moderator {
        pub tenant_key: String,
        pub user_id: UserId,
    }
}
