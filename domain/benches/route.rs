//! Routing throughput: 500 reps, 50 rules, 10,000 accounts, generated deterministically.
//!
//! - `prepared`: `Router::route` over every account on a router built once (decisions/s);
//! - `prepared + assign`: the same, recording each decision and closing the assignment again
//!   (`assign` + `release`), so loads stay steady while turns move on, as a batch runs;
//! - `one-shot`: the free `route`, which builds a router per decision, as a single promotion
//!   in its own transaction calls it.
//!
//! Run with `cargo bench -p quorum-domain --bench route`. It also prints which rules decided,
//! to read the figures against how deep in the rule list decisions are made.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use quorum_domain::route::{
    Rep, Router, RoutingAccount, RoutingRule, Scope, SlaPolicy, Target, route,
};
use quorum_domain::value::{CountryCode, Tier, Timestamp, UserId};

const REPS: usize = 500;
const RULES: usize = 50;
const ACCOUNTS: usize = 10_000;
const NOW: Timestamp = Timestamp::from_millis(1_750_000_000_000);

/// SplitMix64: deterministic and dependency-free; quality is ample for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const REGIONS: &[&str] = &["NA", "EMEA", "APAC", "LATAM"];
/// Countries by region, index-aligned with `REGIONS`.
const COUNTRIES: &[&[&str]] = &[
    &["US", "CA"],
    &["GB", "DE", "FR", "NL", "ES", "IT", "SE", "CH"],
    &["JP", "AU", "SG", "IN", "KR"],
    &["BR", "MX", "AR", "CL"],
];
const INDUSTRIES: &[&str] = &[
    "Software",
    "Internet",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Energy",
    "Telecommunications",
    "Media",
];

fn uid(n: usize) -> UserId {
    UserId::from(uuid::Uuid::from_u128(n as u128 + 1))
}

fn cc(code: &str) -> Option<CountryCode> {
    CountryCode::parse(code).ok()
}

fn tier(t: i64) -> Vec<Tier> {
    Tier::parse(t).ok().into_iter().collect()
}

/// 92 % active, capacities 10–39, loads anywhere up to full, 1–3 countries of one region
/// (the region itself for a third of them), 1–3 industries.
fn reps(rng: &mut Rng) -> Vec<Rep> {
    (0..REPS)
        .map(|n| {
            let region = rng.below(REGIONS.len());
            let capacity = 10 + rng.below(30) as u32;
            Rep {
                id: uid(n),
                active: rng.chance(92),
                capacity,
                load: rng.below(capacity as usize + 1) as u32,
                countries: (0..1 + rng.below(3))
                    .filter_map(|_| cc(rng.pick::<&str>(COUNTRIES[region])))
                    .collect(),
                regions: if rng.chance(33) {
                    vec![REGIONS[region].to_owned()]
                } else {
                    Vec::new()
                },
                industries: (0..1 + rng.below(3))
                    .map(|_| (*rng.pick(INDUSTRIES)).to_owned())
                    .collect(),
                turn: rng.below(1_000) as u64,
            }
        })
        .collect()
}

fn pool(rng: &mut Rng, size: usize) -> Target {
    Target::Pool((0..size).map(|_| uid(rng.below(REPS))).collect())
}

/// Most specific first: keep the owner; 30 tier-1 specialist pools (region × industry); 12
/// tier × region pools; 4 country territories; territory; industry; a catch-all pool.
fn rules(rng: &mut Rng) -> Vec<RoutingRule> {
    let rule = |name: String, when: Scope, to: Target| RoutingRule { name, when, to };
    let mut rules = vec![rule("keep-owner".into(), Scope::default(), Target::Owner)];
    for k in 0..30 {
        let (region, industry) = (REGIONS[k % 4], INDUSTRIES[k / 4 % INDUSTRIES.len()]);
        let size = 5 + rng.below(6);
        rules.push(rule(
            format!("t1-{region}-{industry}"),
            Scope {
                tiers: tier(1),
                regions: vec![region.to_owned()],
                industries: vec![industry.to_owned()],
                ..Scope::default()
            },
            pool(rng, size),
        ));
    }
    for t in 1..=3 {
        for region in REGIONS {
            let size = 10 + rng.below(11);
            rules.push(rule(
                format!("t{t}-{region}"),
                Scope {
                    tiers: tier(t),
                    regions: vec![(*region).to_owned()],
                    ..Scope::default()
                },
                pool(rng, size),
            ));
        }
    }
    for (name, countries) in [
        ("dach", &["DE", "CH"][..]),
        ("uk", &["GB"][..]),
        ("anz", &["AU"][..]),
        ("brazil", &["BR"][..]),
    ] {
        rules.push(rule(
            format!("territory-{name}"),
            Scope {
                countries: countries.iter().filter_map(|c| cc(c)).collect(),
                ..Scope::default()
            },
            Target::Territory,
        ));
    }
    rules.push(rule(
        "territory".into(),
        Scope::default(),
        Target::Territory,
    ));
    rules.push(rule("industry".into(), Scope::default(), Target::Industry));
    rules.push(rule("catch-all".into(), Scope::default(), pool(rng, 50)));
    rules
}

