//! `url.preview.get`: a link of one of the app's domains was sent in a chat, and Feishu asks
//! for its preview. Answer within 3 s with [`crate::Outcome::url_preview`] (an inline title)
//! or a [`crate::UrlPreviewResponse`] with a card.

use crate::de::model;
use crate::events::{CardContext, Operator};

model! {
    /// The body of `url.preview.get`.
    pub struct UrlPreview {
        pub operator: Operator,
        /// `"im_message"`, …
        pub host: String,
        /// The link (`url`), the preview's token and where it was sent.
        pub context: CardContext,
    }
}

impl UrlPreview {
    /// The link to preview (`context.url`).
    pub fn url(&self) -> &str {
        &self.context.url
    }

    /// The preview's token (`context.preview_token`).
    pub fn preview_token(&self) -> &str {
        &self.context.preview_token
    }
}
