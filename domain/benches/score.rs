//! Scoring engine throughput on a synthetic workspace: 10,000 accounts, 100,000 contacts,
//! 1,000,000 events (a year of history), generated deterministically.
//!
//! - `full`: aggregate every account's raw events and score every account (events/s);
//! - `incremental`: record 1,000,000 new events one at a time into existing aggregates
//!   (updates/s; rescoring is not included), once in arrival order (random accounts, cache
//!   misses) and once grouped by account (as an ingest batch is applied);
//! - `score_only`: score every account from its aggregates (accounts/s).
//!
//! Run with `cargo bench -p quorum-domain`; figures are in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use quorum_domain::score::{
    AccountActivity, AccountFacts, ContactEngagement, Event, ScoringModel, aggregate, score,
};
use quorum_domain::value::{
    BuyingRole, ContactId, CountryCode, EngagementKind, MILLIS_PER_DAY, Seniority, Timestamp,
};

const ACCOUNTS: usize = 10_000;
const CONTACTS: usize = 100_000;
const EVENTS: usize = 1_000_000;
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
}

/// Kinds in rough real-world proportions: mostly opens and visits, few demo requests.
const KIND_MIX: &[(EngagementKind, usize)] = &[
    (EngagementKind::EmailOpen, 40),
    (EngagementKind::EmailClick, 15),
    (EngagementKind::WebVisit, 20),
    (EngagementKind::PricingPageView, 4),
    (EngagementKind::ContentDownload, 5),
    (EngagementKind::WebinarAttended, 3),
    (EngagementKind::DemoRequest, 1),
    (EngagementKind::ContactSales, 1),
    (EngagementKind::FormSubmit, 4),
    (EngagementKind::Unsubscribe, 1),
    (EngagementKind::EmailBounce, 2),
    (EngagementKind::IntentSurge, 4),
];

struct Workspace {
    facts: Vec<AccountFacts>,
    /// Per contact: its account, label and seniority.
    contact_account: Vec<usize>,
    labels: Vec<String>,
    seniority: Vec<Option<Seniority>>,
    committees: Vec<Vec<(ContactId, BuyingRole)>>,
    events_by_account: Vec<Vec<Event>>,
}

fn contact_id(n: usize) -> ContactId {
    ContactId::from(uuid::Uuid::from_u128(n as u128))
}

fn contact_index(id: ContactId) -> usize {
    id.get().as_u128() as usize
}

fn random_event(rng: &mut Rng, ws: &Workspace, max_age_days: i64) -> (usize, Event) {
    let total: usize = KIND_MIX.iter().map(|k| k.1).sum();
    let mut roll = rng.below(total);
    let mut kind = EngagementKind::EmailOpen;
    for (k, weight) in KIND_MIX {
        if roll < *weight {
            kind = *k;
            break;
        }
        roll -= weight;
    }
    let c = rng.below(CONTACTS);
    let at = NOW.plus_millis(-((rng.next() % (max_age_days * MILLIS_PER_DAY) as u64) as i64));
    let event = Event {
        contact: (!kind.is_account_level()).then(|| contact_id(c)),
        kind,
        at,
    };
    (ws.contact_account[c], event)
}

fn workspace() -> Workspace {
    let mut rng = Rng(42);
    let industries = [
        "Software",
        "Retail",
        "Healthcare",
        "Manufacturing",
        "Education",
    ];
    let countries: Vec<CountryCode> = ["US", "GB", "DE", "FR", "JP", "BR"]
        .iter()
        .filter_map(|c| CountryCode::parse(c).ok())
        .collect();
    let tech = [
        "Salesforce",
        "Slack",
        "HubSpot CRM",
        "6sense",
        "Snowflake",
        "Zendesk",
    ];
    let facts = (0..ACCOUNTS)
        .map(|_| AccountFacts {
            industry: Some((*rng.pick(&industries)).to_owned()),
            employee_count: Some(rng.below(20_000) as i64),
            annual_revenue: Some(rng.below(3_000_000_000) as f64),
            country: Some(*rng.pick(&countries)),
            region: Some((*rng.pick(&["NA", "EMEA", "APAC"])).to_owned()),
            technologies: (0..rng.below(4))
                .map(|_| (*rng.pick(&tech)).to_owned())
                .collect(),
        })
        .collect();
    let contact_account: Vec<usize> = (0..CONTACTS).map(|_| rng.below(ACCOUNTS)).collect();
    let labels = (0..CONTACTS)
        .map(|c| format!("contact{c}@account{}.io", contact_account[c]))
        .collect();
    let levels = [
        Some(Seniority::CLevel),
        Some(Seniority::Vp),
        Some(Seniority::Director),
        Some(Seniority::Manager),
        Some(Seniority::IndividualContributor),
        Some(Seniority::IndividualContributor),
        None,
    ];
    let seniority = (0..CONTACTS).map(|_| *rng.pick(&levels)).collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); ACCOUNTS];
    for (c, a) in contact_account.iter().enumerate() {
        members[*a].push(c);
    }
    let committees = members
        .iter()
        .map(|m| {
            m.iter()
                .take(rng.below(6))
                .map(|c| (contact_id(*c), *rng.pick(BuyingRole::ALL)))
                .collect()
        })
        .collect();
    let mut ws = Workspace {
        facts,
        contact_account,
        labels,
        seniority,
        committees,
        events_by_account: vec![Vec::new(); ACCOUNTS],
    };
    for _ in 0..EVENTS {
        let (account, event) = random_event(&mut rng, &ws, 365);
        ws.events_by_account[account].push(event);
    }
    ws
}

