//! Funnel, velocity and SLA figures against a fixture whose every number is worked out by hand
//! below. The history is written straight into the tables with chosen instants (the mutations
//! would stamp "now").

use chrono::{DateTime, TimeZone as _, Utc};
use quorum_api::store;
use quorum_api::store::entity::{
    account, assignment, engagement_event, funnel_entry, opportunity, stage_transition,
};
use quorum_domain::value::Role;
use sea_orm::{ActiveModelTrait as _, EntityTrait, IntoActiveModel as _};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Client, TestApp, code, field, spawn_app, spawn_app_with};

const FUNNEL: &str = "query($from: DateTime!, $to: DateTime!, $s: ID) { funnel(from: $from, to: $to, segmentId: $s) {
    stages { stage entered next converted conversionRate timeToNext { count medianHours p90Hours } }
    timeToSql { count medianHours p90Hours } sqlToWon { count medianHours p90Hours }
    sqlSourcedRevenue spend costPerSql } }";
const VELOCITY: &str = "query($from: DateTime!, $to: DateTime!, $s: ID, $g: PipelineGroup) {
    pipelineVelocity(from: $from, to: $to, segmentId: $s, groupBy: $g) {
        key label opportunities won lost open winRate averageDealSize averageCycleDays velocity } }";
const SLA: &str = "query($from: DateTime!, $to: DateTime!) { slaCompliance(from: $from, to: $to) {
    repId repName assignments withinSla withinSlaRate medianMinutesToFirstTouch } }";
const SPEND: &str = "mutation($m: String!, $a: Float!, $s: ID) { recordMarketingSpend(month: $m, amount: $a, segmentId: $s) }";

fn at(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0)
        .single()
        .unwrap()
}

fn window() -> Value {
    json!({ "from": at(3, 1, 0, 0).to_rfc3339(), "to": at(4, 1, 0, 0).to_rfc3339() })
}

fn vars(extra: Value) -> Value {
    let mut v = window();
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

struct Fixture {
    app: TestApp,
    manager: Client,
    marketer: Client,
    rep: Client,
    segment: String,
}

async fn upsert(m: &Client, domain: &str, tier: Option<i32>) -> Uuid {
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": [{ "name": domain, "domain": domain, "tier": tier }] }),
        )
        .await;
    Uuid::parse_str(res["data"]["upsertAccounts"][0]["id"].as_str().unwrap()).unwrap()
}

