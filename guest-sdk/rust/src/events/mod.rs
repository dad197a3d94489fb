//! Lenient serde models of Feishu event bodies (the envelope's `event` object).
//!
//! Every field is defaulted when missing or `null`, unknown fields are ignored, and the raw JSON
//! stays reachable through [`crate::Event::raw`] / [`crate::Event::json`]. Field names follow
//! Feishu's JSON. Timestamps are kept as strings where Feishu sends strings.
//!
//! | event type | model |
//! |---|---|
//! | `im.message.receive_v1` | [`MessageReceive`] |
//! | `im.message.message_read_v1` | [`MessageRead`] |
//! | `im.chat.member.user_added_v1` | [`ChatMemberUserAdded`] |
//! | `im.chat.member.user_deleted_v1` | [`ChatMemberUserDeleted`] |
//! | `im.chat.updated_v1` | [`ChatUpdated`] |
//! | `im.chat.member.bot.added_v1` | [`ChatMemberBotAdded`] |
//! | `im.chat.member.bot.deleted_v1` | [`ChatMemberBotDeleted`] |
//! | `im.message.reaction.created_v1` | [`ReactionCreated`] |
//! | `im.message.reaction.deleted_v1` | [`ReactionDeleted`] |
//! | `im.message.recalled_v1` | [`MessageRecalled`] |
//! | `im.chat.disbanded_v1` | [`ChatDisbanded`] |
//! | `im.chat.access_event.bot_p2p_chat_entered_v1` | [`BotP2pChatEntered`] |
//! | `application.bot.menu_v6` | [`BotMenu`] |
//! | `contact.user.created_v3` | [`UserCreated`] |
//! | `contact.user.updated_v3` | [`UserUpdated`] |
//! | `contact.user.deleted_v3` | [`UserDeleted`] |
//! | `contact.department.created_v3` | [`DepartmentCreated`] |
//! | `contact.department.updated_v3` | [`DepartmentUpdated`] |
//! | `contact.department.deleted_v3` | [`DepartmentDeleted`] |
//! | `approval.approval.approved_v1` | [`ApprovalApproved`] |
//! | `approval.approval.rejected_v1` | [`ApprovalRejected`] |
//! | `calendar.calendar.event.changed_v4` | [`CalendarEventChanged`] |
//! | `vc.meeting.meeting_started_v1` | [`MeetingStarted`] |
//! | `vc.meeting.meeting_ended_v1` | [`MeetingEnded`] |
//! | `card.action.trigger` (callback) | [`CardAction`] |
//! | `aviary.message.merged_v1` (a merged turn, see the manifest's `merge`) | [`MergedMessages`] |
//! | `url.preview.get` (callback) | [`UrlPreview`] |
//!
//! A message's `content` is typed by [`Message::parse_content`] ([`MessageContent`], one model
//! per `message_type`); mentions: [`Message::text_with_names`],
//! [`Message::text_without_mentions`], [`Message::mentions_bot`], [`Message::mentions_all`].

use crate::de::model;
use serde::de::DeserializeOwned;

mod approval;
mod calendar;
mod card_action;
mod contact;
mod content;
mod im;
mod im_chat;
mod merged;
mod url_preview;
mod vc;

pub use approval::*;
pub use calendar::*;
pub use card_action::*;
pub use contact::*;
pub use content::*;
pub use im::*;
pub use im_chat::*;
pub use merged::*;
pub use url_preview::*;
pub use vc::*;

/// A typed event body with its Feishu event type.
pub trait EventBody: DeserializeOwned {
    /// The `header.event_type` this body belongs to.
    const EVENT_TYPE: &'static str;
}

model! {
    /// A user's ids (`{union_id, user_id, open_id}`); which are present depends on the app's
    /// permissions.
    pub struct UserId {
        pub union_id: String,
        pub user_id: String,
        pub open_id: String,
    }
}

