//! Python handlers: the SDK's `aviary-py build` (the console script of
//! `pip install guest-sdk/python`). Found as `$AVIARY_PY`, else `.venv/bin/aviary-py` in the
//! source's directory or above, else `aviary-py` on `PATH`; else, when a `requirements.txt`
//! there names `aviary-guest`, a `.venv` is made next to it and the requirements installed
//! (as `npm install` for JavaScript).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{exec, Progress};

/// Builds the module `source` into `component`.
pub fn build(
    source: &Path,
    manifest_dir: &Path,
    component: &Path,
    progress: &dyn Progress,
) -> Result<String, String> {
    let tool = builder(source, manifest_dir, progress)?;
    let mut cmd = Command::new(&tool);
    cmd.arg("build").arg(source).arg("-o").arg(component);
    progress.step("aviary-py build (componentize-py)");
    exec::run(cmd, "aviary-py build", &|_, _| {})?;
    Ok("aviary-py".to_string())
}

fn ancestors(source: &Path) -> impl Iterator<Item = &Path> {
    let start = if source.is_dir() {
        source
    } else {
        source.parent().unwrap_or(Path::new("."))
    };
    start.ancestors()
}

fn venv_tool(source: &Path) -> Option<PathBuf> {
    ancestors(source)
        .map(|d| d.join(".venv/bin/aviary-py"))
        .find(|b| b.is_file())
}

fn on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("aviary-py"))
        .find(|b| b.is_file())
}

/// The `aviary-py` to run.
pub fn builder(
    source: &Path,
    manifest_dir: &Path,
    progress: &dyn Progress,
) -> Result<OsString, String> {
    if let Some(p) = std::env::var_os("AVIARY_PY").filter(|v| !v.is_empty()) {
        return Ok(p);
    }
    if let Some(p) = venv_tool(source).or_else(on_path) {
        return Ok(p.into());
    }
    let project = ancestors(source)
        .chain(std::iter::once(manifest_dir))
        .find(|d| {
            std::fs::read_to_string(d.join("requirements.txt"))
                .is_ok_and(|r| r.contains("aviary-guest"))
        });
    let Some(project) = project else {
        return Err(format!(
            "no aviary-py found for {}: `pip install <guest-sdk>/python` into a .venv next to \
             it (or anywhere on PATH), or set AVIARY_PY",
            source.display()
        ));
    };
    let venv = project.join(".venv");
    progress.step(&format!("python3 -m venv {}", venv.display()));
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "venv"]).arg(&venv);
    exec::run(cmd, "python3 -m venv", &|_, _| {})?;
    progress.step("pip install -r requirements.txt (componentize-py)");
    let mut cmd = Command::new(venv.join("bin/python"));
    cmd.args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
        .arg(project.join("requirements.txt"))
        .current_dir(project);
    exec::run(cmd, "pip install -r requirements.txt", &|_, _| {})?;
    venv_tool(source).map(Into::into).ok_or_else(|| {
        format!(
            "{} has no bin/aviary-py after installing requirements.txt",
            venv.display()
        )
    })
}
