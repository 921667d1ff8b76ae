//! Exponentially decayed event counts, kept incrementally as events arrive or rebuilt from
//! raw events; both give the same numbers (up to rounding).
//!
//! Aggregates hold decayed *counts* per (contact, kind), not points: a model that changes
//! only points, caps, multipliers, scales or weights rescores every account from the stored
//! aggregates without reading a raw event. A new half-life changes every past event's weight
//! relative to the others, so it needs [`aggregate`] over the raw events again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::value::{ContactId, EngagementKind, MILLIS_PER_DAY, Timestamp};

/// 2^(−age/half-life), with the age in milliseconds; `hl_ms` is the half-life in ms. One
/// function for the incremental and the full path, so both round alike.
fn decay(age_ms: i64, hl_ms: f64) -> f64 {
    (-(age_ms as f64) / hl_ms).exp2()
}

fn half_life_ms(half_life_days: f64) -> f64 {
    half_life_days * MILLIS_PER_DAY as f64
}

/// A sum of event weights, each decayed by its age, stated as of `reference`: the value is
/// Σ wᵢ·2^(−(reference − atᵢ)/half-life). `reference` is the latest event added, so the value
/// never grows by decaying "backwards"; [`DecayedCount::at`] decays it forward to any `now`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecayedCount {
    /// The decayed sum as of `reference`.
    pub value: f64,
    /// The latest event added ([`Timestamp::MIN`] before the first).
    pub reference: Timestamp,
}

impl Default for DecayedCount {
    /// Nothing yet: zero as of [`Timestamp::MIN`], so the first event becomes the reference.
    fn default() -> Self {
        Self {
            value: 0.0,
            reference: Timestamp::MIN,
        }
    }
}

impl DecayedCount {
    /// Adds an event of `weight` that happened at `at`, in O(1) and in any order: an older
    /// event is decayed to the reference; a newer one moves the reference to it and decays
    /// what was there.
    pub fn add(&mut self, at: Timestamp, weight: f64, half_life_days: f64) {
        let hl_ms = half_life_ms(half_life_days);
        if at <= self.reference {
            self.value +=
                weight * decay(self.reference.millis().saturating_sub(at.millis()), hl_ms);
        } else {
            self.value = self.value
                * decay(at.millis().saturating_sub(self.reference.millis()), hl_ms)
                + weight;
            self.reference = at;
        }
    }

    /// The value decayed to `now`. When `now` is before the reference (events stamped in
    /// the future, clock skew) the age is clamped at 0: the value as of the reference, never
    /// amplified.
    pub fn at(&self, now: Timestamp, half_life_days: f64) -> f64 {
        let age = now.millis().saturating_sub(self.reference.millis()).max(0);
        if age == 0 {
            self.value
        } else {
            self.value * decay(age, half_life_ms(half_life_days))
        }
    }
}

/// One contact's decayed event counts, by kind; serde, so the API can store it as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactActivity {
    /// Each kind's reference is that kind's latest event, which is what coverage and the
    /// high-intent gate look at.
    pub per_kind: BTreeMap<EngagementKind, DecayedCount>,
    /// Latest event that shows interest: any contact-level kind except unsubscribes and
    /// bounces.
    pub last_engaged_at: Option<Timestamp>,
}

impl ContactActivity {
    /// Counts one event of `kind` at `at`; O(log kinds). Any kind is stored, but scoring
    /// reads only the kinds the model gives engagement points (never `INTENT_SURGE`).
    pub fn record(&mut self, kind: EngagementKind, at: Timestamp, half_life_days: f64) {
        self.per_kind
            .entry(kind)
            .or_default()
            .add(at, 1.0, half_life_days);
        if counts_as_engagement(kind) {
            self.last_engaged_at = self.last_engaged_at.max(Some(at));
        }
    }

