//! Typed message content: the `content` JSON string of `im.message.receive_v1`, one model per
//! `message_type`, and its plain-text rendering.
//!
//! The rendering (the same in every Aviary SDK, checked against
//! `examples/events/messages/expected.json`): `text` as is; `post`, `todo` and `interactive` as
//! their title and one line per paragraph; other types as a short tag such as `[image]` or
//! `[file: report.pdf]`; unknown types as `""`. `@_user_N` placeholders are kept; see
//! [`crate::events::Message::text_with_names`].

use crate::de::model;
use serde::Serialize;

/// A message's content, chosen by `message_type`; see [`crate::events::Message::parse_content`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum MessageContent {
    Text(TextContent),
    Post(PostContent),
    Image(ImageContent),
    File(FileContent),
    Audio(AudioContent),
    Media(MediaContent),
    Sticker(StickerContent),
    Interactive(InteractiveContent),
    ShareChat(ShareChatContent),
    ShareUser(ShareUserContent),
    MergeForward(MergeForwardContent),
    Location(LocationContent),
    Todo(TodoContent),
    System(SystemContent),
    /// A `message_type` without a model: the content JSON as received.
    Unknown(UnknownContent),
}

model! {
    /// `text`: `{"text": "@_user_1 hello"}`.
    pub struct TextContent {
        /// The text, with `@_user_N` (and `@_all`) placeholders for mentions.
        pub text: String,
    }
}

model! {
    /// `post` (rich text): a title and paragraphs of elements.
    pub struct PostContent {
        pub title: String,
        /// Paragraphs, each a list of elements.
        pub content: Vec<Vec<PostElement>>,
    }
}

model! {
    /// One element of a rich-text paragraph; which fields are set depends on `tag`
    /// (`text`, `a`, `at`, `img`, `media`, `emotion`, `code_block`, `hr`, `md`).
    pub struct PostElement {
        pub tag: String,
        /// `text`, `a`, `code_block`, `md`.
        pub text: String,
        /// `a`.
        pub href: String,
        /// `at`: a placeholder such as `@_user_1` (or `@_all`), or an id.
        pub user_id: String,
        /// `at`.
        pub user_name: String,
        /// `img`, and the cover of `media`.
        pub image_key: String,
        /// `media`.
        pub file_key: String,
        /// `emotion`, e.g. `SMILE`.
        pub emoji_type: String,
        /// `code_block`.
        pub language: String,
        /// `bold`, `italic`, `underline`, `lineThrough`.
        pub style: Vec<String>,
        /// `img`: pixels.
        pub width: i64,
        pub height: i64,
    }
}

model! {
    /// `image`.
    pub struct ImageContent {
        pub image_key: String,
    }
}

model! {
    /// `file`.
    pub struct FileContent {
        pub file_key: String,
        pub file_name: String,
    }
}

model! {
    /// `audio`.
    pub struct AudioContent {
        pub file_key: String,
        /// Milliseconds.
        pub duration: i64,
    }
}

model! {
    /// `media` (a video with a cover image).
    pub struct MediaContent {
        pub file_key: String,
        pub image_key: String,
        pub file_name: String,
        /// Milliseconds.
        pub duration: i64,
    }
}

model! {
    /// `sticker`.
    pub struct StickerContent {
        pub file_key: String,
    }
}

model! {
    /// `interactive` (a card), in the reduced form Feishu delivers: title and text paragraphs.
    pub struct InteractiveContent {
        pub title: String,
        pub elements: Vec<Vec<PostElement>>,
    }
}

model! {
    /// `share_chat`: a shared group card.
    pub struct ShareChatContent {
        pub chat_id: String,
    }
}

model! {
    /// `share_user`: a shared contact card.
    pub struct ShareUserContent {
        pub user_id: String,
    }
}

model! {
    /// `merge_forward`: the sub-messages are fetched through the OpenAPI (`GET /im/v1/messages/{id}`).
    pub struct MergeForwardContent {
        /// A fixed text (`"Merged and Forwarded Message"`).
        pub content: String,
    }
}

model! {
    /// `location`.
    pub struct LocationContent {
        pub name: String,
        pub longitude: String,
        pub latitude: String,
    }
}

model! {
    /// `todo`: a shared task.
    pub struct TodoContent {
        pub task_id: String,
        pub summary: PostContent,
        /// Epoch milliseconds, as a string.
        pub due_time: String,
    }
}

model! {
    /// `system`: a chat notice such as "{from_user} invited {to_chatters} to this chat.".
    pub struct SystemContent {
        pub template: String,
        pub from_user: Vec<String>,
        pub to_chatters: Vec<String>,
        pub divider_text: DividerText,
    }
}

model! {
    /// The text of a system divider.
    pub struct DividerText {
        pub text: String,
        pub i18n_text: std::collections::BTreeMap<String, String>,
    }
}

/// Content of a `message_type` without a model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownContent {
    pub message_type: String,
    /// The content JSON as received.
    pub raw: serde_json::Value,
}

