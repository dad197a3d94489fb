//! The `aviary` binary: the allocator, then the command line (which lives in the library, as
//! its one entry point outside the embedding API).

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: every event allocates and frees small buffers on two
/// worker threads (frames, envelopes, tasks, wasmtime stores); glibc's arena locking and
/// consolidation showed up at ~15% of the per-event CPU (`--bench events`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    aviary::__cli_main()
}
