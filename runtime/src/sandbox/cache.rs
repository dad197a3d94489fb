//! Compiled components kept on disk, so a start with unchanged handlers does not recompile
//! (compiling the 18 MB Python component takes seconds, deserializing it ~80 ms).
//!
//! A component's compiled code is looked for, in this order:
//! 1. next to the component (`handler.cwasm`, or `handler.fuel.cwasm` for the fuel-metered
//!    engine), written by `aviary compile --beside` (for container images);
//! 2. in the cache directory, as `<sha256 of the component>-<engine key>.cwasm`; the engine key
//!    is a hash of the engine's compatibility settings (wasmtime version, every
//!    compile-affecting option, target and CPU features), so a change of either is a miss.
//!
//! Each file is an [`artefact`](super::artefact): one that is stale (another version of the
//! component), corrupted, or made by another wasmtime, engine settings or CPU (wasmtime's own
//! check) is logged with the reason and rebuilt into the cache directory. Files are written
//! to a temp file and renamed into place; cache I/O errors are logged and never fatal.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use super::artefact::{self, beside_path};
use super::compiler::{self, Budget, CompileIn, WorkerFailure, WorkerRequest};
use super::LoadError;

/// Where a component's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The artefact next to the component (`aviary compile --beside`).
    Beside,
    /// The cache directory.
    Cache,
    /// Compiled now.
    Compiled,
}

/// How and where components are compiled, shared by both engines.
pub(crate) struct Compiler {
    pub(crate) place: CompileIn,
    pub(crate) budget: Budget,
    /// The sandbox's `max_memory_bytes` (the worker builds the same engine).
    pub(crate) max_memory_bytes: u64,
}

/// A compile in a child process.
struct ChildCompile<'a> {
    exe: &'a Path,
    hash: &'a artefact::Hash,
    cache_file: Option<&'a Path>,
    one_thread: bool,
}

/// Where compiled components live for one engine; `dir` `None` disables the cache directory.
pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
    metered: bool,
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

/// A short hex hash of `engine`'s compatibility settings.
pub(crate) fn engine_key(engine: &Engine) -> String {
    let mut h = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex(&h.0.finalize()[..8])
}

