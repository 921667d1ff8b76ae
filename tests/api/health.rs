use quorum_domain::value::Role;
use sea_orm::TransactionTrait;
use serde_json::{Value, json};

use crate::helpers::{code, spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_and_readyz_answer_when_the_database_is_up() {
    let app = spawn_app().await;
    let health = app.get("/healthz").send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let res = app.get("/healthz").send().await.unwrap();
    let id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "request id {id:?}");
}

#[tokio::test]
async fn an_exhausted_pool_fails_fast_with_unavailable_while_healthz_stays_up() {
    let app = spawn_app_with(|c| {
        c.db_max_connections = Some(1);
        // Short enough to fail fast, long enough for the first connection to open (the pool
        // opens it under the same limit) while the rest of the suite loads both cores.
        c.db_acquire_timeout_ms = 1_500;
    })
    .await;
    let marketer = app.user("acme", Role::Marketer).await;
    // Hold the only connection, as a stuck request would.
    let held = app.state.db.begin().await.unwrap();
    let started = std::time::Instant::now();
    let res = marketer.gql("{ accounts { totalCount } }", json!({})).await;
    assert_eq!(code(&res), "UNAVAILABLE", "{res}");
    assert_eq!(res["errors"][0]["extensions"]["retryable"], true);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "failed fast"
    );
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
    assert_eq!(app.get("/readyz").send().await.unwrap().status(), 503);
    held.rollback().await.unwrap();
    let res = marketer.gql("{ accounts { totalCount } }", json!({})).await;
    assert_eq!(res["data"]["accounts"]["totalCount"], 0, "{res}");
    assert_eq!(app.get("/readyz").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_and_report_connections_and_outbox_lag() {
    let app = spawn_app().await;
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
    }
    app.get("/nowhere").send().await.unwrap();
    for method in ["PURGE", "BREW"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.http
            .request(method, format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
    }
    let res = app.get("/metrics").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    let text = res.text().await.unwrap();
    for line in [
        "quorum_ws_connections 0",
        "quorum_subscriptions 0",
        "quorum_events_delivered_total 0",
        "quorum_outbox_lag_seconds 0.000",
        "quorum_http_requests_total{method=\"GET\",path=\"/healthz\",status=\"200\"} 3",
        // Unknown paths share one series, so scanners cannot grow the map.
        "quorum_http_requests_total{method=\"GET\",path=\"other\",status=\"404\"} 1",
        "quorum_http_request_duration_seconds_count 6",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // So do methods outside the usual few, whatever token a client sends (the route
    // refuses them; which status it answers does not matter here).
    let other: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("quorum_http_requests_total{method=\"other\",path=\"/healthz\""))
        .collect();
    assert!(
        other.len() == 1 && other[0].ends_with(" 2"),
        "{other:?} in\n{text}"
    );
    assert!(!text.contains("PURGE") && !text.contains("BREW"), "{text}");
}
