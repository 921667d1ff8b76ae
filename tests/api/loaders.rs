//! Nested fields load in batches: the statements a page costs do not grow with its size.

use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

const PAGE: &str = "query($n: Int) { accounts(first: $n) { edges { node {
    name owner { name } technologies
    contacts(first: 5) { totalCount edges { node { email account { domain } } } }
    buyingCommittees { name coverage members { role contact { email } } }
} } } }";

async fn statements_for(app: &TestApp, client: &crate::helpers::Client, n: usize) -> usize {
    let before = app.statements();
    let res = client.gql(PAGE, json!({ "n": n })).await;
    assert_eq!(
        res["data"]["accounts"]["edges"].as_array().map(Vec::len),
        Some(n),
        "{res}"
    );
    app.statements() - before
}

#[tokio::test]
async fn a_page_of_accounts_costs_the_same_statements_at_5_and_50_rows() {
    // A wide batch window: with the machine busy running other tests in parallel, the default
    // 1 ms can close before every sibling field has asked for its key.
    let app = spawn_app_with(|c| c.loader_window_ms = 50).await;
    let m = app.user("acme", Role::Admin).await;
    let accounts: Vec<Value> = (0..50)
        .map(|i| json!({ "name": format!("Co {i:02}"), "domain": format!("co{i}.io"), "technologies": ["A", "B"] }))
        .collect();
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": accounts }),
        )
        .await;
    let ids: Vec<Value> = res["data"]["upsertAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    let contacts: Vec<Value> = (0..50)
        .flat_map(|i| (0..3).map(move |j| json!({ "email": format!("p{j}@co{i}.io") })))
        .collect();
    let res = m
        .gql(
            "mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }",
            json!({ "i": contacts }),
        )
        .await;
    let contact_ids: Vec<Value> = res["data"]["upsertContacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    for (i, account) in ids.iter().enumerate() {
        let c = m
            .gql(
                "mutation($a: ID!) { createBuyingCommittee(accountId: $a, name: \"Deal\") { id } }",
                json!({ "a": account }),
            )
            .await["data"]["createBuyingCommittee"]["id"]
            .clone();
        m.gql(
            "mutation($c: ID!, $p: ID!) { setCommitteeMember(committeeId: $c, contactId: $p, role: CHAMPION) { id } }",
            json!({ "c": c, "p": contact_ids[i * 3] }),
        )
        .await;
    }
    let small = statements_for(&app, &m, 5).await;
    let large = statements_for(&app, &m, 50).await;
    assert_eq!(
        small, large,
        "statements for 5 rows: {small}, for 50: {large}"
    );
    // One per relation plus the page and its count: nowhere near one per row.
    assert!(large <= 10, "{large} statements");
}

#[tokio::test]
async fn a_page_counts_every_match_only_when_asked_for_its_total() {
    let app = spawn_app_with(|_| {}).await;
    let m = app.user("acme", Role::Admin).await;
    m.upsert_account("acme.io").await;
    let cost = |query: &'static str| {
        let (app, m) = (&app, &m);
        async move {
            let before = app.statements();
            let res = m.gql(query, json!({})).await;
            assert_eq!(
                res["data"]["accounts"]["edges"][0]["node"]["domain"], "acme.io",
                "{res}"
            );
            app.statements() - before
        }
    };
    let with_total = cost("{ accounts { totalCount edges { node { domain } } } }").await;
    let without = cost("{ accounts { edges { node { domain } } } }").await;
    let aliased = cost("{ accounts { n: totalCount edges { node { domain } } } }").await;
    assert_eq!(
        with_total,
        without + 1,
        "one COUNT, and only with totalCount"
    );
    assert_eq!(aliased, with_total);
}
