//! Where the guest SDKs are: `$AVIARY_SDK` (a `guest-sdk` directory), else the `guest-sdk`
//! of the repository this binary was built from, when it is still there. `aviary new` points
//! scaffolds at it (path dependencies: the SDKs are not published) and `aviary build` falls
//! back to its JavaScript builder.

use std::path::PathBuf;

use super::Lang;

/// The `guest-sdk` directory, if one is found.
pub fn root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("AVIARY_SDK").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let built_from = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../guest-sdk"));
    built_from
        .is_dir()
        .then(|| built_from.canonicalize().unwrap_or(built_from.clone()))
}

/// One language's SDK directory (`rust`, `go`, `js`, `python` under the root).
pub fn dir(lang: Lang) -> Option<PathBuf> {
    let sub = match lang {
        Lang::Rust => "rust",
        Lang::Go => "go",
        Lang::Js => "js",
        Lang::Python => "python",
    };
    root().map(|r| r.join(sub)).filter(|d| d.is_dir())
}

/// Why no SDK was found, for error messages.
pub const HOW_TO_POINT_AT_IT: &str =
    "set AVIARY_SDK to the guest-sdk directory of an Aviary checkout";