/// Accounts A and B (tier 1), C and D (no tier); the stage history, engagement, deals and
/// assignments the expectations below are computed from.
async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let marketer = app.user("acme", Role::Marketer).await;
    let manager = app.user("acme", Role::Manager).await;
    let rep = app.user("acme", Role::Rep).await;
    let rep_id = Uuid::parse_str(&rep.id).unwrap();
    let db = &app.state.db;
    let ws = quorum_api::store::workspace::find_or_create(db, "acme")
        .await
        .unwrap()
        .id;
    let a = upsert(&marketer, "a.io", Some(1)).await;
    let b = upsert(&marketer, "b.io", Some(1)).await;
    let c = upsert(&marketer, "c.io", None).await;
    let d = upsert(&marketer, "d.io", None).await;

    let transitions = [
        (a, "ENGAGED", at(3, 2, 0, 0)),
        (a, "MQL", at(3, 3, 0, 0)),
        (a, "SQL", at(3, 5, 0, 0)),
        (a, "OPPORTUNITY", at(3, 10, 0, 0)),
        (a, "WON", at(3, 20, 0, 0)),
        (b, "MQL", at(3, 4, 0, 0)),
        (b, "SQL", at(3, 6, 0, 0)),
        (b, "SQL", at(3, 8, 0, 0)),
        (c, "MQL", at(2, 20, 0, 0)),
        (c, "SQL", at(3, 7, 0, 0)),
        (c, "OPPORTUNITY", at(4, 2, 0, 0)),
        // D also engaged in February: its March entry is still its first in the window.
        (d, "ENGAGED", at(2, 10, 0, 0)),
        (d, "ENGAGED", at(3, 15, 0, 0)),
    ];
    // Written one at a time, newest first, and the older engagement after the newer: the
    // links the funnel reads (previous entry, next stage, first engagement) must come out
    // the same whatever order history arrives in.
    for (account, to, when) in transitions.into_iter().rev() {
        let row = stage_transition::Model {
            id: Uuid::now_v7(),
            workspace_id: ws,
            account_id: account,
            from_stage: "TARGET".into(),
            to_stage: to.into(),
            at: when,
            reason: "fixture".into(),
            reason_detail: "\"fixture\"".into(),
            actor_id: None,
            model_version: None,
        };
        store::qualification::insert_transitions(db, &[row])
            .await
            .unwrap();
    }
    for (i, (account, when)) in [
        (a, at(3, 1, 0, 0)),
        (a, at(3, 4, 0, 0)),
        (b, at(2, 25, 0, 0)),
    ]
    .into_iter()
    .enumerate()
    .rev()
    {
        let event = engagement_event::Model {
            id: Uuid::now_v7(),
            workspace_id: ws,
            event_id: format!("fixture-{i}"),
            account_id: account,
            contact_id: None,
            kind: "WEB_VISIT".into(),
            occurred_at: when,
            metadata: None,
            received_at: when,
        };
        // Nothing read beforehand: every account's first engagement is checked.
        store::engagement::insert_events(db, vec![event], &Default::default())
            .await
            .unwrap();
    }
    let deals = [
        (a, 1000.0, "WON", at(3, 10, 0, 0), Some(at(3, 20, 0, 0))),
        (d, 500.0, "WON", at(3, 16, 0, 0), Some(at(3, 25, 0, 0))),
        (b, 2000.0, "LOST", at(3, 12, 0, 0), Some(at(3, 15, 0, 0))),
        (d, 700.0, "OPEN", at(3, 28, 0, 0), None),
        (c, 9000.0, "OPEN", at(4, 2, 0, 0), None),
    ];
    for (account, amount, status, created, closed) in deals {
        opportunity::Model {
            id: Uuid::now_v7(),
            workspace_id: ws,
            account_id: account,
            amount,
            status: status.into(),
            created_by: rep_id,
            created_at: created,
            closed_at: closed,
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    }
    let mut owned = account::Entity::find_by_id((ws, a))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    owned.owner_id = sea_orm::Set(Some(rep_id));
    owned.update(db).await.unwrap();
    let touches = [
        (
            a,
            at(3, 5, 0, 0),
            at(3, 5, 0, 5),
            Some(at(3, 5, 0, 3)),
            "CLOSED",
        ),
        (
            b,
            at(3, 6, 0, 0),
            at(3, 6, 1, 0),
            Some(at(3, 6, 2, 0)),
            "CLOSED",
        ),
        (c, at(3, 7, 0, 0), at(3, 7, 1, 0), None, "PENDING"),
        (d, at(2, 1, 0, 0), at(2, 1, 1, 0), None, "CLOSED"),
    ];
    for (account, assigned, due, touched, status) in touches {
        assignment::Model {
            id: Uuid::now_v7(),
            workspace_id: ws,
            account_id: account,
            rep_id: Some(rep_id),
            status: status.into(),
            rule: None,
            reason: "fixture".into(),
            assigned_at: assigned,
            due_at: due,
            accepted_at: None,
            first_touch_at: touched,
            first_touch_channel: touched.map(|_| "call".into()),
            closed_at: None,
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    }
    let seg = marketer
        .gql(
            "mutation { createSegment(input: { name: \"Tier one\", filter: { tierIn: [1] } }) { id } }",
            json!({}),
        )
        .await;
    let segment = seg["data"]["createSegment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (month, amount, s) in [
        ("2026-03", 3000.0, Value::Null),
        ("2026-03", 600.0, json!(segment)),
        ("2026-04", 999.0, Value::Null),
        ("2026-02", 1.0, Value::Null),
    ] {
        let res = marketer
            .gql(SPEND, json!({ "m": month, "a": amount, "s": s }))
            .await;
        assert_eq!(res["data"]["recordMarketingSpend"], true, "{res}");
    }
    Fixture {
        app,
        manager,
        marketer,
        rep,
        segment,
    }
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-6)
}

fn stage<'a>(f: &'a Value, name: &str) -> &'a Value {
    f["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
        .unwrap_or_else(|| panic!("no {name} in {f}"))
}

