//! Temporary directories of a test, removed when dropped.

use std::path::{Path, PathBuf};

/// A fresh temporary directory `aviary-<tag>-<pid>`, removed on drop.
pub struct Dir(pub PathBuf);

impl Dir {
    /// Creates it (removing what an earlier run of the same test left behind).
    pub fn new(tag: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("aviary-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to the file `name` inside it; returns the file's path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
