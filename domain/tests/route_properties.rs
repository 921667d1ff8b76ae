//! Properties of routing over random teams, rules and accounts, checked against a plain
//! re-statement of the rules (first rule with an eligible candidate; least loaded share, then
//! lowest turn, then lowest id).

use std::cmp::Ordering;

use proptest::prelude::*;
use quorum_domain::route::{
    Decision, Rep, Router, RoutingAccount, RoutingRule, Scope, SlaPolicy, Target,
};
use quorum_domain::value::{CountryCode, Tier, Timestamp, UserId};

const NOW: Timestamp = Timestamp::from_millis(1_750_000_000_000);
const REPS: u128 = 24;

fn uid(n: u128) -> UserId {
    UserId::from(uuid::Uuid::from_u128(n + 1))
}

fn country() -> impl Strategy<Value = CountryCode> {
    prop::sample::select(vec!["US", "DE", "FR", "JP"])
        .prop_filter_map("assigned", |c| CountryCode::parse(c).ok())
}

fn text(options: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(options.to_vec()).prop_map(str::to_owned)
}

const REGIONS: &[&str] = &["NA", "emea", "EMEA", "APAC"];
const INDUSTRIES: &[&str] = &["Software", "retail", "Retail", "Healthcare"];

fn tier() -> impl Strategy<Value = Tier> {
    (1i64..=3).prop_filter_map("tier", |t| Tier::parse(t).ok())
}

/// Reps with unique ids, some full, some inactive, some with capacity 0.
fn reps() -> impl Strategy<Value = Vec<Rep>> {
    prop::collection::vec(
        (
            prop::bool::weighted(0.85),
            0u32..9,
            0u32..3,
            prop::collection::vec(country(), 0..3),
            prop::collection::vec(text(REGIONS), 0..2),
            prop::collection::vec(text(INDUSTRIES), 0..3),
            0u64..6,
        ),
        1..REPS as usize,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(
                |(n, (active, capacity, load, countries, regions, industries, turn))| Rep {
                    id: uid(n as u128),
                    active,
                    capacity,
                    load,
                    countries,
                    regions,
                    industries,
                    turn,
                },
            )
            .collect()
    })
}

/// Mostly empty lists, so that rules often apply.
fn some<T: std::fmt::Debug + Clone>(
    item: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<T>> {
    prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec(item, 1..3)]
}

fn scope() -> impl Strategy<Value = Scope> {
    (
        some(tier()),
        some(country()),
        some(text(REGIONS)),
        some(text(INDUSTRIES)),
    )
        .prop_map(|(tiers, countries, regions, industries)| Scope {
            tiers,
            countries,
            regions,
            industries,
        })
}

/// Pools may name strangers (ids past the team) and repeat a rep.
fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::Owner),
        Just(Target::Territory),
        Just(Target::Industry),
        prop::collection::vec((0..REPS + 4).prop_map(uid), 1..12).prop_map(Target::Pool),
    ]
}

fn rules() -> impl Strategy<Value = Vec<RoutingRule>> {
    prop::collection::vec((scope(), target()), 0..7).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (when, to))| RoutingRule {
                name: format!("rule-{i}"),
                when,
                to,
            })
            .collect()
    })
}

fn account() -> impl Strategy<Value = RoutingAccount> {
    (
        prop::option::of(country()),
        prop::option::of(text(REGIONS)),
        prop::option::of(text(INDUSTRIES)),
        prop::option::of(tier()),
        prop::option::of((0..REPS + 2).prop_map(uid)),
    )
        .prop_map(|(country, region, industry, tier, owner)| RoutingAccount {
            country,
            region,
            industry,
            tier,
            owner,
        })
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The rules re-stated naively, over reps whose loads and turns are `load` and `turn`.
fn expected(
    account: &RoutingAccount,
    reps: &[Rep],
    load: &[u32],
    turn: &[u64],
    rules: &[RoutingRule],
) -> Option<(UserId, String)> {
    for rule in rules {
        if !rule.when.matches(account) {
            continue;
        }
        let offered = |r: &Rep| match &rule.to {
            Target::Owner => account.owner == Some(r.id),
            Target::Territory => {
                account.country.is_some_and(|c| r.countries.contains(&c))
                    || account
                        .region
                        .as_deref()
                        .is_some_and(|x| r.regions.iter().any(|y| same(x, y)))
            }
            Target::Industry => account
                .industry
                .as_deref()
                .is_some_and(|x| r.industries.iter().any(|y| same(x, y))),
            Target::Pool(ids) => ids.contains(&r.id),
        };
        let best = (0..reps.len())
            .filter(|i| offered(&reps[*i]) && reps[*i].active && load[*i] < reps[*i].capacity)
            .min_by(|a, b| {
                let share = (u64::from(load[*a]) * u64::from(reps[*b].capacity))
                    .cmp(&(u64::from(load[*b]) * u64::from(reps[*a].capacity)));
                share
                    .then(turn[*a].cmp(&turn[*b]))
                    .then(reps[*a].id.cmp(&reps[*b].id))
                    .then(Ordering::Equal)
            });
        if let Some(i) = best {
            return Some((reps[i].id, rule.name.clone()));
        }
    }
    None
}

fn chosen(d: &Decision) -> Option<(UserId, String)> {
    d.rep.zip(d.rule.clone())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_batch_follows_the_rules_and_never_overfills_a_rep(
        reps in reps(),
        rules in rules(),
        accounts in prop::collection::vec(account(), 1..24),
    ) {
        let sla = SlaPolicy::default();
        let mut router = Router::new(&reps, &rules);
        let mut load: Vec<u32> = reps.iter().map(|r| r.load).collect();
        let mut turn: Vec<u64> = reps.iter().map(|r| r.turn).collect();
        for account in &accounts {
            let d = router.route(account, &sla, NOW);
            prop_assert_eq!(chosen(&d), expected(account, &reps, &load, &turn, &rules));
            prop_assert_eq!(d.sla_due, sla.due(account.tier, NOW));
            prop_assert_eq!(d.rep.is_some(), d.turn > 0);
            if let Some(i) = d.rep.and_then(|id| reps.iter().position(|r| r.id == id)) {
                prop_assert!(reps[i].active);
                prop_assert!(turn.iter().all(|t| *t < d.turn));
                router.assign(&d);
                load[i] += 1;
                turn[i] = d.turn;
                prop_assert!(load[i] <= reps[i].capacity);
                prop_assert_eq!(router.load(reps[i].id), Some(load[i]));
            }
        }
    }

    #[test]
    fn the_order_reps_are_listed_in_does_not_matter(
        (reps, shuffled) in reps().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        rules in rules(),
        account in account(),
    ) {
        let sla = SlaPolicy::default();
        let a = Router::new(&reps, &rules).route(&account, &sla, NOW);
        let b = Router::new(&shuffled, &rules).route(&account, &sla, NOW);
        prop_assert_eq!(a, b);
    }
}