macro_rules! typed_events {
    ($( $(#[$doc:meta])* $variant:ident($ty:ident) = $name:literal, )*) => {
        $(
            impl EventBody for $ty {
                const EVENT_TYPE: &'static str = $name;
            }
        )*

        /// Every typed event, chosen by event type; see [`crate::Event::typed`]. Serializes as
        /// its body (`Other` as `null`).
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        #[serde(untagged)]
        #[allow(clippy::large_enum_variant)]
        #[non_exhaustive]
        pub enum TypedEvent {
            $( $(#[$doc])* $variant($ty), )*
            /// Any other event type: read it with [`crate::Event::body`] or
            /// [`crate::Event::json`].
            Other,
        }

        impl TypedEvent {
            /// Every event type that has a model.
            pub const EVENT_TYPES: &'static [&'static str] = &[$($name),*];

            pub(crate) fn from_event(event: &crate::Event) -> Result<TypedEvent, crate::Error> {
                Ok(match event.event_type.as_str() {
                    $( $name => TypedEvent::$variant(event.body()?), )*
                    _ => TypedEvent::Other,
                })
            }

            /// The event type of this body (`None` for `Other`).
            pub fn event_type(&self) -> Option<&'static str> {
                match self {
                    $( TypedEvent::$variant(_) => Some($name), )*
                    TypedEvent::Other => None,
                }
            }
        }
    };
}

typed_events! {
    /// `im.message.receive_v1`
    MessageReceive(MessageReceive) = "im.message.receive_v1",
    /// `im.message.message_read_v1`
    MessageRead(MessageRead) = "im.message.message_read_v1",
    /// `im.chat.member.user_added_v1`
    ChatMemberUserAdded(ChatMemberUserAdded) = "im.chat.member.user_added_v1",
    /// `im.chat.member.user_deleted_v1`
    ChatMemberUserDeleted(ChatMemberUserDeleted) = "im.chat.member.user_deleted_v1",
    /// `im.chat.updated_v1`
    ChatUpdated(ChatUpdated) = "im.chat.updated_v1",
    /// `im.chat.member.bot.added_v1`
    ChatMemberBotAdded(ChatMemberBotAdded) = "im.chat.member.bot.added_v1",
    /// `im.chat.member.bot.deleted_v1`
    ChatMemberBotDeleted(ChatMemberBotDeleted) = "im.chat.member.bot.deleted_v1",
    /// `im.message.reaction.created_v1`
    ReactionCreated(ReactionCreated) = "im.message.reaction.created_v1",
    /// `im.message.reaction.deleted_v1`
    ReactionDeleted(ReactionDeleted) = "im.message.reaction.deleted_v1",
    /// `im.message.recalled_v1`
    MessageRecalled(MessageRecalled) = "im.message.recalled_v1",
    /// `im.chat.disbanded_v1`
    ChatDisbanded(ChatDisbanded) = "im.chat.disbanded_v1",
    /// `im.chat.access_event.bot_p2p_chat_entered_v1`
    BotP2pChatEntered(BotP2pChatEntered) = "im.chat.access_event.bot_p2p_chat_entered_v1",
    /// `application.bot.menu_v6`
    BotMenu(BotMenu) = "application.bot.menu_v6",
    /// `contact.user.created_v3`
    UserCreated(UserCreated) = "contact.user.created_v3",
    /// `contact.user.updated_v3`
    UserUpdated(UserUpdated) = "contact.user.updated_v3",
    /// `contact.user.deleted_v3`
    UserDeleted(UserDeleted) = "contact.user.deleted_v3",
    /// `contact.department.created_v3`
    DepartmentCreated(DepartmentCreated) = "contact.department.created_v3",
    /// `contact.department.updated_v3`
    DepartmentUpdated(DepartmentUpdated) = "contact.department.updated_v3",
    /// `contact.department.deleted_v3`
    DepartmentDeleted(DepartmentDeleted) = "contact.department.deleted_v3",
    /// `approval.approval.approved_v1`
    ApprovalApproved(ApprovalApproved) = "approval.approval.approved_v1",
    /// `approval.approval.rejected_v1`
    ApprovalRejected(ApprovalRejected) = "approval.approval.rejected_v1",
    /// `calendar.calendar.event.changed_v4`
    CalendarEventChanged(CalendarEventChanged) = "calendar.calendar.event.changed_v4",
    /// `vc.meeting.meeting_started_v1`
    MeetingStarted(MeetingStarted) = "vc.meeting.meeting_started_v1",
    /// `vc.meeting.meeting_ended_v1`
    MeetingEnded(MeetingEnded) = "vc.meeting.meeting_ended_v1",
    /// `card.action.trigger` (a callback: answer with a toast or card)
    CardAction(CardAction) = "card.action.trigger",
    /// `aviary.message.merged_v1`: a turn of messages merged by the runtime (`merge` in the
    /// manifest)
    MergedMessages(MergedMessages) = "aviary.message.merged_v1",
    /// `url.preview.get` (a callback: answer with a preview)
    UrlPreview(UrlPreview) = "url.preview.get",
}
