//! The manifest `aviary run` is given, as a [`Deployment`]: either one app (a manifest as
//! described everywhere else), or several apps in one process — a manifest whose top level is
//! `include = ["bots/*.toml", …]` (plus the process's `[admin]` and `[log]`), each included
//! file being a whole single-app manifest (`[feishu]`, `[connection]`, `[dispatch]`,
//! `[queue]`, `[[handler]]`), usable on its own with every other command.
//!
//! Checked here, beyond each file's own checks: the patterns match files, no file is included
//! twice, app ids are unique, no two apps share a disk queue file, and included files leave
//! `[admin]` and `[log]` to the including manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::raw::{RawAdmin, RawLog};
use super::source::Source;
use super::{Context, Manifest, ManifestError};
use crate::admin::AdminSettings;
use crate::process::LogFormat;
use crate::queue::QueueBackend;

/// Keys allowed at the top level of a manifest with `include`.
pub(super) const INCLUDING_KEYS: &[&str] = &["include", "admin", "log"];

/// A manifest with `include`, exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIncluding {
    pub include: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub admin: RawAdmin,
    #[serde(default)]
    pub log: RawLog,
}

/// What one `aviary run` runs: its apps and the process's settings.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The manifest given.
    pub path: PathBuf,
    /// Every app, in order: the manifest itself, or each included file (patterns in order,
    /// each pattern's matches sorted by path).
    pub apps: Vec<Manifest>,
    /// `[admin]` of the manifest given.
    pub admin: AdminSettings,
    /// `[log] format` of the manifest given, when set.
    pub log_format: Option<LogFormat>,
    /// Whether the manifest given includes others (`include`), rather than being the app.
    pub including: bool,
}

impl Deployment {
    /// Reads the manifest at `path`: an app manifest ([`Manifest::load`]) or one with
    /// `include` (see the module doc). Every problem is reported, each at its file and line.
    pub fn load(path: impl AsRef<Path>) -> Result<Deployment, ManifestError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if !has_include(&text) {
            let m = Manifest::load(path)?;
            return Ok(Deployment {
                path: path.to_path_buf(),
                admin: m.admin.clone(),
                log_format: m.log_format,
                apps: vec![m],
                including: false,
            });
        }
        let env = |name: &str| std::env::var(name).ok();
        let cx = Context {
            path: path.to_path_buf(),
            source: Source::new(&text),
            env: &env,
        };
        let raw: RawIncluding = toml::from_str(&text).map_err(|e| cx.including_error(&e))?;
        let mut problems = Vec::new();
        let admin = cx.admin(raw.admin).map_err(|e| problems.push(e)).ok();
        let log_format = cx.log(raw.log).map_err(|e| problems.push(e)).ok().flatten();
        let files = cx.included_files(&raw.include, &mut problems);
        let mut apps = Vec::new();
        for file in files {
            match Manifest::load(&file) {
                Ok(m) => {
                    problems.extend(leaves_operations_alone(&m));
                    apps.push(m);
                }
                Err(e) => problems.extend(match e {
                    ManifestError::Several(list) => list,
                    one => vec![one],
                }),
            }
        }
        problems.extend(clashes(&apps));
        if let Some(e) = ManifestError::from_list(problems) {
            return Err(e);
        }
        Ok(Deployment {
            path: path.to_path_buf(),
            apps,
            admin: admin.expect("no problem, so set"),
            log_format,
            including: true,
        })
    }
}

