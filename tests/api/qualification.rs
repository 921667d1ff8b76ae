//! Qualification end to end: promotions with their gates, hysteresis, manual stages, and the
//! outbox row written in the same transaction as a promotion to SQL.

use chrono::{Duration, Utc};
use quorum_api::store::entity::outbox;
use quorum_domain::value::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, code, field, spawn_app};

const INGEST: &str = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) {
    accepted duplicates promotions { from to automatic reason modelVersion } } }";
const ACCOUNT: &str = "query($id: ID!) { account(id: $id) { stage score { total }
    transitions { from to automatic reason modelVersion actor { email } } } }";
const PUBLISH: &str =
    "mutation($i: ScoringModelInput!) { publishScoringModel(input: $i) { version } }";
const SET_STAGE: &str = "mutation($id: ID!, $s: Stage!, $r: String!) { setStage(accountId: $id, stage: $s, reason: $r) { stage } }";

fn ev(id: &str, kind: &str, hours_ago: i64) -> Value {
    let at = (Utc::now() - Duration::hours(hours_ago)).to_rfc3339();
    json!({ "eventId": id, "contactEmail": "jane@acme.io", "kind": kind, "occurredAt": at })
}

/// A model whose total is the engagement alone, with low lines: the account stays `TARGET`
/// until its first event, and the tests exercise the gates rather than the default model's
/// arithmetic.
async fn publish_thresholds(m: &Client, mql: f64, sql: f64) {
    let res = m
        .gql(
            PUBLISH,
            json!({ "i": { "weights": { "fit": 0.0, "engagement": 1.0, "intent": 0.0 },
                "thresholds": { "mql": mql, "sql": sql, "sqlMinFit": 0.0,
                "sqlMinCoverage": 0.0, "demotionMargin": 10.0, "highIntentWindowDays": 30.0 } } }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
}

async fn acme(app: &TestApp) -> (Client, String) {
    let m = app.user("acme", Role::Marketer).await;
    let res = m
        .gql(
            "mutation { upsertAccounts(input: [{name: \"Acme\", domain: \"acme.io\", industry: \"Software\", employeeCount: 500, country: \"US\"}]) { id } }",
            json!({}),
        )
        .await;
    let id = res["data"]["upsertAccounts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    m.gql(
        "mutation { upsertContacts(input: [{email: \"jane@acme.io\", seniority: VP}]) { id } }",
        json!({}),
    )
    .await;
    publish_thresholds(&m, 1.0, 2.0).await;
    (m, id)
}

async fn ingest(c: &Client, events: Vec<Value>) -> Value {
    let res = c.gql(INGEST, json!({ "e": events })).await;
    assert!(res["errors"].is_null(), "{res}");
    res["data"]["ingestEngagements"].clone()
}

async fn account(c: &Client, id: &str) -> Value {
    let res = c.gql(ACCOUNT, json!({ "id": id })).await;
    assert!(res["errors"].is_null(), "{res}");
    res["data"]["account"].clone()
}

async fn outbox_rows(app: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("SQL_PROMOTED"))
        .order_by_asc(outbox::Column::Seq)
        .all(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_high_intent_action_promotes_a_qualified_account_to_sql_once() {
    let app = spawn_app().await;
    let (m, id) = acme(&app).await;

    // Score above both lines, but no high-intent action: MQL, not SQL.
    let out = ingest(&m, vec![ev("1", "EMAIL_OPEN", 2), ev("2", "WEB_VISIT", 1)]).await;
    assert_eq!(out["accepted"], 2);
    let promotions = out["promotions"].as_array().unwrap();
    assert_eq!(promotions.len(), 1, "{out}");
    assert_eq!(promotions[0]["from"], "TARGET");
    assert_eq!(promotions[0]["to"], "MQL");
    assert_eq!(promotions[0]["automatic"], true);
    assert_eq!(promotions[0]["modelVersion"], 2);
    assert!(outbox_rows(&app).await.is_empty());

    let out = ingest(&m, vec![ev("3", "DEMO_REQUEST", 0)]).await;
    let promotions = out["promotions"].as_array().unwrap();
    assert_eq!(promotions.len(), 1, "{out}");
    assert_eq!(promotions[0]["from"], "MQL");
    assert_eq!(promotions[0]["to"], "SQL");
    let reason = promotions[0]["reason"].as_str().unwrap();
    assert!(reason.contains("DEMO_REQUEST"), "{reason}");
    assert!(reason.contains("≥ 2"), "{reason}");

    let rows = outbox_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].seq, 1);
    assert_eq!(rows[0].account_id.map(|a| a.to_string()), Some(id.clone()));

    // The same batch again: duplicates, no transition, no event.
    let out = ingest(&m, vec![ev("3", "DEMO_REQUEST", 0)]).await;
    assert_eq!(out["duplicates"], 1);
    assert_eq!(out["promotions"], json!([]));
    // More engagement on an SQL: still one promotion on record.
    let out = ingest(&m, vec![ev("4", "PRICING_PAGE_VIEW", 0)]).await;
    assert_eq!(out["promotions"], json!([]));
    assert_eq!(outbox_rows(&app).await.len(), 1);

    let a = account(&m, &id).await;
    assert_eq!(a["stage"], "SQL");
    let path: Vec<(String, String)> = a["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap().into(),
                t["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        path,
        [
            ("TARGET".into(), "MQL".into()),
            ("MQL".into(), "SQL".into())
        ]
    );
    assert!(a["transitions"][1]["actor"].is_null(), "the system did it");
}

#[tokio::test]
async fn a_falling_score_demotes_only_past_the_margin() {
    let app = spawn_app().await;
    let (m, id) = acme(&app).await;
    ingest(&m, vec![ev("1", "DEMO_REQUEST", 1)]).await;
    let a = account(&m, &id).await;
    assert_eq!(a["stage"], "SQL", "{a}");
    let total = a["score"]["total"].as_f64().unwrap();
    assert!(total < 80.0, "the test needs room above the score: {total}");

    // The SQL line moves above the score, but by less than the margin: no change.
    publish_thresholds(&m, 1.0, total + 9.0).await;
    assert_eq!(account(&m, &id).await["stage"], "SQL");

    // Past the margin: back to MQL, with the line crossed as the reason.
    publish_thresholds(&m, 1.0, total + 11.0).await;
    let a = account(&m, &id).await;
    assert_eq!(a["stage"], "MQL");
    let last = a["transitions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str()),
        (Some("SQL"), Some("MQL"))
    );
    assert_eq!(last["modelVersion"], 4);
    assert!(
        last["reason"].as_str().unwrap().contains("margin"),
        "{last}"
    );
}

#[tokio::test]
async fn a_manual_disqualification_sticks_and_is_on_record() {
    let app = spawn_app().await;
    let (m, id) = acme(&app).await;
    let manager = app.user("acme", Role::Manager).await;
    let res = manager
        .gql(
            SET_STAGE,
            json!({ "id": id, "s": "DISQUALIFIED", "r": "a competitor's subsidiary" }),
        )
        .await;
    assert_eq!(res["data"]["setStage"]["stage"], "DISQUALIFIED", "{res}");

    let out = ingest(
        &m,
        vec![ev("1", "DEMO_REQUEST", 0), ev("2", "CONTACT_SALES", 0)],
    )
    .await;
    assert_eq!(out["accepted"], 2);
    assert_eq!(out["promotions"], json!([]));
    let a = account(&m, &id).await;
    assert_eq!(a["stage"], "DISQUALIFIED");
    let t = &a["transitions"][0];
    assert_eq!(t["automatic"], false);
    assert_eq!(t["reason"], "a competitor's subsidiary");
    assert_eq!(t["actor"]["email"], manager.email.as_str());
    assert!(t["modelVersion"].is_null());
    assert!(outbox_rows(&app).await.is_empty());

    // Reopened by hand, the account qualifies again on its score.
    let res = manager
        .gql(
            SET_STAGE,
            json!({ "id": id, "s": "TARGET", "r": "cleared by legal" }),
        )
        .await;
    assert_eq!(res["data"]["setStage"]["stage"], "TARGET", "{res}");
    let out = ingest(&m, vec![ev("3", "PRICING_PAGE_VIEW", 0)]).await;
    assert_eq!(out["promotions"][0]["to"], "SQL", "{out}");
    assert_eq!(outbox_rows(&app).await.len(), 1);
}

#[tokio::test]
async fn set_stage_refuses_what_it_must() {
    let app = spawn_app().await;
    let (_, id) = acme(&app).await;
    let manager = app.user("acme", Role::Manager).await;

    let res = manager
        .gql(SET_STAGE, json!({ "id": id, "s": "MQL", "r": "  " }))
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(field(&res), "reason");
    let res = manager
        .gql(SET_STAGE, json!({ "id": id, "s": "WON", "r": "closed" }))
        .await;
    assert_eq!(code(&res), "CONFLICT", "{res}");
    let res = manager
        .gql(SET_STAGE, json!({ "id": id, "s": "TARGET", "r": "same" }))
        .await;
    assert_eq!(code(&res), "CONFLICT", "{res}");

    // A rep changes only accounts they own; another workspace's account does not exist.
    let rep = app.user("acme", Role::Rep).await;
    let res = rep
        .gql(
            SET_STAGE,
            json!({ "id": id, "s": "MQL", "r": "looks keen" }),
        )
        .await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let outsider = app.user("globex", Role::Admin).await;
    let res = outsider
        .gql(
            SET_STAGE,
            json!({ "id": id, "s": "MQL", "r": "looks keen" }),
        )
        .await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");

    let a = account(&manager, &id).await;
    assert_eq!(a["stage"], "TARGET");
    assert_eq!(a["transitions"], json!([]), "nothing half-written");
}

#[tokio::test]
async fn decay_demotes_an_sql_only_once_it_falls_past_the_margin() {
    let app = spawn_app().await;
    let (m, id) = acme(&app).await;
    // SQL at 30, demoted below 30 − 10.
    publish_thresholds(&m, 1.0, 30.0).await;
    ingest(&m, vec![ev("1", "DEMO_REQUEST", 0)]).await;
    let a = account(&m, &id).await;
    assert_eq!(a["stage"], "SQL", "{a}");
    assert!(a["score"]["total"].as_f64().unwrap() >= 30.0);

    // The periodic pass, run as if weeks had gone by: below the line, above the margin.
    let db = &app.state.db;
    let rescore = |days: i64| {
        quorum_api::scoring::rescore_stale_everywhere(db, Utc::now() + Duration::days(days))
    };
    rescore(45).await.unwrap();
    let a = account(&m, &id).await;
    let total = a["score"]["total"].as_f64().unwrap();
    assert!(
        (20.0..30.0).contains(&total),
        "the setup needs a total between the lines: {total}"
    );
    assert_eq!(a["stage"], "SQL", "within the margin: no flapping");

    rescore(80).await.unwrap();
    let a = account(&m, &id).await;
    assert!(a["score"]["total"].as_f64().unwrap() < 20.0, "{a}");
    assert_eq!(a["stage"], "MQL");
    let last = a["transitions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["from"].as_str(), last["automatic"].as_bool()),
        (Some("SQL"), Some(true))
    );
    assert!(
        last["reason"].as_str().unwrap().contains("margin"),
        "{last}"
    );
}