impl MessageContent {
    /// Parses `content` (a JSON string) as the model for `message_type`.
    pub fn parse(message_type: &str, content: &str) -> Result<MessageContent, serde_json::Error> {
        fn de<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> serde_json::Result<T> {
            serde_json::from_value(v)
        }
        let v: serde_json::Value = serde_json::from_str(content)?;
        Ok(match message_type {
            "text" => MessageContent::Text(de(v)?),
            "post" => MessageContent::Post(de(unwrap_locale(v))?),
            "image" => MessageContent::Image(de(v)?),
            "file" => MessageContent::File(de(v)?),
            "audio" => MessageContent::Audio(de(v)?),
            "media" => MessageContent::Media(de(v)?),
            "sticker" => MessageContent::Sticker(de(v)?),
            "interactive" => MessageContent::Interactive(de(v)?),
            "share_chat" => MessageContent::ShareChat(de(v)?),
            "share_user" => MessageContent::ShareUser(de(v)?),
            "merge_forward" => MessageContent::MergeForward(de(v)?),
            "location" => MessageContent::Location(de(v)?),
            "todo" => MessageContent::Todo(de(v)?),
            "system" => MessageContent::System(de(v)?),
            other => MessageContent::Unknown(UnknownContent {
                message_type: other.to_string(),
                raw: v,
            }),
        })
    }

    /// The `message_type` this content belongs to, or `"unknown"`.
    pub fn kind(&self) -> &str {
        match self {
            MessageContent::Text(_) => "text",
            MessageContent::Post(_) => "post",
            MessageContent::Image(_) => "image",
            MessageContent::File(_) => "file",
            MessageContent::Audio(_) => "audio",
            MessageContent::Media(_) => "media",
            MessageContent::Sticker(_) => "sticker",
            MessageContent::Interactive(_) => "interactive",
            MessageContent::ShareChat(_) => "share_chat",
            MessageContent::ShareUser(_) => "share_user",
            MessageContent::MergeForward(_) => "merge_forward",
            MessageContent::Location(_) => "location",
            MessageContent::Todo(_) => "todo",
            MessageContent::System(_) => "system",
            MessageContent::Unknown(_) => "unknown",
        }
    }

    /// The content as plain text (see the module docs); placeholders such as `@_user_1` kept.
    pub fn plain_text(&self) -> String {
        match self {
            MessageContent::Text(t) => t.text.clone(),
            MessageContent::Post(p) => p.plain_text(),
            MessageContent::Image(_) => "[image]".into(),
            MessageContent::File(f) => format!("[file: {}]", f.file_name),
            MessageContent::Audio(_) => "[audio]".into(),
            MessageContent::Media(m) => format!("[video: {}]", m.file_name),
            MessageContent::Sticker(_) => "[sticker]".into(),
            MessageContent::Interactive(c) => paragraphs_text(&c.title, &c.elements),
            MessageContent::ShareChat(c) => format!("[chat: {}]", c.chat_id),
            MessageContent::ShareUser(u) => format!("[user: {}]", u.user_id),
            MessageContent::MergeForward(_) => "[merged messages]".into(),
            MessageContent::Location(l) => format!("[location: {}]", l.name),
            MessageContent::Todo(t) => t.summary.plain_text(),
            MessageContent::System(s) => s.plain_text(),
            MessageContent::Unknown(_) => String::new(),
        }
    }
}

/// A `post` sent with locales (`{"zh_cn": {"title", "content"}}`) becomes its first locale
/// (`zh_cn`, `en_us`, `ja_jp`, then any); the received form has no locale level.
fn unwrap_locale(v: serde_json::Value) -> serde_json::Value {
    let Some(obj) = v.as_object() else { return v };
    if obj.contains_key("content") || obj.contains_key("title") {
        return v;
    }
    for key in ["zh_cn", "en_us", "ja_jp"] {
        if let Some(inner) = obj.get(key).filter(|i| i.is_object()) {
            return inner.clone();
        }
    }
    match obj.values().find(|i| i.is_object()) {
        Some(inner) => inner.clone(),
        None => v,
    }
}

impl PostContent {
    /// The title (when set) and one line per paragraph.
    pub fn plain_text(&self) -> String {
        paragraphs_text(&self.title, &self.content)
    }
}

impl PostElement {
    /// The element as text: `at` as its placeholder (or `@name`), `img` as `[image]`, `media`
    /// as `[video]`, `emotion` as `[SMILE]`, `hr` as `---`, the others as their text.
    pub fn plain_text(&self) -> String {
        match self.tag.as_str() {
            "a" if self.text.is_empty() => self.href.clone(),
            "at" if self.user_id == "all" || self.user_id.starts_with("@_") => {
                if self.user_id == "all" {
                    "@_all".into()
                } else {
                    self.user_id.clone()
                }
            }
            "at" if !self.user_name.is_empty() => format!("@{}", self.user_name),
            "at" => format!("@{}", self.user_id),
            "img" => "[image]".into(),
            "media" => "[video]".into(),
            "emotion" => format!("[{}]", self.emoji_type),
            "hr" => "---".into(),
            _ => self.text.clone(),
        }
    }
}

impl SystemContent {
    /// The template with `{from_user}` and `{to_chatters}` filled in (names joined by `, `),
    /// or the divider text.
    pub fn plain_text(&self) -> String {
        if self.template.is_empty() {
            return self.divider_text.text.clone();
        }
        self.template
            .replace("{from_user}", &self.from_user.join(", "))
            .replace("{to_chatters}", &self.to_chatters.join(", "))
    }
}

fn paragraphs_text(title: &str, paragraphs: &[Vec<PostElement>]) -> String {
    let mut lines: Vec<String> = Vec::new();
    if !title.is_empty() {
        lines.push(title.to_string());
    }
    for p in paragraphs {
        lines.push(p.iter().map(PostElement::plain_text).collect());
    }
    lines.join("\n")
}
