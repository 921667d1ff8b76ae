//! Exponentially decayed event counts, kept incrementally as events arrive or rebuilt from
//! raw events; both give the same numbers (up to rounding).
//!
//! Aggregates hold decayed *counts* per (contact, kind), not points: a model that changes
//! only points, caps, multipliers, scales or weights rescores every account from the stored
//! aggregates without reading a raw event. A new half-life changes every past event's weight
//! relative to the others, so it needs [`aggregate`] over the raw events again.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// Number of engagement kinds: the length of every per-kind array.
const KINDS: usize = EngagementKind::ALL.len();

// One presence bit per kind.
const _: () = assert!(KINDS <= u16::BITS as usize);

/// Decayed counts by kind, for the kinds that have seen an event; iterates in kind order.
///
/// Inline, indexed by `kind as usize`, with a bit per kind present: recording an event writes
/// the contact's own memory instead of following a pointer to a per-contact map, and ingest
/// of events for random accounts is bound by such cache misses. A presence bit, not `Option`
/// (24 bytes a slot instead of 16; measured slower), nor a sentinel count (any
/// stored count, even the default one, must read back as it was). An absent kind's slot stays
/// [`DecayedCount::default`], so the derived equality compares the present counts.
///
/// Serialises as a map of kind name to count, in kind order, present kinds only: the JSON of
/// the `BTreeMap<EngagementKind, DecayedCount>` it replaces, so stored rows read back as is.
#[derive(Debug, Clone, Default, PartialEq)]
// The bits before the counts: see `ContactEntry`.
#[repr(C)]
pub struct KindCounts {
    present: u16,
    counts: [DecayedCount; KINDS],
}

impl KindCounts {
    /// The count of `kind`, if it has seen an event.
    pub fn get(&self, kind: EngagementKind) -> Option<&DecayedCount> {
        self.has(kind).then(|| &self.counts[kind as usize])
    }

    /// Sets the count of `kind`, returning the one it replaces.
    pub fn insert(&mut self, kind: EngagementKind, count: DecayedCount) -> Option<DecayedCount> {
        let old = self.get(kind).copied();
        self.counts[kind as usize] = count;
        self.present |= Self::bit(kind);
        old
    }

    /// Adds an event of `kind` (see [`DecayedCount::add`]), starting from nothing when the
    /// kind has none yet.
    pub fn add(&mut self, kind: EngagementKind, at: Timestamp, weight: f64, half_life_days: f64) {
        self.counts[kind as usize].add(at, weight, half_life_days);
        self.present |= Self::bit(kind);
    }

    /// Number of kinds with a count.
    pub fn len(&self) -> usize {
        self.present.count_ones() as usize
    }

    /// No kind has a count.
    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// (kind, count) for the kinds present, in kind order.
    pub fn iter(&self) -> KindCountsIter<'_> {
        KindCountsIter {
            counts: &self.counts,
            present: self.present,
        }
    }

    fn has(&self, kind: EngagementKind) -> bool {
        self.present & Self::bit(kind) != 0
    }

    fn bit(kind: EngagementKind) -> u16 {
        1 << kind as usize
    }
}

/// Iterator over a [`KindCounts`], in kind order.
#[derive(Debug, Clone)]
pub struct KindCountsIter<'a> {
    counts: &'a [DecayedCount; KINDS],
    /// Kinds not yet yielded.
    present: u16,
}

