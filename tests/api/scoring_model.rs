//! The scoring model: read it, publish a new version, rescore; decay over time.

use chrono::{Duration, Utc};
use quorum_domain::value::Role;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Client, code, field, spawn_app};

const MODEL: &str = "{ scoringModel { version publishedAt halfLifeDays weights { fit engagement intent }
    fitRules { name points industryIn employeeCountMin usesCompetitor } engagementPoints { kind points }
    requiredRoles thresholds { mql sql } } }";
const PUBLISH: &str = "mutation($i: ScoringModelInput!) { publishScoringModel(input: $i) { version publishedAt weights { engagement } } }";

async fn scored_account(m: &Client) -> String {
    let id = m.upsert_account("acme.io").await;
    let at = (Utc::now() - Duration::days(1)).to_rfc3339();
    let res = m
        .gql(
            "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) { accepted } }",
            json!({ "e": [{ "eventId": "1", "contactEmail": "jane@acme.io", "kind": "DEMO_REQUEST", "occurredAt": at }] }),
        )
        .await;
    assert_eq!(res["data"]["ingestEngagements"]["accepted"], 1, "{res}");
    id
}

async fn score_of(m: &Client, id: &str) -> Value {
    let res = m
        .gql("query($id: ID!) { account(id: $id) { score { total engagement modelVersion } scoreHistory { modelVersion } } }", json!({ "id": id }))
        .await;
    res["data"]["account"].clone()
}

#[tokio::test]
async fn every_role_reads_the_default_model() {
    let app = spawn_app().await;
    for role in [Role::Admin, Role::Marketer, Role::Manager, Role::Rep] {
        let res = app.user("acme", role).await.gql(MODEL, json!({})).await;
        let m = &res["data"]["scoringModel"];
        assert_eq!(
            (m["version"].as_i64(), m["publishedAt"].clone()),
            (Some(1), Value::Null),
            "{res}"
        );
        assert_eq!(m["halfLifeDays"], 30.0);
        assert_eq!(m["thresholds"], json!({ "mql": 50.0, "sql": 80.0 }));
        assert!(m["fitRules"].as_array().is_some_and(|r| !r.is_empty()));
    }
    assert_eq!(
        code(&app.anonymous().gql(MODEL, json!({})).await),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_bad_model_is_refused_with_its_field_and_nothing_changes() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    for (input, want) in [
        (
            json!({ "weights": { "fit": 0.5, "engagement": 0.5, "intent": 0.5 } }),
            "input.weights",
        ),
        (json!({ "halfLifeDays": 0 }), "input.halfLifeDays"),
        (
            json!({ "fitRules": [{ "name": "x", "points": 5, "industryIn": ["A"], "countryIn": ["US"] }] }),
            "input.fitRules[0]",
        ),
        (
            json!({ "fitRules": [{ "name": "x", "points": 5, "countryIn": ["Atlantis"] }] }),
            "input.fitRules[0].countryIn[0]",
        ),
        (
            json!({ "engagementPoints": [{ "kind": "TELEPATHY", "points": 5 }] }),
            "input.engagementPoints[0].kind",
        ),
        (
            json!({ "thresholds": { "mql": 90, "sql": 80, "sqlMinFit": 0, "sqlMinCoverage": 0, "demotionMargin": 10, "highIntentWindowDays": 30 } }),
            "input.thresholds",
        ),
    ] {
        let res = m.gql(PUBLISH, json!({ "i": input })).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{input}: {res}");
        assert!(
            field(&res).starts_with(want),
            "{input}: {} is not under {want}",
            field(&res)
        );
    }
    let res = m.gql(MODEL, json!({})).await;
    assert_eq!(res["data"]["scoringModel"]["version"], 1);
    for role in [Role::Manager, Role::Rep] {
        let res = app
            .user("acme", role)
            .await
            .gql(PUBLISH, json!({ "i": { "halfLifeDays": 10 } }))
            .await;
        assert_eq!(code(&res), "FORBIDDEN");
    }
}

#[tokio::test]
async fn publishing_rescores_every_account_from_aggregates_unless_the_half_life_changes() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let id = scored_account(&m).await;
    let before = score_of(&m, &id).await;
    assert_eq!(before["score"]["modelVersion"], 1);
    // Without raw events, only the stored aggregates can carry the engagement forward.
    app.state
        .db
        .execute_unprepared("DELETE FROM engagement_event")
        .await
        .unwrap();

    let res = m
        .gql(
            PUBLISH,
            json!({ "i": { "weights": { "fit": 0.1, "engagement": 0.8, "intent": 0.1 } } }),
        )
        .await;
    assert_eq!(res["data"]["publishScoringModel"]["version"], 2, "{res}");
    assert!(res["data"]["publishScoringModel"]["publishedAt"].is_string());
    let after = score_of(&m, &id).await;
    assert_eq!(after["score"]["modelVersion"], 2);
    let (was, is) = (
        before["score"]["engagement"].as_f64().unwrap(),
        after["score"]["engagement"].as_f64().unwrap(),
    );
    assert!(
        is > 0.0 && (was - is).abs() < 1e-3,
        "same aggregates, a moment later: {was} then {is}"
    );
    assert!(
        after["score"]["total"].as_f64() > before["score"]["total"].as_f64(),
        "engagement weighs more now"
    );
    assert_eq!(
        after["scoreHistory"],
        json!([{ "modelVersion": 1 }, { "modelVersion": 1 }, { "modelVersion": 2 }])
    );
    let model = m.gql(MODEL, json!({})).await;
    assert_eq!(model["data"]["scoringModel"]["weights"]["engagement"], 0.8);
    assert_eq!(
        model["data"]["scoringModel"]["halfLifeDays"], 30.0,
        "fields left out are kept"
    );

    // A new half-life rebuilds the aggregates from raw events, of which there are none now.
    m.gql(PUBLISH, json!({ "i": { "halfLifeDays": 14 } })).await;
    let rebuilt = score_of(&m, &id).await;
    assert_eq!(
        (
            rebuilt["score"]["modelVersion"].as_i64(),
            rebuilt["score"]["engagement"].as_f64()
        ),
        (Some(3), Some(0.0))
    );
}

#[tokio::test]
async fn idle_accounts_decay_when_time_passes() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let id = scored_account(&m).await;
    let fresh = score_of(&m, &id).await["score"]["engagement"]
        .as_f64()
        .unwrap();
    let later = Utc::now() + Duration::days(60);
    let n = quorum_api::scoring::rescore_stale_everywhere(&app.state.db, later)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let decayed = score_of(&m, &id).await;
    let value = decayed["score"]["engagement"].as_f64().unwrap();
    assert!(
        value > 0.0 && value < fresh / 2.0,
        "fresh {fresh}, two half-lives later {value}"
    );
    assert_eq!(
        decayed["scoreHistory"].as_array().map(Vec::len),
        Some(3),
        "creation, the events and the drop are on record"
    );
}
