use serde::{Deserialize, Serialize};

/// Milliseconds in a day: scoring measures ages and half-lives in days.
pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// An instant in milliseconds since the Unix epoch (UTC).
///
/// Domain code takes `now` as one of these instead of reading a clock, so a score computed
/// twice from the same inputs is the same score.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Earlier than any real instant: the reference of an aggregate that has seen no event.
    pub const MIN: Self = Self(i64::MIN);

    /// The instant `ms` milliseconds after the epoch (before it when negative).
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// `ms` milliseconds later (earlier when negative), saturating instead of overflowing.
    pub const fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Fractional days from `earlier` to `self`: the age of an event that happened at
    /// `earlier`, seen from `self`. Negative when `earlier` is in fact later; saturating, so
    /// [`Timestamp::MIN`] gives a huge age rather than an overflow.
    pub fn days_since(self, earlier: Self) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / MILLIS_PER_DAY as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_is_fractional_signed_and_saturating() {
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let t1 = t0.plus_millis(36 * 3_600_000);
        assert_eq!(t1.days_since(t0), 1.5);
        assert_eq!(t0.days_since(t1), -1.5);
        assert!(t0.days_since(Timestamp::MIN) > 1e8);
        assert_eq!(t1.millis() - t0.millis(), 36 * 3_600_000);
    }
}
