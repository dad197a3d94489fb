//! `aviary build`: builds a handler's component from the source its manifest entry names
//! (`[handler.build]`), with the language's own toolchain:
//!
//! | language | how | module |
//! |---|---|---|
//! | Rust | `cargo build --release --target wasm32-wasip2`, the cdylib copied to `component` | [`rust`] |
//! | Go | [`crate::guest_build::build_go`] (what `aviary guest build --lang go` runs) | [`go`] |
//! | JavaScript / TypeScript | the SDK's `aviary-js build` (`npm install` first when the project has no `node_modules`) | [`js`] |
//! | Python | the SDK's `aviary-py build` (a `.venv` from `requirements.txt` when none is found) | [`python`] |
//! | anything | `command = "…"`, run by `sh -c` in the manifest's directory | [`shell`] |
//!
//! [`BuildSettings`] is the type the manifest parser builds from `[handler.build]`; this module
//! owns it and its checks. Every build writes the handler's `component` path, so the manifest
//! stays the one place that says where a component is.

pub mod exec;
pub mod go;
pub mod js;
pub mod python;
pub mod rust;
pub mod sdk;
pub mod shell;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A handler's source language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// A cargo package (`Cargo.toml`) with `crate-type = ["cdylib"]`, using `aviary-guest`.
    Rust,
    /// A Go package (`go.mod`), package main, using `aviary.local/aviary`.
    Go,
    /// A `.js`/`.mjs`/`.ts`/`.mts` module exporting `handle(event)`, using `aviary-js`.
    Js,
    /// A `.py` module defining `handle(event)`, using `aviary_guest`.
    Python,
}

impl Lang {
    /// Every language, in the order the CLI lists them.
    #[cfg(test)]
    pub const ALL: [Lang; 4] = [Lang::Rust, Lang::Go, Lang::Js, Lang::Python];

    /// The name used in the manifest and on the command line (`rust`, `go`, `js`, `python`).
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Go => "go",
            Lang::Js => "js",
            Lang::Python => "python",
        }
    }

    /// Parses a name (`javascript`, `typescript`, `ts` and `py` are accepted too).
    pub fn from_name(name: &str) -> Result<Lang, String> {
        match name {
            "rust" => Ok(Lang::Rust),
            "go" => Ok(Lang::Go),
            "js" | "javascript" | "ts" | "typescript" => Ok(Lang::Js),
            "python" | "py" => Ok(Lang::Python),
            other => Err(format!(
                "unknown language `{other}`; use one of rust, go, js, python"
            )),
        }
    }

    /// The language of `source`: a directory with `Cargo.toml` (Rust) or `go.mod` / `.go`
    /// files (Go), or a file by its extension (`.js`/`.mjs`/`.cjs`/`.ts`/`.mts`, `.py`;
    /// `Cargo.toml`, `go.mod` and `.go` name their directory's package).
    pub fn infer(source: &Path) -> Result<Lang, String> {
        if source.is_dir() {
            if source.join("Cargo.toml").is_file() {
                return Ok(Lang::Rust);
            }
            let has_go = std::fs::read_dir(source)
                .map(|d| {
                    d.flatten()
                        .any(|e| e.path().extension().is_some_and(|x| x == "go"))
                })
                .unwrap_or(false);
            if has_go || source.join("go.mod").is_file() {
                return Ok(Lang::Go);
            }
            return Err(format!(
                "{}: a directory without Cargo.toml, go.mod or .go files; name the handler's \
                 file (handler.js, app.py) or set `lang`",
                source.display()
            ));
        }
        if !source.exists() {
            return Err(format!("{} does not exist", source.display()));
        }
        let file = source.file_name().and_then(|f| f.to_str()).unwrap_or("");
        let ext = source.extension().and_then(|e| e.to_str()).unwrap_or("");
        match (file, ext) {
            ("Cargo.toml", _) => Ok(Lang::Rust),
            ("go.mod", _) | (_, "go") => Ok(Lang::Go),
            (_, "js" | "mjs" | "cjs" | "ts" | "mts") => Ok(Lang::Js),
            (_, "py") => Ok(Lang::Python),
            _ => Err(format!(
                "{}: cannot tell the language from the name; set `lang` (rust, go, js, python)",
                source.display()
            )),
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `[handler.build]`: how `aviary build` (and `aviary dev`) makes the handler's component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    /// `source`: the handler's source (a file, a package directory), resolved against the
    /// manifest's directory. `None` only with a `command`.
    pub source: Option<PathBuf>,
    /// `lang`: the language, when written; else inferred from `source` at build time.
    pub lang: Option<Lang>,
    /// `command`: a shell command that writes the component, instead of the language's
    /// builder; run by `sh -c` in [`Self::dir`].
    pub command: Option<String>,
    /// The manifest's directory.
    pub dir: PathBuf,
    /// Where the table was written (1-based line and column), for errors.
    pub at: (usize, usize),
}

impl BuildSettings {
    /// Checks a `[handler.build]` as written: a source or a command (or both), a known
    /// language, a non-empty command.
    pub fn check(
        source: Option<&str>,
        lang: Option<&str>,
        command: Option<&str>,
    ) -> Result<Option<Lang>, (&'static str, String)> {
        let lang = lang
            .map(|l| Lang::from_name(l.trim()).map_err(|e| ("lang", e)))
            .transpose()?;
        if let Some(c) = command {
            if c.trim().is_empty() {
                return Err(("command", "must not be empty".into()));
            }
        }
        if let Some(s) = source {
            if s.trim().is_empty() {
                return Err(("source", "must not be empty".into()));
            }
        }
        if source.is_none() && command.is_none() {
            return Err((
                "source",
                "name the handler's source (`source = \"src\"`, a file or package directory) \
                 or a `command` that builds the component"
                    .into(),
            ));
        }
        Ok(lang)
    }

    /// The language: the written one, else inferred from the source; `None` for a
    /// command-only build.
    pub fn language(&self) -> Result<Option<Lang>, String> {
        match (&self.lang, &self.source, &self.command) {
            (Some(l), _, _) => Ok(Some(*l)),
            (None, _, Some(_)) => Ok(None),
            (None, Some(s), None) => Lang::infer(s).map(Some),
            (None, None, None) => Err("nothing to build".into()),
        }
    }
}

/// What one build produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// The component written (the handler's `component`).
    pub component: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// How long the build took.
    pub time: Duration,
    /// What built it, e.g. `rust`, `go go1.27.3`, `command`.
    pub tool: String,
}

