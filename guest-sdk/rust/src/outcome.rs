//! What handling came to.

use crate::card::{CardResponse, CardUpdate, Toast, UrlPreviewResponse};
use serde::Serialize;

/// The result of handling one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handled.
    Done,
    /// Handled; this JSON body is the callback's answer (e.g. a card toast). For plain events
    /// the runtime treats it like `Done`.
    Respond(String),
    /// Failed for now; the runtime retries later (the reason is logged).
    Retry(String),
    /// Will never succeed; not retried (the reason is logged).
    Reject(String),
}

impl Outcome {
    /// Handled.
    pub fn done() -> Outcome {
        Outcome::Done
    }

    /// Answers a callback with `body` serialized as JSON. If serialization fails (only
    /// possible for maps with non-string keys and similar), the outcome is a `Reject`.
    pub fn respond<T: Serialize + ?Sized>(body: &T) -> Outcome {
        match serde_json::to_string(body) {
            Ok(json) => Outcome::Respond(json),
            Err(e) => Outcome::Reject(format!("cannot serialize the response: {e}")),
        }
    }

    /// Answers a callback with a JSON text that is already serialized.
    pub fn respond_json(json: impl Into<String>) -> Outcome {
        Outcome::Respond(json.into())
    }

    /// Failed for now; try again later.
    pub fn retry(reason: impl Into<String>) -> Outcome {
        Outcome::Retry(reason.into())
    }

    /// Will never succeed; do not retry.
    pub fn reject(reason: impl Into<String>) -> Outcome {
        Outcome::Reject(reason.into())
    }

    /// Answers a card callback with a toast.
    pub fn toast(toast: Toast) -> Outcome {
        Outcome::respond(&CardResponse::toast(toast))
    }

    /// Answers a card callback with an `info` toast.
    pub fn toast_info(content: impl Into<String>) -> Outcome {
        Outcome::toast(Toast::info(content))
    }

    /// Answers a card callback with a `success` toast.
    pub fn toast_success(content: impl Into<String>) -> Outcome {
        Outcome::toast(Toast::success(content))
    }

    /// Answers a card callback with a `warning` toast.
    pub fn toast_warning(content: impl Into<String>) -> Outcome {
        Outcome::toast(Toast::warning(content))
    }

    /// Answers a card callback with an `error` toast.
    pub fn toast_error(content: impl Into<String>) -> Outcome {
        Outcome::toast(Toast::error(content))
    }

    /// Answers a card callback by replacing the card ([`CardUpdate::raw`] or
    /// [`CardUpdate::template`]); add a toast with `CardResponse::toast(t).with_card(c)`.
    pub fn card(card: CardUpdate) -> Outcome {
        Outcome::respond(&CardResponse::card(card))
    }

    /// Answers `url.preview.get` with an inline preview titled `title`; see
    /// [`UrlPreviewResponse`] for an icon, titles per language or a card.
    pub fn url_preview(title: impl Into<String>) -> Outcome {
        Outcome::respond(&UrlPreviewResponse::title(title))
    }

    /// `Done` for `Ok(())`, `Reject` with the error's message for `Err`.
    pub fn from_result<E: std::fmt::Display>(result: Result<(), E>) -> Outcome {
        match result {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Reject(e.to_string()),
        }
    }
}

impl From<CardResponse> for Outcome {
    fn from(response: CardResponse) -> Outcome {
        Outcome::respond(&response)
    }
}

impl From<UrlPreviewResponse> for Outcome {
    fn from(response: UrlPreviewResponse) -> Outcome {
        Outcome::respond(&response)
    }
}

/// A body that does not parse will not parse on a retry either: `Reject`.
impl From<crate::Error> for Outcome {
    fn from(e: crate::Error) -> Outcome {
        Outcome::Reject(e.to_string())
    }
}
