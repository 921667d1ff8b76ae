use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{Client, code, field, spawn_app};

const UPSERT: &str = "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) {
    id name domain industry employeeCount annualRevenue country region technologies tier stage
    score { total fit engagement intent committeeCoverage modelVersion breakdown { points } } } }";
const LIST: &str = "query($f: AccountFilter, $o: AccountOrder, $n: Int, $a: String) {
    accounts(filter: $f, orderBy: $o, first: $n, after: $a) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name domain } } } }";

async fn names(c: &Client, filter: Value) -> Vec<String> {
    let res = c.gql(LIST, json!({ "f": filter, "n": 100 })).await;
    let edges = res["data"]["accounts"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{res}"));
    edges
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn upsert_accounts_creates_then_updates_by_domain() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let created = m
        .gql(UPSERT, json!({ "i": [{
            "name": "Acme", "domain": "https://www.Acme.io/pricing", "industry": "Software", "employeeCount": 250,
            "annualRevenue": 3.5e7, "country": "us", "region": "North America", "technologies": ["Salesforce", "salesforce ", "Snowflake"], "tier": 1
        }] }))
        .await;
    let a = &created["data"]["upsertAccounts"][0];
    assert_eq!(a["domain"], "acme.io", "{created}");
    assert_eq!(a["country"], "US");
    assert_eq!(a["technologies"], json!(["Salesforce", "Snowflake"]));
    assert_eq!(
        (a["stage"].as_str(), a["tier"].as_i64()),
        (Some("TARGET"), Some(1))
    );
    // Fit is scored as soon as the facts are known: the default model's ideal customer.
    assert_eq!(
        (
            a["score"]["fit"].as_f64(),
            a["score"]["engagement"].as_f64(),
            a["score"]["modelVersion"].as_i64()
        ),
        (Some(100.0), Some(0.0), Some(1))
    );
    assert_eq!(a["score"]["total"], 40.0);
    let fit_points: f64 = a["score"]["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["points"].as_f64().unwrap())
        .sum();
    assert!((fit_points - 100.0).abs() < 1e-9, "{a}");

    // Left out keeps, null clears, a value replaces; the id stays.
    let updated = m
        .gql(UPSERT, json!({ "i": [{ "name": "Acme Corp", "domain": "ACME.IO", "industry": null, "employeeCount": 300 }] }))
        .await;
    let u = &updated["data"]["upsertAccounts"][0];
    assert_eq!(u["id"], a["id"]);
    assert_eq!(
        (
            u["name"].as_str(),
            u["industry"].clone(),
            u["employeeCount"].as_i64()
        ),
        (Some("Acme Corp"), Value::Null, Some(300))
    );
    assert_eq!(
        (
            u["country"].as_str(),
            u["region"].as_str(),
            u["tier"].as_i64()
        ),
        (Some("US"), Some("North America"), Some(1))
    );
    assert_eq!(u["technologies"], json!(["Salesforce", "Snowflake"]));
    let one = m
        .gql(
            "query($id: ID!) { account(id: $id) { name annualRevenue } }",
            json!({ "id": a["id"] }),
        )
        .await;
    assert_eq!(
        one["data"]["account"],
        json!({ "name": "Acme Corp", "annualRevenue": 3.5e7 })
    );
}

#[tokio::test]
async fn upsert_accounts_with_one_bad_item_writes_nothing_and_names_the_field() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let good = json!({ "name": "Good", "domain": "good.io" });
    for (bad, want) in [
        (
            json!({ "name": "B", "domain": "not a domain" }),
            "input[1].domain",
        ),
        (json!({ "name": " ", "domain": "b.io" }), "input[1].name"),
        (
            json!({ "name": "B", "domain": "b.io", "country": "XX" }),
            "input[1].country",
        ),
        (
            json!({ "name": "B", "domain": "b.io", "country": "UK" }),
            "input[1].country",
        ),
        (
            json!({ "name": "B", "domain": "b.io", "employeeCount": -1 }),
            "input[1].employeeCount",
        ),
        (
            json!({ "name": "B", "domain": "b.io", "annualRevenue": -5.0 }),
            "input[1].annualRevenue",
        ),
        (
            json!({ "name": "B", "domain": "b.io", "tier": 4 }),
            "input[1].tier",
        ),
        (
            json!({ "name": "B", "domain": "b.io", "tier": 0 }),
            "input[1].tier",
        ),
        (
            json!({ "name": "B", "domain": "b.io", "technologies": ["ok", ""] }),
            "input[1].technologies",
        ),
        (
            json!({ "name": "Dup", "domain": "www.good.io" }),
            "input[1].domain",
        ),
    ] {
        let res = m.gql(UPSERT, json!({ "i": [good.clone(), bad] })).await;
        assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", want), "{res}");
        assert_eq!(res["data"], Value::Null);
    }
    assert_eq!(
        names(&m, Value::Null).await,
        Vec::<String>::new(),
        "nothing written"
    );
}

#[tokio::test]
async fn upsert_accounts_takes_at_most_a_thousand_items() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let items: Vec<Value> = (0..1001)
        .map(|i| json!({ "name": format!("A{i}"), "domain": format!("a{i}.io") }))
        .collect();
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": items }),
        )
        .await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", "input"));
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": &items[..1000] }),
        )
        .await;
    assert_eq!(
        res["data"]["upsertAccounts"].as_array().map(Vec::len),
        Some(1000),
        "a full batch is fine"
    );
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": [] }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
}