    /// Decayed number of `kind` events as of `now` (0 if none).
    pub fn count(&self, kind: EngagementKind, now: Timestamp, half_life_days: f64) -> f64 {
        self.per_kind
            .get(&kind)
            .map_or(0.0, |c| c.at(now, half_life_days))
    }
}

fn counts_as_engagement(kind: EngagementKind) -> bool {
    !kind.is_account_level() && !kind.is_disengagement()
}

/// One raw engagement event, as the aggregates need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// `None` for an account-level event. Account-level kinds (`INTENT_SURGE`) count as the
    /// account's intent even when a contact is given; a contact-level kind without a contact
    /// cannot be attributed and is ignored (the API refuses such input).
    pub contact: Option<ContactId>,
    /// What happened.
    pub kind: EngagementKind,
    /// When it happened (the event's own time, not when it was received).
    pub at: Timestamp,
}

/// Everything scoring needs from one account's events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountActivity {
    /// Contacts with at least one contact-level event.
    pub contacts: BTreeMap<ContactId, ContactActivity>,
    /// Decayed count of `INTENT_SURGE` signals.
    pub intent: DecayedCount,
}

impl AccountActivity {
    /// The incremental path: counts one new event, in any order relative to earlier ones.
    pub fn record(&mut self, event: &Event, half_life_days: f64) {
        if event.kind.is_account_level() {
            self.intent.add(event.at, 1.0, half_life_days);
        } else if let Some(contact) = event.contact {
            self.contacts
                .entry(contact)
                .or_default()
                .record(event.kind, event.at, half_life_days);
        }
    }
}

/// The full recompute from raw events, e.g. after a half-life change. Events are grouped by
/// (contact, kind) and summed oldest first against the group's latest event, so the result
/// does not depend on the order of `events`, bit for bit.
pub fn aggregate(events: &[Event], half_life_days: f64) -> AccountActivity {
    let hl_ms = half_life_ms(half_life_days);
    let mut keyed: Vec<(ContactId, EngagementKind, Timestamp)> = Vec::with_capacity(events.len());
    let mut surges: Vec<Timestamp> = Vec::new();
    for e in events {
        if e.kind.is_account_level() {
            surges.push(e.at);
        } else if let Some(c) = e.contact {
            keyed.push((c, e.kind, e.at));
        }
    }
    keyed.sort_unstable();
    surges.sort_unstable();

    let mut out = AccountActivity {
        contacts: BTreeMap::new(),
        intent: decayed_sum(&surges, hl_ms),
    };
    for group in keyed.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
        let Some(&(contact, kind, latest)) = group.last() else {
            continue;
        };
        // Ascending times: the smallest terms are summed first.
        let value = group
            .iter()
            .map(|g| decay(latest.millis().saturating_sub(g.2.millis()), hl_ms))
            .sum();
        let activity = out.contacts.entry(contact).or_default();
        activity.per_kind.insert(
            kind,
            DecayedCount {
                value,
                reference: latest,
            },
        );
        if counts_as_engagement(kind) {
            activity.last_engaged_at = activity.last_engaged_at.max(Some(latest));
        }
    }
    out
}