impl<'a> Iterator for KindCountsIter<'a> {
    type Item = (EngagementKind, &'a DecayedCount);

    fn next(&mut self) -> Option<Self::Item> {
        if self.present == 0 {
            return None;
        }
        let i = self.present.trailing_zeros() as usize;
        self.present &= self.present - 1;
        Some((EngagementKind::ALL[i], &self.counts[i]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.present.count_ones() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for KindCountsIter<'_> {}

impl std::iter::FusedIterator for KindCountsIter<'_> {}

impl<'a> IntoIterator for &'a KindCounts {
    type Item = (EngagementKind, &'a DecayedCount);
    type IntoIter = KindCountsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromIterator<(EngagementKind, DecayedCount)> for KindCounts {
    /// A later count of the same kind replaces an earlier one, as in a map.
    fn from_iter<I: IntoIterator<Item = (EngagementKind, DecayedCount)>>(iter: I) -> Self {
        let mut out = Self::default();
        for (kind, count) in iter {
            out.insert(kind, count);
        }
        out
    }
}

impl Serialize for KindCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for KindCounts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KindCountsVisitor;

        impl<'de> Visitor<'de> for KindCountsVisitor {
            type Value = KindCounts;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of engagement kind to decayed count")
            }

            // A repeated kind keeps its last count, as a `BTreeMap` did.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KindCounts, A::Error> {
                let mut out = KindCounts::default();
                while let Some((kind, count)) = map.next_entry()? {
                    out.insert(kind, count);
                }
                Ok(out)
            }
        }

        d.deserialize_map(KindCountsVisitor)
    }
}

/// One contact's decayed event counts, by kind; serde, so the API can store it as JSON.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
// `last_engaged_at` first, as most events write it: see `ContactEntry`.
#[repr(C)]
pub struct ContactActivity {
    /// Latest event that shows interest: any contact-level kind except unsubscribes and
    /// bounces.
    pub last_engaged_at: Option<Timestamp>,
    /// Each kind's reference is that kind's latest event, which is what coverage and the
    /// high-intent gate look at.
    pub per_kind: KindCounts,
}

// By hand for the stored key order, `per_kind` first, which the field order no longer gives.
impl Serialize for ContactActivity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ContactActivity", 2)?;
        st.serialize_field("per_kind", &self.per_kind)?;
        st.serialize_field("last_engaged_at", &self.last_engaged_at)?;
        st.end()
    }
}

impl ContactActivity {
    /// Counts one event of `kind` at `at`, in O(1). Any kind is stored, but scoring reads
    /// only the kinds the model gives engagement points (never `INTENT_SURGE`).
    pub fn record(&mut self, kind: EngagementKind, at: Timestamp, half_life_days: f64) {
        self.per_kind.add(kind, at, 1.0, half_life_days);
        if counts_as_engagement(kind) {
            self.last_engaged_at = self.last_engaged_at.max(Some(at));
        }
    }

    /// Decayed number of `kind` events as of `now` (0 if none).
    pub fn count(&self, kind: EngagementKind, now: Timestamp, half_life_days: f64) -> f64 {
        self.per_kind
            .get(kind)
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

/// Up to this many contacts, [`Contacts`] searches linearly.
const LINEAR_SEARCH_MAX: usize = 16;

/// Each contact's activity, in contact order.
///
/// One sorted vector of (id, activity), not a `BTreeMap`: with events for random accounts,
/// ingest waits on cache misses one after another (account, then B-tree node length, keys
/// and value, a line each). Here the account leads straight to entries whose first line holds
/// the id and what most events update. The cost: a contact not seen before is inserted in
/// O(contacts), and past 16 contacts each binary-search probe is a miss; fine at the tens of
/// contacts an account has ([`aggregate`] builds the vector in order).
#[derive(Clone, Default, PartialEq)]
pub struct Contacts {
    /// Sorted by id, no id twice.
    entries: Vec<ContactEntry>,
}

/// Aligned to a cache line, and laid out (with the `repr(C)` of [`ContactActivity`] and
/// [`KindCounts`]) so the first line holds the id, the last engagement, the presence bits and
/// the first kind's count (email opens, the most common event): the line the search reads is
/// the one most updates write. 256 bytes with 12 kinds.
#[derive(Debug, Clone, PartialEq)]
#[repr(C, align(64))]
struct ContactEntry {
    id: ContactId,
    activity: ContactActivity,
}

impl Contacts {
    /// The activity of `contact`, if it has any.
    pub fn get(&self, contact: &ContactId) -> Option<&ContactActivity> {
        let i = self.position(contact).ok()?;
        self.entries.get(i).map(|e| &e.activity)
    }

    /// The activity of `contact`, empty and inserted in order if it has none yet.
    pub fn get_or_insert_default(&mut self, contact: ContactId) -> &mut ContactActivity {
        let i = match self.position(&contact) {
            Ok(i) => i,
            Err(i) => {
                let entry = ContactEntry {
                    id: contact,
                    activity: ContactActivity::default(),
                };
                self.entries.insert(i, entry);
                i
            }
        };
        &mut self.entries[i].activity
    }

    /// `Ok` with the index of `contact`, or `Err` with where it would go. Linear over a few
    /// contacts: the addresses do not depend on the data, so the misses overlap, where a binary
    /// search takes them one after another.
    fn position(&self, contact: &ContactId) -> Result<usize, usize> {
        if self.entries.len() > LINEAR_SEARCH_MAX {
            return self.entries.binary_search_by(|e| e.id.cmp(contact));
        }
        let i = self
            .entries
            .iter()
            .position(|e| e.id >= *contact)
            .unwrap_or(self.entries.len());
        match self.entries.get(i) {
            Some(e) if e.id == *contact => Ok(i),
            _ => Err(i),
        }
    }

    /// Number of contacts.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No contact has activity.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// (contact, activity) in contact order.
    pub fn iter(&self) -> ContactsIter<'_> {
        ContactsIter(self.entries.iter())
    }

    /// Every contact's activity, in contact order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &ContactActivity> + Clone {
        self.entries.iter().map(|e| &e.activity)
    }
}

/// Iterator over a [`Contacts`] by reference, in contact order.
#[derive(Debug, Clone)]
pub struct ContactsIter<'a>(std::slice::Iter<'a, ContactEntry>);