#[tokio::test]
async fn only_admins_and_marketers_upsert_accounts() {
    let app = spawn_app().await;
    for role in [Role::Manager, Role::Rep] {
        let res = app
            .user("acme", role)
            .await
            .gql(UPSERT, json!({ "i": [{ "name": "A", "domain": "a.io" }] }))
            .await;
        assert_eq!(code(&res), "FORBIDDEN", "{role}");
    }
    app.user("acme", Role::Admin)
        .await
        .upsert_account("a.io")
        .await;
    let rep = app.user("acme", Role::Rep).await;
    assert_eq!(
        names(&rep, Value::Null).await,
        ["a.io"],
        "reps read accounts"
    );
}

#[tokio::test]
async fn accounts_pages_through_every_row_once_in_either_direction() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    // Duplicate names make the id tie-breaker matter.
    let items: Vec<Value> = (0..25)
        .map(|i| json!({ "name": format!("Co {}", i % 7), "domain": format!("co{i}.io") }))
        .collect();
    m.gql(UPSERT, json!({ "i": items })).await;
    for (field_name, dir) in [
        ("NAME", "ASC"),
        ("NAME", "DESC"),
        ("CREATED", "DESC"),
        ("SCORE", "DESC"),
    ] {
        let vars = json!({ "o": { "field": field_name, "direction": dir }, "n": 10 });
        let seen = m.walk(LIST, vars, &["accounts"], "domain", 25).await;
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            (seen.len(), unique.len()),
            (25, 25),
            "{field_name} {dir}: {seen:?}"
        );
    }
    let first = m
        .gql(LIST, json!({ "o": { "field": "NAME" }, "n": 3 }))
        .await;
    let names: Vec<&str> = first["data"]["accounts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Co 0", "Co 0", "Co 0"]);
    // A cursor is only good for the order it came from.
    let cursor = first["data"]["accounts"]["pageInfo"]["endCursor"].clone();
    let res = m
        .gql(LIST, json!({ "o": { "field": "SCORE" }, "a": cursor }))
        .await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", "after"));
    let res = m.gql(LIST, json!({ "a": "bm90LWEtY3Vyc29y" })).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", "after"));
    let res = m.gql(LIST, json!({ "n": 101 })).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", "first"));
}

