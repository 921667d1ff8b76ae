use super::*;
use crate::value::MILLIS_PER_DAY;
use BuyingRole::*;
use EngagementKind::*;

const NOW: Timestamp = Timestamp::from_millis(1_750_000_000_000);
const HL: f64 = 30.0;

fn days_ago(d: f64) -> Timestamp {
    NOW.plus_millis(-(d * MILLIS_PER_DAY as f64) as i64)
}

fn id(n: u128) -> ContactId {
    ContactId::from(uuid::Uuid::from_u128(n))
}

fn contact(
    n: u128,
    seniority: Option<Seniority>,
    events: &[(EngagementKind, f64)],
) -> ContactEngagement {
    let mut activity = ContactActivity::default();
    for (kind, age) in events {
        activity.record(*kind, days_ago(*age), HL);
    }
    ContactEngagement {
        id: id(n),
        label: format!("c{n}@acme.io"),
        seniority,
        activity,
    }
}

fn ideal_account() -> AccountFacts {
    AccountFacts {
        industry: Some("Software".into()),
        employee_count: Some(1_000),
        annual_revenue: Some(100_000_000.0),
        country: CountryCode::parse("US").ok(),
        region: Some("NA".into()),
        technologies: vec!["Salesforce".into()],
    }
}

fn sum_of(s: &AccountScore, component: Component) -> f64 {
    s.breakdown
        .iter()
        .filter(|c| c.component == component)
        .map(|c| c.points)
        .sum()
}

