//! Segments: saved filters with live membership, tiers kept current, and filters that select
//! the same accounts in SQL (on either backend) as the pure `domain` evaluator.

use chrono::{DateTime, Duration, Utc};
use quorum_domain::filter::{AccountFacts, AccountFilter, Condition};
use quorum_domain::value::{CountryCode, Role, Stage, Tier, UserId};
use serde_json::{Value, json};

use crate::helpers::{Client, code, field, spawn_app};

const CREATE: &str = "mutation($i: SegmentInput!) { createSegment(input: $i) {
    id name description tier filter { industryIn employeeCountMin not { countryIn } } } }";
const UPDATE: &str =
    "mutation($id: ID!, $i: SegmentInput!) { updateSegment(id: $id, input: $i) { id name tier } }";
const DELETE: &str = "mutation($id: ID!) { deleteSegment(id: $id) }";
const SEGMENT: &str = "query($id: ID!) { segment(id: $id) { name description tier accountCount
    stageCounts { stage count } accounts(first: 10) { totalCount edges { node { domain } } } } }";
const UPSERT: &str = "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id tier } }";
const TIERS: &str =
    "{ accounts(first: 100, orderBy: { field: NAME }) { edges { node { domain tier } } } }";

async fn upsert(m: &Client, accounts: Value) {
    let res = m.gql(UPSERT, json!({ "i": accounts })).await;
    assert!(res["errors"].is_null(), "{res}");
}

