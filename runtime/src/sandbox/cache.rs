//! Compiled components cached on disk, so a restart with unchanged handlers does not recompile
//! (compiling a 3 MB component takes ~120 ms, deserializing it ~2 ms).
//!
//! The key is the SHA-256 of the component's bytes plus a hash of the engine's
//! compatibility settings (which cover the wasmtime version and every compile-affecting
//! option), so a change of either is a miss. Files are written to a temp file and renamed into
//! place, so a reader never sees half a file. A file that fails to deserialize (corrupt,
//! truncated, other wasmtime) is recompiled and replaced; cache I/O errors are logged and
//! never fatal.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Where compiled components live; `None` disables caching.
pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// The default cache directory: `$XDG_CACHE_HOME/aviary`, else `~/.cache/aviary`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(xdg).join("aviary"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|home| PathBuf::from(home).join(".cache").join("aviary"))
}

/// Feeds `Hash` output into SHA-256 (stable across processes, unlike `DefaultHasher`).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl CompileCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut h = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut h);
        let engine_key = hex(&h.0.finalize()[..8]);
        CompileCache { dir, engine_key }
    }

    /// The component for `bytes`, from the cache if possible. Returns whether it came from the
    /// cache.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
        source: &Path,
    ) -> wasmtime::Result<(Component, bool)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::from_binary(engine, bytes)?, false));
        };
        let file = dir.join(format!(
            "{}-{}.cwasm",
            hex(&Sha256::digest(bytes)),
            self.engine_key
        ));
        // Read into memory rather than `deserialize_file`: a mapped file that someone truncates
        // or rewrites in place while the handler runs would crash the process with SIGBUS.
        if let Ok(cached) = std::fs::read(&file) {
            // SAFETY: files in the cache directory are written only by `store` below, from
            // `Component::serialize` of this same engine configuration (the key includes its
            // compatibility hash). Deserialization still validates the header and version; a
            // file that fails is recompiled.
            match unsafe { Component::deserialize(engine, &cached) } {
                Ok(component) => return Ok((component, true)),
                Err(e) => tracing::warn!(
                    cache_file = %file.display(),
                    component = %source.display(),
                    "compiled-component cache entry unusable, recompiling: {e:#}"
                ),
            }
        }
        let component = Component::from_binary(engine, bytes)?;
        if let Err(e) = store(dir, &file, &component) {
            tracing::warn!(
                cache_file = %file.display(),
                "could not write the compiled-component cache: {e:#}"
            );
        }
        Ok((component, false))
    }
}

fn store(dir: &Path, file: &Path, component: &Component) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        file.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::write(&tmp, bytes)?;
    if let Err(e) = std::fs::rename(&tmp, file) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
