//! Per-handler filters, applied before a handler is called: `chat_types`, `require_mention`,
//! `ignore_senders`, `max_event_age_secs`, and the `chats` / `users` allow-lists.
//!
//! [`FilterSettings`] is the validated form (the manifest builds it with the `check_*`
//! functions and attaches file, line and key to their messages). A [`HandlerFilter`] joins
//! it with the bot's open_id and counts what it filters. Both delivery paths ask the same
//! [`HandlerFilter::apply`] right before they would call the handler: the queue's job runner
//! (`ack = "after-persist"`) and the synchronous [`super::Dispatcher`] (`ack = "after-handle"`,
//! card callbacks). A filtered (event, handler) pair counts as handled: the event is acked 200
//! and the queue marks that handler done; the handler is not called.
//!
//! What each filter looks at, in the order they are checked (the first that refuses names the
//! reason):
//!
//! | filter | refuses | events without the field |
//! |---|---|---|
//! | `max_event_age_secs` | `header.create_time` (v1: `ts`) older than this at dispatch | pass |
//! | `ignore_senders` | `event.sender.sender_type == "app"`: `"app"` this bot, `"bot"` other bots | pass |
//! | `chat_types` | `event.message.chat_type` not listed | pass |
//! | `chats` | the event's chat not listed | **refused** (an allow-list) |
//! | `users` | the acting user (sender, operator) not listed | **refused** (an allow-list) |
//! | `require_mention` | a message in a non-p2p chat that does not @-mention the bot | pass |
//!
//! The bot's open_id comes from `[feishu] bot_open_id`, or `aviary run` asks
//! `GET /open-apis/bot/v3/info` once at start ([`crate::openapi::bot_info`]); it is needed
//! only by `require_mention` and by `ignore_senders` with exactly one of `"app"`/`"bot"`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::handler::GuestEvent;
use crate::limits::{self, filter as lim};

/// A value of `chat_types`: Feishu's `message.chat_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChatType {
    /// A one-to-one chat with the bot.
    P2p,
    /// A group chat.
    Group,
    /// A topic group (threads).
    TopicGroup,
}

impl ChatType {
    /// The name Feishu and the manifest use.
    pub fn name(self) -> &'static str {
        match self {
            ChatType::P2p => "p2p",
            ChatType::Group => "group",
            ChatType::TopicGroup => "topic_group",
        }
    }

    fn from_name(name: &str) -> Option<ChatType> {
        match name {
            "p2p" => Some(ChatType::P2p),
            "group" => Some(ChatType::Group),
            "topic_group" => Some(ChatType::TopicGroup),
            _ => None,
        }
    }
}

/// A value of `ignore_senders`: messages sent by an app (`sender_type == "app"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SenderKind {
    /// This app's own bot (the sender's open_id is the bot's).
    App,
    /// Any other app's bot.
    Bot,
}

impl SenderKind {
    /// The name the manifest uses.
    pub fn name(self) -> &'static str {
        match self {
            SenderKind::App => "app",
            SenderKind::Bot => "bot",
        }
    }
}

/// A filter value dispatch cannot run with (the manifest adds file, line and key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterSettingError {
    /// A `chat_types` entry names no chat type.
    #[error("`{0}` is not a chat type; use \"p2p\", \"group\", \"topic_group\"")]
    ChatType(String),
    /// An `ignore_senders` entry names no sender kind.
    #[error(
        "`{0}` is not a sender kind; use \"app\" (this bot's own messages) or \"bot\" (other \
         bots' messages)"
    )]
    Sender(String),
    /// A `chats` / `users` entry is not an id.
    #[error("`{0}` is not an id (empty, or it has blanks)")]
    Id(String),
    /// An empty `chats` / `users` list.
    #[error("an empty allow-list refuses every event; omit the key to allow all")]
    EmptyAllowList,
    /// A count out of its bounds.
    #[error(transparent)]
    OutOfRange(#[from] limits::OutOfRange),
    /// Filters that need the bot's open_id, without it.
    #[error(
        "handler `{handler}`: its filters ({filters}) need the bot's open_id; set [feishu] \
         bot_open_id or let aviary ask GET /open-apis/bot/v3/info"
    )]
    NoBotOpenId {
        /// The handler.
        handler: String,
        /// Its filters ([`FilterSettings::summary`]).
        filters: String,
    },
}