async fn tiers(c: &Client) -> Vec<(String, Option<i64>)> {
    let res = c.gql(TIERS, json!({})).await;
    res["data"]["accounts"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{res}"))
        .iter()
        .map(|e| {
            (
                e["node"]["domain"].as_str().unwrap().to_owned(),
                e["node"]["tier"].as_i64(),
            )
        })
        .collect()
}

fn t(pairs: &[(&str, Option<i64>)]) -> Vec<(String, Option<i64>)> {
    pairs.iter().map(|(d, t)| ((*d).to_owned(), *t)).collect()
}

#[tokio::test]
async fn marketers_save_segments_whose_members_are_always_current() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let rep = app.user("acme", Role::Rep).await;
    upsert(
        &m,
        json!([
            { "name": "Alpha", "domain": "alpha.io", "industry": "Fintech", "employeeCount": 900, "country": "US" },
            { "name": "Beta", "domain": "beta.io", "industry": "fintech", "employeeCount": 50, "country": "US" },
            { "name": "Gamma", "domain": "gamma.io", "industry": "FINTECH", "employeeCount": 5000, "country": "DE" },
            { "name": "Delta", "domain": "delta.io", "industry": "Retail", "employeeCount": 5000, "country": "US" }
        ]),
    )
    .await;
    let input = json!({ "name": " Fintech mid-market, not Germany ", "description": "ICP",
        "filter": { "industryIn": ["fintech"], "employeeCountMin": 100, "not": { "countryIn": ["de"] } } });
    let created = m.gql(CREATE, json!({ "i": input })).await;
    let s = &created["data"]["createSegment"];
    assert_eq!(s["name"], "Fintech mid-market, not Germany", "{created}");
    assert_eq!(s["filter"]["industryIn"], json!(["fintech"]));
    assert_eq!(
        s["filter"]["not"]["countryIn"],
        json!(["de"]),
        "kept as given"
    );
    assert!(s["tier"].is_null());
    let id = s["id"].as_str().unwrap().to_owned();

    // Every role reads segments; only marketers and admins change them.
    let read = rep.gql(SEGMENT, json!({ "id": id })).await;
    let seg = &read["data"]["segment"];
    assert_eq!(seg["accountCount"], 1, "{read}");
    assert_eq!(
        seg["stageCounts"],
        json!([{ "stage": "TARGET", "count": 1 }])
    );
    assert_eq!(seg["accounts"]["edges"][0]["node"]["domain"], "alpha.io");
    let denied = rep.gql(CREATE, json!({ "i": input })).await;
    assert_eq!(code(&denied), "FORBIDDEN", "{denied}");
    assert_eq!(
        code(&rep.gql(DELETE, json!({ "id": id })).await),
        "FORBIDDEN"
    );

    // Membership follows the data: Beta grows past 100 people.
    upsert(
        &m,
        json!([{ "name": "Beta", "domain": "beta.io", "employeeCount": 120 }]),
    )
    .await;
    let read = rep.gql(SEGMENT, json!({ "id": id })).await;
    assert_eq!(read["data"]["segment"]["accountCount"], 2, "{read}");
    let listed = rep
        .gql(
            "query($s: ID, $f: AccountFilter) { accounts(segmentId: $s, filter: $f) { totalCount edges { node { domain } } } }",
            json!({ "s": id, "f": { "nameContains": "bet" } }),
        )
        .await;
    assert_eq!(
        listed["data"]["accounts"]["totalCount"], 1,
        "segment AND filter: {listed}"
    );
    assert_eq!(
        listed["data"]["accounts"]["edges"][0]["node"]["domain"],
        "beta.io"
    );

    // Names are unique per workspace; an update replaces the definition.
    let dup = m.gql(CREATE, json!({ "i": input })).await;
    assert_eq!(code(&dup), "CONFLICT", "{dup}");
    let updated = m
        .gql(UPDATE, json!({ "id": id, "i": { "name": "All fintech", "filter": { "industryIn": ["Fintech"] } } }))
        .await;
    assert_eq!(
        updated["data"]["updateSegment"]["name"], "All fintech",
        "{updated}"
    );
    let read = m.gql(SEGMENT, json!({ "id": id })).await;
    assert_eq!(read["data"]["segment"]["accountCount"], 3, "{read}");
    assert!(
        read["data"]["segment"]["description"].is_null(),
        "replaced as a whole"
    );

    let listed = m.gql("{ segments { name } }", json!({})).await;
    assert_eq!(
        listed["data"]["segments"],
        json!([{ "name": "All fintech" }])
    );
    assert_eq!(
        m.gql(DELETE, json!({ "id": id })).await["data"]["deleteSegment"],
        true
    );
    assert_eq!(
        m.gql(DELETE, json!({ "id": id })).await["data"]["deleteSegment"],
        false
    );
    assert!(m.gql(SEGMENT, json!({ "id": id })).await["data"]["segment"].is_null());
    let gone = m
        .gql(
            "query($s: ID) { accounts(segmentId: $s) { totalCount } }",
            json!({ "s": id }),
        )
        .await;
    assert_eq!(code(&gone), "NOT_FOUND", "{gone}");
}

#[tokio::test]
async fn segment_input_is_checked_field_by_field_and_nothing_is_saved() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let cases = [
        (json!({ "name": "x", "filter": {} }), "input.filter"),
        (
            json!({ "name": "  ", "filter": { "scoreMin": 10 } }),
            "input.name",
        ),
        (
            json!({ "name": "x", "filter": { "scoreMin": 10 }, "tier": 4 }),
            "input.tier",
        ),
        (
            json!({ "name": "x", "filter": { "employeeCountMin": 10, "employeeCountMax": 5 } }),
            "input.filter.employeeCountMax",
        ),
        (
            json!({ "name": "x", "filter": { "or": [{ "tierIn": [2] }, { "scoreMin": 50 }] }, "tier": 1 }),
            "input.filter",
        ),
        (
            json!({ "name": "x", "filter": { "countryIn": ["Narnia"] } }),
            "input.filter.countryIn[0]",
        ),
        (
            json!({ "name": "x", "filter": { "and": [] } }),
            "input.filter.and",
        ),
    ];
    for (input, at) in cases {
        let res = m.gql(CREATE, json!({ "i": input })).await;
        assert_eq!(
            (code(&res), field(&res)),
            ("BAD_USER_INPUT", at),
            "{input}: {res}"
        );
    }
    let listed = m.gql("{ segments { name } }", json!({})).await;
    assert_eq!(listed["data"]["segments"], json!([]), "{listed}");
}