/// A quarter owned (a few by strangers), tiers 1–3 or none, some with no region or an
/// industry no rep knows.
fn accounts(rng: &mut Rng) -> Vec<RoutingAccount> {
    (0..ACCOUNTS)
        .map(|_| {
            let region = rng.below(REGIONS.len());
            RoutingAccount {
                country: cc(rng.pick::<&str>(COUNTRIES[region])),
                region: (!rng.chance(10)).then(|| REGIONS[region].to_owned()),
                industry: if rng.chance(10) {
                    Some("Agriculture".to_owned())
                } else {
                    Some((*rng.pick(INDUSTRIES)).to_owned())
                },
                tier: Tier::parse(rng.below(4) as i64).ok(),
                owner: if rng.chance(20) {
                    Some(uid(rng.below(REPS)))
                } else if rng.chance(5) {
                    Some(uid(REPS + rng.below(100)))
                } else {
                    None
                },
            }
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let mut rng = Rng(42);
    let reps = reps(&mut rng);
    let rules = rules(&mut rng);
    assert_eq!(rules.len(), RULES);
    let accounts = accounts(&mut rng);
    let sla = SlaPolicy::default();

    let mut group = c.benchmark_group("routing");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(ACCOUNTS as u64));

    let router = Router::new(&reps, &rules);
    group.bench_function("prepared: 10k decisions, 500 reps, 50 rules", |b| {
        b.iter(|| {
            let mut assigned = 0;
            for a in &accounts {
                assigned += usize::from(router.route(a, &sla, NOW).rep.is_some());
            }
            black_box(assigned)
        })
    });

    let mut router = Router::new(&reps, &rules);
    group.bench_function(
        "prepared + assign: 10k decisions, 500 reps, 50 rules",
        |b| {
            b.iter(|| {
                for a in &accounts {
                    let d = router.route(a, &sla, NOW);
                    router.assign(&d);
                    if let Some(rep) = d.rep {
                        router.release(rep);
                    }
                }
            })
        },
    );

    group.throughput(Throughput::Elements(1_000));
    group.bench_function("one-shot: 1k decisions, router built each time", |b| {
        b.iter(|| {
            let mut assigned = 0;
            for a in &accounts[..1_000] {
                assigned += usize::from(route(a, &reps, &rules, &sla, NOW).rep.is_some());
            }
            black_box(assigned)
        })
    });
    group.finish();

    // Where the decisions land, so the figures can be read against real rule depth.
    let router = Router::new(&reps, &rules);
    let mut by_rule: std::collections::BTreeMap<String, usize> = Default::default();
    for a in &accounts {
        let d = router.route(a, &sla, NOW);
        let kind = match d.rule.as_deref() {
            None => "unassigned",
            Some("keep-owner") => "keep-owner",
            Some(r) if r.starts_with("t1-") && r.matches('-').count() >= 2 => "specialist pools",
            Some(r) if r.starts_with('t') && !r.starts_with("territory") => "tier × region pools",
            Some(r) if r.starts_with("territory") => "territory rules",
            Some(other) => other,
        };
        *by_rule.entry(kind.to_owned()).or_default() += 1;
    }
    println!("decisions by rule over {ACCOUNTS} accounts: {by_rule:?}");
}

criterion_group! {
    name = routing;
    // Few, short samples, as the scoring bench: the run takes about half a minute.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(routing);
