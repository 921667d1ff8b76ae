//! Ingestion and scoring end to end: idempotent, per-item rejection, one transaction.

use chrono::{Duration, Utc};
use quorum_domain::value::Role;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{Client, code, field, spawn_app};

const INGEST: &str = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) {
    accepted duplicates rescoredAccounts rejected { index eventId reason } } }";
const SCORE: &str = "query($id: ID!) { account(id: $id) { stage
    score { total fit engagement intent committeeCoverage modelVersion breakdown { component source points detail } }
    scoreHistory { total modelVersion }
    contacts { edges { node { email engagementScore lastEngagedAt } } } } }";

fn ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339()
}

fn ev(id: &str, email: &str, kind: &str, days_ago: i64) -> Value {
    json!({ "eventId": id, "contactEmail": email, "kind": kind, "occurredAt": ago(days_ago) })
}

async fn ingest(c: &Client, events: Vec<Value>) -> Value {
    let res = c.gql(INGEST, json!({ "e": events })).await;
    assert!(res["errors"].is_null(), "{res}");
    res["data"]["ingestEngagements"].clone()
}

async fn score(c: &Client, id: &str) -> Value {
    let res = c.gql(SCORE, json!({ "id": id })).await;
    res["data"]["account"].clone()
}

/// Each component's contributions add up to the component.
fn assert_breakdown_sums(score: &Value) {
    let items = score["breakdown"].as_array().unwrap();
    for (component, key) in [
        ("FIT", "fit"),
        ("ENGAGEMENT", "engagement"),
        ("INTENT", "intent"),
    ] {
        let sum: f64 = items
            .iter()
            .filter(|c| c["component"] == component)
            .map(|c| c["points"].as_f64().unwrap())
            .sum();
        let value = score[key].as_f64().unwrap();
        assert!(
            (sum - value).abs() < 1e-6,
            "{component}: {sum} vs {value} in {score}"
        );
    }
}

async fn marketer_with_acme(app: &crate::helpers::TestApp) -> (Client, String) {
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
        "mutation { upsertContacts(input: [{email: \"jane@acme.io\", seniority: VP}, {email: \"ian@acme.io\", seniority: INDIVIDUAL_CONTRIBUTOR}]) { id } }",
        json!({}),
    )
    .await;
    (m, id)
}

#[tokio::test]
async fn ingested_events_score_the_account_with_an_explanation() {
    let app = spawn_app().await;
    let (m, id) = marketer_with_acme(&app).await;
    let before = score(&m, &id).await;
    assert_eq!(before["score"]["engagement"], 0.0);
    assert!(
        before["score"]["fit"].as_f64().unwrap() > 0.0,
        "fit is scored on upsert: {before}"
    );

    let out = ingest(
        &m,
        vec![
            ev("e1", "jane@acme.io", "DEMO_REQUEST", 1),
            ev("e2", "jane@acme.io", "EMAIL_OPEN", 2),
            ev("e3", "ian@acme.io", "EMAIL_OPEN", 0),
        ],
    )
    .await;
    assert_eq!(
        out,
        json!({ "accepted": 3, "duplicates": 0, "rescoredAccounts": 1, "rejected": [] })
    );

    let after = score(&m, &id).await;
    let s = &after["score"];
    assert!(s["engagement"].as_f64().unwrap() > 0.0, "{after}");
    assert!(
        s["fit"].as_f64().unwrap() > 0.0,
        "the default model likes mid-market software: {after}"
    );
    assert!(s["total"].as_f64().unwrap() > 0.0 && s["total"].as_f64().unwrap() <= 100.0);
    assert_eq!(s["modelVersion"], 1);
    assert_breakdown_sums(s);
    let sources: Vec<&str> = s["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"DEMO_REQUEST by jane@acme.io"),
        "{sources:?}"
    );
    // One point when the account was created, one for the events.
    assert_eq!(after["scoreHistory"].as_array().map(Vec::len), Some(2));
    let contacts = after["contacts"]["edges"].as_array().unwrap();
    let (ian, jane) = (&contacts[0]["node"], &contacts[1]["node"]);
    assert!(
        jane["engagementScore"].as_f64().unwrap() > ian["engagementScore"].as_f64().unwrap(),
        "{contacts:?}"
    );
    assert!(jane["lastEngagedAt"].is_string());
}