/// One handler's filters, validated. The default filters nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSettings {
    /// Only messages from these chat types (`None`: any).
    pub chat_types: Option<BTreeSet<ChatType>>,
    /// Messages outside p2p chats only when they @-mention the bot.
    pub require_mention: bool,
    /// Messages from these senders are skipped.
    pub ignore_senders: BTreeSet<SenderKind>,
    /// Events older than this when dispatched are skipped.
    pub max_event_age: Option<Duration>,
    /// Only events of these chats (`chat_id`s); `None`: any.
    pub chats: Option<BTreeSet<String>>,
    /// Only events whose acting user has one of these ids (open_id, union_id or user_id);
    /// `None`: any.
    pub users: Option<BTreeSet<String>>,
}

impl FilterSettings {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == FilterSettings::default()
    }

    /// Whether these filters need the bot's open_id: `require_mention`, or `ignore_senders`
    /// telling the bot's own messages from other bots' (exactly one of `app`, `bot`).
    pub fn needs_bot_open_id(&self) -> bool {
        self.require_mention || self.ignore_senders.len() == 1
    }

    /// Checks one `chat_types` entry.
    pub fn check_chat_type(name: &str) -> Result<ChatType, FilterSettingError> {
        ChatType::from_name(name).ok_or_else(|| FilterSettingError::ChatType(name.to_string()))
    }

    /// Checks one `ignore_senders` entry.
    pub fn check_sender(name: &str) -> Result<SenderKind, FilterSettingError> {
        match name {
            "app" => Ok(SenderKind::App),
            "bot" => Ok(SenderKind::Bot),
            other => Err(FilterSettingError::Sender(other.to_string())),
        }
    }

    /// Checks `max_event_age_secs` (`1..=`[`lim::MAX_EVENT_AGE`] in seconds).
    pub fn check_max_event_age_secs(secs: u64) -> Result<Duration, limits::OutOfRange> {
        limits::within(secs, lim::MAX_EVENT_AGE.as_secs()).map(Duration::from_secs)
    }

    /// Checks one `chats` / `users` entry: a non-empty id without blanks.
    pub fn check_id(id: &str) -> Result<String, FilterSettingError> {
        if id.is_empty() || id.chars().any(char::is_whitespace) {
            return Err(FilterSettingError::Id(id.to_string()));
        }
        Ok(id.to_string())
    }

    /// Checks the length of a `chats` / `users` list: an empty allow-list would refuse every
    /// event, a huge one belongs elsewhere.
    pub fn check_allow_list_len(n: usize) -> Result<(), FilterSettingError> {
        if n == 0 {
            return Err(FilterSettingError::EmptyAllowList);
        }
        limits::within(n as u64, lim::MAX_ALLOW_LIST as u64)?;
        Ok(())
    }

    /// One line for `aviary check` and logs, e.g. `chat_types [p2p], require_mention`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(types) = &self.chat_types {
            let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
            parts.push(format!("chat_types [{}]", names.join(", ")));
        }
        if self.require_mention {
            parts.push("require_mention".to_string());
        }
        if !self.ignore_senders.is_empty() {
            let names: Vec<&str> = self.ignore_senders.iter().map(|s| s.name()).collect();
            parts.push(format!("ignore_senders [{}]", names.join(", ")));
        }
        if let Some(age) = self.max_event_age {
            parts.push(format!("max_event_age_secs {}", age.as_secs()));
        }
        if let Some(chats) = &self.chats {
            parts.push(format!("chats ({})", chats.len()));
        }
        if let Some(users) = &self.users {
            parts.push(format!("users ({})", users.len()));
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// Why an event was not handed to a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilterReason {
    /// `max_event_age_secs`.
    TooOld,
    /// `ignore_senders`.
    Sender,
    /// `chat_types`.
    ChatType,
    /// `chats`.
    ChatNotAllowed,
    /// `users`.
    UserNotAllowed,
    /// `require_mention`.
    NotMentioned,
}

impl FilterReason {
    /// Every reason, in the order of [`FilterCounts`].
    pub const ALL: [FilterReason; 6] = [
        FilterReason::TooOld,
        FilterReason::Sender,
        FilterReason::ChatType,
        FilterReason::ChatNotAllowed,
        FilterReason::UserNotAllowed,
        FilterReason::NotMentioned,
    ];

    /// A short stable name for logs and counters, e.g. `not mentioned`.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterReason::TooOld => "too old",
            FilterReason::Sender => "ignored sender",
            FilterReason::ChatType => "chat type",
            FilterReason::ChatNotAllowed => "chat not allowed",
            FilterReason::UserNotAllowed => "user not allowed",
            FilterReason::NotMentioned => "not mentioned",
        }
    }

    fn index(self) -> usize {
        FilterReason::ALL
            .iter()
            .position(|r| *r == self)
            .expect("every reason is in ALL")
    }
}

