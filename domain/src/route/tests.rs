use super::*;
use crate::value::Invalid;

const NOW: Timestamp = Timestamp::from_millis(1_750_000_000_000);
const MINUTE: i64 = 60_000;

fn uid(n: u128) -> UserId {
    UserId::from(uuid::Uuid::from_u128(n))
}

fn countries(codes: &[&str]) -> Vec<CountryCode> {
    codes
        .iter()
        .filter_map(|c| CountryCode::parse(c).ok())
        .collect()
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_owned()).collect()
}

fn tier(t: i64) -> Option<Tier> {
    Tier::parse(t).ok()
}

/// An active rep with room for 10, no territory, no industries.
fn rep(n: u128) -> Rep {
    Rep {
        id: uid(n),
        active: true,
        capacity: 10,
        load: 0,
        countries: Vec::new(),
        regions: Vec::new(),
        industries: Vec::new(),
        turn: 0,
    }
}

fn rule(name: &str, when: Scope, to: Target) -> RoutingRule {
    RoutingRule {
        name: name.to_owned(),
        when,
        to,
    }
}

fn any() -> Scope {
    Scope::default()
}

/// A German tier-1 software account in EMEA owned by rep 1.
fn account() -> RoutingAccount {
    RoutingAccount {
        country: CountryCode::parse("DE").ok(),
        region: Some("EMEA".into()),
        industry: Some("Software".into()),
        tier: tier(1),
        owner: Some(uid(1)),
    }
}

/// Rep 1 owns; rep 2 covers DE; rep 3 covers the emea region; rep 4 knows software; reps 5
/// and 6 are the tier-1 pool; rep 7 is the catch-all.
fn team() -> Vec<Rep> {
    let mut reps: Vec<Rep> = (1..=7).map(rep).collect();
    reps[1].countries = countries(&["DE", "AT"]);
    reps[2].regions = words(&["emea"]);
    reps[3].industries = words(&["healthcare", "SOFTWARE"]);
    reps
}

/// The rep and the name of the rule that chose them.
type Chosen = (Option<UserId>, Option<String>);

fn chosen(reps: &[Rep], rules: &[RoutingRule], account: &RoutingAccount) -> Chosen {
    let d = route(account, reps, rules, &SlaPolicy::default(), NOW);
    (d.rep, d.rule)
}

#[test]
fn each_target_picks_its_reps() {
    let only = |to: Target| vec![rule("r", any(), to)];
    let cases: Vec<(&str, Target, RoutingAccount, Option<u128>)> = vec![
        ("owner", Target::Owner, account(), Some(1)),
        (
            "no owner",
            Target::Owner,
            RoutingAccount {
                owner: None,
                ..account()
            },
            None,
        ),
        (
            "owner not a rep",
            Target::Owner,
            RoutingAccount {
                owner: Some(uid(99)),
                ..account()
            },
            None,
        ),
        (
            "territory by country",
            Target::Territory,
            RoutingAccount {
                region: None,
                ..account()
            },
            Some(2),
        ),
        (
            "territory by region, ignoring case",
            Target::Territory,
            RoutingAccount {
                country: None,
                ..account()
            },
            Some(3),
        ),
        (
            "territory: neither",
            Target::Territory,
            RoutingAccount {
                country: CountryCode::parse("FR").ok(),
                region: Some("NA".into()),
                ..account()
            },
            None,
        ),
        (
            "industry, ignoring case",
            Target::Industry,
            account(),
            Some(4),
        ),
        (
            "industry unknown",
            Target::Industry,
            RoutingAccount {
                industry: None,
                ..account()
            },
            None,
        ),
        (
            "pool",
            Target::Pool(vec![uid(6), uid(5)]),
            account(),
            Some(5),
        ),
        (
            "pool of strangers",
            Target::Pool(vec![uid(98), uid(99)]),
            account(),
            None,
        ),
    ];
    for (name, to, account, expected) in cases {
        let (rep, rule) = chosen(&team(), &only(to), &account);
        assert_eq!(rep, expected.map(uid), "{name}");
        assert_eq!(rule.is_some(), expected.is_some(), "{name}");
    }
}

