//! The filter compiler: `accounts(filter:)` and saved segments.
//!
//! First byte even: the rest is an `arbitrary` filter tree in the `AccountFilter` input's shape
//! (every field, `and` / `or` / `not` nested freely). First byte odd: the rest is JSON read as
//! a stored segment's filter is (`serde_json` into `AccountFilterInput`). Either way the input
//! goes through `AccountFilterInput::parse` (limits, `Condition::check`); a filter it accepts is
//! compiled to SQL for SQLite and PostgreSQL (`store::account::compile`), evaluated on
//! `arbitrary` account facts (`AccountFilter::matches`), and must survive the JSON round trip a
//! segment makes. Invariants: `not f` matches exactly when `f` does not; `and [f]` / `or [f]`
//! are `f`; the stored JSON parses back to the same filter.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use quorum_api::graphql::input::AccountFilterInput;
use quorum_api::store::account::compile;
use quorum_api::store::entity::account;
use quorum_domain::filter::{AccountFacts, AccountFilter, MAX_NODES};
use quorum_domain::value::{Stage, UserId, WorkspaceId};
use sea_orm::{DbBackend, EntityTrait as _, QueryFilter as _, QueryTrait as _};
use uuid::Uuid;

#[derive(Debug, Arbitrary)]
struct Filter {
    and: Option<Vec<Filter>>,
    or: Option<Vec<Filter>>,
    not: Option<Box<Filter>>,
    industry_in: Option<Vec<String>>,
    country_in: Option<Vec<String>>,
    region_in: Option<Vec<String>>,
    employee_count_min: Option<i32>,
    employee_count_max: Option<i32>,
    annual_revenue_min: Option<f64>,
    annual_revenue_max: Option<f64>,
    technologies_any: Option<Vec<String>>,
    technologies_all: Option<Vec<String>>,
    technologies_none: Option<Vec<String>>,
    tier_in: Option<Vec<i32>>,
    stage_in: Option<Vec<u8>>,
    score_min: Option<f64>,
    fit_min: Option<f64>,
    engagement_min: Option<f64>,
    owner_id: Option<String>,
    unassigned: Option<bool>,
    name_contains: Option<String>,
}

fn stage(i: u8) -> Stage {
    Stage::ALL[usize::from(i) % Stage::ALL.len()]
}

impl Filter {
    fn input(self) -> AccountFilterInput {
        let many = |v: Option<Vec<Filter>>| v.map(|v| v.into_iter().map(Filter::input).collect());
        AccountFilterInput {
            and: many(self.and),
            or: many(self.or),
            not: self.not.map(|f| Box::new(f.input())),
            industry_in: self.industry_in,
            country_in: self.country_in,
            region_in: self.region_in,
            employee_count_min: self.employee_count_min,
            employee_count_max: self.employee_count_max,
            annual_revenue_min: self.annual_revenue_min,
            annual_revenue_max: self.annual_revenue_max,
            technologies_any: self.technologies_any,
            technologies_all: self.technologies_all,
            technologies_none: self.technologies_none,
            tier_in: self.tier_in,
            stage_in: self
                .stage_in
                .map(|v| v.into_iter().map(|s| stage(s).into()).collect()),
            score_min: self.score_min,
            fit_min: self.fit_min,
            engagement_min: self.engagement_min,
            owner_id: self.owner_id.map(async_graphql::ID),
            unassigned: self.unassigned,
            name_contains: self.name_contains,
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Facts {
    name: String,
    industry: Option<String>,
    country: Option<String>,
    region: Option<String>,
    employee_count: Option<i64>,
    annual_revenue: Option<f64>,
    technologies: Vec<String>,
    tier: Option<u8>,
    stage: u8,
    score: f64,
    fit: f64,
    engagement: f64,
    owner: Option<[u8; 16]>,
}

fn check(input: AccountFilterInput, facts: &[Facts]) {
    let stored = serde_json::to_string(&input);
    let Ok(f) = input.parse("filter") else {
        return;
    };
    assert!(f.node_count() <= MAX_NODES);

    // What a segment keeps is what it reads back.
    let stored = stored.unwrap_or_default();
    let back = serde_json::from_str::<AccountFilterInput>(&stored)
        .map_err(|e| e.to_string())
        .and_then(|i| i.parse("filter").map_err(|e| e.to_string()));
    assert_eq!(back.as_ref(), Ok(&f), "round trip through {stored}");

    let ws = WorkspaceId::from(Uuid::from_u128(7));
    for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
        let sql = account::Entity::find()
            .filter(compile(ws, &f))
            .build(backend)
            .to_string();
        assert!(sql.starts_with("SELECT"), "{sql}");
    }

    let not = AccountFilter::Not(Box::new(f.clone()));
    let and = AccountFilter::And(vec![f.clone()]);
    let or = AccountFilter::Or(vec![f.clone()]);
    for a in facts {
        let facts = AccountFacts {
            name: &a.name,
            industry: a.industry.as_deref(),
            country: a.country.as_deref(),
            region: a.region.as_deref(),
            employee_count: a.employee_count,
            annual_revenue: a.annual_revenue,
            technologies: &a.technologies,
            tier: a.tier,
            stage: stage(a.stage),
            score: a.score,
            fit: a.fit,
            engagement: a.engagement,
            owner: a.owner.map(|b| UserId::from(Uuid::from_bytes(b))),
        };
        let m = f.matches(&facts);
        assert_eq!(not.matches(&facts), !m);
        assert_eq!(and.matches(&facts), m);
        assert_eq!(or.matches(&facts), m);
    }
    let _ = f.uses_tier();
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut u = Unstructured::new(rest);
    if mode % 2 == 0 {
        let Ok(filter) = Filter::arbitrary(&mut u) else {
            return;
        };
        let facts: Vec<Facts> = Arbitrary::arbitrary_take_rest(u).unwrap_or_default();
        check(filter.input(), &facts);
    } else {
        // JSON first, then (after a NUL, which JSON text never holds) the account facts.
        let (json, tail) = match rest.iter().position(|b| *b == 0) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        let Ok(input) = serde_json::from_slice::<AccountFilterInput>(json) else {
            return;
        };
        let facts: Vec<Facts> =
            Arbitrary::arbitrary_take_rest(Unstructured::new(tail)).unwrap_or_default();
        check(input, &facts);
    }
});
