//! The reconnect arithmetic of §8.3 as pure functions: how many attempts, how much jitter.

use std::time::Duration;

use rand::Rng;

/// Whether one more attempt is allowed after `made` attempts in this reconnect round.
/// `ReconnectCount < 0` is unlimited; `N >= 0` allows at most `N`, so `0` allows none — as Go,
/// Python and Java do (Node makes one attempt for 0; we follow the majority and the spec text).
pub fn attempt_allowed(reconnect_count: i64, made: u64) -> bool {
    reconnect_count < 0 || made < reconnect_count as u64
}

/// The one random pause before a reconnect round: uniform in `[0, nonce)` with millisecond
/// resolution (Go/Java draw integer milliseconds), zero when `nonce` is below 1 ms.
pub fn jitter(nonce: Duration, rng: &mut impl Rng) -> Duration {
    let ms = u64::try_from(nonce.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(rng.gen_range(0..ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn attempt_counting_follows_reconnect_count() {
        // Unlimited.
        assert!(attempt_allowed(-1, 0));
        assert!(attempt_allowed(-1, 1_000_000));
        // None at all.
        assert!(!attempt_allowed(0, 0));
        // At most two.
        assert!(attempt_allowed(2, 0));
        assert!(attempt_allowed(2, 1));
        assert!(!attempt_allowed(2, 2));
        assert!(!attempt_allowed(2, 3));
    }

    #[test]
    fn jitter_stays_below_the_nonce() {
        let mut rng = StdRng::seed_from_u64(7);
        assert_eq!(jitter(Duration::ZERO, &mut rng), Duration::ZERO);
        assert_eq!(jitter(Duration::from_micros(900), &mut rng), Duration::ZERO);
        for _ in 0..1000 {
            let j = jitter(Duration::from_millis(50), &mut rng);
            assert!(j < Duration::from_millis(50));
        }
        assert_eq!(jitter(Duration::from_millis(1), &mut rng), Duration::ZERO);
    }
}
