use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Recent failed logins per e-mail, so that each further attempt waits longer.
///
/// Per instance: behind a load balancer an attacker spreads guesses over instances, which
/// still leaves every instance slow for them. The map is pruned as it is used.
#[derive(Debug)]
pub struct LoginThrottle {
    base: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_DELAY: Duration = Duration::from_secs(5);
/// The first failures cost nothing: people mistype.
const FREE_ATTEMPTS: u32 = 2;

impl LoginThrottle {
    pub fn new(base: Duration) -> Self {
        Self {
            base,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// How long the next attempt for `email` must wait: `base × 2^(failures − free)`, capped.
    pub fn delay(&self, email: &str) -> Duration {
        let Ok(map) = self.failures.lock() else {
            return MAX_DELAY;
        };
        match map.get(email) {
            Some((n, at)) if at.elapsed() < WINDOW && *n > FREE_ATTEMPTS => {
                let exp = (*n - FREE_ATTEMPTS - 1).min(16);
                self.base.saturating_mul(1 << exp).min(MAX_DELAY)
            }
            _ => Duration::ZERO,
        }
    }

    pub fn failed(&self, email: &str) {
        if let Ok(mut map) = self.failures.lock() {
            if map.len() > 100_000 {
                map.retain(|_, (_, at)| at.elapsed() < WINDOW);
            }
            let entry = map.entry(email.to_owned()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                entry.0 = 0;
            }
            entry.0 += 1;
            entry.1 = Instant::now();
        }
    }

    pub fn succeeded(&self, email: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(email);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_after_the_free_attempts_and_is_capped() {
        let t = LoginThrottle::new(Duration::from_millis(100));
        let mut seen = vec![];
        for _ in 0..10 {
            seen.push(t.delay("a@x.io").as_millis());
            t.failed("a@x.io");
        }
        assert_eq!(seen, [0, 0, 0, 100, 200, 400, 800, 1600, 3200, 5000]);
        assert_eq!(t.delay("b@x.io"), Duration::ZERO);
        t.succeeded("a@x.io");
        assert_eq!(t.delay("a@x.io"), Duration::ZERO);
    }
}
