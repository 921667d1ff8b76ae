//! Properties of the scoring engine over random accounts, histories and models.
//!
//! Monotonicity properties use events at or before `now`: an event stamped in the future
//! moves an aggregate's reference past `now`, where ages are clamped at 0 (see
//! `DecayedCount::at`), so it does not decay like the others until `now` catches up.

use proptest::prelude::*;
use quorum_domain::score::{
    AccountActivity, AccountFacts, AccountScore, Component, ContactEngagement, DecayedCount, Event,
    ScoringModel, Weights, aggregate, score, score_summary,
};
use quorum_domain::value::{
    BuyingRole, ContactId, CountryCode, EngagementKind, MILLIS_PER_DAY, Seniority, Timestamp,
};

const NOW: Timestamp = Timestamp::from_millis(1_750_000_000_000);
const DAY: i64 = MILLIS_PER_DAY;
const CONTACTS: u128 = 8;

fn id(n: u128) -> ContactId {
    ContactId::from(uuid::Uuid::from_u128(n + 1))
}

/// Ages often collide on whole days (same-timestamp events), sometimes land anywhere.
fn age_ms() -> impl Strategy<Value = i64> {
    prop_oneof![(0i64..60).prop_map(|d| d * DAY), 0i64..400 * DAY]
}

fn kind() -> impl Strategy<Value = EngagementKind> {
    prop::sample::select(EngagementKind::ALL.to_vec())
}

/// Events at or before `NOW`; account-level ones sometimes carry no contact.
fn past_events(max: usize) -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec((0..CONTACTS, any::<bool>(), kind(), age_ms()), 0..max).prop_map(|raw| {
        raw.into_iter()
            .map(|(c, with_contact, kind, age)| Event {
                contact: (with_contact || !kind.is_account_level()).then(|| id(c)),
                kind,
                at: NOW.plus_millis(-age),
            })
            .collect()
    })
}

/// Past events plus a few stamped up to 5 days ahead (clock skew).
fn any_events() -> impl Strategy<Value = Vec<Event>> {
    (
        past_events(60),
        prop::collection::vec((0..CONTACTS, kind(), 0i64..5 * DAY), 0..4),
    )
        .prop_map(|(mut events, future)| {
            events.extend(future.into_iter().map(|(c, kind, ahead)| Event {
                contact: Some(id(c)),
                kind,
                at: NOW.plus_millis(ahead),
            }));
            events
        })
}

fn seniorities() -> impl Strategy<Value = Vec<Option<Seniority>>> {
    prop::collection::vec(
        prop::option::of(prop::sample::select(Seniority::ALL.to_vec())),
        CONTACTS as usize,
    )
}

fn committee() -> impl Strategy<Value = Vec<(ContactId, BuyingRole)>> {
    prop::collection::vec(
        (0..CONTACTS, prop::sample::select(BuyingRole::ALL.to_vec())),
        0..8,
    )
    .prop_map(|m| m.into_iter().map(|(c, r)| (id(c), r)).collect())
}

fn facts() -> impl Strategy<Value = AccountFacts> {
    let words = |ws: &'static [&'static str]| prop::sample::select(ws.to_vec());
    (
        prop::option::of(words(&["Software", "software", "Retail", "Healthcare"])),
        prop::option::of(0i64..20_000),
        prop::option::of(0.0f64..5e9),
        prop::option::of(words(&["US", "DE", "FR", "JP"])),
        prop::option::of(words(&["NA", "EMEA"])),
        prop::collection::vec(
            words(&["Salesforce", "Slack", "6sense", "Demandbase"]),
            0..4,
        ),
    )
        .prop_map(
            |(industry, employees, revenue, country, region, tech)| AccountFacts {
                industry: industry.map(str::to_owned),
                employee_count: employees,
                annual_revenue: revenue,
                country: country.and_then(|c| CountryCode::parse(c).ok()),
                region: region.map(str::to_owned),
                technologies: tech.into_iter().map(str::to_owned).collect(),
            },
        )
}