#[test]
fn territory_offers_every_covering_rep() {
    let mut reps = team();
    reps[1].load = 5; // covers DE, busier
    let rules = [rule("territory", any(), Target::Territory)];
    assert_eq!(chosen(&reps, &rules, &account()).0, Some(uid(3)));
}

#[test]
fn scopes_decide_which_accounts_a_rule_applies_to() {
    let de = account();
    let scope = |f: fn(&mut Scope)| {
        let mut s = Scope::default();
        f(&mut s);
        s
    };
    let cases: Vec<(&str, Scope, RoutingAccount, bool)> = vec![
        ("empty scope", any(), de.clone(), true),
        (
            "tier 1",
            scope(|s| s.tiers = vec![Tier::parse(1).ok()].into_iter().flatten().collect()),
            de.clone(),
            true,
        ),
        (
            "tier 2 or 3",
            scope(|s| s.tiers = [2, 3].iter().filter_map(|t| Tier::parse(*t).ok()).collect()),
            de.clone(),
            false,
        ),
        (
            "no tier",
            scope(|s| s.tiers = [1].iter().filter_map(|t| Tier::parse(*t).ok()).collect()),
            RoutingAccount {
                tier: None,
                ..de.clone()
            },
            false,
        ),
        (
            "country",
            scope(|s| s.countries = countries(&["FR", "DE"])),
            de.clone(),
            true,
        ),
        (
            "other country",
            scope(|s| s.countries = countries(&["FR"])),
            de.clone(),
            false,
        ),
        (
            "region ignoring case",
            scope(|s| s.regions = words(&[" emea "])),
            de.clone(),
            true,
        ),
        (
            "other region",
            scope(|s| s.regions = words(&["NA"])),
            de.clone(),
            false,
        ),
        (
            "industry",
            scope(|s| s.industries = words(&["software"])),
            de.clone(),
            true,
        ),
        (
            "no industry",
            scope(|s| s.industries = words(&["software"])),
            RoutingAccount {
                industry: None,
                ..de.clone()
            },
            false,
        ),
        (
            "every list must match",
            scope(|s| {
                s.countries = countries(&["DE"]);
                s.industries = words(&["Retail"]);
            }),
            de.clone(),
            false,
        ),
        (
            "non-ASCII text ignores case",
            scope(|s| s.industries = words(&["ÉNERGIE"])),
            RoutingAccount {
                industry: Some("énergie".into()),
                ..de.clone()
            },
            true,
        ),
    ];
    for (name, when, account, expected) in cases {
        assert_eq!(when.matches(&account), expected, "{name}");
    }
}

#[test]
fn the_first_rule_with_an_eligible_rep_decides() {
    let rules = vec![
        rule("keep-owner", any(), Target::Owner),
        rule(
            "tier-1-pool",
            Scope {
                tiers: tier(1).into_iter().collect(),
                ..any()
            },
            Target::Pool(vec![uid(5), uid(6)]),
        ),
        rule("territory", any(), Target::Territory),
        rule("industry", any(), Target::Industry),
        rule("catch-all", any(), Target::Pool(vec![uid(7)])),
    ];
    let with = |f: fn(&mut Vec<Rep>, &mut RoutingAccount)| {
        let (mut reps, mut a) = (team(), account());
        f(&mut reps, &mut a);
        chosen(&reps, &rules, &a)
    };
    let cases: Vec<(&str, Chosen, Option<u128>, Option<&str>)> = vec![
        (
            "owner keeps it",
            with(|_, _| {}),
            Some(1),
            Some("keep-owner"),
        ),
        (
            "inactive owner",
            with(|r, _| r[0].active = false),
            Some(5),
            Some("tier-1-pool"),
        ),
        (
            "owner at capacity",
            with(|r, _| r[0].load = 10),
            Some(5),
            Some("tier-1-pool"),
        ),
        (
            "owner over capacity",
            with(|r, _| r[0].capacity = 0),
            Some(5),
            Some("tier-1-pool"),
        ),
        (
            "not tier 1",
            with(|_, a| {
                a.owner = None;
                a.tier = tier(2);
            }),
            Some(2),
            Some("territory"),
        ),
        (
            "pool full",
            with(|r, a| {
                a.owner = None;
                r[4].load = 10;
                r[5].active = false;
            }),
            Some(2),
            Some("territory"),
        ),
        (
            "no territory",
            with(|_, a| {
                a.owner = None;
                a.tier = None;
                a.country = None;
                a.region = None;
            }),
            Some(4),
            Some("industry"),
        ),
        (
            "nothing specific",
            with(|_, a| {
                *a = RoutingAccount::default();
            }),
            Some(7),
            Some("catch-all"),
        ),
        (
            "everyone full or away",
            with(|r, a| {
                *a = RoutingAccount::default();
                r[6].load = 12;
            }),
            None,
            None,
        ),
    ];
    for (name, got, rep, rule) in cases {
        assert_eq!(got, (rep.map(uid), rule.map(str::to_owned)), "{name}");
    }
}

