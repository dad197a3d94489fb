//! Go handlers: [`crate::guest_build::build_go`], as `aviary guest build --lang go` runs it.

use std::path::Path;

use super::Progress;
use crate::guest_build::{self, GoBuild};

/// Builds the Go package at `source` (a directory, or a file in it) into `component`.
pub fn build(source: &Path, component: &Path, progress: &dyn Progress) -> Result<String, String> {
    let dir = if source.is_dir() {
        source
    } else {
        source.parent().unwrap_or(Path::new("."))
    };
    progress.step("go build (GOOS=wasip1), then the component");
    let built = guest_build::build_go(&GoBuild {
        dir: dir.to_path_buf(),
        output: component.to_path_buf(),
        go: None,
        arena_mib: guest_build::DEFAULT_ARENA_MIB,
        keep_core: false,
    })
    .map_err(|e| e.to_string())?;
    Ok(format!("go {}", built.go_version))
}