#[tokio::test]
async fn resent_events_are_duplicates_and_never_scored_twice() {
    let app = spawn_app().await;
    let (m, id) = marketer_with_acme(&app).await;
    let batch = vec![
        ev("a", "jane@acme.io", "PRICING_PAGE_VIEW", 3),
        ev("b", "jane@acme.io", "EMAIL_CLICK", 3),
        ev("a", "jane@acme.io", "PRICING_PAGE_VIEW", 3),
    ];
    let first = ingest(&m, batch.clone()).await;
    assert_eq!(
        (first["accepted"].as_i64(), first["duplicates"].as_i64()),
        (Some(2), Some(1))
    );
    let once = score(&m, &id).await["score"]["engagement"]
        .as_f64()
        .unwrap();
    let again = ingest(&m, batch).await;
    assert_eq!(
        again,
        json!({ "accepted": 0, "duplicates": 3, "rescoredAccounts": 0, "rejected": [] })
    );
    let twice = score(&m, &id).await["score"]["engagement"]
        .as_f64()
        .unwrap();
    assert_eq!(once, twice);
    let stored = quorum_api::store::entity::engagement_event::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(stored, 2);
}

#[tokio::test]
async fn bad_items_are_rejected_one_by_one_and_the_rest_kept() {
    let app = spawn_app().await;
    let (m, _) = marketer_with_acme(&app).await;
    let future = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let out = ingest(
        &m,
        vec![
            ev("ok-1", "jane@acme.io", "WEB_VISIT", 1),
            ev("bad-kind", "jane@acme.io", "TELEPATHY", 1),
            json!({ "eventId": "future", "contactEmail": "jane@acme.io", "kind": "WEB_VISIT", "occurredAt": future }),
            ev("free-mail", "someone@gmail.com", "WEB_VISIT", 1),
            json!({ "eventId": "", "contactEmail": "jane@acme.io", "kind": "WEB_VISIT", "occurredAt": ago(1) }),
            json!({ "eventId": "bad-date", "contactEmail": "jane@acme.io", "kind": "WEB_VISIT", "occurredAt": "yesterday" }),
            json!({ "eventId": "nobody", "contactId": "01a20684-f85c-725d-b7a7-4dc9b48d827a", "kind": "WEB_VISIT", "occurredAt": ago(1) }),
            json!({ "eventId": "no-target", "kind": "WEB_VISIT", "occurredAt": ago(1) }),
            json!({ "eventId": "bad-meta", "contactEmail": "jane@acme.io", "kind": "WEB_VISIT", "occurredAt": ago(1), "metadata": [1, 2] }),
            json!({ "eventId": "ok-2", "contactEmail": "jane@acme.io", "kind": "WEBINAR_ATTENDED", "occurredAt": ago(2), "metadata": { "topic": "ABM 101" } }),
        ],
    )
    .await;
    assert_eq!(out["accepted"], 2, "{out}");
    let rejected: Vec<i64> = out["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_i64().unwrap())
        .collect();
    assert_eq!(rejected, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(
        out["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["reason"].as_str().unwrap().is_empty())
    );
}

#[tokio::test]
async fn unknown_company_emails_and_intent_domains_create_what_they_need() {
    let app = spawn_app().await;
    let (m, acme) = marketer_with_acme(&app).await;
    let out = ingest(
        &m,
        vec![
            ev("n1", "new.person@initech.io", "CONTENT_DOWNLOAD", 1),
            ev("n2", "kim@eu.acme.io", "EMAIL_CLICK", 1),
            json!({ "eventId": "s1", "accountDomain": "acme.io", "kind": "INTENT_SURGE", "occurredAt": ago(1) }),
            json!({ "eventId": "s2", "accountDomain": "umbrella.com", "kind": "INTENT_SURGE", "occurredAt": ago(1) }),
            json!({ "eventId": "s3", "accountDomain": "acme.io", "kind": "EMAIL_OPEN", "occurredAt": ago(1) }),
        ],
    )
    .await;
    assert_eq!(out["accepted"], 4, "{out}");
    assert_eq!(
        out["rejected"][0]["index"], 4,
        "a contact-level kind needs a contact"
    );
    let res = m.gql("{ accounts { edges { node { domain stage score { intent engagement } contacts { edges { node { email } } } } } } }", json!({})).await;
    let by_domain: std::collections::HashMap<String, Value> = res["data"]["accounts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["domain"].as_str().unwrap().to_owned(),
                e["node"].clone(),
            )
        })
        .collect();
    assert_eq!(by_domain.len(), 3, "{res}");
    // Created as a TARGET, and ENGAGED by the same batch's events.
    assert_eq!(by_domain["initech.io"]["stage"], "ENGAGED");
    assert!(
        by_domain["initech.io"]["score"]["engagement"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        by_domain["umbrella.com"]["score"]["intent"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let acme_emails: Vec<&str> = by_domain["acme.io"]["contacts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["email"].as_str().unwrap())
        .collect();
    assert!(
        acme_emails.contains(&"kim@eu.acme.io"),
        "a sub-domain joins its company: {acme_emails:?}"
    );
    assert!(score(&m, &acme).await["score"]["intent"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn older_events_count_less() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let fresh = m.upsert_account("fresh.io").await;
    let stale = m.upsert_account("stale.io").await;
    ingest(
        &m,
        vec![
            ev("f", "a@fresh.io", "DEMO_REQUEST", 0),
            ev("s", "a@stale.io", "DEMO_REQUEST", 60),
        ],
    )
    .await;
    let f = score(&m, &fresh).await["score"]["engagement"]
        .as_f64()
        .unwrap();
    let s = score(&m, &stale).await["score"]["engagement"]
        .as_f64()
        .unwrap();
    assert!(s > 0.0 && s < f, "fresh {f}, 60 days old {s}");
}

#[tokio::test]
async fn a_failed_batch_writes_no_events_aggregates_or_scores() {
    let app = spawn_app().await;
    let (m, id) = marketer_with_acme(&app).await;
    let before = score(&m, &id).await;
    // Break the last write the batch makes, so everything before it must roll back.
    app.state
        .db
        .execute_unprepared("DROP TABLE score_history")
        .await
        .unwrap();
    let res = m.gql(INGEST, json!({ "e": [ev("x", "jane@acme.io", "DEMO_REQUEST", 0), ev("y", "new@initech.io", "EMAIL_OPEN", 0)] })).await;
    assert_eq!(code(&res), "INTERNAL", "{res}");
    use quorum_api::store::entity::{account, contact, contact_activity, engagement_event};
    let db = &app.state.db;
    assert_eq!(engagement_event::Entity::find().count(db).await.unwrap(), 0);
    assert_eq!(contact_activity::Entity::find().count(db).await.unwrap(), 0);
    assert_eq!(
        contact::Entity::find().count(db).await.unwrap(),
        2,
        "no contact created"
    );
    assert_eq!(
        account::Entity::find().count(db).await.unwrap(),
        1,
        "no account created"
    );
    let after = m
        .gql(
            "query($id: ID!) { account(id: $id) { score { total engagement } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        after["data"]["account"]["score"]["total"],
        before["score"]["total"]
    );
}

#[tokio::test]
async fn another_workspace_never_touches_your_scores() {
    let app = spawn_app().await;
    let (m, id) = marketer_with_acme(&app).await;
    ingest(&m, vec![ev("mine", "jane@acme.io", "EMAIL_OPEN", 0)]).await;
    let mine = score(&m, &id).await["score"].clone();
    let jane = m
        .gql(
            "{ accounts { edges { node { contacts { edges { node { id email } } } } } } }",
            json!({}),
        )
        .await["data"]["accounts"]["edges"][0]["node"]["contacts"]["edges"][1]["node"]["id"]
        .clone();

    let globex = app.user("globex", Role::Marketer).await;
    let out = ingest(
        &globex,
        vec![
            ev("mine", "jane@acme.io", "DEMO_REQUEST", 0),
            json!({ "eventId": "by-id", "contactId": jane, "kind": "DEMO_REQUEST", "occurredAt": ago(0) }),
            json!({ "eventId": "surge", "accountDomain": "acme.io", "kind": "INTENT_SURGE", "occurredAt": ago(0) }),
        ],
    )
    .await;
    // The same event id is theirs to use; the contact id is not theirs to name.
    assert_eq!(out["accepted"], 2, "{out}");
    assert_eq!(out["rejected"][0]["eventId"], "by-id");
    assert_eq!(score(&m, &id).await["score"], mine);
}

/// A contact's engagement goes with it to another account: the account it joins scores it,
/// then and on every later rescore, and the one it left no longer does.
#[tokio::test]
async fn a_contact_moving_to_another_account_takes_its_engagement_along() {
    let app = spawn_app().await;
    let (m, acme) = marketer_with_acme(&app).await;
    let initech = m.upsert_account("initech.io").await;
    let engagement = |s: &Value| s["score"]["engagement"].as_f64().unwrap_or(0.0);
    let names_jane = |s: &Value| s["score"]["breakdown"].to_string().contains("jane@acme.io");
    ingest(
        &m,
        vec![
            ev("j", "jane@acme.io", "DEMO_REQUEST", 1),
            ev("i", "ian@acme.io", "EMAIL_OPEN", 1),
        ],
    )
    .await;
    let acme_before = score(&m, &acme).await;
    assert!(names_jane(&acme_before), "{acme_before}");
    assert_eq!(engagement(&score(&m, &initech).await), 0.0);

    let res = m
        .gql(
            "mutation { upsertContacts(input: [{email: \"jane@acme.io\", accountDomain: \"initech.io\"}]) { id } }",
            json!({}),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let acme_after = score(&m, &acme).await;
    assert!(engagement(&acme_after) < engagement(&acme_before));
    assert!(!names_jane(&acme_after), "{acme_after}");
    let joined = score(&m, &initech).await;
    assert!(engagement(&joined) > 0.0 && names_jane(&joined), "{joined}");

    // An ingestion batch rescoring Initech for another reason reads her aggregates there too.
    let out = ingest(
        &m,
        vec![json!({ "eventId": "s", "accountDomain": "initech.io", "kind": "INTENT_SURGE", "occurredAt": ago(0) })],
    )
    .await;
    assert_eq!(out["rescoredAccounts"], 1, "{out}");
    let later = score(&m, &initech).await;
    assert!(names_jane(&later), "{later}");
    // Equal but for the decay of the moments between the two reads.
    assert!((engagement(&later) - engagement(&joined)).abs() < 1e-3);
}

/// An account's first engagement is its oldest event, whatever order the batches bring them
/// in: a later batch with an older event moves it back, one with only newer events leaves it.
#[tokio::test]
async fn the_first_engagement_is_the_oldest_event_in_any_order() {
    use quorum_api::store::entity::account;
    let app = spawn_app().await;
    let (m, _) = marketer_with_acme(&app).await;
    let db = &app.state.db;
    let first = || async {
        let a = account::Entity::find().all(db).await.unwrap();
        a[0].first_engaged_at.unwrap()
    };
    let days_ago = |at: chrono::DateTime<Utc>| (Utc::now() - at).num_hours() / 24;
    ingest(&m, vec![ev("a", "jane@acme.io", "EMAIL_OPEN", 5)]).await;
    assert_eq!(days_ago(first().await), 5);
    ingest(
        &m,
        vec![
            ev("b", "ian@acme.io", "EMAIL_OPEN", 2),
            ev("c", "jane@acme.io", "EMAIL_OPEN", 10),
        ],
    )
    .await;
    assert_eq!(days_ago(first().await), 10);
    ingest(&m, vec![ev("d", "jane@acme.io", "EMAIL_OPEN", 7)]).await;
    assert_eq!(days_ago(first().await), 10);
}

/// Before migration 22 a contact that moved left its aggregates at its old account; the
/// migration moves them to the contact's account.
#[tokio::test]
async fn migration_22_moves_aggregates_left_behind_to_their_contacts_account() {
    use quorum_api::store::entity::contact_activity;
    use quorum_migration::{Migrator, MigratorTrait};
    let app = spawn_app().await;
    let (m, acme) = marketer_with_acme(&app).await;
    ingest(&m, vec![ev("j", "jane@acme.io", "DEMO_REQUEST", 1)]).await;
    ingest(&m, vec![ev("n", "nina@initech.io", "EMAIL_OPEN", 1)]).await;
    let db = &app.state.db;
    // What a move did before: the contact changed account, its aggregates did not.
    db.execute_unprepared(
        "UPDATE contact SET account_id = (SELECT id FROM account WHERE domain = 'initech.io') \
         WHERE email = 'jane@acme.io'",
    )
    .await
    .unwrap();
    let accounts = || async {
        let mut rows: Vec<_> = contact_activity::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.account_id)
            .collect();
        rows.sort();
        rows
    };
    let initech = accounts()
        .await
        .into_iter()
        .flatten()
        .find(|a| a.to_string() != acme)
        .unwrap();
    assert_eq!(accounts().await.len(), 2);
    assert!(accounts().await.contains(&Some(acme.parse().unwrap())));

    Migrator::down(db, Some(1)).await.unwrap();
    Migrator::up(db, None).await.unwrap();
    assert_eq!(accounts().await, [Some(initech), Some(initech)]);
}

/// Quorum never removes an account or contact itself, but one removed by hand, or with its
/// workspace, takes its events along. PostgreSQL does that with statement triggers instead of
/// per-row references (migration 21): this checks what they do, on both backends.
#[tokio::test]
async fn removing_a_contact_an_account_or_a_workspace_removes_their_events() {
    use quorum_api::store::entity::engagement_event;
    let app = spawn_app().await;
    let (m, _) = marketer_with_acme(&app).await;
    let surge = |id: &str, domain: &str| json!({ "eventId": id, "accountDomain": domain, "kind": "INTENT_SURGE", "occurredAt": ago(1) });
    let out = ingest(
        &m,
        vec![
            ev("jane", "jane@acme.io", "EMAIL_OPEN", 1),
            ev("ian", "ian@acme.io", "EMAIL_OPEN", 1),
            surge("acme", "acme.io"),
            ev("nina", "nina@initech.io", "EMAIL_OPEN", 1),
            surge("initech", "initech.io"),
        ],
    )
    .await;
    assert_eq!(out["accepted"], 5, "{out}");
    let globex = app.user("globex", Role::Marketer).await;
    let out = ingest(&globex, vec![ev("gus", "gus@globex.io", "EMAIL_OPEN", 1)]).await;
    assert_eq!(out["accepted"], 1, "{out}");

    let db = &app.state.db;
    let left = || async {
        let mut ids: Vec<String> = engagement_event::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        ids.sort();
        ids
    };
    let run = |sql: &'static str| async move { db.execute_unprepared(sql).await.unwrap() };
    run("DELETE FROM contact WHERE email IN ('jane@acme.io', 'nina@initech.io')").await;
    assert_eq!(left().await, ["acme", "gus", "ian", "initech"]);
    run("DELETE FROM account WHERE domain = 'initech.io'").await;
    assert_eq!(left().await, ["acme", "gus", "ian"]);
    run("DELETE FROM workspace WHERE name = 'acme'").await;
    assert_eq!(left().await, ["gus"], "another workspace's events stay");
}

#[tokio::test]
async fn only_admins_and_marketers_ingest_and_batches_are_bounded() {
    let app = spawn_app().await;
    let batch = json!({ "e": [ev("e", "a@acme.io", "EMAIL_OPEN", 0)] });
    for role in [Role::Manager, Role::Rep] {
        assert_eq!(
            code(
                &app.user("acme", role)
                    .await
                    .gql(INGEST, batch.clone())
                    .await
            ),
            "FORBIDDEN"
        );
    }
    assert_eq!(
        code(&app.anonymous().gql(INGEST, batch).await),
        "UNAUTHENTICATED"
    );
    let m = app.user("acme", Role::Admin).await;
    let res = m.gql(INGEST, json!({ "e": [] })).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", "events"));
    let too_many: Vec<Value> = (0..10_001)
        .map(|i| ev(&format!("e{i}"), "a@acme.io", "EMAIL_OPEN", 0))
        .collect();
    let res = m.gql(INGEST, json!({ "e": too_many })).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", "events"));
}

#[tokio::test]
async fn committee_roles_count_once_their_holder_engages() {
    let app = spawn_app().await;
    let (m, id) = marketer_with_acme(&app).await;
    let contacts = m
        .gql(
            "query($id: ID!) { account(id: $id) { contacts { edges { node { id email } } } } }",
            json!({ "id": id }),
        )
        .await;
    let jane = contacts["data"]["account"]["contacts"]["edges"][1]["node"]["id"].clone();
    let committee = m
        .gql(
            "mutation($a: ID!) { createBuyingCommittee(accountId: $a, name: \"Platform\") { id } }",
            json!({ "a": id }),
        )
        .await["data"]["createBuyingCommittee"]["id"]
        .clone();
    m.gql(
        "mutation($c: ID!, $p: ID!) { setCommitteeMember(committeeId: $c, contactId: $p, role: DECISION_MAKER) { id } }",
        json!({ "c": committee, "p": jane }),
    )
    .await;
    assert_eq!(
        score(&m, &id).await["score"]["committeeCoverage"],
        0.0,
        "a silent decision maker does not count"
    );
    ingest(&m, vec![ev("j1", "jane@acme.io", "WEB_VISIT", 2)]).await;
    let s = score(&m, &id).await["score"].clone();
    assert_eq!(s["committeeCoverage"], 0.25, "{s}");
    let committee_points: f64 = s["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["component"] == "COMMITTEE")
        .map(|c| c["points"].as_f64().unwrap())
        .sum();
    assert!(committee_points > 0.0, "{s}");
}
