//! Queries that cost too much are refused before anything runs, and HTTP follows
//! GraphQL over HTTP.

use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{code, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_25_level_query_is_refused_before_it_runs() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let mut selection = "name".to_owned();
    for i in 0..8 {
        selection = if i % 2 == 0 {
            format!("contacts(first: 1) {{ edges {{ node {{ account {{ {selection} }} }} }} }}")
        } else {
            format!("buyingCommittees {{ account {{ {selection} }} }}")
        };
    }
    let query = format!("{{ accounts(first: 1) {{ edges {{ node {{ {selection} }} }} }} }}");
    assert!(query.matches('{').count() >= 25, "{query}");
    let before = app.statements();
    let res = m.gql(&query, json!({})).await;
    assert_eq!(code(&res), "GRAPHQL_VALIDATION_FAILED", "{res}");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("too deep"),
        "{res}"
    );
    assert_eq!(app.statements(), before, "nothing ran");
}

#[tokio::test]
async fn a_huge_first_or_an_alias_flood_is_refused_by_complexity() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let before = app.statements();
    let res = m
        .gql(
            "{ accounts(first: 1000000) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&res), "GRAPHQL_VALIDATION_FAILED", "{res}");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("complex"),
        "{res}"
    );
    let res = m
        .gql("{ accounts(first: -1) { totalCount } }", json!({}))
        .await;
    assert_eq!(code(&res), "GRAPHQL_VALIDATION_FAILED", "{res}");
    let flood: String = (0..11_000).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let res = m.gql(&format!("{{ {flood} }}"), json!({})).await;
    assert_eq!(code(&res), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(app.statements(), before, "nothing ran");
}

#[tokio::test]
async fn errors_make_no_suggestions_and_introspection_can_be_turned_off() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let res = m.gql("{ acounts { totalCount } }", json!({})).await;
    assert!(!res.to_string().contains("Did you mean"), "{res}");
    let res = m
        .gql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(
        res["data"]["__schema"]["queryType"]["name"], "Query",
        "on by default"
    );

    let prod = spawn_app_with(|c| {
        c.introspection = false;
        c.graphiql = false;
    })
    .await;
    let m = prod.user("acme", Role::Marketer).await;
    let res = m
        .gql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(
        res["data"].is_null() || res["data"]["__schema"].is_null(),
        "{res}"
    );
    let page = prod
        .get("/graphql")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404, "no GraphiQL");
}

#[tokio::test]
async fn batches_are_capped_and_run_in_order() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let op = |q: &str| json!({ "query": q });
    let batch = vec![
        op("mutation { upsertAccounts(input: [{name: \"A\", domain: \"a.io\"}]) { id } }"),
        op("{ accounts { totalCount } }"),
    ];
    let res: Value = app
        .post("/graphql")
        .bearer_auth(&m.token)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res[1]["data"]["accounts"]["totalCount"], 1, "{res}");
    let too_many: Vec<Value> = (0..11).map(|_| op("{ me { id } }")).collect();
    let res = app
        .post("/graphql")
        .bearer_auth(&m.token)
        .json(&too_many)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let app = spawn_app_with(|c| c.max_body_bytes = 64 * 1024).await;
    let m = app.user("acme", Role::Marketer).await;
    let big = format!("{{ me {{ id }} }} # {}", "x".repeat(100 * 1024));
    let res = app
        .post("/graphql")
        .bearer_auth(&m.token)
        .json(&json!({ "query": big }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let res = app
        .get("/graphql")
        .query(&[("query", "{ me { email } }")])
        .bearer_auth(&m.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["data"]["me"]["email"],
        m.email.as_str()
    );
    let mutation = "mutation { upsertAccounts(input: [{name: \"A\", domain: \"a.io\"}]) { id } }";
    let res = app
        .get("/graphql")
        .query(&[("query", mutation)])
        .bearer_auth(&m.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let named = "query Q { me { id } } mutation M { upsertAccounts(input: [{name: \"A\", domain: \"a.io\"}]) { id } }";
    let res = app
        .get("/graphql")
        .query(&[("query", named), ("operationName", "M")])
        .bearer_auth(&m.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let res = m.gql("{ accounts { totalCount } }", json!({})).await;
    assert_eq!(
        res["data"]["accounts"]["totalCount"], 0,
        "nothing was written"
    );
    let page = app
        .get("/graphql")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
}

#[tokio::test]
async fn graphql_response_json_clients_get_status_codes() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let send = |q: &'static str| {
        app.post("/graphql")
            .bearer_auth(&m.token)
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": q }))
            .send()
    };
    let ok = send("{ me { id } }").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers()["content-type"],
        "application/graphql-response+json"
    );
    assert_eq!(send("{ me { nope } }").await.unwrap().status(), 400);
    assert_eq!(send("{ me { id ").await.unwrap().status(), 400);
    // A field error is still a 200: the request ran.
    assert_eq!(
        send("{ contact(id: \"x\") { id } account(id: \"y\") { id } }")
            .await
            .unwrap()
            .status(),
        200
    );
    let res = app
        .post("/graphql")
        .header("content-type", "text/plain")
        .body("{ me { id } }")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
}

#[tokio::test]
async fn a_directive_flood_is_refused_before_it_runs() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let flood = " @skip(if: false)".repeat(5_000);
    let before = app.statements();
    let res = m
        .gql(&format!("{{ me{flood} {{ email }} }}"), json!({}))
        .await;
    assert_eq!(code(&res), "GRAPHQL_VALIDATION_FAILED", "{res}");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("number of directives"),
        "{res}"
    );
    assert_eq!(app.statements(), before, "nothing ran");
    // A real query's one or two directives still work.
    let res = m
        .gql(
            "query($all: Boolean!) { me @include(if: $all) @skip(if: false) { email } }",
            json!({ "all": true }),
        )
        .await;
    assert_eq!(res["data"]["me"]["email"], m.email.as_str(), "{res}");
}
