//! More `im.*` events bots need: the bot joining or leaving chats, reactions, recalls,
//! disbanded chats and the first p2p open.

use super::UserId;
use crate::de::model;
use std::collections::BTreeMap;

macro_rules! chat_event {
    ($(#[$m:meta])* $name:ident) => {
        model! {
            $(#[$m])*
            pub struct $name {
                pub chat_id: String,
                /// Who did it.
                pub operator_id: UserId,
                /// Whether the chat is external (cross-tenant).
                pub external: bool,
                pub operator_tenant_key: String,
                /// The chat's name.
                pub name: String,
                pub i18n_names: BTreeMap<String, String>,
            }
        }
    };
}

chat_event! {
    /// `im.chat.member.bot.added_v1`: the bot was added to a chat.
    ChatMemberBotAdded
}
chat_event! {
    /// `im.chat.member.bot.deleted_v1`: the bot was removed from a chat.
    ChatMemberBotDeleted
}
chat_event! {
    /// `im.chat.disbanded_v1`: a chat the bot was in was disbanded.
    ChatDisbanded
}

model! {
    /// The emoji of a reaction.
    pub struct ReactionType {
        /// e.g. `THUMBSUP`, `SMILE`.
        pub emoji_type: String,
    }
}

macro_rules! reaction_event {
    ($(#[$m:meta])* $name:ident) => {
        model! {
            $(#[$m])*
            pub struct $name {
                pub message_id: String,
                pub reaction_type: ReactionType,
                /// `"user"` or `"app"`.
                pub operator_type: String,
                /// Set when `operator_type` is `"user"`.
                pub user_id: UserId,
                /// Set when `operator_type` is `"app"`.
                pub app_id: String,
                /// Epoch milliseconds, as a string.
                pub action_time: String,
            }
        }
    };
}

reaction_event! {
    /// `im.message.reaction.created_v1`: someone added a reaction to a message.
    ReactionCreated
}
reaction_event! {
    /// `im.message.reaction.deleted_v1`: someone removed a reaction.
    ReactionDeleted
}

model! {
    /// `im.message.recalled_v1`: a message was recalled.
    pub struct MessageRecalled {
        pub message_id: String,
        pub chat_id: String,
        /// Epoch milliseconds, as a string.
        pub recall_time: String,
        /// `message_owner`, `group_owner`, `group_manager`, `enterprise_manager`.
        pub recall_type: String,
    }
}

model! {
    /// `im.chat.access_event.bot_p2p_chat_entered_v1`: a user opened the p2p chat with the bot.
    pub struct BotP2pChatEntered {
        pub chat_id: String,
        pub operator_id: UserId,
        pub last_message_id: String,
        /// Epoch milliseconds, as a string.
        pub last_message_create_time: String,
    }
}

model! {
    /// `application.bot.menu_v6`: a user clicked an item of the bot's menu.
    pub struct BotMenu {
        pub operator: MenuOperator,
        /// The `event_key` configured for the menu item.
        pub event_key: String,
        /// Epoch seconds.
        pub timestamp: i64,
    }
}

model! {
    /// Who clicked the menu.
    pub struct MenuOperator {
        pub operator_name: String,
        pub operator_id: UserId,
    }
}
