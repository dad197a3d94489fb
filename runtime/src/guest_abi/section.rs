//! The `aviary:guest` marker: a component-level custom section the guest SDKs' build commands
//! (`aviary-js build`, `python -m aviary_guest build`) append, holding JSON such as
//! `{"language":"python","engine":"componentize-py","sdk":"aviary-guest 0.1.0"}`. The sandbox
//! reads it to pick the default reuse policy of interpreted guests (see
//! [`crate::limits::sandbox::HEAVY_GUEST_DEFAULT_REUSE`]); `aviary guest build --lang go` writes
//! one too. Components without it (Rust, C, hand-built ones) are treated as light: a fresh
//! instance per event.

use crate::limits::sandbox::HEAVY_GUEST_DEFAULT_REUSE;

/// The name of the custom section.
pub const SECTION: &str = "aviary:guest";

/// What the marker says about the component's source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestInfo {
    /// `javascript`, `python`, …
    pub language: String,
    /// `quickjs`, `starlingmonkey`, `componentize-py`, …
    pub engine: String,
}

impl GuestInfo {
    /// The reuse policy when the manifest sets none: reuse for guests whose runtime start-up
    /// dominates a fresh instance (JavaScript on either engine, Python, Go); else fresh.
    pub fn default_reuse(&self) -> Option<u32> {
        match self.language.as_str() {
            "python" | "javascript" | "go" => Some(HEAVY_GUEST_DEFAULT_REUSE),
            _ => None,
        }
    }
}

/// Reads the marker from a component's top-level sections, if there is a readable one.
pub fn read(bytes: &[u8]) -> Option<GuestInfo> {
    let mut pos = 8; // magic + version/layer
    while pos < bytes.len() {
        let id = bytes[pos];
        pos += 1;
        let size = leb128(bytes, &mut pos)? as usize;
        let end = pos.checked_add(size).filter(|&e| e <= bytes.len())?;
        if id == 0 {
            let mut p = pos;
            let name_len = leb128(bytes, &mut p)? as usize;
            let name_end = p.checked_add(name_len).filter(|&e| e <= end)?;
            if &bytes[p..name_end] == SECTION.as_bytes() {
                let v: serde_json::Value = serde_json::from_slice(&bytes[name_end..end]).ok()?;
                let field = |k: &str| v.get(k).and_then(|s| s.as_str()).unwrap_or("").to_string();
                return Some(GuestInfo {
                    language: field("language"),
                    engine: field("engine"),
                });
            }
        }
        pos = end;
    }
    None
}

fn leb128(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut result = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        result |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(result);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, payload: &str) -> Vec<u8> {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(payload.as_bytes());
        let mut s = vec![0u8, body.len() as u8];
        s.extend(body);
        s
    }

    fn component(sections: &[Vec<u8>]) -> Vec<u8> {
        let mut c = b"\0asm\x0d\x00\x01\x00".to_vec();
        for s in sections {
            c.extend_from_slice(s);
        }
        c
    }

    #[test]
    fn finds_the_marker_after_other_sections() {
        let c = component(&[
            section("producers", "x"),
            vec![7, 3, 1, 2, 3], // some non-custom section, skipped
            section(
                SECTION,
                r#"{"language":"python","engine":"componentize-py"}"#,
            ),
        ]);
        let info = read(&c).unwrap();
        assert_eq!(info.language, "python");
        assert_eq!(info.default_reuse(), Some(HEAVY_GUEST_DEFAULT_REUSE));
    }

    #[test]
    fn defaults_per_engine() {
        let js = |engine: &str| GuestInfo {
            language: "javascript".into(),
            engine: engine.into(),
        };
        assert_eq!(
            js("quickjs").default_reuse(),
            Some(HEAVY_GUEST_DEFAULT_REUSE)
        );
        assert_eq!(
            js("starlingmonkey").default_reuse(),
            Some(HEAVY_GUEST_DEFAULT_REUSE)
        );
        assert_eq!(GuestInfo::default().default_reuse(), None);
        let go = GuestInfo {
            language: "go".into(),
            engine: "go 1.27.3".into(),
        };
        assert_eq!(go.default_reuse(), Some(HEAVY_GUEST_DEFAULT_REUSE));
        let rust = GuestInfo {
            language: "rust".into(),
            engine: String::new(),
        };
        assert_eq!(rust.default_reuse(), None);
    }

    #[test]
    fn no_marker_truncated_or_garbage_is_none() {
        assert_eq!(read(&component(&[section("producers", "x")])), None);
        let mut c = component(&[section(SECTION, r#"{"language":"python"}"#)]);
        c.truncate(c.len() - 3);
        assert_eq!(read(&c), None);
        assert_eq!(read(&component(&[section(SECTION, "not json")])), None);
        assert_eq!(
            read(b"\0asm\x0d\x00\x01\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            None
        );
    }
}
