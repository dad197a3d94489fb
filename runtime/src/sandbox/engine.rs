//! The one wasmtime engine of the process and its epoch ticker.

use std::num::NonZeroUsize;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    WasmBacktraceDetails,
};

use crate::limits::sandbox as limits;
use crate::sandbox::SandboxConfig;

/// Builds an engine: pooling allocator sized by `config`, epoch interruption, symbolicated
/// backtraces, and fuel metering compiled in when `metered` (see "Fuel" in the module doc of
/// [`crate::sandbox`]).
pub(crate) fn build(config: &SandboxConfig, metered: bool) -> wasmtime::Result<Engine> {
    Engine::new(&self::config(config, metered))
}

/// The engine configuration [`build`] uses (the compile worker builds the same engine, so its
/// artefacts are this engine's).
pub(crate) fn config(config: &SandboxConfig, metered: bool) -> Config {
    let instances = config.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(limits::CORE_INSTANCES_PER_INSTANCE))
        .total_memories(instances.saturating_mul(limits::MEMORIES_PER_INSTANCE))
        .total_tables(instances.saturating_mul(limits::TABLES_PER_INSTANCE))
        .total_stacks(instances)
        .max_memories_per_module(limits::MAX_MEMORIES_PER_MODULE)
        .max_memory_size(config.max_memory_bytes as usize)
        // Reset only the pages a call dirtied (Linux PAGEMAP_SCAN; elsewhere, or on older
        // kernels, wasmtime falls back to memset of the first bytes + madvise of the rest).
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(limits::MEMORY_KEEP_RESIDENT_BYTES)
        .table_keep_resident(limits::TABLE_KEEP_RESIDENT_BYTES);

    let mut cfg = Config::new();
    cfg.epoch_interruption(true)
        .consume_fuel(metered)
        .wasm_backtrace_details(WasmBacktraceDetails::Enable)
        .wasm_backtrace_max_frames(NonZeroUsize::new(limits::MAX_BACKTRACE_FRAMES))
        .memory_reservation(config.max_memory_bytes)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    cfg
}

/// Starts the epoch ticker on its own OS thread (never a task: a busy executor must not be able
/// to starve it). It holds only an `EngineWeak`, so it ends when the engine is dropped.
pub(crate) fn start_ticker(engine: &Engine, tick: Duration) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("aviary-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(tick);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })?;
    Ok(())
}
