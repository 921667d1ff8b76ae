//! Routing end to end: every new SQL is assigned in its promotion's transaction, to the right
//! rep within capacity, and reps see only their own assignments.

use chrono::{DateTime, Duration, Utc};
use quorum_api::store::entity::outbox;
use quorum_domain::value::Role;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, code, field, spawn_app};

const INGEST: &str = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) {
    accepted promotions { to } } }";
const UPDATE_REP: &str = "mutation($id: ID!, $i: RepInput!) { updateRep(id: $id, input: $i) {
    repProfile { active capacity countries regions industries } } }";
const ASSIGNMENT: &str = "query($id: ID!) { account(id: $id) { stage owner { email }
    assignment { id status rule reason assignedAt dueAt rep { email } } } }";
const ASSIGNMENTS: &str =
    "query($rep: ID, $s: [AssignmentStatus!]) { assignments(repId: $rep, status: $s) {
    edges { node { id status account { domain } rep { email } } } } }";

struct World {
    app: TestApp,
    marketer: Client,
    manager: Client,
    us: Client,
    de: Client,
}

/// A workspace whose model qualifies on a single high-intent event (total = engagement,
/// low lines), a US rep and a German rep.
async fn world() -> World {
    let app = spawn_app().await;
    let marketer = app.user("acme", Role::Marketer).await;
    marketer.publish_one_event_sql_model().await;
    let manager = app.user("acme", Role::Manager).await;
    let us = app.user("acme", Role::Rep).await;
    let de = app.user("acme", Role::Rep).await;
    for (rep, country, capacity) in [(&us, "US", 1), (&de, "DE", 5)] {
        let res = manager
            .gql(
                UPDATE_REP,
                json!({ "id": rep.id, "i": { "countries": [country], "capacity": capacity } }),
            )
            .await;
        assert_eq!(
            res["data"]["updateRep"]["repProfile"]["countries"],
            json!([country]),
            "{res}"
        );
    }
    World {
        app,
        marketer,
        manager,
        us,
        de,
    }
}

/// An account at `domain` in `country` (tier 1 or none), with one contact.
async fn account(m: &Client, domain: &str, country: &str, tier: Option<i32>) -> String {
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": [{ "name": domain, "domain": domain, "country": country, "tier": tier }] }),
        )
        .await;
    let id = res["data"]["upsertAccounts"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{res}"))
        .to_owned();
    m.upsert_contact(&format!("jane@{domain}")).await;
    id
}

async fn demo_request(m: &Client, domain: &str, event_id: &str) -> Value {
    let at = (Utc::now() - Duration::minutes(1)).to_rfc3339();
    let res = m
        .gql(
            INGEST,
            json!({ "e": [{ "eventId": event_id, "contactEmail": format!("jane@{domain}"), "kind": "DEMO_REQUEST", "occurredAt": at }] }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    res["data"]["ingestEngagements"].clone()
}

fn minutes_between(a: &Value, b: &Value) -> i64 {
    let t = |v: &Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    (t(b) - t(a)).num_minutes()
}

async fn outbox_kinds(app: &TestApp) -> Vec<(i64, String)> {
    outbox::Entity::find()
        .order_by_asc(outbox::Column::Seq)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.seq, r.kind))
        .collect()
}