impl<'a> Iterator for ContactsIter<'a> {
    type Item = (&'a ContactId, &'a ContactActivity);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|e| (&e.id, &e.activity))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for ContactsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|e| (&e.id, &e.activity))
    }
}

impl ExactSizeIterator for ContactsIter<'_> {}

impl std::iter::FusedIterator for ContactsIter<'_> {}

/// Iterator over a [`Contacts`] by value, in contact order.
#[derive(Debug)]
pub struct ContactsIntoIter(std::vec::IntoIter<ContactEntry>);

impl Iterator for ContactsIntoIter {
    type Item = (ContactId, ContactActivity);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|e| (e.id, e.activity))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for ContactsIntoIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|e| (e.id, e.activity))
    }
}

impl ExactSizeIterator for ContactsIntoIter {}

impl std::iter::FusedIterator for ContactsIntoIter {}

impl<'a> IntoIterator for &'a Contacts {
    type Item = (&'a ContactId, &'a ContactActivity);
    type IntoIter = ContactsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for Contacts {
    type Item = (ContactId, ContactActivity);
    type IntoIter = ContactsIntoIter;

    fn into_iter(self) -> Self::IntoIter {
        ContactsIntoIter(self.entries.into_iter())
    }
}

impl std::fmt::Debug for Contacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Everything scoring needs from one account's events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountActivity {
    /// Contacts with at least one contact-level event.
    pub contacts: Contacts,
    /// Decayed count of `INTENT_SURGE` signals.
    pub intent: DecayedCount,
}

