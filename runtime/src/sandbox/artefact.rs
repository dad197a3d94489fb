//! The file a compiled component is kept in (in the cache directory, or next to the component
//! after `aviary compile --beside`): a header, then wasmtime's serialized component.
//!
//! ```text
//! "aviary cwasm v1\n"   16 bytes, the format
//! sha256(component)     32 bytes, which component it was compiled from (stale otherwise)
//! sha256(payload)       32 bytes, so a corrupted file is detected before wasmtime reads it
//! payload               Component::serialize
//! ```
//!
//! Which wasmtime, engine settings and CPU the payload was made for is wasmtime's own check at
//! deserialization (its version, tunables, target and ISA flags): an artefact made elsewhere is
//! refused with wasmtime's reason and rebuilt.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The format line every artefact starts with.
const MAGIC: &[u8; 16] = b"aviary cwasm v1\n";
const HEADER_LEN: usize = 16 + 32 + 32;

/// The SHA-256 of some bytes.
pub(crate) type Hash = [u8; 32];

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Why an artefact file cannot be used (each is rebuilt, with a log line saying this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unusable {
    /// Not in this format (another program's file, or one from before the format).
    #[error("not an Aviary compiled-component file")]
    Format,
    /// Truncated or altered since it was written.
    #[error("corrupted (its checksum does not match its contents)")]
    Corrupt,
    /// Compiled from other bytes than the component's current ones.
    #[error("stale (compiled from another version of the component)")]
    Stale,
}

/// The artefact for `payload`, compiled from the component whose hash is `component`.
pub(crate) fn encode(component: &Hash, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(component);
    out.extend_from_slice(&sha256(payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of `file` if it is an intact artefact of the component whose hash is
/// `component`.
pub(crate) fn decode<'a>(file: &'a [u8], component: &Hash) -> Result<&'a [u8], Unusable> {
    if file.len() < HEADER_LEN || &file[..16] != MAGIC {
        return Err(Unusable::Format);
    }
    let payload = &file[HEADER_LEN..];
    if file[48..80] != sha256(payload) {
        return Err(Unusable::Corrupt);
    }
    if &file[16..48] != component {
        return Err(Unusable::Stale);
    }
    Ok(payload)
}

/// Where `aviary compile --beside` puts the artefact of `component`: next to it, named after
/// it (`handler.wasm` → `handler.cwasm`, or `handler.fuel.cwasm` for the fuel-metered engine).
pub fn beside_path(component: &Path, metered: bool) -> PathBuf {
    component.with_extension(if metered { "fuel.cwasm" } else { "cwasm" })
}

/// Writes `bytes` to `file` through a temporary file renamed into place, so a reader never
/// sees half a file.
pub(crate) fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        file.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::write(&tmp, bytes)?;
    if let Err(e) = std::fs::rename(&tmp, file) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_artefact_round_trips_and_every_kind_of_damage_is_named() {
        let component = sha256(b"component v1");
        let file = encode(&component, b"payload bytes");
        assert_eq!(decode(&file, &component), Ok(&b"payload bytes"[..]));

        assert_eq!(
            decode(&file, &sha256(b"component v2")),
            Err(Unusable::Stale)
        );
        let mut flipped = file.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped, &component), Err(Unusable::Corrupt));
        assert_eq!(
            decode(&file[..file.len() - 1], &component),
            Err(Unusable::Corrupt)
        );
        assert_eq!(decode(b"\x7fELF....", &component), Err(Unusable::Format));
        assert_eq!(decode(&file[..40], &component), Err(Unusable::Format));
    }

    #[test]
    fn beside_paths_name_the_engine() {
        let c = Path::new("/app/handlers/echo.wasm");
        assert_eq!(
            beside_path(c, false),
            PathBuf::from("/app/handlers/echo.cwasm")
        );
        assert_eq!(
            beside_path(c, true),
            PathBuf::from("/app/handlers/echo.fuel.cwasm")
        );
    }
}
