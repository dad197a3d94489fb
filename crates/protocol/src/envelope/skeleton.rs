//! The few envelope fields the runtime reads, deserialized straight from the text without
//! building a JSON tree (the body — often most of the bytes — is skipped, not allocated).
//!
//! Lenient like a lookup in a parsed tree: a field of an unexpected JSON type, or an empty
//! string, reads as absent instead of failing the whole envelope; unknown fields are ignored.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::EnvelopeError;

/// Parses the skeleton of an envelope; fails only on text that is not JSON.
pub(super) fn parse(text: &str) -> Result<Envelope<'_>, EnvelopeError> {
    serde_json::from_str(text).map_err(|e| EnvelopeError::NotJson(e.to_string()))
}

/// Top level: v2 (`schema`, `header`, `event`), v1 (`uuid`, `ts`, `event`), or `encrypt`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct Envelope<'a> {
    #[serde(borrow)]
    pub schema: Text<'a>,
    #[serde(borrow)]
    pub encrypt: Text<'a>,
    #[serde(borrow)]
    pub uuid: Text<'a>,
    #[serde(borrow)]
    pub ts: Text<'a>,
    #[serde(borrow)]
    pub header: Object<Header<'a>>,
    #[serde(borrow)]
    pub event: Object<Event<'a>>,
}

/// v2 `header`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct Header<'a> {
    #[serde(borrow)]
    pub event_id: Text<'a>,
    #[serde(borrow)]
    pub event_type: Text<'a>,
    #[serde(borrow)]
    pub app_id: Text<'a>,
    #[serde(borrow)]
    pub tenant_key: Text<'a>,
    #[serde(borrow)]
    pub create_time: Text<'a>,
}

/// `event`: the parts that name the chat (v2) and the v1 fields.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct Event<'a> {
    #[serde(borrow)]
    pub message: Object<Message<'a>>,
    #[serde(borrow)]
    pub chat_id: Text<'a>,
    #[serde(borrow)]
    pub context: Object<Context<'a>>,
    #[serde(borrow)]
    pub r#type: Text<'a>,
    #[serde(borrow)]
    pub app_id: Text<'a>,
    #[serde(borrow)]
    pub tenant_key: Text<'a>,
    #[serde(borrow)]
    pub open_chat_id: Text<'a>,
}

/// `event.message`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct Message<'a> {
    #[serde(borrow)]
    pub message_id: Text<'a>,
    #[serde(borrow)]
    pub chat_id: Text<'a>,
}

/// `event.context` (card callbacks).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct Context<'a> {
    #[serde(borrow)]
    pub open_chat_id: Text<'a>,
}

/// A string field: borrowed from the text when it has no escapes. Any other JSON type reads
/// as absent.
#[derive(Debug, Default)]
pub(super) struct Text<'a>(Option<Cow<'a, str>>);

impl Text<'_> {
    /// The string, if the field was a non-empty string.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            other_types_are_absent!(Text(None));
        }
        d.deserialize_any(V)
    }
}

/// A nested object field; any other JSON type reads as absent.
#[derive(Debug)]
pub(super) struct Object<T>(Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Object(None)
    }
}

impl<T> Object<T> {
    /// The object, if the field was one.
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Object(Some(t)))
            }
            fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            other_types_are_absent!(Object(None), no_map);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Visitor methods that accept every remaining JSON type (skipping arrays and, unless
/// `no_map`, objects) and produce `$absent`.
macro_rules! other_types_are_absent {
    ($absent:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($absent)
        }
        other_types_are_absent!($absent, no_map);
    };
    ($absent:expr, no_map) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($absent)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
    };
}
use other_types_are_absent;