impl AccountActivity {
    /// The incremental path: counts one new event, in any order relative to earlier ones.
    pub fn record(&mut self, event: &Event, half_life_days: f64) {
        if event.kind.is_account_level() {
            self.intent.add(event.at, 1.0, half_life_days);
        } else if let Some(contact) = event.contact {
            self.contacts.get_or_insert_default(contact).record(
                event.kind,
                event.at,
                half_life_days,
            );
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

    // Contacts come in id order: each new one is appended, with no search.
    let mut entries = Vec::with_capacity(keyed.chunk_by(|a, b| a.0 == b.0).count());
    for group in keyed.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
        let Some(&(contact, kind, latest)) = group.last() else {
            continue;
        };
        // Ascending times: the smallest terms are summed first.
        let value = group
            .iter()
            .map(|g| decay(latest.millis().saturating_sub(g.2.millis()), hl_ms))
            .sum();
        if entries
            .last()
            .is_none_or(|e: &ContactEntry| e.id != contact)
        {
            entries.push(ContactEntry {
                id: contact,
                activity: ContactActivity::default(),
            });
        }
        let Some(ContactEntry { activity, .. }) = entries.last_mut() else {
            continue;
        };
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
    AccountActivity {
        contacts: Contacts { entries },
        intent: decayed_sum(&surges, hl_ms),
    }
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
        let contact = full.contacts.get(&c);
        assert_eq!(contact.map(|a| a.per_kind.len()), Some(1));
        assert_eq!(contact.and_then(|a| a.last_engaged_at), Some(days_ago(2)));
        let mut incremental = AccountActivity::default();
        for e in events.iter().rev() {
            incremental.record(e, 30.0);
        }
        assert_eq!(incremental, full);
    }

    /// What `ContactActivity` with a `BTreeMap` per kind wrote (from that code): kinds in
    /// declaration order, a kind present with the default count, a null last engagement.
    const OLD_JSON: [&str; 3] = [
        concat!(
            r#"{"per_kind":{"#,
            r#""EMAIL_OPEN":{"value":1.4665164957684036,"reference":1749395200000},"#,
            r#""WEB_VISIT":{"value":1.0,"reference":1749740800000},"#,
            r#""DEMO_REQUEST":{"value":1.0,"reference":1749827200000},"#,
            r#""UNSUBSCRIBE":{"value":1.0,"reference":1749913600000},"#,
            r#""EMAIL_BOUNCE":{"value":0.0,"reference":-9223372036854775808},"#,
            r#""INTENT_SURGE":{"value":1.0,"reference":1749568000000}},"#,
            r#""last_engaged_at":1749827200000}"#,
        ),
        r#"{"per_kind":{"UNSUBSCRIBE":{"value":1.0,"reference":1749913600000}},"last_engaged_at":null}"#,
        r#"{"per_kind":{},"last_engaged_at":null}"#,
    ];

    #[test]
    fn json_of_the_map_representation_reads_back_and_is_written_alike()
    -> Result<(), serde_json::Error> {
        // Recorded out of kind order, as the old JSON was made.
        let mut a = ContactActivity::default();
        a.record(WebVisit, days_ago(3), 30.0);
        a.record(EmailOpen, days_ago(7), 30.0);
        a.record(EmailOpen, days_ago(40), 30.0);
        a.record(Unsubscribe, days_ago(1), 30.0);
        a.record(DemoRequest, days_ago(2), 30.0);
        a.record(IntentSurge, days_ago(5), 30.0);
        a.per_kind.insert(EmailBounce, DecayedCount::default());
        let mut b = ContactActivity::default();
        b.record(Unsubscribe, days_ago(1), 30.0);
        for (json, expected) in OLD_JSON.iter().zip([a, b, ContactActivity::default()]) {
            let read: ContactActivity = serde_json::from_str(json)?;
            assert_eq!(read, expected);
            assert_eq!(serde_json::to_string(&read)?, *json);
        }
        Ok(())
    }

    #[test]
    fn kind_counts_behave_as_a_map_in_kind_order() -> Result<(), serde_json::Error> {
        let mut k = KindCounts::default();
        assert!(k.is_empty() && k.get(EmailOpen).is_none());
        let one = DecayedCount {
            value: 1.0,
            reference: days_ago(1),
        };
        assert_eq!(k.insert(IntentSurge, one), None);
        k.add(WebVisit, days_ago(2), 1.0, 30.0);
        k.add(EmailOpen, days_ago(3), 1.0, 30.0);
        assert_eq!(k.insert(IntentSurge, DecayedCount::default()), Some(one));
        let kinds: Vec<_> = k.iter().map(|(kind, _)| kind).collect();
        assert_eq!(kinds, [EmailOpen, WebVisit, IntentSurge]);
        assert_eq!((k.len(), k.iter().len()), (3, 3));
        assert_eq!(k.get(IntentSurge), Some(&DecayedCount::default()));
        assert_eq!(k.get(WebVisit).map(|c| c.reference), Some(days_ago(2)));
        let back: KindCounts = serde_json::from_str(&serde_json::to_string(&k)?)?;
        assert_eq!(back, k);
        let rebuilt: KindCounts = k.iter().map(|(kind, c)| (kind, *c)).collect();
        assert_eq!(rebuilt, k);
        Ok(())
    }

    #[test]
    fn contacts_stay_in_id_order_whichever_search_finds_them() {
        let id = |n: u128| ContactId::from(uuid::Uuid::from_u128((n << 64) | ((n * 7919) % 101)));
        for n in [5, LINEAR_SEARCH_MAX as u128 + 1, 60] {
            let mut contacts = Contacts::default();
            // Every id twice, in a scrambled order: the second time finds the first.
            for i in (0..2 * n).map(|i| (i * 37) % n) {
                contacts
                    .get_or_insert_default(id(i))
                    .record(EmailOpen, days_ago(1), 30.0);
            }
            assert_eq!(contacts.len(), n as usize);
            let ids: Vec<ContactId> = contacts.iter().map(|(c, _)| *c).collect();
            assert_eq!(ids, (0..n).map(id).collect::<Vec<_>>());
            for i in 0..n {
                let a = contacts.get(&id(i));
                assert_eq!(a.map(|a| a.count(EmailOpen, days_ago(1), 30.0)), Some(2.0));
            }
            assert!(contacts.get(&id(n)).is_none());
            assert_eq!(contacts.into_iter().count(), n as usize);
        }
    }

    #[test]
    fn a_contacts_first_cache_line_holds_its_id_last_engagement_and_first_count() {
        use std::mem::{offset_of, size_of};
        let first_count = offset_of!(ContactEntry, activity)
            + offset_of!(ContactActivity, per_kind)
            + offset_of!(KindCounts, counts);
        assert_eq!(offset_of!(ContactEntry, id), 0);
        assert_eq!(offset_of!(ContactActivity, last_engaged_at), 0);
        assert_eq!(offset_of!(KindCounts, present), 0);
        assert!(first_count + size_of::<DecayedCount>() <= 64);
        assert_eq!(size_of::<ContactEntry>(), 256);
    }
}
