//! Fault and race drills (issue 9): what two instances doing the same thing at once must not
//! break.

use chrono::{Duration, Utc};
use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{Client, spawn_app};

const INGEST: &str = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) {
    accepted duplicates rejected { reason } } }";

const ACCOUNT: &str = "query($id: ID!) { account(id: $id) { stage
    score { total engagement }
    transitions { from to }
    assignment { rep { id } } } }";

fn event(id: &str, email: &str, kind: &str, minutes_ago: i64) -> Value {
    let at = (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339();
    json!({ "eventId": id, "contactEmail": email, "kind": kind, "occurredAt": at })
}

async fn account(m: &Client, domain: &str) -> String {
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": [{ "name": domain, "domain": domain, "country": "US" }] }),
        )
        .await;
    let id = res["data"]["upsertAccounts"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{res}"))
        .to_owned();
    let res = m
        .gql(
            "mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }",
            json!({ "i": [{ "email": format!("jane@{domain}"), "seniority": "VP" }] }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    id
}

#[tokio::test]
async fn two_instances_rescoring_one_account_at_once_make_one_score_one_promotion_one_assignment() {
    let a = spawn_app().await;
    let b = a.sibling(|_| {}).await;
    let marketer = a.user("acme", Role::Marketer).await;
    marketer.publish_one_event_sql_model().await;
    let manager = a.user("acme", Role::Manager).await;
    let rep = a.user("acme", Role::Rep).await;
    let res = manager
        .gql(
            "mutation($id: ID!, $i: RepInput!) { updateRep(id: $id, input: $i) { id } }",
            json!({ "id": rep.id, "i": { "capacity": 100, "countries": ["US"] } }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let on_b = marketer.on(&b);

    // The control: the same two events, one after the other, on one instance.
    let control_id = account(&marketer, "control.io").await;
    for (id, kind, ago) in [("c1", "DEMO_REQUEST", 3), ("c2", "CONTACT_SALES", 2)] {
        let res = marketer
            .gql(
                INGEST,
                json!({ "e": [event(id, "jane@control.io", kind, ago)] }),
            )
            .await;
        assert_eq!(res["data"]["ingestEngagements"]["accepted"], 1, "{res}");
    }
    let control = manager.gql(ACCOUNT, json!({ "id": control_id })).await;
    let expected = control["data"]["account"]["score"]["engagement"]
        .as_f64()
        .unwrap_or_else(|| panic!("{control}"));

    // Several accounts, each hit by both instances at the same moment, so the two
    // transactions interleave in every way the databases allow.
    for round in 0..5 {
        let domain = format!("race{round}.io");
        let id = account(&marketer, &domain).await;
        let email = format!("jane@{domain}");
        let (one, two) = tokio::join!(
            marketer.gql(
                INGEST,
                json!({ "e": [event(&format!("{round}a"), &email, "DEMO_REQUEST", 3)] })
            ),
            on_b.gql(
                INGEST,
                json!({ "e": [event(&format!("{round}b"), &email, "CONTACT_SALES", 2)] })
            ),
        );
        for res in [&one, &two] {
            assert_eq!(res["data"]["ingestEngagements"]["accepted"], 1, "{res}");
        }
        let got = manager.gql(ACCOUNT, json!({ "id": id })).await;
        let acc = &got["data"]["account"];
        assert_eq!(acc["stage"], "SQL", "{got}");
        // Both events count, once each: the score is the control's.
        let engagement = acc["score"]["engagement"].as_f64().unwrap();
        assert!(
            (engagement - expected).abs() < 1e-6,
            "{engagement} vs {expected}: {got}"
        );
        let to_sql = acc["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["to"] == "SQL")
            .count();
        assert_eq!(to_sql, 1, "one promotion: {got}");
        assert_eq!(acc["assignment"]["rep"]["id"], rep.id.as_str(), "{got}");
        let res = manager
            .gql(
                "{ assignments(first: 100) { nodes { account { id } } } }",
                json!({}),
            )
            .await;
        let assigned = res["data"]["assignments"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{res}"))
            .iter()
            .filter(|n| n["account"]["id"] == id.as_str())
            .count();
        assert_eq!(assigned, 1, "one assignment: {res}");
    }
}

#[tokio::test]
async fn a_batch_sent_three_times_is_stored_once_and_answered_alike() {
    let app = spawn_app().await;
    let marketer = app.user("acme", Role::Marketer).await;
    marketer.publish_one_event_sql_model().await;
    let manager = app.user("acme", Role::Manager).await;
    let id = account(&marketer, "acme.io").await;
    const NAMED: &str = "mutation($e: [EngagementInput!]!, $b: String) {
        ingestEngagements(events: $e, batchId: $b) {
            accepted duplicates rescoredAccounts rejected { index eventId reason }
            promotions { id accountId from to at } } }";
    let batch = json!([
        event("e1", "jane@acme.io", "DEMO_REQUEST", 5),
        event("e2", "jane@acme.io", "TELEPATHY", 4),
        event("e3", "jane@acme.io", "WEB_VISIT", 3),
    ]);

    // A client retrying one after the other (its answers lost, say).
    let first = marketer
        .gql(NAMED, json!({ "e": batch, "b": "crm-sync-1" }))
        .await;
    let reply = &first["data"]["ingestEngagements"];
    assert_eq!(reply["accepted"], 2, "{first}");
    assert_eq!(reply["promotions"][0]["to"], "SQL", "{first}");
    for _ in 0..2 {
        let again = marketer
            .gql(NAMED, json!({ "e": batch, "b": "crm-sync-1" }))
            .await;
        assert_eq!(again, first);
    }
    // Stored and scored once: one promotion, and unnamed, the events are duplicates.
    let got = manager.gql(ACCOUNT, json!({ "id": id })).await;
    assert_eq!(
        got["data"]["account"]["transitions"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{got}"
    );
    let unnamed = marketer.gql(NAMED, json!({ "e": batch })).await;
    assert_eq!(
        unnamed["data"]["ingestEngagements"]["duplicates"], 2,
        "{unnamed}"
    );

    // Three copies of a new batch at the same moment: one answer for all three.
    let batch = json!([event("e4", "jane@acme.io", "PRICING_PAGE_VIEW", 2)]);
    let send = || marketer.gql(NAMED, json!({ "e": batch, "b": "crm-sync-2" }));
    let (a, b, c) = tokio::join!(send(), send(), send());
    assert_eq!(a["data"]["ingestEngagements"]["accepted"], 1, "{a}");
    assert_eq!((&b, &c), (&a, &a));

    // The same id for other events is a mistake, and says so; nothing of it is stored.
    let other = marketer
        .gql(
            NAMED,
            json!({ "e": [event("e5", "jane@acme.io", "WEB_VISIT", 1)], "b": "crm-sync-2" }),
        )
        .await;
    assert_eq!(crate::helpers::code(&other), "BAD_USER_INPUT", "{other}");
    assert_eq!(crate::helpers::field(&other), "batchId", "{other}");
    let e5 = marketer
        .gql(
            NAMED,
            json!({ "e": [event("e5", "jane@acme.io", "WEB_VISIT", 1)] }),
        )
        .await;
    assert_eq!(e5["data"]["ingestEngagements"]["accepted"], 1, "{e5}");

    // Batch ids are the workspace's own.
    let elsewhere = app.user("globex", Role::Marketer).await;
    let res = elsewhere
        .gql(
            NAMED,
            json!({ "e": [event("g1", "kim@globex.io", "WEB_VISIT", 1)], "b": "crm-sync-1" }),
        )
        .await;
    assert_eq!(res["data"]["ingestEngagements"]["accepted"], 1, "{res}");
}

/// PostgreSQL only (the suite's PostgreSQL pass runs it; SQLite has no server to lose): the
/// backend running an ingestion is terminated while the transaction waits half-way.
#[tokio::test]
async fn a_backend_terminated_mid_transaction_fails_the_request_as_retryable_and_writes_nothing() {
    use sea_orm::{ConnectionTrait, Database, TransactionTrait};

    let app = spawn_app().await;
    if !app.db.is_postgres() {
        return;
    }
    let marketer = app.user("acme", Role::Marketer).await;
    account(&marketer, "acme.io").await;
    // The batch first creates a contact (and its account) for an unknown e-mail, then stores
    // the events, which is where it will wait.
    let batch = json!({ "e": [
        event("t1", "jane@acme.io", "WEB_VISIT", 3),
        event("t2", "new.person@initech.com", "DEMO_REQUEST", 2),
    ] });

    // Hold the events table so the ingestion's insert waits, mid-transaction.
    let admin = Database::connect(app.db.url()).await.unwrap();
    let hold = admin.begin().await.unwrap();
    hold.execute_unprepared("LOCK TABLE engagement_event IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let sent = tokio::spawn({
        let m = marketer.clone();
        let batch = batch.clone();
        async move { m.gql(INGEST, batch).await }
    });
    // Find the waiting backend and terminate it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let killed = admin
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND wait_event_type = 'Lock' AND query ILIKE '%engagement_event%'",
            ))
            .await
            .unwrap()
            .and_then(|r| r.try_get::<i64>("", "n").ok())
            .unwrap_or(0);
        if killed > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ingestion never waited on the held table"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    hold.rollback().await.unwrap();

    let res = sent.await.unwrap();
    assert_eq!(crate::helpers::code(&res), "UNAVAILABLE", "{res}");
    assert_eq!(res["errors"][0]["extensions"]["retryable"], true, "{res}");
    // Nothing of the batch stayed: not the contact it created, not its account.
    let count = |table: &str| {
        let sql =
            format!("SELECT count(*) AS n FROM {table} WHERE email = 'new.person@initech.com'");
        let admin = &admin;
        async move {
            admin
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    sql,
                ))
                .await
                .unwrap()
                .and_then(|r| r.try_get::<i64>("", "n").ok())
                .unwrap_or(-1)
        }
    };
    assert_eq!(count("contact").await, 0);
    let accounts = marketer
        .gql("{ accounts(first: 10) { nodes { domain } } }", json!({}))
        .await;
    assert_eq!(
        accounts["data"]["accounts"]["nodes"],
        json!([{ "domain": "acme.io" }]),
        "{accounts}"
    );

    // The pool has recovered: the retry is stored, once.
    let res = marketer.gql(INGEST, batch.clone()).await;
    assert_eq!(res["data"]["ingestEngagements"]["accepted"], 2, "{res}");
    let again = marketer.gql(INGEST, batch).await;
    assert_eq!(
        again["data"]["ingestEngagements"]["duplicates"], 2,
        "{again}"
    );
    assert_eq!(count("contact").await, 1);
}
