use std::time::Duration;

/// How slowly logins for an e-mail are answered after it failed: each further attempt waits
/// longer. The failures are counted in the database (`store::login`), so every instance
/// behind a load balancer sees all of them; this holds only the policy.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    base: Duration,
}

/// Failures older than this are forgotten.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_DELAY: Duration = Duration::from_secs(5);
/// The first failures cost nothing: people mistype.
const FREE_ATTEMPTS: u32 = 2;

impl LoginThrottle {
    pub fn new(base: Duration) -> Self {
        Self { base }
    }

    /// How long the next attempt waits after `failures` recent ones:
    /// `base × 2^(failures − free − 1)`, capped.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures <= FREE_ATTEMPTS {
            return Duration::ZERO;
        }
        let exp = (failures - FREE_ATTEMPTS - 1).min(16);
        self.base.saturating_mul(1 << exp).min(MAX_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_after_the_free_attempts_and_is_capped() {
        let t = LoginThrottle::new(Duration::from_millis(100));
        let seen: Vec<u128> = (0..10).map(|n| t.delay(n).as_millis()).collect();
        assert_eq!(seen, [0, 0, 0, 100, 200, 400, 800, 1600, 3200, 5000]);
        assert_eq!(t.delay(u32::MAX), MAX_DELAY);
    }
}