#[tokio::test]
async fn a_new_sql_goes_to_the_territory_rep_within_capacity_or_to_the_queue() {
    let w = world().await;
    let first = account(&w.marketer, "acme.io", "US", Some(1)).await;
    let out = demo_request(&w.marketer, "acme.io", "1").await;
    assert_eq!(out["promotions"][0]["to"], "SQL", "{out}");

    let a = w.manager.gql(ASSIGNMENT, json!({ "id": first })).await["data"]["account"].clone();
    assert_eq!(a["stage"], "SQL");
    assert_eq!(a["owner"]["email"], w.us.email.as_str());
    let assignment = &a["assignment"];
    assert_eq!(assignment["rep"]["email"], w.us.email.as_str(), "{a}");
    assert_eq!(assignment["status"], "PENDING");
    assert_eq!(assignment["rule"], "Territory");
    assert_eq!(
        minutes_between(&assignment["assignedAt"], &assignment["dueAt"]),
        5,
        "tier 1 SLA"
    );
    assert_eq!(
        outbox_kinds(&w.app).await,
        [
            (1, "SQL_PROMOTED".to_owned()),
            (2, "ASSIGNMENT_CREATED".to_owned())
        ],
        "written with the promotion"
    );

    // The US rep is full (capacity 1): the next US SQL waits in the unassigned queue.
    let second = account(&w.marketer, "initech.com", "US", None).await;
    demo_request(&w.marketer, "initech.com", "2").await;
    let a = w.manager.gql(ASSIGNMENT, json!({ "id": second })).await["data"]["account"].clone();
    assert_eq!(a["stage"], "SQL");
    assert!(a["assignment"]["rep"].is_null(), "{a}");
    assert!(a["owner"].is_null());
    assert_eq!(a["assignment"]["status"], "PENDING");
    assert!(a["assignment"]["reason"].as_str().unwrap().len() > 5);

    // A German account goes to the German rep, with the one-hour SLA.
    let third = account(&w.marketer, "globex.de", "DE", None).await;
    demo_request(&w.marketer, "globex.de", "3").await;
    let a = w.manager.gql(ASSIGNMENT, json!({ "id": third })).await["data"]["account"].clone();
    assert_eq!(a["assignment"]["rep"]["email"], w.de.email.as_str(), "{a}");
    assert_eq!(
        minutes_between(&a["assignment"]["assignedAt"], &a["assignment"]["dueAt"]),
        60
    );

    // Managers see every assignment, the queue included.
    let all = w.manager.gql(ASSIGNMENTS, json!({})).await;
    assert_eq!(
        all["data"]["assignments"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "{all}"
    );
}

#[tokio::test]
async fn a_rep_sees_and_works_only_their_own_assignments() {
    let w = world().await;
    let id = account(&w.marketer, "acme.io", "US", None).await;
    demo_request(&w.marketer, "acme.io", "1").await;
    let other = account(&w.marketer, "globex.de", "DE", None).await;
    demo_request(&w.marketer, "globex.de", "2").await;

    let mine = w.us.gql(ASSIGNMENTS, json!({})).await;
    let edges = mine["data"]["assignments"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 1, "{mine}");
    assert_eq!(edges[0]["node"]["account"]["domain"], "acme.io");
    let assignment = edges[0]["node"]["id"].as_str().unwrap().to_owned();

    // Another rep's assignments: refused by id, invisible through the account, unworkable.
    let res = w.us.gql(ASSIGNMENTS, json!({ "rep": w.de.id })).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let res = w.de.gql(ASSIGNMENT, json!({ "id": id })).await;
    assert!(res["data"]["account"]["assignment"].is_null(), "{res}");
    let res = w.us.gql(ASSIGNMENT, json!({ "id": other })).await;
    assert!(res["data"]["account"]["assignment"].is_null(), "{res}");
    let res =
        w.de.gql(
            "mutation($id: ID!) { acceptAssignment(id: $id) { status } }",
            json!({ "id": assignment }),
        )
        .await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");
    let res = w.marketer.gql(ASSIGNMENTS, json!({})).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");

    // The owner accepts, then records the first touch.
    let res =
        w.us.gql(
            "mutation($id: ID!) { acceptAssignment(id: $id) { status acceptedAt } }",
            json!({ "id": assignment }),
        )
        .await;
    assert_eq!(
        res["data"]["acceptAssignment"]["status"], "ACCEPTED",
        "{res}"
    );
    let res =
        w.us.gql(
            "mutation($id: ID!) { acceptAssignment(id: $id) { status } }",
            json!({ "id": assignment }),
        )
        .await;
    assert_eq!(code(&res), "CONFLICT", "{res}");
    let touch = "mutation($id: ID!, $c: String!) { recordFirstTouch(assignmentId: $id, channel: $c) { status firstTouchAt firstTouchChannel } }";
    let res = w.us.gql(touch, json!({ "id": assignment, "c": " " })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(field(&res), "channel");
    let res =
        w.us.gql(touch, json!({ "id": assignment, "c": "call" }))
            .await;
    assert_eq!(
        res["data"]["recordFirstTouch"]["status"], "WORKING",
        "{res}"
    );
    assert_eq!(res["data"]["recordFirstTouch"]["firstTouchChannel"], "call");
    let kinds: Vec<String> = outbox_kinds(&w.app)
        .await
        .into_iter()
        .map(|k| k.1)
        .collect();
    assert_eq!(
        kinds,
        [
            "SQL_PROMOTED",
            "ASSIGNMENT_CREATED",
            "SQL_PROMOTED",
            "ASSIGNMENT_CREATED",
            "ASSIGNMENT_ACCEPTED",
            "FIRST_TOUCH"
        ]
    );
    let working = w.us.gql(ASSIGNMENTS, json!({ "s": ["WORKING"] })).await;
    assert_eq!(
        working["data"]["assignments"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn routing_rules_are_validated_and_followed_in_order() {
    let w = world().await;
    let set = "mutation($r: [RoutingRuleInput!]!) { setRoutingRules(rules: $r) { name target pool tiers } }";
    let res = w
        .manager
        .gql(set, json!({ "r": [{ "name": "x", "target": "NOBODY" }] }))
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(field(&res), "rules[0].target");
    let res = w
        .manager
        .gql(
            set,
            json!({ "r": [{ "name": "x", "target": "POOL", "pool": [w.manager.id] }] }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(field(&res), "rules[0].to.pool[0]", "a manager is not a rep");
    let res = w.us.gql(set, json!({ "r": [] })).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");

    // Tier-1 accounts go to the German rep's pool whatever their country; the rest by
    // territory.
    let res = w
        .manager
        .gql(
            set,
            json!({ "r": [
                { "name": "Strategic", "tiers": [1], "target": "POOL", "pool": [w.de.id] },
                { "name": "Territory", "target": "TERRITORY" },
            ] }),
        )
        .await;
    assert_eq!(
        res["data"]["setRoutingRules"][0]["tiers"],
        json!([1]),
        "{res}"
    );
    let rules = w
        .manager
        .gql("{ routingRules { name target } }", json!({}))
        .await;
    assert_eq!(
        rules["data"]["routingRules"],
        json!([{ "name": "Strategic", "target": "POOL" }, { "name": "Territory", "target": "TERRITORY" }])
    );
    let id = account(&w.marketer, "acme.io", "US", Some(1)).await;
    demo_request(&w.marketer, "acme.io", "1").await;
    let a = w.manager.gql(ASSIGNMENT, json!({ "id": id })).await["data"]["account"].clone();
    assert_eq!(a["assignment"]["rep"]["email"], w.de.email.as_str(), "{a}");
    assert_eq!(a["assignment"]["rule"], "Strategic");
}

#[tokio::test]
async fn concurrent_promotions_never_overfill_a_rep_nor_assign_an_account_twice() {
    let w = world().await;
    let res = w
        .manager
        .gql(UPDATE_REP, json!({ "id": w.us.id, "i": { "capacity": 3 } }))
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let mut domains = Vec::new();
    for i in 0..16 {
        let d = format!("acct{i}.com");
        account(&w.marketer, &d, "US", None).await;
        domains.push(d);
    }
    // Each account promoted by three racing requests with different events.
    let mut calls = Vec::new();
    for copy in 0..3 {
        for (i, d) in domains.iter().enumerate() {
            let m = w.marketer.clone();
            let d = d.clone();
            calls.push(tokio::spawn(async move {
                let at = (Utc::now() - Duration::minutes(1)).to_rfc3339();
                m.gql(
                    INGEST,
                    json!({ "e": [{ "eventId": format!("{i}-{copy}"), "contactEmail": format!("jane@{d}"), "kind": "DEMO_REQUEST", "occurredAt": at }] }),
                )
                .await
            }));
        }
    }
    for call in calls {
        let res = call.await.unwrap();
        assert!(res["errors"].is_null(), "{res}");
    }
    let all = w.manager.gql(ASSIGNMENTS, json!({})).await;
    let edges = all["data"]["assignments"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 16, "one assignment per account: {all}");
    let to_us = edges
        .iter()
        .filter(|e| e["node"]["rep"]["email"] == w.us.email.as_str())
        .count();
    assert_eq!(to_us, 3, "filled to capacity, not past it");
    let mut accounts: Vec<&str> = edges
        .iter()
        .map(|e| e["node"]["account"]["domain"].as_str().unwrap())
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    assert_eq!(accounts.len(), 16);
}

/// The lock that keeps loads true while routing: a second promotion waits for the first to
/// commit, then sees the rep full. Driven by hand with two transactions, so the interleaving
/// the race needs happens every time.
#[tokio::test]
async fn a_promotion_waits_for_another_to_commit_before_it_routes() {
    use quorum_api::store;
    use quorum_domain::value::{AccountId, Stage, UserId, WorkspaceId};
    use sea_orm::TransactionTrait;

    let w = world().await;
    let first = account(&w.marketer, "acme.io", "US", None).await;
    let second = account(&w.marketer, "initech.com", "US", None).await;
    let db = w.app.state.db.clone();
    let ws = WorkspaceId::from(
        store::workspace::find_or_create(&db, "acme")
            .await
            .unwrap()
            .id,
    );
    let manager = UserId::from(w.manager.id.parse::<uuid::Uuid>().unwrap());
    let promote = |id: String| {
        let db = db.clone();
        async move {
            let id = AccountId::from(id.parse::<uuid::Uuid>().unwrap());
            let txn = db.begin().await.unwrap();
            let account = store::account::find(ws, &txn, id).await.unwrap().unwrap();
            let now = store::now();
            let t = quorum_domain::qualify::manual(
                Stage::Target,
                Stage::Sql,
                manager,
                "qualified on a call",
                quorum_api::scoring::timestamp(now),
            )
            .unwrap();
            quorum_api::qualification::record(ws, &txn, &[(&account, t)], None, now)
                .await
                .unwrap();
            txn
        }
    };
    let a = promote(first.clone()).await;
    let b = tokio::spawn(promote(second.clone()));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !b.is_finished(),
        "the second promotion must wait for the first"
    );
    a.commit().await.unwrap();
    b.await.unwrap().commit().await.unwrap();

    let rep_of = |id: String| {
        let m = w.manager.clone();
        async move {
            m.gql(ASSIGNMENT, json!({ "id": id })).await["data"]["account"]["assignment"]["rep"]
                .clone()
        }
    };
    assert_eq!(rep_of(first).await["email"], w.us.email.as_str());
    assert!(
        rep_of(second).await.is_null(),
        "the US rep (capacity 1) was full"
    );
}

const ACCOUNT_PIPELINE: &str = "query($id: ID!) { account(id: $id) { stage owner { email }
    assignment { status rep { email } } opportunities { amount status closedAt }
    bant { budget need timeline } transitions { from to automatic } } }";

#[tokio::test]
async fn reassignment_opportunities_and_bant_leave_a_record() {
    let w = world().await;
    let id = account(&w.marketer, "acme.io", "US", None).await;
    demo_request(&w.marketer, "acme.io", "1").await;

    // A manager moves the account to the German rep, with a reason.
    let reassign = "mutation($a: ID!, $r: ID!, $why: String!) { reassign(accountId: $a, repId: $r, reason: $why) { status reason rep { email } } }";
    let res =
        w.us.gql(
            reassign,
            json!({ "a": id, "r": w.de.id, "why": "speaks German" }),
        )
        .await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let res = w
        .manager
        .gql(
            reassign,
            json!({ "a": id, "r": w.de.id, "why": "speaks German" }),
        )
        .await;
    let new = &res["data"]["reassign"];
    assert_eq!(new["status"], "PENDING", "{res}");
    assert_eq!(new["rep"]["email"], w.de.email.as_str());
    assert!(new["reason"].as_str().unwrap().ends_with("speaks German"));
    let res = w
        .manager
        .gql(reassign, json!({ "a": id, "r": w.de.id, "why": "again" }))
        .await;
    assert_eq!(code(&res), "CONFLICT", "{res}");
    let mine = w.us.gql(ASSIGNMENTS, json!({ "s": ["PENDING"] })).await;
    assert_eq!(
        mine["data"]["assignments"]["edges"],
        json!([]),
        "no longer the US rep's"
    );
    let theirs = w.us.gql(ASSIGNMENTS, json!({ "s": ["REASSIGNED"] })).await;
    assert_eq!(
        theirs["data"]["assignments"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // BANT and the deal belong to the owner (or a manager).
    let bant = "mutation($a: ID!, $i: BantInput!) { recordBant(accountId: $a, input: $i) { id } }";
    let res =
        w.us.gql(bant, json!({ "a": id, "i": { "need": "ABM" } }))
            .await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let res =
        w.de.gql(bant, json!({ "a": id, "i": { "budget": -5.0 } }))
            .await;
    assert_eq!(field(&res), "input.budget", "{res}");
    let res = w
        .de
        .gql(bant, json!({ "a": id, "i": { "budget": 120000.0, "need": "ABM at scale", "timeline": "Q1" } }))
        .await;
    assert!(res["errors"].is_null(), "{res}");

    let open = "mutation($a: ID!, $x: Float!) { createOpportunity(accountId: $a, amount: $x) { id status } }";
    let res = w.de.gql(open, json!({ "a": id, "x": 0.0 })).await;
    assert_eq!(field(&res), "amount", "{res}");
    let res = w.us.gql(open, json!({ "a": id, "x": 50000.0 })).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let res = w.de.gql(open, json!({ "a": id, "x": 50000.0 })).await;
    let opp = res["data"]["createOpportunity"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{res}"))
        .to_owned();
    let res = w.de.gql(open, json!({ "a": id, "x": 1.0 })).await;
    assert_eq!(code(&res), "CONFLICT", "one open deal at a time: {res}");

    let close = "mutation($o: ID!, $won: Boolean!) { closeOpportunity(id: $o, won: $won) { status closedAt } }";
    let res = w.de.gql(close, json!({ "o": opp, "won": true })).await;
    assert_eq!(res["data"]["closeOpportunity"]["status"], "WON", "{res}");
    let res = w.de.gql(close, json!({ "o": opp, "won": false })).await;
    assert_eq!(code(&res), "CONFLICT", "{res}");

    let a = w.manager.gql(ACCOUNT_PIPELINE, json!({ "id": id })).await["data"]["account"].clone();
    assert_eq!(a["stage"], "WON", "{a}");
    assert_eq!(a["owner"]["email"], w.de.email.as_str());
    assert_eq!(a["assignment"]["status"], "CLOSED");
    assert_eq!(a["opportunities"][0]["amount"], 50000.0);
    assert_eq!(a["bant"]["need"], "ABM at scale");
    let path: Vec<(&str, &str, bool)> = a["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap(),
                t["to"].as_str().unwrap(),
                t["automatic"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        path,
        [
            ("TARGET", "SQL", true),
            ("SQL", "OPPORTUNITY", false),
            ("OPPORTUNITY", "WON", false)
        ]
    );
    let kinds: Vec<String> = outbox_kinds(&w.app)
        .await
        .into_iter()
        .map(|k| k.1)
        .collect();
    assert_eq!(
        kinds,
        [
            "SQL_PROMOTED",
            "ASSIGNMENT_CREATED",
            "ASSIGNMENT_REASSIGNED",
            "ASSIGNMENT_CREATED",
            "ASSIGNMENT_CLOSED"
        ]
    );
}

/// The SLA watch runs on one instance at a time: the holder of its lease keeps it while it
/// lives, and once it stops another instance takes over and breaches what falls due.
#[tokio::test]
async fn the_sla_watch_runs_on_one_instance_and_moves_on_when_it_stops() {
    use quorum_api::store::entity::assignment;
    use quorum_api::store::outbox::lease_holder;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait as _, QueryFilter as _};
    let w = world().await;
    // `w.app` has no watch; these two do, every second.
    let b = w.app.sibling(|c| c.sla_check_interval_secs = 1).await;
    let c = w.app.sibling(|c| c.sla_check_interval_secs = 1).await;
    let late = account(&w.marketer, "acme.io", "US", None).await;
    demo_request(&w.marketer, "acme.io", "1").await;
    let db = &w.app.state.db;
    let holder = || async { lease_holder(db, "sla", Utc::now()).await.unwrap() };
    let mut first = None;
    for _ in 0..50 {
        first = holder().await;
        if first.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let first = first.expect("an instance takes the watch");
    let (gone, survivor) = if first == b.state.bus.instance {
        (&b, &c)
    } else {
        assert_eq!(first, c.state.bus.instance);
        (&c, &b)
    };
    // Three passes' time: the holder renews, the other finds it held.
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(holder().await, Some(first));
    }
    gone.shut_down();
    // Due an hour ago: only a pass of the remaining instance can breach it now.
    let account_id = uuid::Uuid::parse_str(&late).unwrap();
    assignment::Entity::update_many()
        .col_expr(
            assignment::Column::DueAt,
            Expr::value(Utc::now() - Duration::hours(1)),
        )
        .filter(assignment::Column::AccountId.eq(account_id))
        .exec(db)
        .await
        .unwrap();
    let mut status = Value::Null;
    for _ in 0..50 {
        status =
            w.manager.gql(ASSIGNMENT, json!({ "id": late })).await["data"]["account"]["assignment"]
                ["status"]
                .clone();
        if status == "SLA_BREACHED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, "SLA_BREACHED");
    assert_eq!(holder().await, Some(survivor.state.bus.instance));
}

#[tokio::test]
async fn an_untouched_assignment_breaches_its_sla_once() {
    let w = world().await;
    let late = account(&w.marketer, "acme.io", "US", Some(1)).await;
    demo_request(&w.marketer, "acme.io", "1").await;
    let prompt = account(&w.marketer, "globex.de", "DE", None).await;
    demo_request(&w.marketer, "globex.de", "2").await;
    let mine = w.de.gql(ASSIGNMENTS, json!({})).await;
    let id = mine["data"]["assignments"]["edges"][0]["node"]["id"].clone();
    let res = w
        .de
        .gql("mutation($id: ID!) { recordFirstTouch(assignmentId: $id, channel: \"email\") { status } }", json!({ "id": id }))
        .await;
    assert!(res["errors"].is_null(), "{res}");

    let db = &w.app.state.db;
    assert_eq!(
        quorum_api::sla::breach_overdue(db, Utc::now())
            .await
            .unwrap(),
        0,
        "not due yet"
    );
    let later = Utc::now() + Duration::hours(2);
    assert_eq!(quorum_api::sla::breach_overdue(db, later).await.unwrap(), 1);
    assert_eq!(
        quorum_api::sla::breach_overdue(db, later).await.unwrap(),
        0,
        "once"
    );

    let status = |id: String| {
        let m = w.manager.clone();
        async move {
            m.gql(ASSIGNMENT, json!({ "id": id })).await["data"]["account"]["assignment"]["status"]
                .clone()
        }
    };
    assert_eq!(status(late).await, "SLA_BREACHED");
    assert_eq!(status(prompt).await, "WORKING", "touched in time");
    let kinds: Vec<String> = outbox_kinds(&w.app)
        .await
        .into_iter()
        .map(|k| k.1)
        .collect();
    assert_eq!(kinds.last().map(String::as_str), Some("SLA_BREACHED"));
    let breached = w
        .manager
        .gql(ASSIGNMENTS, json!({ "s": ["SLA_BREACHED"] }))
        .await;
    assert_eq!(
        breached["data"]["assignments"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_breached_tier_1_assignment_moves_to_another_rep_when_the_workspace_asks() {
    let w = world().await;
    let settings = "mutation($on: Boolean) { updateWorkspaceSettings(input: { reassignBreachedTier1: $on }) { reassignBreachedTier1 } }";
    let res = w.us.gql(settings, json!({ "on": true })).await;
    assert_eq!(code(&res), "FORBIDDEN", "{res}");
    let res = w.manager.gql(settings, json!({ "on": true })).await;
    assert_eq!(
        res["data"]["updateWorkspaceSettings"]["reassignBreachedTier1"], true,
        "{res}"
    );
    let res = w
        .manager
        .gql("{ workspaceSettings { reassignBreachedTier1 } }", json!({}))
        .await;
    assert_eq!(
        res["data"]["workspaceSettings"]["reassignBreachedTier1"],
        true
    );

    // A second US rep to take over.
    let backup = w.app.user("acme", Role::Rep).await;
    let res = w
        .manager
        .gql(
            UPDATE_REP,
            json!({ "id": backup.id, "i": { "countries": ["US"] } }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let tier1 = account(&w.marketer, "acme.io", "US", Some(1)).await;
    demo_request(&w.marketer, "acme.io", "1").await;
    let other = account(&w.marketer, "globex.de", "DE", None).await;
    demo_request(&w.marketer, "globex.de", "2").await;
    let rep_of = |id: String| {
        let m = w.manager.clone();
        async move { m.gql(ASSIGNMENT, json!({ "id": id })).await["data"]["account"].clone() }
    };
    let first = rep_of(tier1.clone()).await["assignment"]["rep"]["email"].clone();

    let later = Utc::now() + Duration::hours(2);
    assert_eq!(
        quorum_api::sla::breach_overdue(&w.app.state.db, later)
            .await
            .unwrap(),
        2
    );
    let a = rep_of(tier1).await;
    assert_eq!(a["assignment"]["status"], "PENDING", "{a}");
    assert_ne!(
        a["assignment"]["rep"]["email"], first,
        "another rep took it over"
    );
    assert_eq!(a["owner"]["email"], a["assignment"]["rep"]["email"]);
    assert_eq!(
        rep_of(other).await["assignment"]["status"],
        "SLA_BREACHED",
        "not tier 1"
    );
    let kinds: Vec<String> = outbox_kinds(&w.app)
        .await
        .into_iter()
        .map(|k| k.1)
        .collect();
    assert_eq!(
        kinds[kinds.len() - 4..],
        [
            "SLA_BREACHED",
            "ASSIGNMENT_REASSIGNED",
            "ASSIGNMENT_CREATED",
            "SLA_BREACHED"
        ]
    );
}

#[tokio::test]
async fn in_one_batch_the_best_scored_sql_is_routed_first() {
    let w = world().await;
    // Created first, listed first and first by name, yet the lesser of the two.
    let lesser = account(&w.marketer, "a-lesser.io", "US", None).await;
    let better = account(&w.marketer, "b-better.io", "US", None).await;
    let at = (Utc::now() - Duration::minutes(1)).to_rfc3339();
    let event = |id: &str, domain: &str, kind: &str| json!({ "eventId": id, "contactEmail": format!("jane@{domain}"), "kind": kind, "occurredAt": at });
    let res = w
        .marketer
        .gql(
            INGEST,
            json!({ "e": [
                event("1", "a-lesser.io", "DEMO_REQUEST"),
                event("2", "b-better.io", "DEMO_REQUEST"),
                event("3", "b-better.io", "CONTACT_SALES"),
            ] }),
        )
        .await;
    assert_eq!(
        res["data"]["ingestEngagements"]["promotions"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{res}"
    );
    // The US rep has room for one: the better-scored account gets them.
    let got = |id: String| {
        let manager = w.manager.clone();
        async move {
            manager.gql(ASSIGNMENT, json!({ "id": id })).await["data"]["account"]["assignment"]
                ["rep"]["email"]
                .clone()
        }
    };
    assert_eq!(got(better).await, w.us.email.as_str());
    assert_eq!(got(lesser).await, Value::Null);
}