fn assert_breakdown_adds_up(s: &AccountScore, model: &ScoringModel) {
    assert!((sum_of(s, Component::Fit) - s.fit).abs() < 1e-6, "{s:#?}");
    assert!(
        (sum_of(s, Component::Engagement) - s.engagement).abs() < 1e-6,
        "{s:#?}"
    );
    assert!(
        (sum_of(s, Component::Intent) - s.intent).abs() < 1e-6,
        "{s:#?}"
    );
    let bonus = model.coverage_bonus * s.committee_coverage;
    assert!(
        (sum_of(s, Component::Committee) - bonus).abs() < 1e-6,
        "{s:#?}"
    );
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn an_ideal_account_fits_100_and_a_competitor_costs_20() {
    let m = ScoringModel::default();
    let s = score(
        &ideal_account(),
        &[],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    assert_eq!(s.fit, 100.0);
    let sources: Vec<&str> = s.breakdown.iter().map(|c| c.source.as_str()).collect();
    assert_eq!(
        sources[..5],
        [
            "rule:target-industry",
            "rule:mid-market-or-enterprise",
            "rule:revenue-band",
            "rule:core-market",
            "rule:uses-crm"
        ]
    );
    let mut rival = ideal_account();
    rival.technologies.push("6sense".into());
    let s = score(&rival, &[], &DecayedCount::default(), &[], &m, NOW);
    assert_eq!(s.fit, 80.0);
    assert_breakdown_adds_up(&s, &m);
    assert!(
        s.breakdown
            .iter()
            .any(|c| c.source == "rule:uses-competitor"
                && c.points == -20.0
                && c.detail == "uses competitor 6sense")
    );
}

#[test]
fn each_default_rule_adds_its_points_alone() {
    let m = ScoringModel::default();
    let cases = [
        (
            AccountFacts {
                industry: Some("healthcare".into()),
                ..AccountFacts::default()
            },
            25.0,
        ),
        (
            AccountFacts {
                employee_count: Some(200),
                ..AccountFacts::default()
            },
            25.0,
        ),
        (
            AccountFacts {
                employee_count: Some(199),
                ..AccountFacts::default()
            },
            0.0,
        ),
        (
            AccountFacts {
                annual_revenue: Some(2e9),
                ..AccountFacts::default()
            },
            15.0,
        ),
        (
            AccountFacts {
                country: CountryCode::parse("gb").ok(),
                ..AccountFacts::default()
            },
            15.0,
        ),
        (
            AccountFacts {
                technologies: vec!["hubspot crm".into()],
                ..AccountFacts::default()
            },
            20.0,
        ),
        (
            AccountFacts {
                technologies: vec!["Demandbase".into()],
                ..AccountFacts::default()
            },
            0.0,
        ),
    ];
    for (facts, fit) in cases {
        let s = score(&facts, &[], &DecayedCount::default(), &[], &m, NOW);
        assert_eq!(s.fit, fit, "{facts:?}");
        assert_breakdown_adds_up(&s, &m);
    }
}

#[test]
fn fit_over_100_is_scaled_and_a_negative_fit_clamps_to_zero() {
    let mut m = ScoringModel::default();
    m.fit_rules.push(FitRule {
        name: "north-america".into(),
        when: FitCondition::RegionIn(vec!["na".into()]),
        points: 50.0,
    });
    let mut facts = ideal_account();
    facts.technologies.push("Demandbase".into());
    // 25 + 25 + 15 + 15 + 20 − 20 + 50 = 130, clamped to 100.
    let s = score(&facts, &[], &DecayedCount::default(), &[], &m, NOW);
    assert_eq!(s.fit, 100.0);
    assert_breakdown_adds_up(&s, &m);
    let competitor = s
        .breakdown
        .iter()
        .find(|c| c.source == "rule:uses-competitor");
    assert!(competitor.is_some_and(|c| c.points < 0.0 && close(c.points, -20.0 * 100.0 / 130.0)));

    let only_competitor = AccountFacts {
        technologies: vec!["6sense".into()],
        industry: Some("Internet".into()),
        ..AccountFacts::default()
    };
    let mut m = ScoringModel::default();
    m.fit_rules[5].points = -60.0;
    let s = score(
        &only_competitor,
        &[],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    assert_eq!(s.fit, 0.0);
    assert_breakdown_adds_up(&s, &m);
    let industry = s
        .breakdown
        .iter()
        .find(|c| c.source == "rule:target-industry");
    assert!(
        industry.is_some_and(|c| c.points == 25.0),
        "positive rules stay whole"
    );
}

#[test]
fn a_thirty_day_old_event_counts_half() {
    let m = ScoringModel::default();
    let fresh = contact(1, Some(Seniority::Manager), &[(DemoRequest, 0.0)]);
    let month = contact(1, Some(Seniority::Manager), &[(DemoRequest, 30.0)]);
    assert_eq!(
        contact_engagement(&fresh.activity, fresh.seniority, &m, NOW),
        25.0
    );
    assert_eq!(
        contact_engagement(&month.activity, month.seniority, &m, NOW),
        12.5
    );
    let two_months = contact(1, Some(Seniority::Manager), &[(DemoRequest, 60.0)]);
    assert_eq!(
        contact_engagement(&two_months.activity, two_months.seniority, &m, NOW),
        6.25
    );
}

#[test]
fn contact_engagement_is_capped_before_the_multiplier() {
    let m = ScoringModel::default();
    let busy: Vec<(EngagementKind, f64)> = (0..10).map(|_| (DemoRequest, 0.0)).collect();
    let ceo = contact(1, Some(Seniority::CLevel), &busy);
    assert_eq!(
        contact_engagement(&ceo.activity, ceo.seniority, &m, NOW),
        60.0
    );
    let intern = contact(2, Some(Seniority::IndividualContributor), &busy);
    assert_eq!(
        contact_engagement(&intern.activity, intern.seniority, &m, NOW),
        20.0
    );
    let unknown = contact(3, None, &busy);
    assert_eq!(contact_engagement(&unknown.activity, None, &m, NOW), 32.0);
    let s = score(
        &AccountFacts::default(),
        &[ceo],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    assert_breakdown_adds_up(&s, &m);
}

#[test]
fn negative_events_lower_engagement_but_never_below_zero() {
    let m = ScoringModel::default();
    let mixed = contact(
        1,
        Some(Seniority::Vp),
        &[(EmailClick, 0.0), (EmailBounce, 0.0)],
    );
    assert!(close(
        contact_engagement(&mixed.activity, mixed.seniority, &m, NOW),
        0.0
    ));
    let gone = contact(
        2,
        Some(Seniority::Vp),
        &[(EmailOpen, 0.0), (Unsubscribe, 0.0)],
    );
    assert_eq!(
        contact_engagement(&gone.activity, gone.seniority, &m, NOW),
        0.0
    );
    let s = score(
        &AccountFacts::default(),
        &[gone],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    assert_eq!(s.engagement, 0.0);
    assert_breakdown_adds_up(&s, &m);
    let open = s
        .breakdown
        .iter()
        .find(|c| c.source == "EMAIL_OPEN by c2@acme.io");
    assert!(
        open.is_some_and(|c| c.points > 0.0),
        "shown, cancelled by the unsubscribe"
    );
}

#[test]
fn roll_up_weights_contacts_by_rank_and_saturates() {
    let m = ScoringModel::default();
    let a = contact(1, Some(Seniority::CLevel), &[(DemoRequest, 0.0)]); // 37.5
    let b = contact(2, Some(Seniority::Manager), &[(PricingPageView, 0.0)]); // 10
    let c = contact(3, Some(Seniority::Vp), &[(WebinarAttended, 0.0)]); // 10.4
    let s = score(
        &AccountFacts::default(),
        &[b.clone(), a.clone(), c.clone()],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    let x: f64 = 37.5 + 0.5 * 10.4 + 0.25 * 10.0;
    assert!(close(s.engagement, 100.0 * (1.0 - (-x / 40.0).exp())));
    assert_breakdown_adds_up(&s, &m);
    let order: Vec<&str> = s
        .breakdown
        .iter()
        .filter(|c| c.component == Component::Engagement)
        .map(|c| c.source.as_str())
        .collect();
    assert_eq!(
        order,
        [
            "DEMO_REQUEST by c1@acme.io",
            "WEBINAR_ATTENDED by c3@acme.io",
            "PRICING_PAGE_VIEW by c2@acme.io"
        ]
    );
    let again = score(
        &AccountFacts::default(),
        &[c, a, b],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    assert_eq!(again, s, "contact order does not matter");
    assert_eq!(again.total.to_bits(), s.total.to_bits());
}

#[test]
fn ties_are_broken_by_contact_id() {
    let m = ScoringModel::default();
    let a = contact(9, Some(Seniority::Manager), &[(EmailClick, 1.0)]);
    let b = contact(4, Some(Seniority::Manager), &[(EmailClick, 1.0)]);
    let s = score(
        &AccountFacts::default(),
        &[a, b],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    assert_eq!(s.breakdown[0].source, "EMAIL_CLICK by c4@acme.io");
    assert!(s.breakdown[0].detail.contains("rank 1"));
}

#[test]
fn intent_decays_and_saturates() {
    let m = ScoringModel::default();
    let mut surge = DecayedCount::default();
    surge.add(NOW, 1.0, HL);
    let s = score(&AccountFacts::default(), &[], &surge, &[], &m, NOW);
    assert!(close(s.intent, 100.0 * (1.0 - (-10.0f64 / 30.0).exp())));
    let later = score(
        &AccountFacts::default(),
        &[],
        &surge,
        &[],
        &m,
        NOW.plus_millis(30 * MILLIS_PER_DAY),
    );
    assert!(close(later.intent, 100.0 * (1.0 - (-5.0f64 / 30.0).exp())));
    assert_breakdown_adds_up(&s, &m);
    assert_eq!(s.breakdown[0].source, "INTENT_SURGE");
    let none = score(
        &AccountFacts::default(),
        &[],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    assert_eq!(none.intent, 0.0);
    assert!(
        none.breakdown
            .iter()
            .all(|c| c.component != Component::Intent)
    );
}

#[test]
fn only_recently_engaged_members_cover_roles() {
    let m = ScoringModel::default();
    let contacts = [
        contact(1, Some(Seniority::CLevel), &[(EmailOpen, 10.0)]),
        contact(2, Some(Seniority::Vp), &[(WebVisit, 100.0)]),
        contact(3, Some(Seniority::Manager), &[(Unsubscribe, 1.0)]),
        contact(4, Some(Seniority::Director), &[(EmailClick, 89.0)]),
    ];
    let committee = [
        (id(1), DecisionMaker),
        (id(2), EconomicBuyer),
        (id(3), Champion),
        (id(4), TechnicalEvaluator),
        (id(4), Champion),
        (id(5), EconomicBuyer),
    ];
    let s = score(
        &AccountFacts::default(),
        &contacts,
        &DecayedCount::default(),
        &committee,
        &m,
        NOW,
    );
    assert_eq!(s.committee_coverage, 0.75);
    assert_breakdown_adds_up(&s, &m);
    let roles: Vec<(&str, f64)> = s
        .breakdown
        .iter()
        .filter(|c| c.component == Component::Committee)
        .map(|c| (c.source.as_str(), c.points))
        .collect();
    assert_eq!(
        roles,
        [
            ("role:DECISION_MAKER", 2.5),
            ("role:ECONOMIC_BUYER", 0.0),
            ("role:CHAMPION", 2.5),
            ("role:TECHNICAL_EVALUATOR", 2.5)
        ]
    );
    let missing = s
        .breakdown
        .iter()
        .find(|c| c.source == "role:ECONOMIC_BUYER");
    assert!(missing.is_some_and(|c| c.detail.starts_with("missing")));
}

#[test]
fn no_required_roles_means_full_coverage() {
    let mut m = ScoringModel::default();
    m.required_roles.clear();
    let s = score(
        &AccountFacts::default(),
        &[],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    assert_eq!(s.committee_coverage, 1.0);
    assert_eq!(s.total, 10.0);
    assert_breakdown_adds_up(&s, &m);
}

#[test]
fn total_is_the_weighted_blend_plus_the_coverage_bonus() {
    let m = ScoringModel::default();
    let contacts = [
        contact(
            1,
            Some(Seniority::CLevel),
            &[(DemoRequest, 2.0), (EmailOpen, 3.0)],
        ),
        contact(2, Some(Seniority::Vp), &[(ContactSales, 5.0)]),
    ];
    let committee = [(id(1), DecisionMaker), (id(2), EconomicBuyer)];
    let mut surge = DecayedCount::default();
    surge.add(days_ago(3.0), 1.0, HL);
    let s = score(&ideal_account(), &contacts, &surge, &committee, &m, NOW);
    let expected = 0.4 * s.fit + 0.45 * s.engagement + 0.15 * s.intent + 10.0 * 0.5;
    assert!(close(s.total, expected));
    assert!(
        s.total > 80.0,
        "an ideal, engaged account is SQL material: {}",
        s.total
    );
    assert_breakdown_adds_up(&s, &m);
    let again = score(&ideal_account(), &contacts, &surge, &committee, &m, NOW);
    assert_eq!(again, s);
}

#[test]
fn scores_serialize_with_graphql_names() -> Result<(), serde_json::Error> {
    let m = ScoringModel::default();
    let s = score(
        &ideal_account(),
        &[],
        &DecayedCount::default(),
        &[],
        &m,
        NOW,
    );
    let json = serde_json::to_value(&s)?;
    assert_eq!(json["committeeCoverage"], 0.0);
    assert_eq!(json["breakdown"][0]["component"], "FIT");
    assert_eq!(Component::Committee.as_str(), "COMMITTEE");
    Ok(())
}