/// Valid models around the default: any weights, half-life, cap, ratio, scales, points.
fn model() -> impl Strategy<Value = ScoringModel> {
    (
        (0.0f64..1.0, 0.0f64..1.0, 0.0f64..1.0),
        1.0f64..365.0,
        1.0f64..100.0,
        0.05f64..=1.0,
        (1.0f64..200.0, 1.0f64..200.0),
        0.0f64..30.0,
        prop::collection::vec(-20.0f64..30.0, 11),
    )
        .prop_map(|(w, hl, cap, ratio, (es, is), bonus, points)| {
            let mut m = ScoringModel::default();
            let total = w.0 + w.1 + w.2;
            m.weights = if total > 0.0 {
                let (fit, engagement) = (w.0 / total, w.1 / total);
                Weights {
                    fit,
                    engagement,
                    intent: (1.0 - fit - engagement).max(0.0),
                }
            } else {
                m.weights
            };
            m.half_life_days = hl;
            m.contact_cap = cap;
            m.rollup_ratio = ratio;
            m.engagement_scale = es;
            m.intent_scale = is;
            m.coverage_bonus = bonus;
            let kinds = EngagementKind::ALL.iter().filter(|k| !k.is_account_level());
            m.engagement_points = kinds.copied().zip(points).collect();
            m
        })
}

fn contacts_of(
    activity: &AccountActivity,
    seniorities: &[Option<Seniority>],
) -> Vec<ContactEngagement> {
    (0..CONTACTS)
        .filter_map(|n| {
            let a = activity.contacts.get(&id(n))?;
            Some(ContactEngagement {
                id: id(n),
                label: format!("c{n}@acme.io"),
                seniority: seniorities.get(n as usize).copied().flatten(),
                activity: a.clone(),
            })
        })
        .collect()
}

struct Case {
    facts: AccountFacts,
    seniorities: Vec<Option<Seniority>>,
    committee: Vec<(ContactId, BuyingRole)>,
    model: ScoringModel,
}

impl Case {
    fn default_model(
        facts: AccountFacts,
        seniorities: Vec<Option<Seniority>>,
        committee: Vec<(ContactId, BuyingRole)>,
    ) -> Self {
        Self {
            facts,
            seniorities,
            committee,
            model: ScoringModel::default(),
        }
    }

    fn score_activity(&self, activity: &AccountActivity, now: Timestamp) -> AccountScore {
        let contacts = contacts_of(activity, &self.seniorities);
        score(
            &self.facts,
            &contacts,
            &activity.intent,
            &self.committee,
            &self.model,
            now,
        )
    }

    fn score(&self, events: &[Event], now: Timestamp) -> AccountScore {
        self.score_activity(&aggregate(events, self.model.half_life_days), now)
    }
}

fn component_sum(s: &AccountScore, c: Component) -> f64 {
    s.breakdown
        .iter()
        .filter(|x| x.component == c)
        .map(|x| x.points)
        .sum()
}