impl Deployment {
    /// `[admin]` of the manifest `text` (at `path`) when it has `include` — what `aviary ctl`
    /// needs, with `env` for `${VAR}`s — or `None` when it is an app manifest.
    pub fn admin_of(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Result<AdminSettings, ManifestError>> {
        if !has_include(text) {
            return None;
        }
        let cx = Context {
            path: path.to_path_buf(),
            source: Source::new(text),
            env,
        };
        let raw: Result<RawIncluding, _> = toml::from_str(text);
        Some(match raw {
            Ok(raw) => cx.admin(raw.admin),
            Err(e) => Err(cx.including_error(&e)),
        })
    }
}

/// Whether the top level of `text` has an `include` key (an unparseable text has none: the app
/// manifest's parser reports it).
fn has_include(text: &str) -> bool {
    toml::from_str::<toml::Table>(text).is_ok_and(|t| t.contains_key("include"))
}

impl Context<'_> {
    /// A TOML error of a manifest with `include`; app tables get a message saying where they go.
    fn including_error(&self, e: &toml::de::Error) -> ManifestError {
        let message = e.message();
        let unknown = message
            .find("unknown field `")
            .map(|at| &message[at + 15..])
            .and_then(|rest| rest.split('`').next());
        match unknown {
            Some(key) => {
                let span = e.span().unwrap_or(0..0);
                let (line, column) = self.source.span_start(&span);
                ManifestError::Invalid {
                    path: self.path.clone(),
                    line,
                    column,
                    key: key.to_string(),
                    message: format!(
                        "not allowed in a manifest with `include`: each included file declares \
                         one app ([feishu], [connection], [dispatch], [queue], [[handler]]); \
                         allowed here: {}",
                        INCLUDING_KEYS.join(", ")
                    ),
                }
            }
            None => self.toml_error(e),
        }
    }

    /// The files `include`'s patterns match (relative to the manifest's directory), in order,
    /// each once. A pattern that is malformed or matches nothing is a problem.
    fn included_files(
        &self,
        include: &Spanned<Vec<Spanned<String>>>,
        problems: &mut Vec<ManifestError>,
    ) -> Vec<PathBuf> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut files: Vec<PathBuf> = Vec::new();
        if include.get_ref().is_empty() {
            problems.push(self.located(
                &include.span(),
                "include",
                "lists no file; name the app manifests to run, e.g. [\"bots/*.toml\"]",
            ));
        }
        for pattern in include.get_ref() {
            let text = match self.expand(pattern, "include") {
                Ok(t) => t,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let full = dir.join(&text);
            let matched = match glob::glob(&full.to_string_lossy()) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                    found.sort();
                    found
                }
                Err(e) => {
                    problems.push(self.located(
                        &pattern.span(),
                        "include",
                        format!("`{text}` is not a valid pattern: {e}"),
                    ));
                    continue;
                }
            };
            let matched: Vec<PathBuf> = matched.into_iter().filter(|p| p.is_file()).collect();
            if matched.is_empty() {
                problems.push(self.located(
                    &pattern.span(),
                    "include",
                    format!(
                        "`{text}` matches no file (patterns are relative to {})",
                        dir.display()
                    ),
                ));
            }
            for file in matched {
                let same = |f: &PathBuf| same_file(f, &file);
                if same(&self.path) {
                    problems.push(self.located(
                        &pattern.span(),
                        "include",
                        format!("`{text}` matches this manifest itself"),
                    ));
                } else if !files.iter().any(same) {
                    files.push(file);
                }
            }
        }
        files
    }
}

/// Whether two paths name the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// An included manifest may not set `[admin]` or `[log]` (they are the process's).
fn leaves_operations_alone(m: &Manifest) -> Vec<ManifestError> {
    let text = std::fs::read_to_string(&m.path).unwrap_or_default();
    let source = Source::new(&text);
    ["admin", "log"]
        .into_iter()
        .filter_map(|table| {
            let line = source.table_line(table)?;
            Some(ManifestError::Invalid {
                path: m.path.clone(),
                line,
                column: 1,
                key: table.to_string(),
                message: format!(
                    "[{table}] belongs to the manifest that includes this one (the process has \
                     one); move it there"
                ),
            })
        })
        .collect()
}