impl CompileCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>, metered: bool) -> Self {
        CompileCache {
            dir,
            engine_key: engine_key(engine),
            metered,
        }
    }

    /// The component for `bytes` (read from `source`): from an artefact if a usable one
    /// exists, else compiled by `compiler` (and stored in the cache directory).
    pub(crate) fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
        source: &Path,
        compiler: &Compiler,
    ) -> Result<(Component, Origin), LoadError> {
        let hash = artefact::sha256(bytes);
        let cache_file = self.cache_file(&hash);
        let candidates = [
            (beside_path(source, self.metered), Origin::Beside),
            (cache_file.clone().unwrap_or_default(), Origin::Cache),
        ];
        for (file, origin) in candidates {
            if file.as_os_str().is_empty() {
                continue;
            }
            if let Some(component) = read_artefact(engine, &file, &hash, source) {
                return Ok((component, origin));
            }
        }
        let started = Instant::now();
        let reserved = compiler
            .budget
            .reserve(compiler::estimate(bytes.len() as u64));
        tracing::info!(
            component = %source.display(),
            bytes = bytes.len(),
            one_thread = reserved.over,
            "compiling component (no usable compiled artefact)"
        );
        let component = match &compiler.place {
            CompileIn::ChildProcess(exe) => {
                let child = ChildCompile {
                    exe,
                    hash: &hash,
                    cache_file: cache_file.as_deref(),
                    one_thread: reserved.over,
                };
                match self.compile_in_child(engine, source, compiler, child) {
                    Ok(c) => Some(c),
                    Err(WorkerFailure::Component(said)) => {
                        return Err(LoadError::Compile {
                            path: source.to_path_buf(),
                            source: wasmtime::Error::msg(said),
                        })
                    }
                    Err(WorkerFailure::Killed(why)) => {
                        return Err(LoadError::Compiler {
                            path: source.to_path_buf(),
                            message: why,
                        })
                    }
                    Err(WorkerFailure::Worker(why)) => {
                        tracing::warn!(component = %source.display(), "{why}; compiling in this process instead");
                        None
                    }
                }
            }
            CompileIn::ThisProcess => None,
        };
        let component = match component {
            Some(c) => c,
            None => {
                let component = Component::from_binary(engine, bytes).map_err(|source_err| {
                    LoadError::Compile {
                        path: source.to_path_buf(),
                        source: source_err,
                    }
                })?;
                if let Some(file) = &cache_file {
                    if let Err(e) = store(file, &hash, &component) {
                        tracing::warn!(cache_file = %file.display(), "could not write the compiled-component cache: {e:#}");
                    }
                }
                component
            }
        };
        drop(reserved);
        tracing::info!(
            component = %source.display(),
            ms = started.elapsed().as_millis() as u64,
            "compiled component"
        );
        Ok((component, Origin::Compiled))
    }

    /// Compiles in a child process into the cache file (or a temporary file when there is no
    /// usable cache directory) and deserializes what it wrote.
    fn compile_in_child(
        &self,
        engine: &Engine,
        source: &Path,
        compiler: &Compiler,
        child: ChildCompile<'_>,
    ) -> Result<Component, WorkerFailure> {
        let ChildCompile {
            exe,
            hash,
            cache_file,
            one_thread,
        } = child;
        let usable_cache = cache_file.filter(|f| {
            f.parent()
                .is_some_and(|d| std::fs::create_dir_all(d).is_ok())
        });
        let (output, temporary) = match usable_cache {
            Some(f) => (f.to_path_buf(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "aviary-{}-{}.cwasm",
                    std::process::id(),
                    rand::random::<u64>()
                )),
                true,
            ),
        };
        let request = WorkerRequest {
            component: source.to_path_buf(),
            output: output.clone(),
            engine_key: self.engine_key.clone(),
            metered: self.metered,
            max_memory_bytes: compiler.max_memory_bytes,
            one_thread,
        };
        let ran = compiler::in_child(exe, &request);
        let read = ran.and_then(|()| {
            let file = std::fs::read(&output)
                .map_err(|e| WorkerFailure::Worker(format!("{}: {e}", output.display())))?;
            let payload = artefact::decode(&file, hash).map_err(|why| {
                WorkerFailure::Worker(format!(
                    "what the compiler process wrote is {why} (was {} changed meanwhile?)",
                    source.display()
                ))
            })?;
            // SAFETY: written just now by the worker from this component for this engine
            // (it checked the engine key); wasmtime checks version and settings again.
            unsafe { Component::deserialize(engine, payload) }
                .map_err(|e| WorkerFailure::Worker(format!("{e:#}")))
        });
        if temporary {
            let _ = std::fs::remove_file(&output);
        }
        read
    }

    fn cache_file(&self, hash: &artefact::Hash) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{}-{}.cwasm", hex(hash), self.engine_key)))
    }
}

/// The component in the artefact `file`, if there is one and it is usable; an unusable one is
/// logged with the reason.
fn read_artefact(
    engine: &Engine,
    file: &Path,
    hash: &artefact::Hash,
    source: &Path,
) -> Option<Component> {
    // Read into memory rather than `deserialize_file`: a mapped file that someone truncates or
    // rewrites in place while the handler runs would crash the process with SIGBUS.
    let bytes = std::fs::read(file).ok()?;
    let payload = match artefact::decode(&bytes, hash) {
        Ok(p) => p,
        Err(why) => {
            tracing::warn!(
                artefact = %file.display(),
                component = %source.display(),
                "compiled artefact is {why}; recompiling"
            );
            return None;
        }
    };
    // SAFETY: the artefact is intact (its checksum matches) and was made from this component's
    // bytes by `Component::serialize`; wasmtime checks that it was made by this wasmtime version
    // for these engine settings and this CPU, and refuses it otherwise.
    match unsafe { Component::deserialize(engine, payload) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(
                artefact = %file.display(),
                component = %source.display(),
                "compiled artefact was made for another wasmtime version, engine settings or CPU ({e:#}); recompiling"
            );
            None
        }
    }
}

/// Writes the artefact of `component` (compiled from the component whose hash is `hash`).
pub(crate) fn store(
    file: &Path,
    hash: &artefact::Hash,
    component: &Component,
) -> anyhow::Result<()> {
    let payload = component.serialize().map_err(anyhow::Error::from)?;
    artefact::write_atomically(file, &artefact::encode(hash, &payload))?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
