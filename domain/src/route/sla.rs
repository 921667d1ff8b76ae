//! How soon a routed account must be touched.

use serde::{Deserialize, Serialize};

use crate::value::{Invalid, Tier, Timestamp};

/// Longest SLA, in minutes: a week. Past that it no longer says "speed to lead".
pub const MAX_SLA_MINUTES: u32 = 7 * 24 * 60;

/// First-touch deadlines by tier, in minutes. The defaults follow DESIGN.md: 5 minutes for
/// tier 1 (leads reached within five minutes convert far more often), an hour otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlaPolicy {
    /// Tier 1 (one-to-one accounts).
    pub tier1_minutes: u32,
    /// Tier 2.
    pub tier2_minutes: u32,
    /// Tier 3.
    pub tier3_minutes: u32,
    /// Accounts without a tier.
    pub untiered_minutes: u32,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            tier1_minutes: 5,
            tier2_minutes: 60,
            tier3_minutes: 60,
            untiered_minutes: 60,
        }
    }
}

impl SlaPolicy {
    /// Minutes allowed for an account of `tier` (`None`: no tier).
    pub fn minutes(&self, tier: Option<Tier>) -> u32 {
        match tier.map(Tier::get) {
            Some(1) => self.tier1_minutes,
            Some(2) => self.tier2_minutes,
            Some(3) => self.tier3_minutes,
            _ => self.untiered_minutes,
        }
    }

    /// When first touch is due for an account of `tier` assigned at `assigned_at`.
    pub fn due(&self, tier: Option<Tier>, assigned_at: Timestamp) -> Timestamp {
        assigned_at.plus_millis(i64::from(self.minutes(tier)) * 60_000)
    }

    /// Each deadline must be 1 to [`MAX_SLA_MINUTES`] minutes; names the first field at fault
    /// (`tier1Minutes`).
    pub fn validate(&self) -> Result<(), (String, Invalid)> {
        for (field, minutes) in [
            ("tier1Minutes", self.tier1_minutes),
            ("tier2Minutes", self.tier2_minutes),
            ("tier3Minutes", self.tier3_minutes),
            ("untieredMinutes", self.untiered_minutes),
        ] {
            if !(1..=MAX_SLA_MINUTES).contains(&minutes) {
                return Err((
                    field.to_owned(),
                    Invalid::new(format!("must be between 1 and {MAX_SLA_MINUTES} minutes")),
                ));
            }
        }
        Ok(())
    }
}