#[tokio::test]
async fn the_funnel_matches_the_hand_computed_fixture() {
    let f = fixture().await;
    let res = f.manager.gql(FUNNEL, window()).await;
    let funnel = &res["data"]["funnel"];
    assert!(res["errors"].is_null(), "{res}");

    // ENGAGED: A (Mar 2) and D (Mar 15); only A reached MQL, a day later.
    let s = stage(funnel, "ENGAGED");
    assert_eq!(
        (
            s["entered"].as_i64(),
            s["next"].as_str(),
            s["converted"].as_i64()
        ),
        (Some(2), Some("MQL"), Some(1)),
        "{s}"
    );
    assert!(
        close(&s["conversionRate"], 0.5) && close(&s["timeToNext"]["medianHours"], 24.0),
        "{s}"
    );
    // MQL: A and B (C's MQL was in February); both SQL two days later.
    let s = stage(funnel, "MQL");
    assert_eq!(
        (s["entered"].as_i64(), s["converted"].as_i64()),
        (Some(2), Some(2)),
        "{s}"
    );
    assert!(
        close(&s["conversionRate"], 1.0) && close(&s["timeToNext"]["p90Hours"], 48.0),
        "{s}"
    );
    // SQL: A, B (first entry only) and C; A opened a deal after 120 h, C after 624 h (in
    // April, after the window: conversion counts until now).
    let s = stage(funnel, "SQL");
    assert_eq!(
        (s["entered"].as_i64(), s["converted"].as_i64()),
        (Some(3), Some(2)),
        "{s}"
    );
    assert!(close(&s["conversionRate"], 2.0 / 3.0), "{s}");
    assert!(close(&s["timeToNext"]["medianHours"], 372.0), "{s}");
    assert!(
        close(&s["timeToNext"]["p90Hours"], 120.0 + 0.9 * 504.0),
        "{s}"
    );
    // OPPORTUNITY: A only; won 240 h later. WON: A, the last step.
    let s = stage(funnel, "OPPORTUNITY");
    assert_eq!(
        (s["entered"].as_i64(), s["converted"].as_i64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert!(close(&s["timeToNext"]["medianHours"], 240.0), "{s}");
    let s = stage(funnel, "WON");
    assert_eq!(
        (
            s["entered"].as_i64(),
            s["next"].as_str(),
            s["converted"].as_i64()
        ),
        (Some(1), None, None),
        "{s}"
    );
    assert!(s["conversionRate"].is_null() && s["timeToNext"].is_null());

    // First engagement → SQL: A 96 h, B 216 h; C never engaged and is left out.
    let t = &funnel["timeToSql"];
    assert_eq!(t["count"], 2, "{t}");
    assert!(
        close(&t["medianHours"], 156.0) && close(&t["p90Hours"], 204.0),
        "{t}"
    );
    // SQL → won: A, 15 days.
    assert!(close(&funnel["sqlToWon"]["medianHours"], 360.0), "{funnel}");
    // Only A's deal was SQL-sourced (D was never an SQL).
    assert!(close(&funnel["sqlSourcedRevenue"], 1000.0), "{funnel}");
    // March's spend (the workspace's 3,000 and the segment's 600) over three SQLs.
    assert!(
        close(&funnel["spend"], 3600.0) && close(&funnel["costPerSql"], 1200.0),
        "{funnel}"
    );

    // The segment (tier 1: A and B): its own spend over its two SQLs.
    let res = f.manager.gql(FUNNEL, vars(json!({ "s": f.segment }))).await;
    let funnel = &res["data"]["funnel"];
    assert_eq!(stage(funnel, "SQL")["entered"], 2, "{res}");
    assert_eq!(stage(funnel, "ENGAGED")["entered"], 1);
    assert!(
        close(&funnel["spend"], 600.0) && close(&funnel["costPerSql"], 300.0),
        "{funnel}"
    );
}

/// Every funnel entry's links and copy of the first engagement, and every account's first
/// engagement, by id.
async fn links(db: &sea_orm::DatabaseConnection) -> Vec<(Uuid, [Option<DateTime<Utc>>; 3])> {
    let mut out: Vec<_> = funnel_entry::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, [t.prev_entry_at, t.next_stage_at, t.first_engaged_at]))
        .chain(
            account::Entity::find()
                .all(db)
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.id, [a.first_engaged_at, None, None])),
        )
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn the_migration_links_earlier_history_exactly_as_writing_it_does() {
    use quorum_migration::{Migrator, MigratorTrait as _};
    let f = fixture().await;
    let db = &f.app.state.db;
    let written = links(db).await;
    for i in 0..3 {
        assert!(
            written.iter().any(|(_, l)| l[i].is_some()),
            "the fixture has links of kind {i} to check: {written:?}"
        );
    }
    // Without the columns, then with them again, filled in by the migrations' backfills
    // (every migration from the one that added the links on is undone).
    let all = Migrator::migrations();
    let links_added = all
        .iter()
        .position(|m| m.name() == "m20261123_000014_funnel_links")
        .unwrap();
    Migrator::down(db, Some((all.len() - links_added) as u32))
        .await
        .unwrap();
    Migrator::up(db, None).await.unwrap();
    assert_eq!(links(db).await, written);
    let res = f.manager.gql(FUNNEL, window()).await;
    assert_eq!(stage(&res["data"]["funnel"], "SQL")["entered"], 3, "{res}");
}

