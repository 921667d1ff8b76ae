//! `quorum demo` in a real browser: a rep of the generated workspace logs in on the board, an
//! assignment made by the demo's live engagement arrives, and the rep accepts it.

use std::collections::HashSet;
use std::time::Duration;

use quorum_api::demo::{self, Demo};
use quorum_domain::generate::{Spec, population};
use serde_json::json;

use quorum_domain::value::Role;

use crate::board::{accept, graphiql_answers_as, log_in};
use crate::helpers::{Client, spawn_app};
use crate::webdriver::Browser;
use crate::ws::{MODERN, Ws};

/// The rep's assignment ids, as the API lists them.
async fn assignments(rep: &Client) -> HashSet<String> {
    let res = rep
        .gql("{ assignments(first: 100) { nodes { id } } }", json!({}))
        .await;
    res["data"]["assignments"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{res}"))
        .iter()
        .filter_map(|n| n["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn on_the_demo_a_rep_accepts_an_assignment_that_arrives_live_on_the_board() {
    let app = spawn_app().await;
    let config = (*app.state.config).clone();
    let made = Demo::open(&app.state, &config).await.unwrap();
    let now = quorum_api::scoring::timestamp(chrono::Utc::now());
    let spec = Spec::new(40, 1, now);
    let people = population(&spec);
    made.seed(&spec, &people, &config).await.unwrap();
    // Every role was made, each with a working token.
    let users = made.users(&config).await.unwrap();
    assert_eq!(users.len(), 9);

    // Ana covers North America and the tier-1 pool: the busiest territory.
    let email = "ana@demo.quorum.dev";
    let res = app
        .anonymous()
        .gql(
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            json!({ "e": email, "p": demo::PASSWORD }),
        )
        .await;
    let rep = Client {
        token: res["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{res}"))
            .to_owned(),
        ..app.anonymous()
    };
    let before = assignments(&rep).await;

    let browser = Browser::start().await;
    log_in(&browser, &app.base, email, demo::PASSWORD).await;
    browser
        .wait_until(
            "document.querySelectorAll('#accounts li').length > 0",
            "the generated accounts",
        )
        .await;

    // Now the demo's engagement runs, and sooner or later routes a new SQL to Ana.
    tokio::spawn(demo::simulate(
        app.state.clone(),
        made.ws,
        people,
        1,
        Duration::from_millis(300),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let id = loop {
        let fresh: Vec<String> = assignments(&rep)
            .await
            .difference(&before)
            .cloned()
            .collect();
        if let Some(id) = fresh.into_iter().next() {
            break id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the demo routed no new assignment to {email}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    accept(&browser, &rep, &id).await;
    let promotions = browser
        .script(
            "return document.querySelectorAll('#promotions li').length",
            json!([]),
        )
        .await;
    assert!(promotions.as_u64().unwrap_or(0) > 0, "{promotions}");

    // The README's picture: the demo's board, the top account's breakdown open.
    browser.click("#accounts li details summary").await;
    browser
        .wait_for("#accounts li details[open] table", "the score breakdown")
        .await;
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = crate::board::screenshot_path("board.png");
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));

    // The manager's GraphiQL link, as the demo prints it, opens with the manager's token.
    let manager = users.iter().find(|u| u.role == Role::Manager).unwrap();
    browser
        .goto(&demo::graphiql_link(&app.base, &manager.token))
        .await;
    browser
        .wait_for(".graphiql-container .graphiql-execute-button", "GraphiQL")
        .await;
    let address = browser.script("return location.href", json!([])).await;
    assert_eq!(
        address,
        json!(format!("{}/graphql", app.base)),
        "token off the address bar"
    );
    graphiql_answers_as(&browser, &manager.email).await;
}

/// The README's tour, run against a demo workspace: each query answers without errors and
/// with data, so the README cannot drift from the schema.
#[tokio::test]
async fn the_readme_tour_runs_on_the_demo() {
    let readme = include_str!("../../README.md");
    let tour = readme
        .split("## A tour of the demo")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README's tour");
    let blocks: Vec<&str> = tour
        .split("```graphql")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(blocks.len(), 5, "five queries in the tour");

    let app = spawn_app().await;
    let config = (*app.state.config).clone();
    let made = Demo::open(&app.state, &config).await.unwrap();
    let spec = Spec::new(30, 2, quorum_api::scoring::timestamp(chrono::Utc::now()));
    assert!(!made.seeded);
    made.seed(&spec, &population(&spec), &config).await.unwrap();
    // A second run finds the workspace ready and reuses it.
    let again = Demo::open(&app.state, &config).await.unwrap();
    assert!(again.seeded && again.complete().await.unwrap());
    let users = made.users(&config).await.unwrap();
    let as_role = |role: Role| {
        let u = users.iter().find(|u| u.role == role).unwrap();
        Client {
            token: u.token.clone(),
            ..app.anonymous()
        }
    };
    let (manager, marketer) = (as_role(Role::Manager), as_role(Role::Marketer));

    let page = manager.gql(blocks[0], json!({})).await;
    assert!(page["errors"].is_null(), "{page}");
    let top = &page["data"]["accounts"]["nodes"][0];
    assert!(top["score"]["total"].as_f64().unwrap() > 0.0, "{page}");
    let why = manager.gql(blocks[1], json!({ "id": top["id"] })).await;
    assert!(why["errors"].is_null(), "{why}");
    assert!(
        !why["data"]["account"]["score"]["breakdown"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let segments = marketer.gql(blocks[2], json!({})).await;
    assert!(segments["errors"].is_null(), "{segments}");
    assert_eq!(segments["data"]["segments"].as_array().unwrap().len(), 3);
    let funnel = manager.gql(blocks[3], json!({})).await;
    assert!(funnel["errors"].is_null(), "{funnel}");
    assert!(
        funnel["data"]["funnel"]["stages"][0]["entered"]
            .as_i64()
            .unwrap()
            > 0,
        "{funnel}"
    );
    // The subscription, over WebSocket, gets the promotions the demo's engagement makes.
    let mut ws = Ws::ready(&app.base, MODERN, &manager.token).await;
    ws.subscribe("tour", blocks[4], json!({})).await;
    tokio::spawn(demo::simulate(
        app.state.clone(),
        made.ws,
        population(&spec),
        2,
        Duration::from_millis(300),
    ));
    let promoted = ws.next_within("tour", Duration::from_secs(60)).await;
    let p = &promoted["sqlPromotions"];
    assert!(
        p["cursor"].is_string() && p["account"]["name"].is_string(),
        "{promoted}"
    );
    assert!(p["score"]["total"].as_f64().unwrap() >= 60.0, "{promoted}");
}