#[tokio::test]
async fn another_workspace_sees_none_of_a_segment() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let other = app.user("globex", Role::Admin).await;
    let created = m
        .gql(
            CREATE,
            json!({ "i": { "name": "Big", "filter": { "employeeCountMin": 1000 } } }),
        )
        .await;
    let id = created["data"]["createSegment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(other.gql(SEGMENT, json!({ "id": id })).await["data"]["segment"].is_null());
    assert_eq!(
        other.gql("{ segments { id } }", json!({})).await["data"]["segments"],
        json!([])
    );
    let res = other
        .gql(
            UPDATE,
            json!({ "id": id, "i": { "name": "Mine", "filter": { "scoreMin": 1 } } }),
        )
        .await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");
    assert_eq!(
        other.gql(DELETE, json!({ "id": id })).await["data"]["deleteSegment"],
        false
    );
    let res = other
        .gql(
            "query($s: ID) { accounts(segmentId: $s) { totalCount } }",
            json!({ "s": id }),
        )
        .await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");
    assert_eq!(
        m.gql(SEGMENT, json!({ "id": id })).await["data"]["segment"]["name"],
        "Big"
    );
}

#[tokio::test]
async fn a_tiering_segment_sets_its_members_tier_and_keeps_it_current() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    upsert(
        &m,
        json!([
            { "name": "a", "domain": "a.io", "industry": "Fintech", "tier": 3 },
            { "name": "b", "domain": "b.io", "industry": "Retail" },
            { "name": "c", "domain": "c.io", "industry": "Retail", "employeeCount": 20000, "tier": 2 }
        ]),
    )
    .await;
    let fintech = m
        .gql(CREATE, json!({ "i": { "name": "Fintech", "filter": { "industryIn": ["fintech"] }, "tier": 2 } }))
        .await;
    let fintech = fintech["data"]["createSegment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let enterprise = m
        .gql(CREATE, json!({ "i": { "name": "Enterprise", "filter": { "employeeCountMin": 10000 }, "tier": 1 } }))
        .await;
    assert!(enterprise["errors"].is_null(), "{enterprise}");
    assert_eq!(
        tiers(&m).await,
        t(&[("a.io", Some(2)), ("b.io", None), ("c.io", Some(1))])
    );

    // An account that changes moves in or out at once; the most important tier wins.
    upsert(
        &m,
        json!([
            { "name": "a", "domain": "a.io", "industry": "Retail" },
            { "name": "b", "domain": "b.io", "industry": "fintech", "employeeCount": 50000 }
        ]),
    )
    .await;
    assert_eq!(
        tiers(&m).await,
        t(&[("a.io", Some(3)), ("b.io", Some(1)), ("c.io", Some(1))])
    );
    // A tier the account's own data sets is kept underneath and shows again when no segment
    // selects it.
    upsert(&m, json!([{ "name": "c", "domain": "c.io", "tier": 3 }])).await;
    let res = m
        .gql(
            DELETE,
            json!({ "id": enterprise["data"]["createSegment"]["id"] }),
        )
        .await;
    assert_eq!(res["data"]["deleteSegment"], true, "{res}");
    assert_eq!(
        tiers(&m).await,
        t(&[("a.io", Some(3)), ("b.io", Some(2)), ("c.io", Some(3))])
    );
    let res = m
        .gql(UPDATE, json!({ "id": fintech, "i": { "name": "Fintech", "filter": { "industryIn": ["fintech"] } } }))
        .await;
    assert!(res["errors"].is_null(), "{res}");
    assert_eq!(
        tiers(&m).await,
        t(&[("a.io", Some(3)), ("b.io", None), ("c.io", Some(3))])
    );
}

