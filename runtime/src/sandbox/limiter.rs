//! The memory limit of one instance, summed over all its linear memories (wasmtime's
//! `StoreLimits` limits each memory separately, so a component with two memories would get
//! twice the budget). Also records the peak for [`crate::handler::Invocation::peak_memory_bytes`].

use wasmtime::ResourceLimiter;

use crate::limits::sandbox::MAX_TABLE_ELEMENTS;

/// Refusal raised from `memory.grow` (or instantiation) when the total would pass the limit.
/// It is an error, not a `false`, so the call traps right there and classifies cleanly as
/// [`crate::handler::Failure::MemoryLimit`] instead of the guest's allocator aborting.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("memory limit exceeded: the instance asked for {requested_bytes} bytes in total, the limit is {limit_bytes} bytes")]
pub(crate) struct MemoryLimitExceeded {
    pub limit_bytes: u64,
    pub requested_bytes: u64,
}

/// Tracks the total linear memory of one store.
pub(crate) struct TotalMemoryLimiter {
    limit: u64,
    total: u64,
    peak: u64,
    last_growth: u64,
}

impl TotalMemoryLimiter {
    pub(crate) fn new(limit: u64) -> Self {
        TotalMemoryLimiter {
            limit,
            total: 0,
            peak: 0,
            last_growth: 0,
        }
    }

    /// Starts a new call: the peak restarts from what the instance holds now.
    pub(crate) fn begin_call(&mut self) {
        self.peak = self.total;
    }

    /// Most bytes held at once since [`Self::begin_call`].
    pub(crate) fn peak(&self) -> u64 {
        self.peak
    }
}

impl ResourceLimiter for TotalMemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current) as u64;
        let requested = self.total.saturating_add(growth);
        if requested > self.limit {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit_bytes: self.limit,
                requested_bytes: requested,
            }));
        }
        self.total = requested;
        self.last_growth = growth;
        self.peak = self.peak.max(self.total);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // Accepted by us but refused by the allocator (e.g. past the pool's slot size).
        self.total = self.total.saturating_sub(self.last_growth);
        self.last_growth = 0;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_the_sum_over_memories() {
        let mut l = TotalMemoryLimiter::new(100);
        assert!(l.memory_growing(0, 60, None).unwrap());
        let err = l.memory_growing(0, 60, None).unwrap_err();
        let e = err.downcast_ref::<MemoryLimitExceeded>().unwrap();
        assert_eq!(e.requested_bytes, 120);
        assert!(l.memory_growing(60, 100, None).unwrap());
        assert_eq!(l.peak(), 100);
        l.memory_grow_failed(wasmtime::Error::msg("pool")).unwrap();
        assert_eq!(l.total, 60);
    }
}
