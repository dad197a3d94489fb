//! The guest ABI: what the host and the guests' build agree on beyond the WIT world. The arena
//! descriptors and trap-function names that `aviary guest build` injects ([`crate::guest_build`])
//! and the sandbox recognises in a trap ([`crate::sandbox`]), and the `aviary:guest` custom
//! section ([`section`]) that names a component's source language.

pub mod section;

/// The descriptor magic of the argument arena ("AVIARY-ARGARENA!").
pub const ARG_ARENA_MAGIC: &[u8; 16] = b"AVIARY-ARGARENA!";
/// The descriptor magic of the WASI adapter's arena ("AVIARY-ADPARENA!").
pub const ADAPTER_ARENA_MAGIC: &[u8; 16] = b"AVIARY-ADPARENA!";
/// The module whose function imports the build replaces by defined functions.
pub const BUILD_IMPORT_MODULE: &str = "aviary:build";
/// Prefix of the name of the function that traps when an event does not fit the argument arena;
/// the arena size in bytes follows.
pub const ARG_ARENA_FULL: &str = "aviary_argument_arena_full_";
/// Same, for the adapter's arena.
pub const ADAPTER_ARENA_FULL: &str = "aviary_adapter_arena_full_";
