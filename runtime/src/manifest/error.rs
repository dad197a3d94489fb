//! Manifest errors. Every variant that concerns one setting names the file, the line and the
//! dotted key (`connection.heartbeat_interval_ms`), and none ever carries a secret's value.

use std::path::PathBuf;

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("{}: cannot read the manifest: {source}", path.display())]
    Io {
        /// The manifest path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not valid TOML, or a value has the wrong type.
    #[error("{}:{line}:{column}: {}{message}", path.display(), key_prefix(key))]
    Syntax {
        /// The manifest path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The dotted key on that line, when there is one.
        key: Option<String>,
        /// What the TOML parser said.
        message: String,
    },
    /// A key the manifest does not know (typo, or a feature of a later version).
    #[error("{}:{line}:{column}: unknown key `{key}`{}", path.display(), allowed_suffix(allowed))]
    UnknownKey {
        /// The manifest path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The dotted key.
        key: String,
        /// The keys allowed in that table (may be empty when unknown).
        allowed: Vec<String>,
    },
    /// A required key is absent.
    #[error("{}:{line}: missing required key `{key}`", path.display())]
    MissingKey {
        /// The manifest path.
        path: PathBuf,
        /// 1-based line of the table that should hold it (1 when the table itself is missing).
        line: usize,
        /// The dotted key.
        key: String,
    },
    /// A value is well-typed but not acceptable.
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        /// The manifest path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The dotted key.
        key: String,
        /// What is wrong and what would be accepted.
        message: String,
    },
    /// A `${VAR}` reference names an environment variable that is not set.
    #[error(
        "{}:{line}:{column}: {key}: environment variable `{var}` is not set (referenced as ${{{var}}})",
        path.display()
    )]
    MissingEnv {
        /// The manifest path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The dotted key whose value references the variable.
        key: String,
        /// The variable name.
        var: String,
    },
    /// Several independent problems (all of the handler and dispatch checks), one per line.
    #[error("{}", join_lines(.0))]
    Several(Vec<ManifestError>),
}

impl ManifestError {
    /// Every single problem (a [`ManifestError::Several`] flattened).
    pub fn problems(&self) -> Vec<&ManifestError> {
        match self {
            ManifestError::Several(all) => all.iter().flat_map(|e| e.problems()).collect(),
            one => vec![one],
        }
    }

    /// Whether the file could not be read or parsed at all (I/O, TOML syntax, unknown or missing
    /// keys, wrong types), as opposed to well-formed settings with unacceptable values.
    pub fn is_unparseable(&self) -> bool {
        matches!(
            self,
            ManifestError::Io { .. }
                | ManifestError::Syntax { .. }
                | ManifestError::UnknownKey { .. }
                | ManifestError::MissingKey { .. }
        )
    }

    /// One error for a non-empty list: the error itself when there is one, else `Several`.
    pub(super) fn from_list(mut list: Vec<ManifestError>) -> Option<ManifestError> {
        match list.len() {
            0 => None,
            1 => list.pop(),
            _ => Some(ManifestError::Several(list)),
        }
    }
}

fn join_lines(all: &[ManifestError]) -> String {
    all.iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn key_prefix(key: &Option<String>) -> String {
    key.as_ref().map(|k| format!("{k}: ")).unwrap_or_default()
}

fn allowed_suffix(allowed: &[String]) -> String {
    if allowed.is_empty() {
        String::new()
    } else {
        format!(" (allowed here: {})", allowed.join(", "))
    }
}
