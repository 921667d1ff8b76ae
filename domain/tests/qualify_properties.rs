//! Properties of qualification over random signals, thresholds, stages and origins.

use proptest::prelude::*;
use quorum_domain::qualify::{Gate, HighIntent, Origin, Reason, Signals, evaluate};
use quorum_domain::score::{ScoringModel, Thresholds};
use quorum_domain::value::{EngagementKind, MILLIS_PER_DAY, Stage, Timestamp};

const NOW: Timestamp = Timestamp::from_millis(1_750_000_000_000);

/// Scores often exactly on, or a hair off, a default line.
fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0f64..=100.0,
        prop::sample::select(vec![
            0.0, 39.9, 40.0, 49.9, 50.0, 69.9, 70.0, 79.9, 80.0, 80.1, 100.0
        ]),
    ]
}

fn signals() -> impl Strategy<Value = Signals> {
    (
        score(),
        score(),
        prop_oneof![Just(0.0), 0.0f64..=100.0],
        prop_oneof![Just(0.5), 0.0f64..=1.0],
        prop::option::of((
            prop::sample::select(EngagementKind::ALL.to_vec()),
            -2 * MILLIS_PER_DAY..60 * MILLIS_PER_DAY,
        )),
    )
        .prop_map(
            |(total, fit, engagement, committee_coverage, intent)| Signals {
                total,
                fit,
                engagement,
                committee_coverage,
                high_intent: intent
                    .filter(|(kind, _)| kind.is_high_intent())
                    .map(|(kind, age)| HighIntent {
                        kind,
                        at: NOW.plus_millis(-age),
                    }),
            },
        )
}

/// Valid thresholds: the defaults, or any that pass the model's validation.
fn thresholds() -> impl Strategy<Value = Thresholds> {
    prop_oneof![
        Just(ScoringModel::default().thresholds),
        (
            0.0f64..90.0,
            0.1f64..10.0,
            0.0f64..100.0,
            0.0f64..=1.0,
            0.0f64..30.0,
            0.5f64..60.0
        )
            .prop_map(|(mql, gap, fit, coverage, margin, window)| Thresholds {
                mql,
                sql: (mql + gap).min(100.0),
                sql_min_fit: fit,
                sql_min_coverage: coverage,
                demotion_margin: margin,
                high_intent_window_days: window,
            }),
    ]
}

fn stage() -> impl Strategy<Value = Stage> {
    prop::sample::select(Stage::ALL.to_vec())
}

fn origin() -> impl Strategy<Value = Origin> {
    prop_oneof![Just(Origin::Automatic), Just(Origin::Manual)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn transitions_are_explained_and_settle_at_once(
        s in signals(),
        t in thresholds(),
        current in stage(),
        origin in origin(),
    ) {
        let model = ScoringModel { thresholds: t.clone(), ..ScoringModel::default() };
        prop_assert_eq!(model.validate(), Ok(()));
        let Some(tr) = evaluate(current, origin, &s, &t, NOW) else {
            return Ok(());
        };
        let automatic = [Stage::Target, Stage::Engaged, Stage::Mql, Stage::Sql];
        prop_assert!(automatic.contains(&current) && automatic.contains(&tr.to));
        prop_assert_eq!((tr.from, tr.at, tr.origin()), (current, NOW, Origin::Automatic));
        let Reason::Score { checks } = &tr.reason else {
            return Err(TestCaseError::fail("an automatic transition has score checks"));
        };
        prop_assert!(!checks.is_empty() && checks.iter().all(|c| c.held), "{}", tr);
        if tr.to < current {
            prop_assert_eq!(origin, Origin::Automatic, "a manual stage is a floor");
            prop_assert!(tr.to >= Stage::Engaged);
            let lines_crossed = checks.iter().all(|c| matches!(c.gate, Gate::BelowMargin { .. }));
            prop_assert!(lines_crossed);
            prop_assert!(s.total < t.sql - t.demotion_margin || current != Stage::Sql);
        } else {
            prop_assert!(tr.to > current);
        }
        if tr.to == Stage::Sql {
            prop_assert!(s.total >= t.sql && s.fit >= t.sql_min_fit);
            prop_assert!(s.committee_coverage >= t.sql_min_coverage);
            prop_assert!(s.high_intent.is_some());
        }
        prop_assert_eq!(evaluate(tr.to, tr.origin(), &s, &t, NOW), None, "{}", tr);
    }

    #[test]
    fn a_higher_total_never_leaves_a_lower_stage(
        s in signals(),
        more in 0.0f64..50.0,
        t in thresholds(),
        current in stage(),
        origin in origin(),
    ) {
        let after = |s: &Signals| evaluate(current, origin, s, &t, NOW).map_or(current, |tr| tr.to);
        let higher = Signals { total: (s.total + more).min(100.0), ..s };
        prop_assert!(after(&higher) >= after(&s));
    }
}
