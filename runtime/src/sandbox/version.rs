//! Checks that a component is one Aviary can run before anything is linked: a component (not a
//! core module), built against a compatible `aviary:handler` version, exporting `handle`.

use std::path::Path;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::sandbox::{LoadError, WorldError};

/// The WIT package version this runtime provides (`wit/handler.wit`).
pub const WIT_VERSION: &str = "0.1.0";

/// The interface every guest imports, without its version.
const TYPES_INTERFACE: &str = "aviary:handler/types@";

/// Refuses anything that is not a WebAssembly component by looking at its header.
pub(crate) fn check_header(bytes: &[u8], path: &Path) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm {
            path: path.to_path_buf(),
        });
    }
    // Bytes 4..8: version 1 layer 0 is a core module; a component has layer 1.
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(LoadError::CoreModule {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// The `aviary:handler` version the component was built against, if it imports the types.
pub(crate) fn imported_version(engine: &Engine, component: &Component) -> Option<String> {
    let ty = component.component_type();
    let found = ty
        .imports(engine)
        .find_map(|(name, _)| name.strip_prefix(TYPES_INTERFACE).map(str::to_string));
    found
}

/// Whether `found` can run on a host providing `expected` (semver; for 0.x the minor is the
/// breaking part).
pub(crate) fn compatible(found: &str, expected: &str) -> bool {
    let (Ok(f), Ok(e)) = (
        semver::Version::parse(found),
        semver::Version::parse(expected),
    ) else {
        return false;
    };
    if e.major == 0 {
        f.major == 0 && f.minor == e.minor
    } else {
        f.major == e.major
    }
}

/// Version and world checks on a compiled component.
pub(crate) fn check(engine: &Engine, component: &Component, path: &Path) -> Result<(), LoadError> {
    let Some(found) = imported_version(engine, component) else {
        return Err(LoadError::World {
            path: path.to_path_buf(),
            reason: WorldError::NoTypesImport(format!("{TYPES_INTERFACE}{WIT_VERSION}")),
        });
    };
    if !compatible(&found, WIT_VERSION) {
        return Err(LoadError::Version {
            path: path.to_path_buf(),
            found,
            expected: WIT_VERSION.to_string(),
        });
    }
    let ty = component.component_type();
    let handle = ty
        .exports(engine)
        .find(|(name, _)| *name == "handle")
        .map(|(_, item)| item.ty);
    let reason = match handle {
        Some(ComponentItem::ComponentFunc(_)) => return Ok(()),
        Some(_) => WorldError::HandleNotAFunction,
        None => WorldError::NoHandle(
            ty.exports(engine)
                .map(|(name, _)| name.to_string())
                .collect(),
        ),
    };
    Err(LoadError::World {
        path: path.to_path_buf(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_x_versions_are_compatible_within_a_minor() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.7", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("1.0.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.0.0"));
        assert!(!compatible("garbage", "0.1.0"));
    }

    #[test]
    fn headers_tell_modules_from_components() {
        let p = Path::new("x.wasm");
        assert!(matches!(
            check_header(b"\0asm\x01\0\0\0", p),
            Err(LoadError::CoreModule { .. })
        ));
        assert!(matches!(
            check_header(b"hello world", p),
            Err(LoadError::NotWasm { .. })
        ));
        assert!(check_header(b"\0asm\x0d\0\x01\0", p).is_ok());
    }
}
