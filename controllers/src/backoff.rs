//! Per-key requeue delays after failed reconciles: upstream's default controller rate limiter's
//! per-item part (`ItemExponentialFailureRateLimiter(5ms, 1000s)`), the delay doubling with each
//! consecutive failure of a key and reset by its next success.

use std::{collections::HashMap, sync::Mutex, time::Duration};

/// The first retry delay.
pub const BASE_DELAY: Duration = Duration::from_millis(5);
/// The longest retry delay.
pub const MAX_DELAY: Duration = Duration::from_secs(1000);

/// Consecutive failures per key.
#[derive(Debug, Default)]
pub struct FailureBackoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl FailureBackoff {
    /// Record a failure of `key`; returns how long to wait before retrying it.
    pub fn next_delay(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let count = failures.entry(key.to_owned()).or_insert(0);
        let delay = delay_after(*count);
        *count = count.saturating_add(1);
        delay
    }

    /// Forget `key`'s failures (after a success).
    pub fn forget(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(key);
    }
}

/// The delay after `previous_failures` earlier consecutive failures: `5ms * 2^n`, at most 1000 s.
pub fn delay_after(previous_failures: u32) -> Duration {
    if previous_failures >= 32 {
        return MAX_DELAY;
    }
    BASE_DELAY
        .checked_mul(1u32 << previous_failures)
        .map_or(MAX_DELAY, |delay| delay.min(MAX_DELAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        assert_eq!(delay_after(0), Duration::from_millis(5));
        assert_eq!(delay_after(1), Duration::from_millis(10));
        assert_eq!(delay_after(10), Duration::from_millis(5120));
        assert_eq!(delay_after(18), MAX_DELAY);
        assert_eq!(delay_after(40), MAX_DELAY);
    }

    #[test]
    fn success_resets_a_key() {
        let backoff = FailureBackoff::default();
        assert_eq!(backoff.next_delay("a"), Duration::from_millis(5));
        assert_eq!(backoff.next_delay("a"), Duration::from_millis(10));
        assert_eq!(backoff.next_delay("b"), Duration::from_millis(5));
        backoff.forget("a");
        assert_eq!(backoff.next_delay("a"), Duration::from_millis(5));
    }
}