#[tokio::test]
async fn routing_sees_the_tier_a_segment_gives_on_the_promotion_that_qualifies_it() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    m.publish_one_event_sql_model().await;
    let manager = app.user("acme", Role::Manager).await;
    let rep = app.user("acme", Role::Rep).await;
    let res = manager
        .gql(
            "mutation($id: ID!) { updateRep(id: $id, input: { countries: [\"US\"] }) { id } }",
            json!({ "id": rep.id }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    // Hot accounts are tier 1, and tier 1 gets a 5-minute SLA instead of an hour.
    let res = m
        .gql(CREATE, json!({ "i": { "name": "Hot", "filter": { "scoreMin": 2, "stageIn": ["SQL"] }, "tier": 1 } }))
        .await;
    assert!(res["errors"].is_null(), "{res}");
    upsert(
        &m,
        json!([{ "name": "hot", "domain": "hot.io", "country": "US" }]),
    )
    .await;
    m.upsert_contact("jane@hot.io").await;
    assert_eq!(tiers(&m).await, t(&[("hot.io", None)]));

    let at = (Utc::now() - Duration::minutes(1)).to_rfc3339();
    let res = m
        .gql(
            "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) { promotions { to } } }",
            json!({ "e": [{ "eventId": "1", "contactEmail": "jane@hot.io", "kind": "DEMO_REQUEST", "occurredAt": at }] }),
        )
        .await;
    assert_eq!(
        res["data"]["ingestEngagements"]["promotions"][0]["to"], "SQL",
        "{res}"
    );
    let a = manager
        .gql(
            "{ accounts { edges { node { tier owner { id } assignment { assignedAt dueAt } } } } }",
            json!({}),
        )
        .await;
    let node = &a["data"]["accounts"]["edges"][0]["node"];
    assert_eq!(node["tier"], 1, "{a}");
    assert_eq!(node["owner"]["id"], rep.id.as_str());
    let time = |v: &Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    let sla = time(&node["assignment"]["dueAt"]) - time(&node["assignment"]["assignedAt"]);
    assert_eq!(sla.num_minutes(), 5, "tier-1 SLA: {a}");
}

/// A small deterministic generator (xorshift), so a failure names the seed that made it.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
    fn some<T: Clone>(&mut self, from: &[T]) -> Vec<T> {
        let n = 1 + self.below(3);
        (0..n).map(|_| self.pick(from).clone()).collect()
    }
}

// Mixed case, accents and LIKE's wildcards: the cases where backends used to disagree.
const INDUSTRIES: &[&str] = &[
    "Fintech", "fintech ", "Software", "Énergie", "ÉNERGIE", "Retail",
];
const REGIONS: &[&str] = &["North America", "EMEA", "Île-de-France", "ÎLE-DE-FRANCE"];
const COUNTRIES: &[&str] = &["US", "DE", "FR", "GB"];
const TECHS: &[&str] = &["Salesforce", "HubSpot", "Snowflake", "Ärzte-Suite", "SAP"];
const NAMES: &[&str] = &[
    "Acme",
    "Ünited",
    "100% Pure",
    "snake_case",
    "ACME Labs",
    "Straße",
];
const NEEDLES: &[&str] = &["acme", "ÜN", "%", "_", "e l", "STRASSE", "straße", "0% p"];

