//! The event envelope carried by `type=event` frames, §6: schema 2.0 and legacy 1.0, plus the
//! optional AES-256-CBC decryption of `{"encrypt": …}` payloads (§6.3).

mod skeleton;

/// Event or callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A plain event: handlers return nothing.
    Event,
    /// A callback that expects an answer in the ack (`card.action.trigger`, `url.preview.get`).
    Callback,
}

/// Which envelope shape arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// `"schema":"2.0"` with `header.event_type`.
    V2,
    /// Legacy: `uuid` and `event.type`.
    V1,
}

/// What the runtime needs to know about an event without understanding its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    pub schema: Schema,
    /// Idempotency key: `message_id` for `im.message.*` (the docs' advice), else `event_id`,
    /// `uuid` for v1 envelopes.
    pub dedupe_id: String,
    /// `header.event_id` (v2) or `uuid` (v1).
    pub event_id: String,
    pub event_type: String,
    pub kind: EventKind,
    pub app_id: String,
    pub tenant_key: String,
    /// Creation time exactly as Feishu sent it (a string of epoch milliseconds in v2; `ts` in v1).
    pub create_time: String,
    /// The chat the event belongs to, when it has one (for per-chat ordering).
    pub chat_id: Option<String>,
}

/// Why a payload is not a usable envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("payload is not UTF-8 JSON: {0}")]
    NotJson(String),
    #[error("payload is encrypted and no encrypt_key is configured")]
    Encrypted,
    #[error("cannot decrypt payload: {0}")]
    Decrypt(String),
    #[error("envelope has no event type (neither header.event_type nor event.type)")]
    NoEventType,
    #[error("envelope has no id (header.event_id / uuid)")]
    NoEventId,
}

/// Event types whose handlers answer in the ack.
pub const CALLBACK_TYPES: [&str; 2] = ["card.action.trigger", "url.preview.get"];

/// A parsed envelope: its metadata and the (decrypted) JSON text.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub meta: EventMeta,
    pub json: String,
}

/// Parses a reassembled payload. With `encrypt_key`, an `{"encrypt":…}` payload is decrypted first.
///
/// Only the fields the runtime needs are read (`skeleton`); the body is skipped without
/// building a JSON tree, and the text is kept as it arrived for the handlers.
pub fn parse_envelope(
    payload: &[u8],
    encrypt_key: Option<&str>,
) -> Result<Envelope, EnvelopeError> {
    parse_envelope_owned(payload.to_vec(), encrypt_key)
}

/// [`parse_envelope`] taking the payload by value: the text becomes the envelope's `json`
/// without a copy.
pub fn parse_envelope_owned(
    payload: Vec<u8>,
    encrypt_key: Option<&str>,
) -> Result<Envelope, EnvelopeError> {
    let text = String::from_utf8(payload).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
    let outer = skeleton::parse(&text)?;
    if let Some(cipher) = outer.encrypt.get() {
        let key = encrypt_key.ok_or(EnvelopeError::Encrypted)?;
        let plain = decrypt(cipher, key)?;
        let meta = meta_of(&skeleton::parse(&plain)?)?;
        return Ok(Envelope { meta, json: plain });
    }
    let meta = meta_of(&outer)?;
    drop(outer);
    Ok(Envelope { meta, json: text })
}

/// The event id of a plain envelope (v2 `header.event_id`, v1 `uuid`) — what
/// [`parse_envelope`] would put in `meta.event_id` — read without copying the text or building
/// the rest of the metadata. `None` for an encrypted envelope or one `parse_envelope` refuses.
pub fn event_id_of(payload: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(payload).ok()?;
    let v = skeleton::parse(text).ok()?;
    if v.encrypt.get().is_some() {
        return None;
    }
    if v.schema.get().is_some() {
        let header = v.header.get()?;
        header.event_type.get()?;
        header.event_id.get().map(str::to_string)
    } else {
        v.event.get()?.r#type.get()?;
        v.uuid.get().map(str::to_string)
    }
}