#[tokio::test]
async fn an_empty_window_answers_zeros_and_nulls_never_nan() {
    let f = fixture().await;
    let empty = json!({ "from": at(6, 1, 0, 0).to_rfc3339(), "to": at(7, 1, 0, 0).to_rfc3339() });
    let res = f.manager.gql(FUNNEL, empty.clone()).await;
    let funnel = &res["data"]["funnel"];
    assert!(res["errors"].is_null(), "{res}");
    for s in funnel["stages"].as_array().unwrap() {
        assert_eq!(s["entered"], 0, "{s}");
        assert!(s["conversionRate"].is_null(), "{s}");
    }
    assert!(funnel["timeToSql"]["medianHours"].is_null());
    assert!(funnel["spend"].is_null() && funnel["costPerSql"].is_null());
    assert_eq!(funnel["sqlSourcedRevenue"], 0.0);
    let res = f.manager.gql(VELOCITY, empty).await;
    assert_eq!(res["data"]["pipelineVelocity"], json!([]), "{res}");
}

#[tokio::test]
async fn velocity_matches_the_fixture_in_every_grouping() {
    let f = fixture().await;
    let rows = |res: &Value| {
        res["data"]["pipelineVelocity"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("{res}"))
    };
    // Opened in March: A (won 1,000 in 10 days), D (won 500 in 9), B (lost), D's open one.
    let all = rows(&f.manager.gql(VELOCITY, window()).await);
    assert_eq!(all.len(), 1);
    let r = &all[0];
    assert_eq!(
        (
            r["key"].as_str(),
            r["opportunities"].as_i64(),
            r["won"].as_i64(),
            r["lost"].as_i64(),
            r["open"].as_i64()
        ),
        (Some("all"), Some(4), Some(2), Some(1), Some(1)),
        "{r}"
    );
    assert!(
        close(&r["winRate"], 2.0 / 3.0) && close(&r["averageDealSize"], 750.0),
        "{r}"
    );
    assert!(close(&r["averageCycleDays"], 9.5), "{r}");
    assert!(
        close(&r["velocity"], 4.0 * (2.0 / 3.0) * 750.0 / 9.5),
        "{r}"
    );

    let tiers = rows(&f.manager.gql(VELOCITY, vars(json!({ "g": "TIER" }))).await);
    let keys: Vec<&str> = tiers.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["1", "none"]);
    assert!(close(&tiers[0]["velocity"], 100.0), "A and B: {}", tiers[0]);
    assert!(
        close(&tiers[1]["velocity"], 2.0 * 500.0 / 9.0),
        "D: {}",
        tiers[1]
    );

    let reps = rows(&f.manager.gql(VELOCITY, vars(json!({ "g": "REP" }))).await);
    let mine = reps
        .iter()
        .find(|r| r["key"] == f.rep.id.as_str())
        .unwrap_or_else(|| panic!("{reps:?}"));
    assert_eq!(
        (mine["opportunities"].as_i64(), mine["won"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(
        close(&mine["velocity"], 100.0),
        "one deal of 1,000 won in 10 days: {mine}"
    );
    assert_eq!(
        reps.iter().find(|r| r["key"] == "none").unwrap()["opportunities"],
        3
    );

    let months = rows(&f.manager.gql(VELOCITY, vars(json!({ "g": "MONTH" }))).await);
    assert_eq!(months.len(), 1);
    assert_eq!(months[0]["key"], "2026-03");

    let segments = rows(
        &f.manager
            .gql(VELOCITY, vars(json!({ "g": "SEGMENT" })))
            .await,
    );
    assert_eq!(segments.len(), 1);
    assert_eq!(
        (segments[0]["key"].as_str(), segments[0]["label"].as_str()),
        (Some(f.segment.as_str()), Some("Tier one"))
    );
    assert_eq!(segments[0]["opportunities"], 2);
    // Within the segment: A's and B's deals.
    let b_only = rows(
        &f.manager
            .gql(VELOCITY, vars(json!({ "s": f.segment, "g": "NONE" })))
            .await,
    );
    assert_eq!(b_only[0]["opportunities"], 2);
}

#[tokio::test]
async fn sla_compliance_counts_first_touches_within_the_sla() {
    let f = fixture().await;
    let res = f.manager.gql(SLA, window()).await;
    let rows = res["data"]["slaCompliance"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{res}"));
    // March: touched after 3 min (due 5), after 120 min (due 60), never. February's is out.
    assert_eq!(rows.len(), 1, "{res}");
    let r = &rows[0];
    assert_eq!(r["repId"], f.rep.id.as_str());
    assert_eq!(
        (r["assignments"].as_i64(), r["withinSla"].as_i64()),
        (Some(3), Some(1)),
        "{r}"
    );
    assert!(
        close(&r["withinSlaRate"], 1.0 / 3.0) && close(&r["medianMinutesToFirstTouch"], 61.5),
        "{r}"
    );
}

#[tokio::test]
async fn reports_are_for_managers_and_admins_of_the_workspace_only() {
    let f = fixture().await;
    for c in [&f.rep, &f.marketer] {
        for (q, v) in [(FUNNEL, window()), (VELOCITY, window()), (SLA, window())] {
            assert_eq!(code(&c.gql(q, v).await), "FORBIDDEN");
        }
    }
    let admin = f.app.user("acme", Role::Admin).await;
    assert!(admin.gql(SLA, window()).await["errors"].is_null());
    // Another workspace's manager sees none of it, and cannot name its segment.
    let other = f.app.user("globex", Role::Manager).await;
    let res = other.gql(FUNNEL, window()).await;
    assert!(
        res["data"]["funnel"]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["entered"] == 0),
        "{res}"
    );
    assert!(res["data"]["funnel"]["spend"].is_null());
    assert_eq!(
        other.gql(VELOCITY, window()).await["data"]["pipelineVelocity"],
        json!([])
    );
    assert_eq!(
        other.gql(SLA, window()).await["data"]["slaCompliance"],
        json!([])
    );
    assert_eq!(
        code(&other.gql(FUNNEL, vars(json!({ "s": f.segment }))).await),
        "NOT_FOUND"
    );
    // Spend is a marketer's (or admin's) to record.
    let res = f
        .manager
        .gql(SPEND, json!({ "m": "2026-05", "a": 1.0 }))
        .await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
}

#[tokio::test]
async fn bad_windows_and_spend_name_the_field_at_fault() {
    let f = fixture().await;
    let backwards =
        json!({ "from": at(4, 1, 0, 0).to_rfc3339(), "to": at(3, 1, 0, 0).to_rfc3339() });
    let res = f.manager.gql(FUNNEL, backwards).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", "to"), "{res}");
    for (vars, at) in [
        (json!({ "m": "2026-13", "a": 1.0 }), "month"),
        (json!({ "m": "2026-05", "a": -1.0 }), "amount"),
        (
            json!({ "m": "2026-05", "a": 1.0, "s": "nope" }),
            "segmentId",
        ),
    ] {
        let res = f.marketer.gql(SPEND, vars).await;
        assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", at), "{res}");
    }
    // Recording a month again replaces it.
    let res = f
        .marketer
        .gql(SPEND, json!({ "m": "2026-03", "a": 100.0 }))
        .await;
    assert_eq!(res["data"]["recordMarketingSpend"], true);
    let res = f.manager.gql(FUNNEL, window()).await;
    assert!(close(&res["data"]["funnel"]["spend"], 700.0), "{res}");
}

/// A report whose second connection comes too late reads everything through its first, and
/// the late one is ended in the background: every connection comes back to the pool usable.
/// (A `BEGIN` cancelled by the old timeout went back to the pool inside a transaction.)
#[tokio::test]
async fn a_report_whose_second_connection_is_late_reads_through_one_and_the_pool_stays_clean() {
    use sea_orm::TransactionTrait as _;
    let app = spawn_app_with(|c| c.db_max_connections = Some(2)).await;
    let manager = app.user("acme", Role::Manager).await;
    // One of the two connections is busy for longer than a report waits for it.
    let held = app.state.db.begin().await.unwrap();
    let res = manager.gql(FUNNEL, window()).await;
    assert!(res["errors"].is_null(), "{res}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    held.rollback().await.unwrap();
    for _ in 0..5 {
        let res = manager.gql(FUNNEL, window()).await;
        assert!(res["errors"].is_null(), "{res}");
        assert_eq!(stage(&res["data"]["funnel"], "SQL")["entered"], 0, "{res}");
    }
}