fn random_condition(g: &mut Gen, owners: &[UserId]) -> Condition {
    let strings = |g: &mut Gen, from: &[&str]| -> Vec<String> {
        g.some(from)
            .into_iter()
            .map(|s| s.trim().to_lowercase())
            .collect()
    };
    let mixed = |g: &mut Gen, from: &[&str]| -> Vec<String> {
        g.some(from).into_iter().map(str::to_owned).collect()
    };
    match g.below(15) {
        0 => Condition::IndustryIn(mixed(g, INDUSTRIES)),
        1 => Condition::CountryIn(
            g.some(COUNTRIES)
                .into_iter()
                .map(|c| CountryCode::parse(c).unwrap())
                .collect(),
        ),
        2 => Condition::RegionIn(strings(g, REGIONS)),
        3 => {
            let lo = [None, Some(10), Some(500)][g.below(3)];
            let hi = match lo {
                None => Some([100, 5000][g.below(2)]),
                Some(l) => [None, Some(l * 10)][g.below(2)],
            };
            Condition::EmployeeCount { min: lo, max: hi }
        }
        4 => {
            let lo = [None, Some(1e6), Some(5e7)][g.below(3)];
            let hi = match lo {
                None => Some(1e8),
                Some(l) => [None, Some(l * 20.0)][g.below(2)],
            };
            Condition::AnnualRevenue { min: lo, max: hi }
        }
        5 => Condition::TechnologiesAny(mixed(g, TECHS)),
        6 => Condition::TechnologiesAll(strings(g, TECHS)),
        7 => Condition::TechnologiesNone(mixed(g, TECHS)),
        8 => Condition::TierIn(
            (0..1 + g.below(2))
                .map(|_| Tier::parse(1 + g.below(3) as i64).unwrap())
                .collect(),
        ),
        9 => Condition::StageIn(vec![*g.pick(&[Stage::Target, Stage::Sql, Stage::Mql])]),
        10 => Condition::ScoreMin([0.0, 5.0, 20.0, 40.0][g.below(4)]),
        11 => Condition::FitMin([0.0, 10.0, 50.0, 90.0][g.below(4)]),
        12 => Condition::EngagementMin([0.0, 1.0][g.below(2)]),
        13 => match g.below(3) {
            0 => Condition::OwnerIs(*g.pick(owners)),
            1 => Condition::Unassigned(true),
            _ => Condition::Unassigned(false),
        },
        _ => Condition::NameContains((*g.pick(NEEDLES)).to_owned()),
    }
}

fn random_filter(g: &mut Gen, depth: usize, owners: &[UserId]) -> AccountFilter {
    if depth == 0 || g.below(3) == 0 {
        return AccountFilter::Is(random_condition(g, owners));
    }
    let children = |g: &mut Gen| {
        (0..1 + g.below(3))
            .map(|_| random_filter(g, depth - 1, owners))
            .collect()
    };
    match g.below(3) {
        0 => AccountFilter::And(children(g)),
        1 => AccountFilter::Or(children(g)),
        _ => AccountFilter::Not(Box::new(random_filter(g, depth - 1, owners))),
    }
}

/// The GraphQL input for a generated filter.
fn to_input(f: &AccountFilter) -> Value {
    match f {
        AccountFilter::And(c) => json!({ "and": c.iter().map(to_input).collect::<Vec<_>>() }),
        AccountFilter::Or(c) => json!({ "or": c.iter().map(to_input).collect::<Vec<_>>() }),
        AccountFilter::Not(inner) => json!({ "not": to_input(inner) }),
        AccountFilter::Is(c) => match c {
            Condition::IndustryIn(v) => json!({ "industryIn": v }),
            Condition::CountryIn(v) => {
                json!({ "countryIn": v.iter().map(CountryCode::as_str).collect::<Vec<_>>() })
            }
            Condition::RegionIn(v) => json!({ "regionIn": v }),
            Condition::EmployeeCount { min, max } => {
                json!({ "employeeCountMin": min, "employeeCountMax": max })
            }
            Condition::AnnualRevenue { min, max } => {
                json!({ "annualRevenueMin": min, "annualRevenueMax": max })
            }
            Condition::TechnologiesAny(v) => json!({ "technologiesAny": v }),
            Condition::TechnologiesAll(v) => json!({ "technologiesAll": v }),
            Condition::TechnologiesNone(v) => json!({ "technologiesNone": v }),
            Condition::TierIn(v) => {
                json!({ "tierIn": v.iter().map(|t| t.get()).collect::<Vec<_>>() })
            }
            Condition::StageIn(v) => {
                json!({ "stageIn": v.iter().map(|s| s.as_str()).collect::<Vec<_>>() })
            }
            Condition::ScoreMin(x) => json!({ "scoreMin": x }),
            Condition::FitMin(x) => json!({ "fitMin": x }),
            Condition::EngagementMin(x) => json!({ "engagementMin": x }),
            Condition::OwnerIs(u) => json!({ "ownerId": u.get().to_string() }),
            Condition::Unassigned(b) => json!({ "unassigned": b }),
            Condition::NameContains(s) => json!({ "nameContains": s }),
        },
    }
}

