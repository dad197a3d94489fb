//! The answers to callbacks: to `card.action.trigger` an optional toast and an optional card
//! update, `{"toast": {"type", "content", "i18n"}, "card": {"type", "data"}}`; to
//! `url.preview.get` an inline preview and an optional card, `{"inline": {"title", …},
//! "card": {"type", "data"}}` ([`UrlPreviewResponse`]).
//!
//! Work that takes longer than the 3 s a callback may take: answer fast (or let the runtime
//! ack at `dispatch.callback_deadline_ms`), then update the card through the OpenAPI with the
//! callback's token, [`crate::feishu::update_card`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The response body of a card callback. Return it with [`crate::Outcome::respond`] or
/// `Outcome::from(response)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CardResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toast: Option<Toast>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardUpdate>,
}

impl CardResponse {
    /// A response with just a toast.
    pub fn toast(toast: Toast) -> CardResponse {
        CardResponse {
            toast: Some(toast),
            card: None,
        }
    }

    /// A response with just a card update.
    pub fn card(card: CardUpdate) -> CardResponse {
        CardResponse {
            toast: None,
            card: Some(card),
        }
    }

    /// Adds (or replaces) the card update.
    pub fn with_card(mut self, card: CardUpdate) -> CardResponse {
        self.card = Some(card);
        self
    }
}

/// The kind of toast Feishu shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToastKind {
    #[default]
    Info,
    Success,
    Warning,
    Error,
}

/// A toast: `{"type": "info", "content": "…", "i18n": {"zh_cn": "…", "en_us": "…"}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Toast {
    #[serde(rename = "type")]
    pub kind: ToastKind,
    #[serde(default)]
    pub content: String,
    /// Per-language texts keyed by locale (`zh_cn`, `en_us`, `ja_jp`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i18n: Option<BTreeMap<String, String>>,
}

impl Toast {
    pub fn new(kind: ToastKind, content: impl Into<String>) -> Toast {
        Toast {
            kind,
            content: content.into(),
            i18n: None,
        }
    }
    pub fn info(content: impl Into<String>) -> Toast {
        Toast::new(ToastKind::Info, content)
    }
    pub fn success(content: impl Into<String>) -> Toast {
        Toast::new(ToastKind::Success, content)
    }
    pub fn warning(content: impl Into<String>) -> Toast {
        Toast::new(ToastKind::Warning, content)
    }
    pub fn error(content: impl Into<String>) -> Toast {
        Toast::new(ToastKind::Error, content)
    }

    /// Adds a text for one locale (`"zh_cn"`, `"en_us"`, …).
    pub fn with_i18n(mut self, locale: impl Into<String>, text: impl Into<String>) -> Toast {
        self.i18n
            .get_or_insert_with(BTreeMap::new)
            .insert(locale.into(), text.into());
        self
    }
}

/// A card update: `{"type": "raw", "data": <card JSON>}` or
/// `{"type": "template", "data": {"template_id", "template_version_name", "template_variable"}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CardUpdate {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl CardUpdate {
    /// Replaces the card with this card JSON.
    pub fn raw(card: serde_json::Value) -> CardUpdate {
        CardUpdate {
            kind: "raw".to_string(),
            data: card,
        }
    }

    /// Replaces the card with a card template (`version` may be omitted for the latest).
    pub fn template(
        template_id: impl Into<String>,
        version: Option<&str>,
        variables: serde_json::Value,
    ) -> CardUpdate {
        let mut data = serde_json::Map::new();
        data.insert("template_id".into(), template_id.into().into());
        if let Some(v) = version {
            data.insert("template_version_name".into(), v.into());
        }
        if !variables.is_null() {
            data.insert("template_variable".into(), variables);
        }
        CardUpdate {
            kind: "template".to_string(),
            data: serde_json::Value::Object(data),
        }
    }
}

/// The answer to `url.preview.get`: an inline preview (title, icon) and optionally a card.
/// Return it with `Outcome::from(response)` or [`crate::Outcome::url_preview`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UrlPreviewResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<PreviewInline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardUpdate>,
}

/// The inline preview shown in place of the link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PreviewInline {
    pub title: String,
    /// Per-language titles keyed by locale (`zh_cn`, `en_us`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i18n_title: Option<BTreeMap<String, String>>,
    /// An icon uploaded with [`crate::feishu::upload_image`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_key: Option<String>,
}

impl UrlPreviewResponse {
    /// An inline preview with this title.
    pub fn title(title: impl Into<String>) -> UrlPreviewResponse {
        UrlPreviewResponse {
            inline: Some(PreviewInline {
                title: title.into(),
                ..PreviewInline::default()
            }),
            card: None,
        }
    }

    /// Adds an icon (an `image_key`).
    pub fn with_image(mut self, image_key: impl Into<String>) -> UrlPreviewResponse {
        self.inline.get_or_insert_with(Default::default).image_key = Some(image_key.into());
        self
    }

    /// Adds a title for one locale.
    pub fn with_i18n_title(
        mut self,
        locale: impl Into<String>,
        title: impl Into<String>,
    ) -> UrlPreviewResponse {
        self.inline
            .get_or_insert_with(Default::default)
            .i18n_title
            .get_or_insert_with(BTreeMap::new)
            .insert(locale.into(), title.into());
        self
    }

    /// Adds (or replaces) the card preview.
    pub fn with_card(mut self, card: CardUpdate) -> UrlPreviewResponse {
        self.card = Some(card);
        self
    }
}
