use super::*;
use crate::score::ScoringModel;
use crate::value::MILLIS_PER_DAY;
use EngagementKind::*;
use Stage::*;

const NOW: Timestamp = Timestamp::from_millis(1_750_000_000_000);
const DAY: i64 = MILLIS_PER_DAY;

/// The defaults: MQL 50, SQL 80, fit 40, coverage 0.5, margin 10, window 30 days.
fn defaults() -> Thresholds {
    ScoringModel::default().thresholds
}

fn rep() -> UserId {
    UserId::from(uuid::Uuid::from_u128(7))
}

fn intent(kind: EngagementKind, age_ms: i64) -> Option<HighIntent> {
    Some(HighIntent {
        kind,
        at: NOW.plus_millis(-age_ms),
    })
}

/// Clears every SQL gate with room to spare.
fn sql_ready() -> Signals {
    Signals {
        total: 85.0,
        fit: 60.0,
        engagement: 70.0,
        committee_coverage: 0.75,
        high_intent: intent(DemoRequest, 2 * DAY),
    }
}

fn with(f: impl FnOnce(&mut Signals)) -> Signals {
    let mut s = sql_ready();
    f(&mut s);
    s
}

fn to(current: Stage, origin: Origin, s: &Signals) -> Option<Stage> {
    evaluate(current, origin, s, &defaults(), NOW).map(|t| t.to)
}

#[test]
fn promotion_follows_each_threshold_and_gate() {
    let cases: Vec<(&str, Signals, Option<Stage>)> = vec![
        ("all SQL gates hold", sql_ready(), Some(Sql)),
        ("total 79.9", with(|s| s.total = 79.9), Some(Mql)),
        ("total 80", with(|s| s.total = 80.0), Some(Sql)),
        ("total 80.1", with(|s| s.total = 80.1), Some(Sql)),
        (
            "no high-intent action",
            with(|s| s.high_intent = None),
            Some(Mql),
        ),
        (
            "high intent exactly at the window",
            with(|s| s.high_intent = intent(ContactSales, 30 * DAY)),
            Some(Sql),
        ),
        (
            "high intent 1 ms past the window",
            with(|s| s.high_intent = intent(ContactSales, 30 * DAY + 1)),
            Some(Mql),
        ),
        (
            "pricing page view counts",
            with(|s| s.high_intent = intent(PricingPageView, DAY)),
            Some(Sql),
        ),
        (
            "high intent stamped in the future",
            with(|s| s.high_intent = intent(DemoRequest, -DAY)),
            Some(Sql),
        ),
        ("fit 39.9", with(|s| s.fit = 39.9), Some(Mql)),
        ("fit 40", with(|s| s.fit = 40.0), Some(Sql)),
        (
            "coverage 0.49",
            with(|s| s.committee_coverage = 0.49),
            Some(Mql),
        ),
        (
            "coverage 0.5",
            with(|s| s.committee_coverage = 0.5),
            Some(Sql),
        ),
        ("total 50.1", with(|s| s.total = 50.1), Some(Mql)),
        ("total 50", with(|s| s.total = 50.0), Some(Mql)),
        ("total 49.9", with(|s| s.total = 49.9), Some(Engaged)),
        (
            "any engagement",
            with(|s| {
                s.total = 3.0;
                s.engagement = 0.01;
            }),
            Some(Engaged),
        ),
        (
            "no engagement",
            with(|s| {
                s.total = 3.0;
                s.engagement = 0.0;
            }),
            None,
        ),
        (
            "MQL on fit alone, without engagement",
            with(|s| {
                s.total = 55.0;
                s.engagement = 0.0;
            }),
            Some(Mql),
        ),
        ("NaN total", with(|s| s.total = f64::NAN), Some(Engaged)),
    ];
    for (name, signals, expected) in cases {
        assert_eq!(to(Target, Origin::Automatic, &signals), expected, "{name}");
    }
}

#[test]
fn promotion_starts_from_the_current_stage_and_can_jump() {
    let s = sql_ready();
    for (current, expected) in [
        (Target, Some(Sql)),
        (Engaged, Some(Sql)),
        (Mql, Some(Sql)),
        (Sql, None),
    ] {
        assert_eq!(to(current, Origin::Automatic, &s), expected, "{current}");
    }
    let mql = with(|s| s.total = 60.0);
    for (current, expected) in [
        (Target, Some(Mql)),
        (Engaged, Some(Mql)),
        (Mql, None),
        (Sql, Some(Mql)),
    ] {
        assert_eq!(to(current, Origin::Automatic, &mql), expected, "{current}");
    }
    let t = evaluate(Target, Origin::Automatic, &s, &defaults(), NOW);
    assert_eq!(
        t.map(|t| (t.from, t.to, t.at, t.actor)),
        Some((Target, Sql, NOW, Actor::System))
    );
}