impl fmt::Display for FilterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one event was filtered: the reason and the detail (what the event had).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filtered {
    /// Which filter refused it.
    pub reason: FilterReason,
    /// What the event had, e.g. `created 4000 s ago, more than max_event_age_secs = 600`.
    pub detail: String,
}

impl fmt::Display for Filtered {
    /// `not mentioned (a group message that does not @-mention the bot)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason, self.detail)
    }
}

/// Events filtered per reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterCounts([u64; FilterReason::ALL.len()]);

impl FilterCounts {
    /// The count of one reason.
    #[cfg(test)]
    pub fn get(&self, reason: FilterReason) -> u64 {
        self.0[reason.index()]
    }

    /// Every event filtered, whatever the reason.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(reason, count)` for every reason.
    pub fn iter(&self) -> impl Iterator<Item = (FilterReason, u64)> + '_ {
        FilterReason::ALL
            .iter()
            .copied()
            .zip(self.0.iter().copied())
    }
}

/// One handler's filters with the bot's open_id, and what they filtered so far. Shared (in an
/// `Arc`) by the queue's runner and the synchronous dispatcher.
#[derive(Debug)]
pub struct HandlerFilter {
    handler: String,
    settings: FilterSettings,
    bot_open_id: Option<String>,
    counts: [AtomicU64; FilterReason::ALL.len()],
}

