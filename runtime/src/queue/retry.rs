//! When a failed (event, handler) pair runs again: exponential backoff with jitter, up to the
//! handler's `max_attempts`.

use std::time::Duration;

use rand::Rng;

use crate::limits::queue as lim;
use crate::limits::{within, OutOfRange};

/// A handler's retry settings (`[[handler]]` `max_attempts`, `backoff_ms`, `backoff_max_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct RetryPolicy {
    /// Runs in total (the first one included) before the pair is dead-lettered; at least 1.
    pub max_attempts: u32,
    /// Wait before the second run; doubles each run after that.
    pub backoff: Duration,
    /// The wait never grows beyond this.
    pub backoff_max: Duration,
}

/// A retry policy whose longest wait is shorter than its first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "backoff_max_ms ({} ms) is below backoff_ms ({} ms)",
    backoff_max.as_millis(),
    backoff.as_millis()
)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct BackoffBelowFirst {
    /// The first wait.
    pub backoff: Duration,
    /// The cap.
    pub backoff_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: lim::MAX_ATTEMPTS,
            backoff: lim::BACKOFF,
            backoff_max: lim::BACKOFF_MAX,
        }
    }
}

impl RetryPolicy {
    /// A policy whose cap is not below its first wait (each value checked with the functions
    /// below).
    pub fn new(
        max_attempts: u32,
        backoff: Duration,
        backoff_max: Duration,
    ) -> Result<RetryPolicy, BackoffBelowFirst> {
        if backoff_max < backoff {
            return Err(BackoffBelowFirst {
                backoff,
                backoff_max,
            });
        }
        Ok(RetryPolicy {
            max_attempts,
            backoff,
            backoff_max,
        })
    }

    /// Checks a `max_attempts` (`1..=``lim::MAX_MAX_ATTEMPTS`).
    pub fn check_max_attempts(n: u64) -> Result<u32, OutOfRange> {
        within(n, lim::MAX_MAX_ATTEMPTS as u64).map(|n| n as u32)
    }

    /// Checks a `backoff_ms` or `backoff_max_ms` (`1..=u32::MAX` milliseconds).
    pub fn check_backoff_ms(ms: u64) -> Result<Duration, OutOfRange> {
        within(ms, u32::MAX as u64).map(Duration::from_millis)
    }

    /// The wait after run number `attempts` failed (1 = the first run), or `None` when the
    /// attempts are used up. The wait is `backoff × 2^(attempts-1)`, capped at `backoff_max`,
    /// then scaled by a random factor in [0.5, 1] ("equal jitter") so retries of many events
    /// that failed together do not run in lockstep.
    pub fn delay_after(&self, attempts: u32, rng: &mut impl Rng) -> Option<Duration> {
        if attempts >= self.max_attempts.max(1) {
            return None;
        }
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(30));
        let base = self.backoff.saturating_mul(factor).min(self.backoff_max);
        Some(base.mul_f64(rng.gen_range(0.5..=1.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_caps_and_stops() {
        let p = RetryPolicy {
            max_attempts: 5,
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_millis(300),
        };
        let mut rng = rand::thread_rng();
        for _ in 0..100 {
            let d1 = p.delay_after(1, &mut rng).unwrap();
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d2 = p.delay_after(2, &mut rng).unwrap();
            assert!(d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200));
            let d4 = p.delay_after(4, &mut rng).unwrap();
            assert!(d4 >= Duration::from_millis(150) && d4 <= Duration::from_millis(300));
        }
        assert_eq!(p.delay_after(5, &mut rng), None);
        let once = RetryPolicy {
            max_attempts: 1,
            ..p
        };
        assert_eq!(once.delay_after(1, &mut rng), None);
    }
}