#[test]
fn least_loaded_by_share_then_longest_waiting_then_id() {
    let two = |a: (u32, u32, u64), b: (u32, u32, u64)| {
        let mut reps = vec![rep(1), rep(2)];
        for (r, (load, capacity, turn)) in reps.iter_mut().zip([a, b]) {
            (r.load, r.capacity, r.turn) = (load, capacity, turn);
        }
        let rules = [rule("pool", any(), Target::Pool(vec![uid(2), uid(1)]))];
        chosen(&reps, &rules, &RoutingAccount::default()).0
    };
    let cases = [
        ("fewer open", (3, 10, 0), (2, 10, 0), 2),
        ("lower share beats fewer open", (5, 10, 0), (3, 4, 0), 1),
        ("same share: longer waiting", (2, 10, 9), (1, 5, 4), 2),
        ("same share, never assigned first", (0, 10, 0), (0, 3, 1), 1),
        ("all equal: lower id", (1, 10, 3), (1, 10, 3), 1),
        ("full rep is skipped", (10, 10, 0), (9, 10, 5), 2),
        ("capacity 0 takes nothing", (0, 0, 0), (9, 10, 5), 2),
    ];
    for (name, a, b, expected) in cases {
        assert_eq!(two(a, b), Some(uid(expected)), "{name}");
    }
}

#[test]
fn inactive_and_full_reps_are_never_chosen_and_the_queue_says_why() {
    let mut reps: Vec<Rep> = (1..=4).map(rep).collect();
    reps[0].active = false;
    reps[1].load = 10;
    reps[2].capacity = 0;
    reps[3].load = 11;
    let rules = [
        rule("everyone", any(), Target::Pool((1..=4).map(uid).collect())),
        rule(
            "tier-3",
            Scope {
                tiers: tier(3).into_iter().collect(),
                ..any()
            },
            Target::Pool(vec![uid(1)]),
        ),
    ];
    let d = route(&account(), &reps, &rules, &SlaPolicy::default(), NOW);
    assert_eq!((d.rep, d.rule, d.turn), (None, None, 0));
    assert_eq!(
        d.reason,
        "no eligible rep under the 1 rule(s) that apply (inactive or at capacity): \
         unassigned queue"
    );
    assert_eq!(
        d.sla_due,
        NOW.plus_millis(5 * MINUTE),
        "the queue's clock runs"
    );
    let none = route(&account(), &reps, &[], &SlaPolicy::default(), NOW);
    assert_eq!(none.reason, "no rule applies: unassigned queue");
}