/// Two apps with one app id, or sharing one disk queue file.
fn clashes(apps: &[Manifest]) -> Vec<ManifestError> {
    let mut problems = Vec::new();
    let mut ids: BTreeMap<&str, &Path> = BTreeMap::new();
    let mut queues: BTreeMap<PathBuf, &Path> = BTreeMap::new();
    for m in apps {
        let at = |key: &str, message: String| ManifestError::Invalid {
            path: m.path.clone(),
            line: 1,
            column: 1,
            key: key.to_string(),
            message,
        };
        if let Some(first) = ids.insert(&m.feishu.app_id, &m.path) {
            problems.push(at(
                "feishu.app_id",
                format!(
                    "`{}` is also the app of {}; each app runs once per process",
                    m.feishu.app_id,
                    first.display()
                ),
            ));
        }
        if m.queue.backend == QueueBackend::Disk {
            let file = std::path::absolute(&m.queue.path).unwrap_or_else(|_| m.queue.path.clone());
            if let Some(first) = queues.insert(file.clone(), &m.path) {
                problems.push(at(
                    "queue.path",
                    format!(
                        "{} is also the queue of {}; give each app its own [queue] path",
                        file.display(),
                        first.display()
                    ),
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tmp(PathBuf);

    impl Tmp {
        fn new(tag: &str) -> Tmp {
            let dir = std::env::temp_dir().join(format!(
                "aviary-include-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("bots")).unwrap();
            Tmp(dir)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn app(id: &str, queue: &str) -> String {
        format!("[feishu]\napp_id = \"{id}\"\napp_secret = \"s\"\n\n[queue]\npath = \"{queue}\"\n")
    }

    #[test]
    fn an_app_manifest_is_a_deployment_of_one() {
        let t = Tmp::new("one");
        let path = t.write("aviary.toml", &app("cli_a", "q.redb"));
        let d = Deployment::load(&path).unwrap();
        assert!(!d.including);
        assert_eq!(d.apps.len(), 1);
        assert_eq!(d.apps[0].feishu.app_id, "cli_a");
        assert!(
            d.admin.listen.is_some(),
            "the admin server is on by default"
        );
    }

    #[test]
    fn include_runs_every_matching_file_in_order() {
        let t = Tmp::new("many");
        t.write("bots/b.toml", &app("cli_b", "b.redb"));
        t.write("bots/a.toml", &app("cli_a", "a.redb"));
        t.write("extra.toml", &app("cli_c", "c.redb"));
        let path = t.write(
            "aviary.toml",
            "include = [\"bots/*.toml\", \"extra.toml\", \"bots/a.toml\"]\n\n[admin]\nlisten = \"127.0.0.1:0\"\n\n[log]\nformat = \"json\"\n",
        );
        let d = Deployment::load(&path).unwrap();
        assert!(d.including);
        let ids: Vec<&str> = d.apps.iter().map(|m| m.feishu.app_id.as_str()).collect();
        assert_eq!(
            ids,
            ["cli_a", "cli_b", "cli_c"],
            "sorted per pattern, each file once"
        );
        assert_eq!(d.log_format, Some(LogFormat::Json));
        assert!(d.apps[0].path.ends_with("bots/a.toml"));
        // Paths inside an included file are relative to that file.
        assert!(d.apps[0].queue.path.ends_with("bots/a.redb"));
    }

    #[test]
    fn every_problem_is_reported_at_its_file_and_line() {
        let t = Tmp::new("bad");
        t.write("bots/a.toml", &app("cli_a", "same.redb"));
        t.write(
            "bots/b.toml",
            &format!("{}\n[admin]\nlisten = \"\"\n", app("cli_a", "same.redb")),
        );
        t.write("bots/c.toml", "[feishu]\napp_id = \"cli_c\"\n");
        let path = t.write(
            "aviary.toml",
            "include = [\"bots/*.toml\", \"nothing/*.toml\"]\n\n[feishu]\napp_id = \"x\"\n",
        );
        let e = Deployment::load(&path).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("aviary.toml:3:2: feishu: not allowed in a manifest with `include`"),
            "{text}"
        );
        // The table error stops the parse; fix it and see the rest.
        let path = t.write(
            "aviary.toml",
            "include = [\"bots/*.toml\", \"nothing/*.toml\"]\n",
        );
        let text = Deployment::load(&path).unwrap_err().to_string();
        for want in [
            "aviary.toml:1:27: include: `nothing/*.toml` matches no file",
            "bots/b.toml:8:1: admin: [admin] belongs to the manifest that includes this one",
            "bots/c.toml:1: missing required key `feishu.app_secret`",
            "bots/b.toml:1:1: feishu.app_id: `cli_a` is also the app of",
            "bots/b.toml:1:1: queue.path:",
            "give each app its own [queue] path",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }
}