#[test]
fn demotion_waits_for_the_margin() {
    let cases = [
        (Sql, 80.0, None),
        (Sql, 70.1, None),
        (Sql, 70.0, None),
        (Sql, 69.9, Some(Mql)),
        (Sql, 40.0, Some(Mql)),
        (Sql, 39.9, Some(Engaged)),
        (Sql, 0.0, Some(Engaged)),
        (Mql, 49.9, None),
        (Mql, 40.0, None),
        (Mql, 39.9, Some(Engaged)),
        (Mql, 0.0, Some(Engaged)),
        (Engaged, 0.0, None),
        (Sql, f64::NAN, None),
    ];
    for (current, total, expected) in cases {
        let s = with(|s| {
            s.total = total;
            s.engagement = 0.0;
        });
        assert_eq!(
            to(current, Origin::Automatic, &s),
            expected,
            "{current} at {total}"
        );
    }
}

#[test]
fn sql_gates_do_not_demote_by_themselves() {
    let cold = with(|s| {
        s.total = 75.0;
        s.high_intent = intent(DemoRequest, 400 * DAY);
        s.fit = 0.0;
        s.committee_coverage = 0.0;
    });
    assert_eq!(to(Sql, Origin::Automatic, &cold), None);
}

#[test]
fn a_score_hovering_at_a_line_does_not_flap() {
    let steps = [
        (79.9, Mql),
        (80.0, Sql),
        (75.0, Sql),
        (70.0, Sql),
        (69.9, Mql),
        (79.9, Mql),
        (80.0, Sql),
        (39.9, Engaged),
        (49.9, Engaged),
        (50.0, Mql),
    ];
    let (mut stage, mut origin) = (Engaged, Origin::Automatic);
    for (i, (total, expected)) in steps.into_iter().enumerate() {
        let s = with(|s| s.total = total);
        if let Some(t) = evaluate(stage, origin, &s, &defaults(), NOW) {
            (stage, origin) = (t.to, t.origin());
        }
        assert_eq!(stage, expected, "step {i}: total {total}");
    }
}

#[test]
fn a_manual_stage_is_never_demoted_but_can_be_promoted() {
    let zero = with(|s| {
        s.total = 0.0;
        s.engagement = 0.0;
    });
    for stage in [Target, Engaged, Mql, Sql] {
        assert_eq!(to(stage, Origin::Manual, &zero), None, "{stage}");
    }
    assert_eq!(to(Mql, Origin::Manual, &sql_ready()), Some(Sql));
    assert_eq!(
        to(Target, Origin::Manual, &with(|s| s.total = 5.0)),
        Some(Engaged)
    );
}

#[test]
fn closed_and_disqualified_stages_are_never_moved() {
    let zero = with(|s| {
        s.total = 0.0;
        s.engagement = 0.0;
    });
    for stage in [Opportunity, Won, Lost, Disqualified] {
        for origin in [Origin::Automatic, Origin::Manual] {
            for s in [&zero, &sql_ready()] {
                assert_eq!(to(stage, origin, s), None, "{stage} {origin:?}");
            }
        }
    }
}

