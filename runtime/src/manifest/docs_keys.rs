//! `docs/manifest.md` is the manifest reference: this test fails when a key the parser accepts
//! is missing from it. The keys are not listed by hand: a probing serde `Deserializer` drives
//! the raw manifest types ([`super::raw::RawManifest`]) and records the `fields` each struct
//! passes to `deserialize_struct`, recursing into nested tables, arrays of tables and options.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::raw::RawManifest;

/// Every error of the probe is a plain message.
#[derive(Debug)]
struct ProbeError(String);

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ProbeError(msg.to_string())
    }
}

type Keys = Rc<RefCell<BTreeSet<String>>>;

/// Deserializes one value at `path` (the dotted key, "" at the top), answering every scalar
/// with a default and every struct with all its fields, each recorded as `path.field`.
struct Probe {
    path: String,
    keys: Keys,
}

impl Probe {
    fn at(&self, field: &str) -> Probe {
        let path = if self.path.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.path)
        };
        Probe {
            path,
            keys: self.keys.clone(),
        }
    }

    fn same(&self) -> Probe {
        Probe {
            path: self.path.clone(),
            keys: self.keys.clone(),
        }
    }
}

/// The fields of one struct, each key followed by a probe of its value.
struct Fields {
    probe: Probe,
    fields: &'static [&'static str],
    next: usize,
}

impl<'de> MapAccess<'de> for Fields {
    type Error = ProbeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeError> {
        match self.fields.get(self.next) {
            Some(field) => seed
                .deserialize(BorrowedStrDeserializer::new(field))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ProbeError> {
        let field = self.fields[self.next];
        self.next += 1;
        // serde's private fields (`toml::Spanned` is a struct of `$__…start`, `…end`, `…value`)
        // are wrappers, not keys: the value keeps the path, the span numbers are not recorded.
        let probe = if field.starts_with("$__") {
            if field.ends_with("value") {
                self.probe.same()
            } else {
                Probe {
                    path: String::new(),
                    keys: Rc::default(),
                }
            }
        } else {
            self.probe
                .keys
                .borrow_mut()
                .insert(self.probe.at(field).path);
            self.probe.at(field)
        };
        seed.deserialize(probe)
    }
}

/// An array with one element, probed at the array's own path (`handler.name`, not
/// `handler.0.name`).
struct OneElement(Option<Probe>);

impl<'de> SeqAccess<'de> for OneElement {
    type Error = ProbeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ProbeError> {
        match self.0.take() {
            Some(probe) => seed.deserialize(probe).map(Some),
            None => Ok(None),
        }
    }
}

/// An empty map (free-form tables such as `[handler.config]` have no fixed keys).
struct NoEntries;

impl<'de> MapAccess<'de> for NoEntries {
    type Error = ProbeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        _: K,
    ) -> Result<Option<K::Value>, ProbeError> {
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, _: V) -> Result<V::Value, ProbeError> {
        Err(de::Error::custom("no entries"))
    }
}

impl<'de> Deserializer<'de> for Probe {
    type Error = ProbeError;

    /// A value of any type (a `toml::Value`, such as `handler.kv`: `true` or a string) is
    /// answered with a boolean; a type that takes no boolean fails with the path.
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        let path = self.path.clone();
        v.visit_bool(false).map_err(|_: ProbeError| {
            de::Error::custom(format!("the probe cannot guess the type at `{path}`"))
        })
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        v.visit_bool(false)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        v.visit_i64(0)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        v.visit_u64(0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        v.visit_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        v.visit_string(String::new())
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        v.visit_some(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        v.visit_seq(OneElement(Some(self)))
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        v.visit_map(NoEntries)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, ProbeError> {
        v.visit_map(Fields {
            probe: self,
            fields,
            next: 0,
        })
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u128 f32 f64 char bytes byte_buf unit unit_struct
        newtype_struct tuple tuple_struct enum identifier ignored_any
    }
}

/// Every dotted key the manifest parser accepts: tables (`queue`) and their keys
/// (`queue.tls_ca`, `handler.config`).
fn accepted_keys() -> BTreeSet<String> {
    let keys = Keys::default();
    RawManifest::deserialize(Probe {
        path: String::new(),
        keys: keys.clone(),
    })
    .expect("the probe walks the raw manifest types");
    let keys = keys.borrow().clone();
    keys
}

fn manifest_doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/manifest.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

#[test]
fn the_probe_finds_the_parsers_keys() {
    let keys = accepted_keys();
    // A few keys of each kind, so a probe that silently stopped recursing fails here.
    for key in [
        "feishu",
        "feishu.app_secret",
        "connection.receive_queue_capacity",
        "dispatch.callback_deadline_ms",
        "queue.tls_ca",
        "handler",
        "handler.default",
        "handler.config",
        "handler.openapi",
    ] {
        assert!(keys.contains(key), "the probe missed `{key}`: {keys:?}");
    }
}

#[test]
fn every_manifest_key_is_in_docs_manifest_md() {
    let doc = manifest_doc();
    let keys = accepted_keys();
    // A key with keys below it is a table.
    let tables: BTreeSet<&str> = keys
        .iter()
        .filter_map(|k| k.rsplit_once('.').map(|(table, _)| table))
        .collect();
    let missing: Vec<&String> = keys
        .iter()
        .filter(|key| {
            if tables.contains(key.as_str()) {
                // A table is documented by its header, `[queue]` or `[[handler]]`.
                !doc.contains(&format!("[{key}]")) && !doc.contains(&format!("[[{key}]]"))
            } else {
                // A key is documented by a row or paragraph naming it in full: `queue.tls_ca`.
                !doc.contains(&format!("`{key}`"))
            }
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/manifest.md does not document these manifest keys: {missing:?}"
    );
}