#[test]
fn decisions_explain_themselves() {
    let mut reps: Vec<Rep> = (1..=4).map(rep).collect();
    reps[0].load = 4;
    reps[3].active = false;
    reps[1].turn = 7;
    let rules = [
        rule("keep-owner", any(), Target::Owner),
        rule("all", any(), Target::Pool((1..=4).map(uid).collect())),
    ];
    let a = RoutingAccount {
        owner: Some(uid(9)),
        ..account()
    };
    let d = route(&a, &reps, &rules, &SlaPolicy::default(), NOW);
    assert_eq!(d.rep, Some(uid(3)));
    assert_eq!(
        d.reason,
        "rule \"all\" (pool of 4): least loaded of 3 eligible (0/10 open), longest without \
         an assignment of 2 equally loaded"
    );
    assert_eq!(d.turn, 8, "one past the highest turn");
    let owner = route(&account(), &reps, &rules, &SlaPolicy::default(), NOW);
    assert_eq!(owner.reason, "rule \"keep-owner\" (current owner)");
    reps[2].load = 1;
    let d = route(&a, &reps, &rules, &SlaPolicy::default(), NOW);
    assert_eq!(
        (d.rep, d.reason.as_str()),
        (
            Some(uid(2)),
            "rule \"all\" (pool of 4): least loaded of 3 eligible (0/10 open)"
        )
    );
}

/// Routes `n` accounts and counts assignments per rep. `keep_load`: each assignment closes
/// at once (loads stay equal, so round robin alone spreads the work).
fn spread(
    reps: &[Rep],
    rules: &[RoutingRule],
    accounts: &[RoutingAccount],
    n: usize,
    keep_load: bool,
) -> Vec<(UserId, usize)> {
    let mut router = Router::new(reps, rules);
    let mut counts: Vec<(UserId, usize)> = reps.iter().map(|r| (r.id, 0)).collect();
    for k in 0..n {
        let d = router.route(&accounts[k % accounts.len()], &SlaPolicy::default(), NOW);
        router.assign(&d);
        if let Some(id) = d.rep {
            if keep_load {
                router.release(id);
            }
            if let Some(c) = counts.iter_mut().find(|(r, _)| *r == id) {
                c.1 += 1;
            }
        }
    }
    counts
}

fn spread_of(counts: &[(UserId, usize)]) -> usize {
    let max = counts.iter().map(|c| c.1).max().unwrap_or(0);
    let min = counts.iter().map(|c| c.1).min().unwrap_or(0);
    max - min
}

#[test]
fn round_robin_is_fair_over_many_assignments() {
    let reps: Vec<Rep> = (1..=7)
        .map(|n| Rep {
            capacity: 2_000,
            load: 3,
            ..rep(n)
        })
        .collect();
    let rules = [rule(
        "all",
        any(),
        Target::Pool((1..=7).rev().map(uid).collect()),
    )];
    let accounts = [RoutingAccount::default()];
    for keep_load in [false, true] {
        let counts = spread(&reps, &rules, &accounts, 10_000, keep_load);
        assert_eq!(counts.iter().map(|c| c.1).sum::<usize>(), 10_000);
        assert!(spread_of(&counts) <= 1, "{keep_load}: {counts:?}");
    }
}

#[test]
fn round_robin_stays_fair_when_rules_name_interleaved_subsets() {
    // A single "last rep" cursor shared by both pools starves rep 1 here.
    let reps: Vec<Rep> = (1..=5)
        .map(|n| Rep {
            capacity: 1,
            ..rep(n)
        })
        .collect();
    let tiered = |t: i64| Scope {
        tiers: tier(t).into_iter().collect(),
        ..any()
    };
    let rules = [
        rule("odd", tiered(1), Target::Pool(vec![uid(1), uid(3), uid(5)])),
        rule("even", tiered(2), Target::Pool(vec![uid(2), uid(4)])),
    ];
    let accounts = [1, 2].map(|t| RoutingAccount {
        tier: tier(t),
        ..RoutingAccount::default()
    });
    let counts = spread(&reps, &rules, &accounts, 6_000, true);
    let of = |ns: &[u128]| -> Vec<(UserId, usize)> {
        counts
            .iter()
            .filter(|(id, _)| ns.iter().any(|n| uid(*n) == *id))
            .copied()
            .collect()
    };
    assert!(spread_of(&of(&[1, 3, 5])) <= 1, "{counts:?}");
    assert!(spread_of(&of(&[2, 4])) <= 1, "{counts:?}");
    assert_eq!(of(&[1])[0].1, 1_000);
}