impl HandlerFilter {
    /// The filters of `handler`. `bot_open_id` is required when
    /// [`FilterSettings::needs_bot_open_id`]; the error says so.
    pub fn new(
        handler: &str,
        settings: FilterSettings,
        bot_open_id: Option<String>,
    ) -> Result<HandlerFilter, FilterSettingError> {
        if settings.needs_bot_open_id() && bot_open_id.is_none() {
            return Err(FilterSettingError::NoBotOpenId {
                handler: handler.to_string(),
                filters: settings.summary(),
            });
        }
        Ok(HandlerFilter {
            handler: handler.to_string(),
            settings,
            bot_open_id,
            counts: Default::default(),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &FilterSettings {
        &self.settings
    }

    /// Whether `event` would be filtered at `now_ms` (ms since the Unix epoch), and why.
    /// Pure: nothing is counted or logged.
    pub fn check(&self, event: &GuestEvent, now_ms: u64) -> Option<Filtered> {
        let s = &self.settings;
        if let Some(max) = s.max_event_age {
            if let Some(created) = created_ms(&event.create_time) {
                let age = now_ms.saturating_sub(created);
                if age > max.as_millis() as u64 {
                    return Some(Filtered {
                        reason: FilterReason::TooOld,
                        detail: format!(
                            "created {} s ago, more than max_event_age_secs = {}",
                            age / 1000,
                            max.as_secs()
                        ),
                    });
                }
            }
        }
        let needs_body = !s.ignore_senders.is_empty()
            || s.chat_types.is_some()
            || s.chats.is_some()
            || s.users.is_some()
            || s.require_mention;
        if !needs_body {
            return None;
        }
        // A body that is not JSON has none of the fields: it passes every filter but the
        // allow-lists.
        let root: Value = serde_json::from_str(&event.envelope).unwrap_or(Value::Null);
        let body = &root["event"];
        let message = &body["message"];
        if !s.ignore_senders.is_empty() && str_at(&body["sender"]["sender_type"]) == Some("app") {
            let sender = str_at(&body["sender"]["sender_id"]["open_id"]);
            let own = sender.is_some() && sender == self.bot_open_id.as_deref();
            let kind = if own {
                SenderKind::App
            } else {
                SenderKind::Bot
            };
            if s.ignore_senders.contains(&kind) {
                return Some(Filtered {
                    reason: FilterReason::Sender,
                    detail: format!(
                        "sent by {}, and ignore_senders lists \"{}\"",
                        if own { "this bot" } else { "another bot" },
                        kind.name()
                    ),
                });
            }
        }
        let chat_type = str_at(&message["chat_type"]);
        if let (Some(allowed), Some(name)) = (&s.chat_types, chat_type) {
            if !ChatType::from_name(name).is_some_and(|t| allowed.contains(&t)) {
                let names: Vec<&str> = allowed.iter().map(|t| t.name()).collect();
                return Some(Filtered {
                    reason: FilterReason::ChatType,
                    detail: format!("a {name} chat, not one of [{}]", names.join(", ")),
                });
            }
        }
        if let Some(chats) = &s.chats {
            match chat_of(body) {
                Some(chat) if chats.contains(chat) => {}
                Some(chat) => {
                    return Some(Filtered {
                        reason: FilterReason::ChatNotAllowed,
                        detail: format!("chat {chat} is not in chats"),
                    })
                }
                None => {
                    return Some(Filtered {
                        reason: FilterReason::ChatNotAllowed,
                        detail: "the event names no chat, and chats is an allow-list".into(),
                    })
                }
            }
        }
        if let Some(users) = &s.users {
            let ids = user_ids(body);
            if !ids.iter().any(|id| users.contains(*id)) {
                let detail = match ids.first() {
                    Some(id) => format!("user {id} is not in users"),
                    None => "the event names no user, and users is an allow-list".to_string(),
                };
                return Some(Filtered {
                    reason: FilterReason::UserNotAllowed,
                    detail,
                });
            }
        }
        if s.require_mention {
            if let Some(name) = chat_type.filter(|t| *t != "p2p") {
                let bot = self.bot_open_id.as_deref().unwrap_or_default();
                let mentioned = message["mentions"].as_array().is_some_and(|list| {
                    list.iter()
                        .any(|m| str_at(&m["id"]["open_id"]) == Some(bot) && !bot.is_empty())
                });
                if !mentioned {
                    return Some(Filtered {
                        reason: FilterReason::NotMentioned,
                        detail: format!("a {name} message that does not @-mention the bot"),
                    });
                }
            }
        }
        None
    }

    /// [`HandlerFilter::check`] now, counting and logging a filtered event: what both delivery
    /// paths call right before the handler. `Some`: do not call it; the pair is handled.
    pub fn apply(&self, event: &GuestEvent, trace_id: &str) -> Option<Filtered> {
        let filtered = self.check(event, now_ms())?;
        self.counts[filtered.reason.index()].fetch_add(1, Ordering::Relaxed);
        let (handler, event_id, event_type) = (&self.handler, &event.event_id, &event.event_type);
        let reason = filtered.reason.as_str();
        let detail = &filtered.detail;
        if filtered.reason == FilterReason::TooOld {
            // The storm after an outage: worth seeing at the default level.
            tracing::info!(
                handler,
                event_id,
                event_type,
                trace_id,
                reason,
                detail,
                "filtered: event skipped, acked"
            );
        } else {
            tracing::debug!(
                handler,
                event_id,
                event_type,
                trace_id,
                reason,
                detail,
                "filtered: event skipped, acked"
            );
        }
        Some(filtered)
    }

    /// What it filtered so far, per reason.
    pub fn counts(&self) -> FilterCounts {
        FilterCounts(std::array::from_fn(|i| {
            self.counts[i].load(Ordering::Relaxed)
        }))
    }
}

fn str_at(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

/// The event's chat, by the same rules as the envelope's `chat_id`
/// ([`crate::protocol::envelope::EventMeta::chat_id`]).
fn chat_of(body: &Value) -> Option<&str> {
    str_at(&body["message"]["chat_id"])
        .or_else(|| str_at(&body["chat_id"]))
        .or_else(|| str_at(&body["context"]["open_chat_id"]))
        .or_else(|| str_at(&body["open_chat_id"]))
}

/// The acting user's ids (open_id, union_id, user_id): a message's sender, a card's or bot
/// menu's operator, a membership change's operator, a reaction's user.
fn user_ids(body: &Value) -> Vec<&str> {
    let candidates = [
        &body["sender"]["sender_id"],
        &body["operator"]["operator_id"],
        &body["operator"],
        &body["operator_id"],
        &body["user_id"],
    ];
    for ids in candidates {
        let found: Vec<&str> = ["open_id", "union_id", "user_id"]
            .iter()
            .filter_map(|k| str_at(&ids[*k]))
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    // Legacy (v1) events carry the user's open_id at the top of the body.
    str_at(&body["open_id"]).into_iter().collect()
}

/// `create_time` in ms since the epoch: v2 sends epoch milliseconds, v1 (`ts`) seconds with a
/// fraction. `None` when it cannot be read (the age filter then passes the event).
fn created_ms(create_time: &str) -> Option<u64> {
    let t = create_time.trim();
    if t.is_empty() {
        return None;
    }
    if t.contains('.') {
        let secs: f64 = t.parse().ok()?;
        return (secs.is_finite() && secs >= 0.0).then_some((secs * 1000.0) as u64);
    }
    t.parse().ok()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