#[tokio::test]
async fn accounts_filter_combines_conditions_in_sql() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    m.gql(
        UPSERT,
        json!({ "i": [
            { "name": "Alpha Bank", "domain": "alpha.io", "industry": "Fintech", "country": "US", "region": "North America", "employeeCount": 1200, "annualRevenue": 2e8, "technologies": ["Salesforce", "Snowflake"], "tier": 1 },
            { "name": "Beta 100% Labs", "domain": "beta.io", "industry": "Biotech", "country": "DE", "region": "EMEA", "employeeCount": 80, "technologies": ["HubSpot"], "tier": 2 },
            { "name": "Gamma_Pay", "domain": "gamma.io", "industry": "fintech", "country": "GB", "region": "emea", "employeeCount": 400, "annualRevenue": 5e7, "technologies": ["salesforce"] },
            { "name": "Delta", "domain": "delta.io" }
        ] }),
    )
    .await;
    let cases = [
        (
            json!({ "industryIn": ["FINTECH"] }),
            vec!["Alpha Bank", "Gamma_Pay"],
        ),
        (
            json!({ "countryIn": ["de", "gb"] }),
            vec!["Beta 100% Labs", "Gamma_Pay"],
        ),
        (
            json!({ "regionIn": ["EMEA"] }),
            vec!["Beta 100% Labs", "Gamma_Pay"],
        ),
        (
            json!({ "employeeCountMin": 100, "employeeCountMax": 1000 }),
            vec!["Gamma_Pay"],
        ),
        (json!({ "annualRevenueMin": 1e8 }), vec!["Alpha Bank"]),
        (
            json!({ "technologiesAny": ["SALESFORCE", "hubspot"] }),
            vec!["Alpha Bank", "Beta 100% Labs", "Gamma_Pay"],
        ),
        (
            json!({ "technologiesAll": ["salesforce", "snowflake"] }),
            vec!["Alpha Bank"],
        ),
        (
            json!({ "technologiesNone": ["salesforce"] }),
            vec!["Beta 100% Labs", "Delta"],
        ),
        (
            json!({ "tierIn": [1, 2] }),
            vec!["Alpha Bank", "Beta 100% Labs"],
        ),
        (
            json!({ "stageIn": ["TARGET"] }),
            vec!["Alpha Bank", "Beta 100% Labs", "Delta", "Gamma_Pay"],
        ),
        (json!({ "stageIn": ["SQL"] }), vec![]),
        (
            json!({ "scoreMin": 1 }),
            vec!["Alpha Bank", "Beta 100% Labs", "Gamma_Pay"],
        ),
        (json!({ "fitMin": 70 }), vec!["Alpha Bank", "Gamma_Pay"]),
        (json!({ "engagementMin": 1 }), vec![]),
        (
            json!({ "unassigned": true }),
            vec!["Alpha Bank", "Beta 100% Labs", "Delta", "Gamma_Pay"],
        ),
        (json!({ "unassigned": false }), vec![]),
        (json!({ "nameContains": "100%" }), vec!["Beta 100% Labs"]),
        (json!({ "nameContains": "a_p" }), vec!["Gamma_Pay"]),
        (json!({ "nameContains": "ALPHA" }), vec!["Alpha Bank"]),
        (
            json!({ "or": [{ "tierIn": [1] }, { "countryIn": ["DE"] }] }),
            vec!["Alpha Bank", "Beta 100% Labs"],
        ),
        (
            json!({ "not": { "industryIn": ["fintech"] } }),
            vec!["Beta 100% Labs", "Delta"],
        ),
        (
            json!({ "industryIn": ["fintech"], "not": { "countryIn": ["US"] } }),
            vec!["Gamma_Pay"],
        ),
        (
            json!({ "not": { "tierIn": [1] } }),
            vec!["Beta 100% Labs", "Delta", "Gamma_Pay"],
        ),
        (
            json!({ "not": { "employeeCountMin": 100 } }),
            vec!["Beta 100% Labs", "Delta"],
        ),
        (
            json!({ "and": [{ "technologiesAny": ["salesforce"] }, { "or": [{ "tierIn": [1] }, { "employeeCountMax": 500 }] }] }),
            vec!["Alpha Bank", "Gamma_Pay"],
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(names(&m, filter.clone()).await, want, "{filter}");
    }
    let res = m
        .gql(LIST, json!({ "f": { "industryIn": ["fintech"] } }))
        .await;
    assert_eq!(
        res["data"]["accounts"]["totalCount"], 2,
        "totalCount counts the filtered rows"
    );
}

#[tokio::test]
async fn a_bad_filter_is_refused_with_its_path() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    for (filter, want) in [
        (json!({}), "filter"),
        (
            json!({ "employeeCountMin": 10, "employeeCountMax": 5 }),
            "filter.employeeCountMax",
        ),
        (
            json!({ "or": [{ "tierIn": [1] }, { "not": { "annualRevenueMin": 9, "annualRevenueMax": 1 } }] }),
            "filter.or[1].not.annualRevenueMax",
        ),
        (json!({ "and": [] }), "filter.and"),
        (
            json!({ "countryIn": ["US", "Narnia"] }),
            "filter.countryIn[1]",
        ),
        (json!({ "tierIn": [5] }), "filter.tierIn[0]"),
        (json!({ "stageIn": [] }), "filter.stageIn"),
        (json!({ "scoreMin": -1 }), "filter.scoreMin"),
    ] {
        let res = m.gql(LIST, json!({ "f": filter })).await;
        assert_eq!(
            (code(&res), field(&res)),
            ("BAD_USER_INPUT", want),
            "{filter}: {res}"
        );
    }
    let mut deep = json!({ "unassigned": true });
    for _ in 0..10 {
        deep = json!({ "not": deep });
    }
    let res = m.gql(LIST, json!({ "f": deep })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    let wide: Vec<Value> = (0..201).map(|_| json!({ "unassigned": true })).collect();
    let res = m.gql(LIST, json!({ "f": { "or": wide } })).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", "filter"));
}

#[tokio::test]
async fn an_unknown_account_id_is_null() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    for id in ["not-a-uuid", "01a20684-f85c-725d-b7a7-4dc9b48d827a"] {
        let res = m
            .gql(
                "query($id: ID!) { account(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(res, json!({ "data": { "account": null } }));
    }
}