/// Σ 2^(−(latest − t)/hl) over ascending `times` (smallest terms first), as of the latest.
fn decayed_sum(times: &[Timestamp], hl_ms: f64) -> DecayedCount {
    let Some(&latest) = times.last() else {
        return DecayedCount::default();
    };
    let value = times
        .iter()
        .map(|t| decay(latest.millis().saturating_sub(t.millis()), hl_ms))
        .sum();
    DecayedCount {
        value,
        reference: latest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EngagementKind::*;

    const DAY: i64 = MILLIS_PER_DAY;
    const NOW: Timestamp = Timestamp::from_millis(1_750_000_000_000);

    fn days_ago(d: i64) -> Timestamp {
        NOW.plus_millis(-d * DAY)
    }

    #[test]
    fn an_event_one_half_life_old_counts_half() {
        let mut c = DecayedCount::default();
        c.add(days_ago(30), 1.0, 30.0);
        assert_eq!(c.at(NOW, 30.0), 0.5);
        assert_eq!(c.at(NOW.plus_millis(30 * DAY), 30.0), 0.25);
        assert_eq!(c.reference, days_ago(30));
    }

    #[test]
    fn older_and_newer_events_land_on_the_same_value() {
        let mut forward = DecayedCount::default();
        forward.add(days_ago(60), 1.0, 30.0);
        forward.add(days_ago(30), 1.0, 30.0);
        let mut backward = DecayedCount::default();
        backward.add(days_ago(30), 1.0, 30.0);
        backward.add(days_ago(60), 1.0, 30.0);
        assert_eq!(forward.at(NOW, 30.0), 0.75);
        assert_eq!(backward.at(NOW, 30.0), 0.75);
        assert_eq!(forward.reference, backward.reference);
    }

    #[test]
    fn future_events_count_in_full_and_same_time_events_add_up() {
        let mut c = DecayedCount::default();
        c.add(NOW.plus_millis(5 * DAY), 2.0, 30.0);
        c.add(NOW.plus_millis(5 * DAY), 1.0, 30.0);
        assert_eq!(c.at(NOW, 30.0), 3.0);
        assert_eq!(DecayedCount::default().at(NOW, 30.0), 0.0);
    }

    #[test]
    fn contact_activity_tracks_counts_and_last_engagement() {
        let mut a = ContactActivity::default();
        a.record(EmailOpen, days_ago(10), 30.0);
        a.record(Unsubscribe, days_ago(1), 30.0);
        a.record(EmailOpen, days_ago(40), 30.0);
        assert_eq!(a.last_engaged_at, Some(days_ago(10)));
        let expected = 2f64.powf(-10.0 / 30.0) + 2f64.powf(-40.0 / 30.0);
        assert!((a.count(EmailOpen, NOW, 30.0) - expected).abs() < 1e-12);
        assert_eq!(a.count(DemoRequest, NOW, 30.0), 0.0);
    }

    #[test]
    fn aggregates_round_trip_through_json() -> Result<(), serde_json::Error> {
        let mut a = ContactActivity::default();
        a.record(EmailOpen, days_ago(3), 30.0);
        a.record(DemoRequest, days_ago(1), 30.0);
        let json = serde_json::to_value(&a)?;
        assert_eq!(json["per_kind"]["DEMO_REQUEST"]["value"], 1.0);
        assert_eq!(serde_json::from_value::<ContactActivity>(json)?, a);
        let empty = DecayedCount::default();
        let back: DecayedCount = serde_json::from_str(&serde_json::to_string(&empty)?)?;
        assert_eq!(back, empty);
        Ok(())
    }

    #[test]
    fn aggregate_routes_intent_and_drops_unattributed_events() {
        let c = ContactId::from(uuid::Uuid::from_u128(7));
        let events = [
            Event {
                contact: Some(c),
                kind: DemoRequest,
                at: days_ago(2),
            },
            Event {
                contact: None,
                kind: IntentSurge,
                at: days_ago(30),
            },
            Event {
                contact: Some(c),
                kind: IntentSurge,
                at: days_ago(30),
            },
            Event {
                contact: None,
                kind: EmailOpen,
                at: days_ago(1),
            },
        ];
        let full = aggregate(&events, 30.0);
        assert_eq!(full.intent.at(NOW, 30.0), 1.0);
        assert_eq!(full.contacts.len(), 1);
        assert_eq!(full.contacts[&c].per_kind.len(), 1);
        assert_eq!(full.contacts[&c].last_engaged_at, Some(days_ago(2)));
        let mut incremental = AccountActivity::default();
        for e in events.iter().rev() {
            incremental.record(e, 30.0);
        }
        assert_eq!(incremental, full);
    }
}