/// Reports progress of a build: a short line about what the toolchain is doing now (the CLI
/// shows it in a spinner).
pub trait Progress: Sync {
    /// The toolchain moved on (e.g. `compiling serde`, `npm install`).
    fn step(&self, what: &str);
}

impl<F: Fn(&str) + Sync> Progress for F {
    fn step(&self, what: &str) {
        self(what)
    }
}

/// Builds one handler's component at `component` as `settings` say.
pub fn build(
    settings: &BuildSettings,
    component: &Path,
    progress: &dyn Progress,
) -> Result<Built, String> {
    let started = Instant::now();
    if let Some(parent) = component.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    // Absolute paths: tools run in other directories, and `parent()` of a bare file name is "".
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let settings = &BuildSettings {
        source: settings.source.as_deref().map(abs),
        dir: abs(&settings.dir),
        ..settings.clone()
    };
    let written = component;
    let component = &abs(component);
    let tool = match (&settings.command, settings.language()?) {
        (Some(command), _) => {
            shell::build(command, &settings.dir, component, progress)?;
            "command".to_string()
        }
        (None, Some(lang)) => {
            let source = settings
                .source
                .as_deref()
                .expect("a source without a command");
            match lang {
                Lang::Rust => rust::build(source, component, progress)?,
                Lang::Go => go::build(source, component, progress)?,
                Lang::Js => js::build(source, &settings.dir, component, progress)?,
                Lang::Python => python::build(source, &settings.dir, component, progress)?,
            }
        }
        (None, None) => return Err("nothing to build".into()),
    };
    let bytes = std::fs::metadata(component)
        .map_err(|e| {
            format!(
                "the build finished but did not write {}: {e}",
                component.display()
            )
        })?
        .len();
    Ok(Built {
        component: written.to_path_buf(),
        bytes,
        time: started.elapsed(),
        tool,
    })
}

#[cfg(test)]
mod tests;
