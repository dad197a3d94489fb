//! JavaScript and TypeScript handlers: the SDK's `aviary-js build`. The builder is the
//! project's own (`node_modules/.bin/aviary-js` in the source's directory or above; when a
//! `package.json` there depends on `aviary-js` but nothing is installed, `npm install` runs
//! first, as `spin build` does), else the SDK checkout's (`<guest-sdk>/js/bin/aviary-js.js`,
//! after `npm ci` there).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{exec, sdk, Lang, Progress};

/// Builds the module `source` into `component`.
pub fn build(
    source: &Path,
    manifest_dir: &Path,
    component: &Path,
    progress: &dyn Progress,
) -> Result<String, String> {
    let tool = builder(source, manifest_dir, progress)?;
    let mut cmd = Command::new(&tool[0]);
    cmd.args(&tool[1..])
        .arg("build")
        .arg(source)
        .arg("-o")
        .arg(component);
    progress.step("aviary-js build (bundle, then the component)");
    exec::run(cmd, "aviary-js build", &|_, _| {})?;
    Ok("aviary-js".to_string())
}

fn ancestors(source: &Path) -> impl Iterator<Item = &Path> {
    let start = if source.is_dir() {
        source
    } else {
        source.parent().unwrap_or(Path::new("."))
    };
    start.ancestors()
}

/// The command (program and leading arguments) that runs `aviary-js`.
pub fn builder(
    source: &Path,
    manifest_dir: &Path,
    progress: &dyn Progress,
) -> Result<Vec<OsString>, String> {
    if let Some(bin) = installed(source) {
        return Ok(vec![bin.into()]);
    }
    let wants_it = ancestors(source)
        .chain(std::iter::once(manifest_dir))
        .find(|d| {
            std::fs::read_to_string(d.join("package.json"))
                .is_ok_and(|p| p.contains("\"aviary-js\""))
        });
    if let Some(project) = wants_it {
        progress.step(&format!("npm install in {}", project.display()));
        let mut cmd = Command::new("npm");
        cmd.args(["install", "--no-audit", "--no-fund"])
            .current_dir(project);
        exec::run(
            cmd,
            &format!("npm install in {}", project.display()),
            &|_, _| {},
        )?;
        if let Some(bin) = installed(source) {
            return Ok(vec![bin.into()]);
        }
    }
    if let Some(js) = sdk::dir(Lang::Js) {
        let script = js.join("bin/aviary-js.js");
        if js.join("node_modules").is_dir() && script.is_file() {
            return Ok(vec!["node".into(), script.into()]);
        }
        return Err(format!(
            "the JavaScript builder is not installed: run `npm ci` in {} (or add aviary-js to \
             the project's package.json)",
            js.display()
        ));
    }
    Err(format!(
        "no aviary-js found for {}: add `\"aviary-js\": \"file:<guest-sdk>/js\"` to the \
         project's package.json, or {}",
        source.display(),
        sdk::HOW_TO_POINT_AT_IT
    ))
}

fn installed(source: &Path) -> Option<PathBuf> {
    ancestors(source)
        .map(|d| d.join("node_modules/.bin/aviary-js"))
        .find(|b| b.is_file())
}