fn meta_of(v: &skeleton::Envelope<'_>) -> Result<EventMeta, EnvelopeError> {
    let owned = |s: Option<&str>| s.unwrap_or("").to_string();
    let header = v.header.get();
    let event = v.event.get();
    if v.schema.get().is_some() {
        let event_type = header
            .and_then(|h| h.event_type.get())
            .ok_or(EnvelopeError::NoEventType)?;
        let event_id = header
            .and_then(|h| h.event_id.get())
            .ok_or(EnvelopeError::NoEventId)?;
        let message = event.and_then(|e| e.message.get());
        let message_id = message.and_then(|m| m.message_id.get());
        let dedupe_id = match message_id {
            Some(m) if event_type.starts_with("im.message.") => m,
            _ => event_id,
        };
        let chat_id = message
            .and_then(|m| m.chat_id.get())
            .or_else(|| event.and_then(|e| e.chat_id.get()))
            .or_else(|| {
                event
                    .and_then(|e| e.context.get())
                    .and_then(|c| c.open_chat_id.get())
            })
            .map(str::to_string);
        Ok(EventMeta {
            schema: Schema::V2,
            dedupe_id: dedupe_id.to_string(),
            event_id: event_id.to_string(),
            kind: kind_of(event_type),
            event_type: event_type.to_string(),
            app_id: owned(header.and_then(|h| h.app_id.get())),
            tenant_key: owned(header.and_then(|h| h.tenant_key.get())),
            create_time: owned(header.and_then(|h| h.create_time.get())),
            chat_id,
        })
    } else {
        let event_type = event
            .and_then(|e| e.r#type.get())
            .ok_or(EnvelopeError::NoEventType)?;
        let uuid = v.uuid.get().ok_or(EnvelopeError::NoEventId)?;
        Ok(EventMeta {
            schema: Schema::V1,
            dedupe_id: uuid.to_string(),
            event_id: uuid.to_string(),
            kind: kind_of(event_type),
            event_type: event_type.to_string(),
            app_id: owned(event.and_then(|e| e.app_id.get())),
            tenant_key: owned(event.and_then(|e| e.tenant_key.get())),
            create_time: owned(v.ts.get()),
            chat_id: event.and_then(|e| e.open_chat_id.get()).map(str::to_string),
        })
    }
}

fn kind_of(event_type: &str) -> EventKind {
    if CALLBACK_TYPES.contains(&event_type) {
        EventKind::Callback
    } else {
        EventKind::Event
    }
}

/// AES-256-CBC with key = SHA-256(encrypt_key), IV = first 16 bytes, PKCS#7 padding.
pub fn decrypt(cipher_b64: &str, encrypt_key: &str) -> Result<String, EnvelopeError> {
    use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
    use base64::Engine;
    use sha2::Digest;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(cipher_b64.trim())
        .map_err(|e| EnvelopeError::Decrypt(format!("not base64: {e}")))?;
    if blob.len() < 32 || (blob.len() - 16) % 16 != 0 {
        return Err(EnvelopeError::Decrypt(format!(
            "ciphertext of {} bytes is not IV + whole blocks",
            blob.len()
        )));
    }
    let key = sha2::Sha256::digest(encrypt_key.as_bytes());
    let (iv, body) = blob.split_at(16);
    let plain = cbc::Decryptor::<aes::Aes256>::new(key.as_slice().into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(body)
        .map_err(|_| EnvelopeError::Decrypt("bad padding (wrong encrypt_key?)".into()))?;
    String::from_utf8(plain).map_err(|_| EnvelopeError::Decrypt("plaintext is not UTF-8".into()))
}

/// The inverse of [`decrypt`], used by the emulator and tests. `iv` must be 16 bytes.
pub fn encrypt(plain: &str, encrypt_key: &str, iv: [u8; 16]) -> String {
    use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
    use base64::Engine;
    use sha2::Digest;
    let key = sha2::Sha256::digest(encrypt_key.as_bytes());
    let body = cbc::Encryptor::<aes::Aes256>::new(key.as_slice().into(), (&iv).into())
        .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
    let mut blob = iv.to_vec();
    blob.extend_from_slice(&body);
    base64::engine::general_purpose::STANDARD.encode(blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = r#"{"schema":"2.0","header":{"event_id":"e1","event_type":"im.message.receive_v1","create_time":"1608725989000","token":"","app_id":"cli_x","tenant_key":"tk"},"event":{"message":{"message_id":"om_1","chat_id":"oc_1"}}}"#;

    #[test]
    fn event_id_of_agrees_with_parse_envelope() {
        let samples: [&[u8]; 9] = [
            MSG.as_bytes(),
            br#"{"uuid":"u1","ts":"1","type":"event_callback","event":{"type":"message"}}"#,
            br#"{"uuid":"u1","event":{}}"#,
            br#"{"schema":"2.0","header":{"event_id":"e2"}}"#,
            br#"{"schema":"2.0","header":{"event_type":"t"}}"#,
            br#"{"encrypt":"abc"}"#,
            br#"{"schema":"2.0","header":{"event_id":"","event_type":"t"}}"#,
            b"not json",
            b"\xff\xfe",
        ];
        for payload in samples {
            let expected = parse_envelope(payload, None).ok().map(|e| e.meta.event_id);
            assert_eq!(
                event_id_of(payload),
                expected,
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
        assert_eq!(event_id_of(MSG.as_bytes()).as_deref(), Some("e1"));
    }

    #[test]
    fn v2_message_dedupes_on_message_id() {
        let env = parse_envelope(MSG.as_bytes(), None).unwrap();
        assert_eq!(env.meta.dedupe_id, "om_1");
        assert_eq!(env.meta.event_id, "e1");
        assert_eq!(env.meta.chat_id.as_deref(), Some("oc_1"));
        assert_eq!(env.meta.kind, EventKind::Event);
        assert_eq!(env.meta.create_time, "1608725989000");
    }

    #[test]
    fn v1_and_callbacks() {
        let v1 = r#"{"uuid":"u1","token":"t","ts":"1608725989.000","type":"event_callback","event":{"type":"message","app_id":"a","tenant_key":"k"}}"#;
        let env = parse_envelope(v1.as_bytes(), None).unwrap();
        assert_eq!(
            (
                env.meta.schema,
                env.meta.dedupe_id.as_str(),
                env.meta.event_type.as_str()
            ),
            (Schema::V1, "u1", "message")
        );
        let card = r#"{"schema":"2.0","header":{"event_id":"e2","event_type":"card.action.trigger"},"event":{}}"#;
        assert_eq!(
            parse_envelope(card.as_bytes(), None).unwrap().meta.kind,
            EventKind::Callback
        );
    }

    #[test]
    fn encrypted_round_trip_and_errors() {
        let cipher = encrypt(MSG, "key", [7; 16]);
        let wrapped = format!(r#"{{"encrypt":"{cipher}"}}"#);
        assert_eq!(
            parse_envelope(wrapped.as_bytes(), None).unwrap_err(),
            EnvelopeError::Encrypted
        );
        assert_eq!(
            parse_envelope(wrapped.as_bytes(), Some("key"))
                .unwrap()
                .meta
                .event_id,
            "e1"
        );
        assert!(matches!(
            parse_envelope(wrapped.as_bytes(), Some("other")),
            Err(EnvelopeError::Decrypt(_)) | Err(EnvelopeError::NotJson(_))
        ));
        assert!(matches!(
            parse_envelope(&[0xff, 0xfe], None),
            Err(EnvelopeError::NotJson(_))
        ));
        assert_eq!(
            parse_envelope(b"{}", None).unwrap_err(),
            EnvelopeError::NoEventType
        );
    }
    #[test]
    fn fields_of_unexpected_types_read_as_absent() {
        // Wrong types anywhere only hide that field, as a lookup in a JSON tree would.
        let odd = r#"{"schema":"2.0","header":{"event_id":"e2","event_type":"im.chat.updated_v1",
            "app_id":7,"tenant_key":null,"create_time":["x"],"extra":{"deep":[1,{"a":2}]}},
            "event":{"message":"not an object","chat_id":{"id":"oc_9"},"context":{"open_chat_id":"oc_ctx"}}}"#;
        let env = parse_envelope(odd.as_bytes(), None).unwrap();
        assert_eq!(env.meta.event_id, "e2");
        assert_eq!(env.meta.dedupe_id, "e2");
        assert_eq!(env.meta.app_id, "");
        assert_eq!(env.meta.tenant_key, "");
        assert_eq!(env.meta.create_time, "");
        assert_eq!(env.meta.chat_id.as_deref(), Some("oc_ctx"));
        assert_eq!(env.json, odd, "the text is kept as it arrived");

        let header_not_object = r#"{"schema":"2.0","header":"x","event":{}}"#;
        assert_eq!(
            parse_envelope(header_not_object.as_bytes(), None).unwrap_err(),
            EnvelopeError::NoEventType
        );
        let empty_id = r#"{"schema":"2.0","header":{"event_id":"","event_type":"a.b"}}"#;
        assert_eq!(
            parse_envelope(empty_id.as_bytes(), None).unwrap_err(),
            EnvelopeError::NoEventId
        );
        assert!(matches!(
            parse_envelope(b"[1,2]", None).unwrap_err(),
            EnvelopeError::NoEventType
        ));
        assert!(matches!(
            parse_envelope(b"{\"schema\":", None).unwrap_err(),
            EnvelopeError::NotJson(_)
        ));
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let escaped = r#"{"schema":"2.0","header":{"event_id":"e\u0031","event_type":"im.message.receive_v1"},
            "event":{"message":{"message_id":"om_\"q\"","chat_id":"oc_1"}}}"#;
        let env = parse_envelope(escaped.as_bytes(), None).unwrap();
        assert_eq!(env.meta.event_id, "e1");
        assert_eq!(env.meta.dedupe_id, "om_\"q\"");
    }
}