fn relatively_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn scores_and_components_stay_in_range_and_breakdowns_add_up(
        facts in facts(),
        events in any_events(),
        seniorities in seniorities(),
        committee in committee(),
        model in model(),
    ) {
        prop_assert_eq!(model.validate(), Ok(()));
        let case = Case { facts, seniorities, committee, model };
        let s = case.score(&events, NOW);
        for v in [s.total, s.fit, s.engagement, s.intent] {
            prop_assert!((0.0..=100.0).contains(&v), "{:?}", s);
        }
        prop_assert!((0.0..=1.0).contains(&s.committee_coverage));
        prop_assert!((component_sum(&s, Component::Fit) - s.fit).abs() < 1e-6);
        prop_assert!((component_sum(&s, Component::Engagement) - s.engagement).abs() < 1e-6);
        prop_assert!((component_sum(&s, Component::Intent) - s.intent).abs() < 1e-6);
        let bonus = case.model.coverage_bonus * s.committee_coverage;
        prop_assert!((component_sum(&s, Component::Committee) - bonus).abs() < 1e-6);
        prop_assert!(s.breakdown.iter().all(|c| c.points.is_finite()));

        // Rescoring stores the summary and explains on read: the numbers must be identical.
        let activity = aggregate(&events, case.model.half_life_days);
        let contacts = contacts_of(&activity, &case.seniorities);
        let summary = score_summary(
            &case.facts, &contacts, &activity.intent, &case.committee, &case.model, NOW,
        );
        prop_assert!(summary.breakdown.is_empty());
        for (a, b) in [
            (summary.total, s.total),
            (summary.fit, s.fit),
            (summary.engagement, s.engagement),
            (summary.intent, s.intent),
            (summary.committee_coverage, s.committee_coverage),
        ] {
            prop_assert_eq!(a.to_bits(), b.to_bits());
        }
    }

    #[test]
    fn event_order_does_not_matter(
        (events, shuffled) in any_events().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        facts in facts(),
        seniorities in seniorities(),
        committee in committee(),
    ) {
        let case = Case::default_model(facts, seniorities, committee);
        let a = case.score(&events, NOW);
        let b = case.score(&shuffled, NOW);
        prop_assert_eq!(a.total.to_bits(), b.total.to_bits());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn incremental_aggregation_equals_the_full_recompute(
        (events, shuffled) in any_events().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        half_life in 0.5f64..365.0,
        seniorities in seniorities(),
    ) {
        let full = aggregate(&events, half_life);
        let mut incremental = AccountActivity::default();
        for e in &shuffled {
            incremental.record(e, half_life);
        }
        prop_assert_eq!(full.contacts.len(), incremental.contacts.len());
        for (contact, f) in &full.contacts {
            let i = incremental.contacts.get(contact);
            prop_assert!(i.is_some());
            let Some(i) = i else { continue };
            prop_assert_eq!(f.last_engaged_at, i.last_engaged_at);
            prop_assert_eq!(f.per_kind.len(), i.per_kind.len());
            for (kind, fc) in &f.per_kind {
                let ic = i.per_kind.get(kind).copied().unwrap_or_default();
                prop_assert_eq!(fc.reference, ic.reference);
                for now in [NOW, NOW.plus_millis(17 * DAY)] {
                    prop_assert!(
                        relatively_close(fc.at(now, half_life), ic.at(now, half_life)),
                        "{:?} {:?}", fc, ic
                    );
                }
            }
        }
        prop_assert_eq!(full.intent.reference, incremental.intent.reference);
        prop_assert!(relatively_close(full.intent.at(NOW, half_life), incremental.intent.at(NOW, half_life)));

        let mut case = Case::default_model(AccountFacts::default(), seniorities, vec![]);
        case.model.half_life_days = half_life;
        let a = case.score_activity(&full, NOW);
        let b = case.score_activity(&incremental, NOW);
        prop_assert!((a.total - b.total).abs() < 1e-9 && (a.engagement - b.engagement).abs() < 1e-9);
    }

    #[test]
    fn a_positive_event_never_lowers_the_total_and_a_negative_one_never_raises_it(
        events in past_events(60),
        extra_contact in 0..CONTACTS,
        extra_kind in kind(),
        extra_age in age_ms(),
        facts in facts(),
        seniorities in seniorities(),
        committee in committee(),
    ) {
        let case = Case::default_model(facts, seniorities, committee);
        let before = case.score(&events, NOW);
        let mut more = events.clone();
        more.push(Event { contact: Some(id(extra_contact)), kind: extra_kind, at: NOW.plus_millis(-extra_age) });
        let after = case.score(&more, NOW);
        let points = if extra_kind.is_account_level() {
            case.model.intent_points
        } else {
            case.model.points(extra_kind)
        };
        if points > 0.0 {
            prop_assert!(after.total >= before.total - 1e-9, "{} < {}", after.total, before.total);
            prop_assert!(after.engagement >= before.engagement - 1e-9);
        } else if points < 0.0 {
            prop_assert!(after.total <= before.total + 1e-9, "{} > {}", after.total, before.total);
            prop_assert!(after.engagement <= before.engagement + 1e-9);
        }
    }

    #[test]
    fn an_older_identical_event_adds_less_than_a_newer_one(
        events in past_events(40),
        contact in 0..CONTACTS,
        kind in prop::sample::select(vec![
            EngagementKind::EmailOpen, EngagementKind::WebVisit, EngagementKind::DemoRequest,
            EngagementKind::WebinarAttended, EngagementKind::IntentSurge,
        ]),
        newer_age in 0i64..200 * DAY,
        gap in DAY / 24..100 * DAY,
        seniorities in seniorities(),
    ) {
        let case = Case::default_model(AccountFacts::default(), seniorities, vec![]);
        let with = |age: i64| {
            let mut v = events.clone();
            v.push(Event { contact: Some(id(contact)), kind, at: NOW.plus_millis(-age) });
            aggregate(&v, case.model.half_life_days)
        };
        let (newer, older) = (with(newer_age), with(newer_age + gap));
        let count = |a: &AccountActivity| if kind.is_account_level() {
            a.intent.at(NOW, case.model.half_life_days)
        } else {
            a.contacts.get(&id(contact)).map_or(0.0, |c| c.count(kind, NOW, case.model.half_life_days))
        };
        prop_assert!(count(&older) < count(&newer));
        prop_assert!(case.score_activity(&older, NOW).total <= case.score_activity(&newer, NOW).total + 1e-9);
    }

    #[test]
    fn without_new_events_engagement_decays_monotonically_to_zero(
        events in past_events(60),
        steps in prop::collection::vec(0i64..90 * DAY, 1..6),
        seniorities in seniorities(),
        model in model(),
    ) {
        let case = Case { facts: AccountFacts::default(), seniorities, committee: vec![], model };
        let activity = aggregate(&events, case.model.half_life_days);
        let mut now = NOW;
        let mut last = case.score_activity(&activity, now).engagement;
        for step in steps {
            now = now.plus_millis(step);
            let e = case.score_activity(&activity, now).engagement;
            prop_assert!(e <= last + 1e-9, "{} then {}", last, e);
            last = e;
        }
        let far = case.score_activity(&activity, NOW.plus_millis(100 * 366 * DAY));
        prop_assert!(far.engagement < 1e-6, "{}", far.engagement);
    }
}