/// An account as the API returns it, kept in owned form for `AccountFacts`.
struct Row {
    domain: String,
    name: String,
    industry: Option<String>,
    country: Option<String>,
    region: Option<String>,
    employees: Option<i64>,
    revenue: Option<f64>,
    technologies: Vec<String>,
    tier: Option<u8>,
    stage: Stage,
    score: (f64, f64, f64),
    owner: Option<UserId>,
}

impl Row {
    fn facts(&self) -> AccountFacts<'_> {
        AccountFacts {
            name: &self.name,
            industry: self.industry.as_deref(),
            country: self.country.as_deref(),
            region: self.region.as_deref(),
            employee_count: self.employees,
            annual_revenue: self.revenue,
            technologies: &self.technologies,
            tier: self.tier,
            stage: self.stage,
            score: self.score.0,
            fit: self.score.1,
            engagement: self.score.2,
            owner: self.owner,
        }
    }
}

#[tokio::test]
async fn filters_select_in_sql_exactly_what_the_pure_evaluator_selects() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let manager = app.user("acme", Role::Manager).await;
    let rep = app.user("acme", Role::Rep).await;
    let rep_id = UserId::from(uuid::Uuid::parse_str(&rep.id).unwrap());
    let owners = [rep_id, UserId::from(uuid::Uuid::nil())];
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let accounts: Vec<Value> = (0..60)
        .map(|i| {
            let opt = |g: &mut Gen, v: Value| if g.below(4) == 0 { Value::Null } else { v };
            let techs: Vec<&str> = (0..g.below(4)).map(|_| *g.pick(TECHS)).collect();
            let (industry, country, region) =
                (*g.pick(INDUSTRIES), *g.pick(COUNTRIES), *g.pick(REGIONS));
            let (employees, revenue) = (
                [5, 10, 99, 500, 5000, 20000][g.below(6)],
                [2e5, 1e6, 4e7, 5e7, 2e9][g.below(5)],
            );
            let tier = 1 + g.below(3);
            json!({
                "name": format!("{} {i}", g.pick(NAMES)),
                "domain": format!("a{i}.example.org"),
                "industry": opt(&mut g, json!(industry)),
                "country": opt(&mut g, json!(country)),
                "region": opt(&mut g, json!(region)),
                "employeeCount": opt(&mut g, json!(employees)),
                "annualRevenue": opt(&mut g, json!(revenue)),
                "technologies": techs,
                "tier": opt(&mut g, json!(tier)),
            })
        })
        .collect();
    upsert(&m, json!(accounts)).await;
    // Some owned accounts, some SQLs, and engagement above zero, so those conditions split
    // the population too.
    let ids = m
        .gql(
            "{ accounts(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let ids: Vec<String> = ids["data"]["accounts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    for id in ids.iter().step_by(4) {
        let res = manager
            .gql(
                "mutation($a: ID!) { setStage(accountId: $a, stage: SQL, reason: \"call\") { id } }",
                json!({ "a": id }),
            )
            .await;
        assert!(res["errors"].is_null(), "{res}");
    }
    let res = manager
        .gql(
            "mutation($a: ID!, $r: ID!) { reassign(accountId: $a, repId: $r, reason: \"x\") { id } }",
            json!({ "a": ids[0], "r": rep.id }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let at = (Utc::now() - Duration::days(1)).to_rfc3339();
    let events: Vec<Value> = (0..60)
        .step_by(3)
        .map(|i| json!({ "eventId": format!("e{i}"), "contactEmail": format!("p@a{i}.example.org"), "kind": "WEB_VISIT", "occurredAt": at }))
        .collect();
    let res = m
        .gql(
            "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) { accepted } }",
            json!({ "e": events }),
        )
        .await;
    assert_eq!(res["data"]["ingestEngagements"]["accepted"], 20, "{res}");

    let all = m
        .gql(
            "{ accounts(first: 100) { edges { node { domain name industry country region employeeCount
                annualRevenue technologies tier stage score { total fit engagement } owner { id } } } } }",
            json!({}),
        )
        .await;
    let rows: Vec<Row> = all["data"]["accounts"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{all}"))
        .iter()
        .map(|e| {
            let n = &e["node"];
            let s = |k: &str| n[k].as_str().map(str::to_owned);
            Row {
                domain: s("domain").unwrap(),
                name: s("name").unwrap(),
                industry: s("industry"),
                country: s("country"),
                region: s("region"),
                employees: n["employeeCount"].as_i64(),
                revenue: n["annualRevenue"].as_f64(),
                technologies: n["technologies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect(),
                tier: n["tier"].as_u64().map(|t| t as u8),
                stage: Stage::parse(n["stage"].as_str().unwrap()).unwrap(),
                score: (
                    n["score"]["total"].as_f64().unwrap(),
                    n["score"]["fit"].as_f64().unwrap(),
                    n["score"]["engagement"].as_f64().unwrap(),
                ),
                owner: n["owner"]["id"]
                    .as_str()
                    .map(|u| UserId::from(uuid::Uuid::parse_str(u).unwrap())),
            }
        })
        .collect();
    assert_eq!(rows.len(), 60);
    assert!(rows.iter().any(|r| r.owner.is_some()) && rows.iter().any(|r| r.score.2 > 0.0));

    let mut selected_some = 0;
    for case in 0..150 {
        let seed = g.0;
        let filter = random_filter(&mut g, 3, &owners);
        let input = to_input(&filter);
        let res = m
            .gql(
                "query($f: AccountFilter) { accounts(filter: $f, first: 100) { totalCount edges { node { domain } } } }",
                json!({ "f": input }),
            )
            .await;
        let mut got: Vec<String> = res["data"]["accounts"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("case {case} (seed {seed:#x}) {input}: {res}"))
            .iter()
            .map(|e| e["node"]["domain"].as_str().unwrap().to_owned())
            .collect();
        got.sort();
        let mut want: Vec<String> = rows
            .iter()
            .filter(|r| filter.matches(&r.facts()))
            .map(|r| r.domain.clone())
            .collect();
        want.sort();
        assert_eq!(got, want, "case {case} (seed {seed:#x}): {input}");
        if !want.is_empty() && want.len() < rows.len() {
            selected_some += 1;
        }
    }
    // The generator must exercise the filters, not just produce all-or-nothing answers.
    assert!(
        selected_some > 50,
        "only {selected_some} filters split the accounts"
    );
}

#[tokio::test]
async fn accounts_order_by_their_last_stage_change() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let manager = app.user("acme", Role::Manager).await;
    for d in ["first.io", "second.io", "third.io"] {
        upsert(&m, json!([{ "name": d, "domain": d }])).await;
    }
    let id = |res: &Value| {
        res["data"]["upsertAccounts"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = id(&m
        .gql(
            UPSERT,
            json!({ "i": [{ "name": "first.io", "domain": "first.io" }] }),
        )
        .await);
    let res = manager
        .gql(
            "mutation($a: ID!) { setStage(accountId: $a, stage: MQL, reason: \"call\") { id } }",
            json!({ "a": first }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let order = |dir: &'static str| {
        let m = &m;
        async move {
            let res = m
                .gql(
                    "query($d: SortDirection!) { accounts(orderBy: { field: STAGE_CHANGED, direction: $d }) { edges { node { domain } } } }",
                    json!({ "d": dir }),
                )
                .await;
            res["data"]["accounts"]["edges"]
                .as_array()
                .unwrap_or_else(|| panic!("{res}"))
                .iter()
                .map(|e| e["node"]["domain"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // Created in this order; the first one's stage then changed last of all.
    assert_eq!(order("DESC").await, ["first.io", "third.io", "second.io"]);
    assert_eq!(order("ASC").await, ["second.io", "third.io", "first.io"]);
}