fn contacts_of(
    ws: &Workspace,
    activity: AccountActivity,
) -> (Vec<ContactEngagement>, AccountActivity) {
    let contacts = activity
        .contacts
        .into_iter()
        .map(|(id, activity)| {
            let c = contact_index(id);
            ContactEngagement {
                id,
                label: ws.labels[c].clone(),
                seniority: ws.seniority[c],
                activity,
            }
        })
        .collect();
    let rest = AccountActivity {
        contacts: Default::default(),
        intent: activity.intent,
    };
    (contacts, rest)
}

fn benches(c: &mut Criterion) {
    let ws = workspace();
    let model = ScoringModel::default();
    let hl = model.half_life_days;

    let mut group = c.benchmark_group("scoring");
    group.sampling_mode(SamplingMode::Flat);

    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("full: aggregate 1M raw events + score 10k accounts", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for a in 0..ACCOUNTS {
                let (contacts, rest) = contacts_of(&ws, aggregate(&ws.events_by_account[a], hl));
                let s = score(
                    &ws.facts[a],
                    &contacts,
                    &rest.intent,
                    &ws.committees[a],
                    &model,
                    NOW,
                );
                total += s.total;
            }
            black_box(total)
        })
    });

    let base: Vec<AccountActivity> = ws
        .events_by_account
        .iter()
        .map(|events| aggregate(events, hl))
        .collect();
    let mut rng = Rng(7);
    // New arrivals: the last two days, so most move an aggregate's reference forward and
    // some land before it (late deliveries).
    let stream: Vec<(usize, Event)> = (0..EVENTS)
        .map(|_| random_event(&mut rng, &ws, 2))
        .collect();
    // Applied in arrival order, each event hits a random account: every update misses the
    // CPU caches (the aggregates of 10k accounts take far more than the L2/L3 here).
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("incremental: record 1M events, arrival order", |b| {
        b.iter_batched(
            || base.clone(),
            |mut aggregates| {
                for (account, event) in &stream {
                    aggregates[*account].record(event, hl);
                }
                aggregates
            },
            BatchSize::PerIteration,
        )
    });
    // As the API applies an ingest batch: events grouped by account (arrival order kept
    // within one), so each account's aggregates are loaded once and then updated in cache.
    let mut grouped = stream.clone();
    grouped.sort_by_key(|(account, _)| *account);
    group.bench_function("incremental: record 1M events, grouped by account", |b| {
        b.iter_batched(
            || base.clone(),
            |mut aggregates| {
                for (account, event) in &grouped {
                    aggregates[*account].record(event, hl);
                }
                aggregates
            },
            BatchSize::PerIteration,
        )
    });

    let prepared: Vec<(Vec<ContactEngagement>, AccountActivity)> =
        base.into_iter().map(|a| contacts_of(&ws, a)).collect();
    group.throughput(Throughput::Elements(ACCOUNTS as u64));
    group.bench_function("score_only: score 10k accounts from aggregates", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for (a, (contacts, rest)) in prepared.iter().enumerate() {
                let s = score(
                    &ws.facts[a],
                    contacts,
                    &rest.intent,
                    &ws.committees[a],
                    &model,
                    NOW,
                );
                total += s.total;
            }
            black_box(total)
        })
    });
    group.finish();
}

criterion_group! {
    name = scoring;
    // Few, short samples: the whole run takes about a minute on a 2-core machine.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    targets = benches
}
criterion_main!(scoring);
