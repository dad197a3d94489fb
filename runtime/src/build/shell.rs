//! `[handler.build] command = "…"`: any build, run by `sh -c` in the manifest's directory with
//! `AVIARY_COMPONENT` set to the path it must write.

use std::path::Path;
use std::process::Command;

use super::{exec, Progress};

/// Runs `command`; it must write `component`.
pub fn build(
    command: &str,
    dir: &Path,
    component: &Path,
    progress: &dyn Progress,
) -> Result<(), String> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("AVIARY_COMPONENT", component);
    progress.step(command);
    exec::run(cmd, &format!("`{command}`"), &|_, line| {
        if !line.trim().is_empty() {
            progress.step(line);
        }
    })?;
    Ok(())
}