#[test]
fn evaluating_again_after_a_transition_changes_nothing() {
    let t = defaults();
    for step in 0..=200 {
        let total = f64::from(step) * 0.5;
        for high_intent in [None, intent(DemoRequest, DAY)] {
            let s = with(|s| {
                s.total = total;
                s.high_intent = high_intent;
            });
            for stage in [Target, Engaged, Mql, Sql] {
                for origin in [Origin::Automatic, Origin::Manual] {
                    if let Some(first) = evaluate(stage, origin, &s, &t, NOW) {
                        assert_eq!(
                            evaluate(first.to, first.origin(), &s, &t, NOW),
                            None,
                            "{first}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn reasons_list_each_check_with_its_values() {
    let s = Signals {
        total: 81.2,
        fit: 55.0,
        engagement: 40.0,
        committee_coverage: 0.6,
        high_intent: intent(DemoRequest, 2 * DAY),
    };
    let t = evaluate(Mql, Origin::Automatic, &s, &defaults(), NOW);
    assert_eq!(
        t.map(|t| t.to_string()).as_deref(),
        Some(
            "MQL → SQL: total 81.2 ≥ 80; DEMO_REQUEST 2 days ago (window 30 days); \
             fit 55 ≥ 40; coverage 0.6 ≥ 0.5"
        )
    );
    let down = evaluate(
        Sql,
        Origin::Automatic,
        &with(|s| s.total = 35.0),
        &defaults(),
        NOW,
    );
    assert_eq!(
        down.map(|t| t.reason.to_string()).as_deref(),
        Some("total 35 < 70 (SQL 80 − margin 10); total 35 < 40 (MQL 50 − margin 10)")
    );
    let engaged = evaluate(
        Target,
        Origin::Automatic,
        &with(|s| s.total = 9.0),
        &defaults(),
        NOW,
    );
    assert_eq!(
        engaged.map(|t| t.reason.to_string()).as_deref(),
        Some("engagement 70 > 0")
    );
}

#[test]
fn check_text_never_rounds_across_the_line() {
    let t = defaults();
    let cases = [
        (Check::total(79.999, t.sql), "total 79.999 < 80"),
        (Check::total(80.004, t.sql), "total 80 ≥ 80"),
        (Check::total(12.345_67, t.mql), "total 12.35 < 50"),
        (Check::fit(39.999, 40.0), "fit 39.999 < 40"),
        (Check::coverage(0.25, 0.5), "coverage 0.25 < 0.5"),
        (Check::engagement(0.001), "engagement 0.001 > 0"),
        (Check::engagement(0.0), "no engagement"),
        (
            Check::below(Sql, 80.0, 10.0, 69.999),
            "total 69.999 < 70 (SQL 80 − margin 10)",
        ),
        (
            Check::below(Mql, 50.0, 0.0, 50.0),
            "total 50 ≥ 50 (MQL 50 − margin 0)",
        ),
    ];
    for (check, text) in cases {
        assert_eq!(check.to_string(), text);
    }
}

#[test]
fn high_intent_text_gives_kind_age_and_window() {
    let cases = [
        (
            intent(DemoRequest, 2 * DAY),
            "DEMO_REQUEST 2 days ago (window 30 days)",
        ),
        (
            intent(ContactSales, DAY),
            "CONTACT_SALES 1 day ago (window 30 days)",
        ),
        (
            intent(PricingPageView, 36 * 3_600_000),
            "PRICING_PAGE_VIEW 1.5 days ago (window 30 days)",
        ),
        (
            intent(DemoRequest, 5 * 3_600_000 + 1),
            "DEMO_REQUEST 5 h ago (window 30 days)",
        ),
        (
            intent(DemoRequest, 4 * 60_000),
            "DEMO_REQUEST 4 min ago (window 30 days)",
        ),
        (
            intent(DemoRequest, -60_000),
            "DEMO_REQUEST 0 min ago (window 30 days)",
        ),
        (
            intent(DemoRequest, 30 * DAY + 1_000),
            "no high-intent action within 30 days (latest DEMO_REQUEST 30.00001 days ago)",
        ),
        (
            intent(DemoRequest, 45 * DAY),
            "no high-intent action within 30 days (latest DEMO_REQUEST 45 days ago)",
        ),
        (None, "no high-intent action within 30 days"),
    ];
    for (latest, text) in cases {
        assert_eq!(Check::high_intent(latest, 30.0, NOW).to_string(), text);
    }
}

#[test]
fn reasons_round_trip_through_json() -> Result<(), serde_json::Error> {
    let t = evaluate(Mql, Origin::Automatic, &sql_ready(), &defaults(), NOW);
    let reason = t.map(|t| t.reason);
    let json = serde_json::to_value(&reason)?;
    assert_eq!(json["kind"], "score");
    assert_eq!(json["checks"][0]["gate"]["total"]["threshold"], 80.0);
    assert_eq!(
        json["checks"][1]["gate"]["highIntent"]["latest"]["kind"],
        "DEMO_REQUEST"
    );
    assert_eq!(json["checks"][1]["gate"]["highIntent"]["ageDays"], 2.0);
    assert_eq!(json["checks"][3]["held"], true);
    assert_eq!(serde_json::from_value::<Option<Reason>>(json)?, reason);
    let manual = Reason::Manual {
        note: "budget confirmed".into(),
    };
    assert_eq!(
        serde_json::to_value(&manual)?,
        serde_json::json!({ "kind": "manual", "note": "budget confirmed" })
    );
    Ok(())
}

#[test]
fn manual_moves_allowed_and_refused() {
    use StageError as E;
    let cases: Vec<(Stage, Stage, Result<(), E>)> = vec![
        (Mql, Sql, Ok(())),
        (Target, Sql, Ok(())),
        (Sql, Mql, Ok(())),
        (Engaged, Target, Ok(())),
        (Target, Disqualified, Ok(())),
        (Sql, Disqualified, Ok(())),
        (Opportunity, Disqualified, Ok(())),
        (Won, Disqualified, Ok(())),
        (Lost, Disqualified, Ok(())),
        (Disqualified, Target, Ok(())),
        (Disqualified, Sql, Ok(())),
        (Lost, Mql, Ok(())),
        (Won, Engaged, Ok(())),
        (Sql, Sql, Err(E::Unchanged(Sql))),
        (Disqualified, Disqualified, Err(E::Unchanged(Disqualified))),
        (Sql, Opportunity, Err(E::CreateOpportunity)),
        (Opportunity, Won, Err(E::CloseOpportunity(Won))),
        (Sql, Lost, Err(E::CloseOpportunity(Lost))),
        (Opportunity, Sql, Err(E::OpportunityOpen)),
        (Opportunity, Target, Err(E::OpportunityOpen)),
    ];
    for (from, to, expected) in cases {
        let got = manual(from, to, rep(), "spoke to the CFO", NOW);
        assert_eq!(
            got.as_ref().map(|_| ()),
            expected.as_ref().map(|_| ()),
            "{from} → {to}"
        );
        if let Ok(t) = got {
            assert_eq!((t.from, t.to, t.at), (from, to, NOW));
            assert_eq!(t.actor, Actor::User(rep()));
            assert_eq!(t.origin(), Origin::Manual);
            assert_eq!(t.to_string(), format!("{from} → {to}: spoke to the CFO"));
        }
    }
}

#[test]
fn a_manual_move_needs_a_note() {
    for note in ["", "   ", &"x".repeat(MAX_NOTE + 1)] {
        let got = manual(Mql, Sql, rep(), note, NOW);
        assert!(matches!(got, Err(StageError::Note(_))), "{note:?}");
    }
    let t = manual(Mql, Sql, rep(), "  BANT complete ", NOW).map(|t| t.reason);
    assert_eq!(
        t,
        Ok(Reason::Manual {
            note: "BANT complete".into()
        })
    );
    assert_eq!(
        manual(Mql, Sql, rep(), "", NOW).map_err(|e| e.to_string()),
        Err("reason must not be empty".into())
    );
}

#[test]
fn opportunities_open_and_close() {
    for from in [Target, Engaged, Mql, Sql, Won, Lost] {
        let t = open_opportunity(from, rep(), NOW);
        assert_eq!(
            t.map(|t| (t.from, t.to, t.reason.to_string())),
            Ok((from, Opportunity, "opportunity opened".into())),
            "{from}"
        );
    }
    assert_eq!(
        open_opportunity(Opportunity, rep(), NOW),
        Err(StageError::Unchanged(Opportunity))
    );
    assert_eq!(
        open_opportunity(Disqualified, rep(), NOW),
        Err(StageError::Disqualified)
    );
    for (won, to, text) in [
        (true, Won, "opportunity won"),
        (false, Lost, "opportunity lost"),
    ] {
        let t = close_opportunity(Opportunity, won, rep(), NOW);
        assert_eq!(
            t.map(|t| (t.to, t.origin(), t.reason.to_string())),
            Ok((to, Origin::Manual, text.into()))
        );
    }
    for from in [Sql, Won, Lost, Disqualified] {
        assert_eq!(
            close_opportunity(from, true, rep(), NOW),
            Err(StageError::NoOpenOpportunity(from))
        );
    }
}

#[test]
fn latest_high_intent_scans_every_contact_and_high_intent_kind() {
    let hl = 30.0;
    let mut a = ContactActivity::default();
    a.record(DemoRequest, NOW.plus_millis(-10 * DAY), hl);
    a.record(EmailOpen, NOW, hl);
    let mut b = ContactActivity::default();
    b.record(PricingPageView, NOW.plus_millis(-3 * DAY), hl);
    b.record(ContactSales, NOW.plus_millis(-3 * DAY), hl);
    b.record(Unsubscribe, NOW, hl);
    assert_eq!(
        latest_high_intent([&a, &b]),
        intent(PricingPageView, 3 * DAY),
        "same time: the first kind in order"
    );
    assert_eq!(latest_high_intent([&a]), intent(DemoRequest, 10 * DAY));
    let mut quiet = ContactActivity::default();
    quiet.record(WebVisit, NOW, hl);
    assert_eq!(latest_high_intent([&quiet]), None);
    assert_eq!(latest_high_intent([]), None);
}

#[test]
fn signals_come_from_a_score() {
    let score = AccountScore {
        total: 81.0,
        fit: 50.0,
        engagement: 60.0,
        intent: 10.0,
        committee_coverage: 0.5,
        breakdown: Vec::new(),
    };
    let s = Signals::new(&score, intent(DemoRequest, DAY));
    assert_eq!(
        (
            s.total,
            s.fit,
            s.engagement,
            s.committee_coverage,
            s.high_intent
        ),
        (81.0, 50.0, 60.0, 0.5, intent(DemoRequest, DAY))
    );
    assert_eq!(Actor::System.to_string(), "system");
    assert_eq!(Actor::User(rep()).to_string(), rep().to_string());
}
