//! The measuring primitives subsystems record into: histograms with the bucket layouts Aviary
//! uses. A leaf module: it knows no subsystem. Each subsystem owns its histograms (in its
//! stats type); the composition root ([`crate::app`]) registers them, and reads every counter,
//! at scrape time — there is no global registry.

use std::time::Duration;

pub use prometheus_client::metrics::histogram::Histogram;

/// Latency buckets in seconds, 0.5 ms … 10 s: an event's path (received → acked / handler start
/// / done), a handler call, a group commit. Spans the 3 s ack deadline with room either side.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Size buckets for counts that grow in powers of two (a group commit's batch, 1 … 2048).
pub const SIZE_BUCKETS: [f64; 12] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0,
];

/// Bytes, 64 KiB … 1 GiB in powers of four (a handler's peak linear memory).
pub const MEMORY_BUCKETS: [f64; 8] = [
    65536.0,
    262144.0,
    1048576.0,
    4194304.0,
    16777216.0,
    67108864.0,
    268435456.0,
    1073741824.0,
];

/// Fuel units, 10⁴ … 10¹¹ in powers of ten (a handler call's fuel use).
pub const FUEL_BUCKETS: [f64; 8] = [1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11];

/// A histogram of durations in seconds ([`LATENCY_BUCKETS`]).
pub fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// A histogram of batch sizes ([`SIZE_BUCKETS`]).
pub fn size_histogram() -> Histogram {
    Histogram::new(SIZE_BUCKETS)
}

/// Records `d` in seconds.
pub fn observe(histogram: &Histogram, d: Duration) {
    histogram.observe(d.as_secs_f64());
}