/// A contact's seniority and its events as (kind, age in ms).
type Person = (Option<Seniority>, Vec<(EngagementKind, i64)>);

/// Interns' events: 1–20 opens, clicks or visits each, at any age within a year.
fn intern_events() -> impl Strategy<Value = Vec<(EngagementKind, i64)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                EngagementKind::EmailOpen,
                EngagementKind::EmailClick,
                EngagementKind::WebVisit,
            ]),
            0i64..365 * DAY,
        ),
        1..=20,
    )
}

/// An executive: C-level or VP, a demo request or contact-sales and 0–4 opens, all within
/// the last 7 days.
fn executive() -> impl Strategy<Value = (Seniority, Vec<(EngagementKind, i64)>)> {
    (
        prop::sample::select(vec![Seniority::CLevel, Seniority::Vp]),
        prop::sample::select(vec![
            EngagementKind::DemoRequest,
            EngagementKind::ContactSales,
        ]),
        0i64..=7 * DAY,
        prop::collection::vec(0i64..=7 * DAY, 0..5),
    )
        .prop_map(|(seniority, ask, ask_age, opens)| {
            let mut events = vec![(ask, ask_age)];
            events.extend(opens.into_iter().map(|a| (EngagementKind::EmailOpen, a)));
            (seniority, events)
        })
}

fn engagement_of(people: &[Person]) -> f64 {
    let model = ScoringModel::default();
    let contacts: Vec<ContactEngagement> = people
        .iter()
        .enumerate()
        .map(|(n, (seniority, events))| {
            let n = n as u128;
            let evs: Vec<Event> = events
                .iter()
                .map(|(kind, age)| Event {
                    contact: Some(id(n)),
                    kind: *kind,
                    at: NOW.plus_millis(-age),
                })
                .collect();
            let activity = aggregate(&evs, model.half_life_days);
            ContactEngagement {
                id: id(n),
                label: format!("c{n}@acme.io"),
                seniority: *seniority,
                activity: activity.contacts.get(&id(n)).cloned().unwrap_or_default(),
            }
        })
        .collect();
    score(
        &AccountFacts::default(),
        &contacts,
        &DecayedCount::default(),
        &[],
        &model,
        NOW,
    )
    .engagement
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_crowd_of_interns_never_outscores_three_engaged_executives(
        interns in prop::collection::vec(intern_events(), 1..=500),
        executives in prop::collection::vec(executive(), 3),
    ) {
        let crowd: Vec<_> = interns
            .into_iter()
            .map(|e| (Some(Seniority::IndividualContributor), e))
            .collect();
        let execs: Vec<_> = executives.into_iter().map(|(s, e)| (Some(s), e)).collect();
        let (crowd, execs) = (engagement_of(&crowd), engagement_of(&execs));
        prop_assert!(crowd < execs, "interns {} ≥ executives {}", crowd, execs);
    }
}