#[test]
fn routing_is_deterministic_and_ignores_rep_order() {
    let mut reps: Vec<Rep> = (1..=30)
        .map(|n| Rep {
            load: (n % 4) as u32,
            turn: (n % 3) as u64,
            countries: countries(&["DE"]),
            ..rep(n)
        })
        .collect();
    let rules = [rule("territory", any(), Target::Territory)];
    let first = route(&account(), &reps, &rules, &SlaPolicy::default(), NOW);
    assert_eq!(
        first,
        route(&account(), &reps, &rules, &SlaPolicy::default(), NOW)
    );
    reps.reverse();
    assert_eq!(
        first,
        route(&account(), &reps, &rules, &SlaPolicy::default(), NOW)
    );
    assert_eq!(first.rep, Some(uid(12)), "load 0, turn 0, lowest id");
}

#[test]
fn the_router_records_its_own_assignments() {
    let reps = vec![rep(1), rep(2)];
    let rules = [rule("all", any(), Target::Pool(vec![uid(1), uid(2)]))];
    let mut router = Router::new(&reps, &rules);
    let sla = SlaPolicy::default();
    let a = RoutingAccount::default();
    let d1 = router.route(&a, &sla, NOW);
    assert_eq!(
        router.route(&a, &sla, NOW),
        d1,
        "route alone changes nothing"
    );
    router.assign(&d1);
    let d2 = router.route(&a, &sla, NOW);
    router.assign(&d2);
    assert_eq!(
        (d1.rep, d1.turn, d2.rep, d2.turn),
        (Some(uid(1)), 1, Some(uid(2)), 2)
    );
    assert_eq!(
        (router.load(uid(1)), router.load(uid(2))),
        (Some(1), Some(1))
    );
    router.release(uid(2));
    router.release(uid(2));
    assert_eq!(router.load(uid(2)), Some(0), "never below zero");
    assert_eq!(router.load(uid(3)), None);
    let d3 = router.route(&a, &sla, NOW);
    assert_eq!((d3.rep, d3.turn), (Some(uid(2)), 3));
    assert_eq!(reps[0].load, 0, "the caller's reps are untouched");
}

#[test]
fn sla_is_five_minutes_for_tier_one_and_an_hour_otherwise() {
    let sla = SlaPolicy::default();
    for (t, minutes) in [(tier(1), 5), (tier(2), 60), (tier(3), 60), (None, 60)] {
        assert_eq!(sla.minutes(t), minutes);
        assert_eq!(
            sla.due(t, NOW),
            NOW.plus_millis(i64::from(minutes) * MINUTE)
        );
    }
    let custom = SlaPolicy {
        tier2_minutes: 15,
        ..sla
    };
    assert_eq!(custom.due(tier(2), NOW), NOW.plus_millis(15 * MINUTE));
    let d = route(
        &RoutingAccount {
            tier: tier(2),
            ..account()
        },
        &team(),
        &[rule("owner", any(), Target::Owner)],
        &custom,
        NOW,
    );
    assert_eq!(d.sla_due, NOW.plus_millis(15 * MINUTE));
}

#[test]
fn sla_validation_and_json() -> Result<(), serde_json::Error> {
    assert_eq!(SlaPolicy::default().validate(), Ok(()));
    let path = |s: SlaPolicy| s.validate().err().map(|(p, _)| p);
    let d = SlaPolicy::default();
    assert_eq!(
        path(SlaPolicy {
            tier1_minutes: 0,
            ..d
        })
        .as_deref(),
        Some("tier1Minutes")
    );
    assert_eq!(
        path(SlaPolicy {
            untiered_minutes: MAX_SLA_MINUTES + 1,
            ..d
        })
        .as_deref(),
        Some("untieredMinutes")
    );
    assert_eq!(
        path(SlaPolicy {
            tier3_minutes: MAX_SLA_MINUTES,
            ..d
        }),
        None
    );
    let json = serde_json::to_value(d)?;
    assert_eq!(json["tier1Minutes"], 5);
    assert_eq!(json["untieredMinutes"], 60);
    assert_eq!(serde_json::from_value::<SlaPolicy>(json)?, d);
    Ok(())
}

