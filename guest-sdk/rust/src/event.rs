//! The event a handler receives, and typed views of its JSON envelope.

use crate::events::{EventBody, TypedEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A plain event, or a callback whose answer ([`crate::Outcome::respond`]) travels back to
/// Feishu in the ack (`card.action.trigger`, `url.preview.get`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Event,
    Callback,
}

/// One Feishu event: the routing fields the runtime extracted, plus the whole envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Idempotency key: `message_id` for `im.message.*`, else `event_id`; `uuid` for v1.
    pub dedupe_id: String,
    /// `header.event_id` (v2) or `uuid` (v1).
    pub event_id: String,
    /// e.g. `im.message.receive_v1`, `card.action.trigger`, or a v1 `event.type`.
    pub event_type: String,
    pub kind: EventKind,
    pub app_id: String,
    pub tenant_key: String,
    /// Creation time exactly as Feishu sent it (epoch milliseconds as a string in v2).
    pub create_time: String,
    /// 1 for the first delivery to this handler, 2 for the first retry, …
    pub attempt: u32,
    /// The whole JSON envelope, as received.
    pub envelope: String,
}

/// A body or envelope that did not deserialize into the requested type.
#[derive(Debug)]
pub struct Error {
    event_type: String,
    target: &'static str,
    source: serde_json::Error,
}

impl Error {
    fn new<T: ?Sized>(event_type: &str, source: serde_json::Error) -> Self {
        Error {
            event_type: event_type.to_string(),
            target: std::any::type_name::<T>(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read `{}` event as {}: {}",
            self.event_type, self.target, self.source
        )
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A schema 2.0 envelope with its body typed as `T`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub schema: String,
    #[serde(default)]
    pub header: Header,
    pub event: T,
}

crate::de::model! {
    /// The header of a schema 2.0 envelope.
    pub struct Header {
        pub event_id: String,
        pub event_type: String,
        /// Epoch milliseconds, as a string.
        pub create_time: String,
        /// The app's verification token (may be empty).
        pub token: String,
        pub app_id: String,
        pub tenant_key: String,
    }
}

/// A legacy schema 1.0 envelope (`{"uuid", "token", "ts", "type": "event_callback", "event"}`);
/// the event type is `event.type`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegacyEnvelope<T> {
    #[serde(default)]
    pub uuid: String,
    #[serde(default)]
    pub token: String,
    /// Seconds since the epoch with a fraction, as a string (`"1608725989.000"`).
    #[serde(default)]
    pub ts: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    pub event: T,
}

#[derive(Deserialize)]
struct BodyOnly<T> {
    event: T,
}

impl Event {
    /// The raw JSON envelope, exactly as received.
    pub fn raw(&self) -> &str {
        &self.envelope
    }

    /// The envelope as a JSON value (parsed on each call).
    pub fn json(&self) -> Result<serde_json::Value, Error> {
        serde_json::from_str(&self.envelope)
            .map_err(|e| Error::new::<serde_json::Value>(&self.event_type, e))
    }

    /// The envelope's `event` object (v2 and v1 alike) deserialized as `T`: a model from
    /// [`crate::events`], your own struct, or `serde_json::Value`.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str::<BodyOnly<T>>(&self.envelope)
            .map(|b| b.event)
            .map_err(|e| Error::new::<T>(&self.event_type, e))
    }

    /// The whole schema 2.0 envelope, with the body as `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<Envelope<T>, Error> {
        serde_json::from_str(&self.envelope).map_err(|e| Error::new::<T>(&self.event_type, e))
    }

    /// Whether this event has `T`'s event type.
    pub fn is<T: EventBody>(&self) -> bool {
        self.event_type == T::EVENT_TYPE
    }

    /// The body as one of the typed models, chosen by `event_type`;
    /// [`TypedEvent::Other`] for every other type (use [`Event::body`] / [`Event::json`] then).
    pub fn typed(&self) -> Result<TypedEvent, Error> {
        TypedEvent::from_event(self)
    }

    /// Whether the runtime expects an answer for this event in the ack.
    pub fn is_callback(&self) -> bool {
        self.kind == EventKind::Callback
    }

    /// Builds an event from an envelope the way the runtime does (routing fields from the JSON,
    /// `attempt` 1). Meant for tests and local tools.
    pub fn from_envelope(envelope: impl Into<String>) -> Result<Event, Error> {
        let envelope = envelope.into();
        let v: serde_json::Value =
            serde_json::from_str(&envelope).map_err(|e| Error::new::<serde_json::Value>("?", e))?;
        let s = |path: &[&str]| -> String {
            let mut cur = &v;
            for key in path {
                match cur.get(key) {
                    Some(next) => cur = next,
                    None => return String::new(),
                }
            }
            cur.as_str().unwrap_or_default().to_string()
        };
        let v2 = !s(&["schema"]).is_empty();
        let (event_type, event_id, dedupe_id, app_id, tenant_key, create_time) = if v2 {
            let event_type = s(&["header", "event_type"]);
            let event_id = s(&["header", "event_id"]);
            let message_id = s(&["event", "message", "message_id"]);
            let dedupe_id = if event_type.starts_with("im.message.") && !message_id.is_empty() {
                message_id
            } else {
                event_id.clone()
            };
            (
                event_type,
                event_id,
                dedupe_id,
                s(&["header", "app_id"]),
                s(&["header", "tenant_key"]),
                s(&["header", "create_time"]),
            )
        } else {
            let uuid = s(&["uuid"]);
            (
                s(&["event", "type"]),
                uuid.clone(),
                uuid,
                s(&["event", "app_id"]),
                s(&["event", "tenant_key"]),
                s(&["ts"]),
            )
        };
        let kind = if matches!(
            event_type.as_str(),
            "card.action.trigger" | "url.preview.get"
        ) {
            EventKind::Callback
        } else {
            EventKind::Event
        };
        Ok(Event {
            dedupe_id,
            event_id,
            event_type,
            kind,
            app_id,
            tenant_key,
            create_time,
            attempt: 1,
            envelope,
        })
    }
}