#[test]
fn rule_faults_name_the_field() {
    let valid = || {
        vec![
            rule("keep-owner", any(), Target::Owner),
            rule(
                "tier-1",
                Scope {
                    tiers: tier(1).into_iter().collect(),
                    regions: words(&["EMEA"]),
                    industries: words(&["Software"]),
                    ..any()
                },
                Target::Pool(vec![uid(1), uid(2)]),
            ),
            rule("territory", any(), Target::Territory),
        ]
    };
    let is_rep = |id: UserId| id.get().as_u128() < 10;
    let path = |f: fn(&mut Vec<RoutingRule>)| {
        let mut rules = valid();
        f(&mut rules);
        validate_rules(&rules, is_rep).err().map(|(p, _)| p)
    };
    let cases: Vec<(Option<String>, Option<&str>)> = vec![
        (path(|_| {}), None),
        (path(|r| r[0].name = " ".into()), Some("rules[0].name")),
        (
            path(|r| r[2].name = "x".repeat(MAX_RULE_NAME + 1)),
            Some("rules[2].name"),
        ),
        (
            path(|r| r[2].name = " tier-1 ".into()),
            Some("rules[2].name"),
        ),
        (
            path(|r| r[1].when.regions.push(String::new())),
            Some("rules[1].when.regions[1]"),
        ),
        (
            path(|r| r[1].when.industries[0] = "  ".into()),
            Some("rules[1].when.industries[0]"),
        ),
        (
            path(|r| r[1].to = Target::Pool(Vec::new())),
            Some("rules[1].to.pool"),
        ),
        (
            path(|r| r[1].to = Target::Pool(vec![uid(1), uid(1)])),
            Some("rules[1].to.pool[1]"),
        ),
        (
            path(|r| r[1].to = Target::Pool(vec![uid(1), uid(42)])),
            Some("rules[1].to.pool[1]"),
        ),
        (
            path(|r| {
                *r = (0..=MAX_RULES)
                    .map(|i| rule(&format!("r{i}"), any(), Target::Territory))
                    .collect()
            }),
            Some("rules"),
        ),
        (
            path(|r| {
                *r = (0..MAX_RULES)
                    .map(|i| rule(&format!("r{i}"), any(), Target::Territory))
                    .collect()
            }),
            None,
        ),
    ];
    for (i, (got, expected)) in cases.into_iter().enumerate() {
        assert_eq!(got.as_deref(), expected, "case {i}");
    }
    let mut unknown = valid();
    unknown[1].to = Target::Pool(vec![uid(42)]);
    assert_eq!(
        validate_rules(&unknown, is_rep),
        Err((
            "rules[1].to.pool[0]".to_owned(),
            Invalid::new("is not a rep of this workspace")
        ))
    );
}

#[test]
fn rep_faults_name_the_field() {
    let path = |f: fn(&mut Rep)| {
        let mut r = rep(1);
        f(&mut r);
        r.validate().err().map(|(p, _)| p)
    };
    assert_eq!(path(|_| {}), None);
    assert_eq!(path(|r| r.capacity = 0), None, "capacity 0 is allowed");
    assert_eq!(path(|r| r.capacity = MAX_CAPACITY), None);
    assert_eq!(
        path(|r| r.capacity = MAX_CAPACITY + 1).as_deref(),
        Some("capacity")
    );
    assert_eq!(
        path(|r| r.regions = words(&["NA", ""])).as_deref(),
        Some("regions[1]")
    );
    assert_eq!(
        path(|r| r.industries = words(&[" "])).as_deref(),
        Some("industries[0]")
    );
}
