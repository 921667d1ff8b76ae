//! Live events over WebSocket: who receives what, resuming from a cursor, delivery between
//! instances through Redis (across a Redis outage too), both protocols and their close codes.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use quorum_api::store::entity::{outbox, workspace};
use quorum_domain::value::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, TestRedis, spawn_app, spawn_app_with};
use crate::ws::{Incoming, LEGACY, MODERN, Ws, error_code};

const PROMOTIONS: &str = "subscription($after: String, $segment: ID) {
    sqlPromotions(after: $after, segmentId: $segment) {
        cursor at account { id domain } score { total } assignment { id status rep { id } } } }";
const UPDATES: &str = "subscription($rep: ID, $after: String) {
    assignmentUpdates(repId: $rep, after: $after) {
        cursor kind at assignment { id status rep { id } account { id domain } } } }";
const INGEST: &str = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) {
    accepted promotions { accountId to } } }";
const UPDATE_REP: &str = "mutation($id: ID!, $i: RepInput!) { updateRep(id: $id, input: $i) {
    repProfile { countries } } }";
const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// How long the outage test waits for Redis clients to reconnect and catch up.
const AFTER_OUTAGE: Duration = Duration::from_secs(20);

struct World {
    app: TestApp,
    marketer: Client,
    manager: Client,
    us: Client,
    de: Client,
}

async fn world() -> World {
    world_on(spawn_app().await).await
}

/// On `app`: a model that makes an SQL of one demo request (total = engagement, low lines),
/// a US rep and a German rep with room for ten accounts each. Nobody covers France: French
/// SQLs wait in the unassigned queue.
async fn world_on(app: TestApp) -> World {
    let marketer = app.user("acme", Role::Marketer).await;
    marketer.publish_one_event_sql_model().await;
    let manager = app.user("acme", Role::Manager).await;
    let us = app.user("acme", Role::Rep).await;
    let de = app.user("acme", Role::Rep).await;
    for (rep, country) in [(&us, "US"), (&de, "DE")] {
        let res = manager
            .gql(
                UPDATE_REP,
                json!({ "id": rep.id, "i": { "countries": [country], "capacity": 10 } }),
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

/// Accounts at `domains` in `country`, each with a contact `jane@<domain>`; their ids.
async fn accounts(m: &Client, domains: &[String], country: &str) -> Vec<String> {
    let input: Vec<Value> = domains
        .iter()
        .map(|d| json!({ "name": d, "domain": d, "country": country }))
        .collect();
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
    let ids: Vec<String> = res["data"]["upsertAccounts"]
        .as_array()
        .unwrap_or_else(|| panic!("{res}"))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let contacts: Vec<Value> = domains
        .iter()
        .map(|d| json!({ "email": format!("jane@{d}") }))
        .collect();
    let res = m
        .gql(
            "mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }",
            json!({ "i": contacts }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    ids
}

/// One demo request per domain, in one batch: each account becomes an SQL.
async fn demo_requests(m: &Client, domains: &[String]) {
    let at = (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let events: Vec<Value> = domains
        .iter()
        .map(|d| {
            json!({ "eventId": format!("demo-{d}"), "contactEmail": format!("jane@{d}"),
                "kind": "DEMO_REQUEST", "occurredAt": at })
        })
        .collect();
    let res = m.gql(INGEST, json!({ "e": events })).await;
    let promotions = res["data"]["ingestEngagements"]["promotions"]
        .as_array()
        .unwrap_or_else(|| panic!("{res}"));
    assert_eq!(promotions.len(), domains.len(), "{res}");
    assert!(promotions.iter().all(|p| p["to"] == "SQL"), "{res}");
}

/// A new account at `domain` in `country`, promoted to SQL (and routed); its id.
async fn sql(m: &Client, domain: &str, country: &str) -> String {
    let domains = [domain.to_owned()];
    let id = accounts(m, &domains, country).await.remove(0);
    demo_requests(m, &domains).await;
    id
}

/// The promotion in an `sqlPromotions` event.
async fn promotion(ws: &mut Ws, id: &str) -> Value {
    ws.next(id).await["sqlPromotions"].clone()
}

/// The event in an `assignmentUpdates` event.
async fn update(ws: &mut Ws, id: &str) -> Value {
    ws.next(id).await["assignmentUpdates"].clone()
}

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"))
}

#[tokio::test]
async fn a_rep_sees_their_assignment_and_nobody_elses() {
    let w = world().await;
    let base = &w.app.base;
    let mut us = Ws::ready(base, MODERN, &w.us.token).await;
    us.subscribe("mine", UPDATES, json!({})).await;
    let mut de = Ws::ready(base, MODERN, &w.de.token).await;
    de.subscribe("mine", UPDATES, json!({})).await;
    let mut manager = Ws::ready(base, MODERN, &w.manager.token).await;
    manager.subscribe("sql", PROMOTIONS, json!({})).await;
    let globex = w.app.user("globex", Role::Manager).await;
    let mut outsider = Ws::ready(base, MODERN, &globex.token).await;
    outsider.subscribe("sql", PROMOTIONS, json!({})).await;

    let first = sql(&w.marketer, "acme.io", "US").await;
    let e = update(&mut us, "mine").await;
    assert_eq!(e["kind"], "ASSIGNED", "{e}");
    assert_eq!(e["assignment"]["account"]["id"], first.as_str(), "{e}");
    assert_eq!(e["assignment"]["rep"]["id"], w.us.id.as_str());
    assert_eq!(e["assignment"]["status"], "PENDING");
    assert!(!str_of(&e["cursor"], "cursor").is_empty());
    let p = promotion(&mut manager, "sql").await;
    assert_eq!(p["account"]["id"], first.as_str(), "{p}");
    assert_eq!(p["account"]["domain"], "acme.io");
    assert!(p["score"]["total"].as_f64().is_some(), "{p}");
    assert_eq!(p["assignment"]["rep"]["id"], w.us.id.as_str(), "{p}");
    assert!(!str_of(&p["cursor"], "cursor").is_empty());

    // Events come in order, so each rep's next event shows what they did not get: the German
    // rep's first is their own account, the US rep's next their next one.
    let german = sql(&w.marketer, "globex.de", "DE").await;
    let second = sql(&w.marketer, "initech.com", "US").await;
    let e = update(&mut de, "mine").await;
    assert_eq!(e["assignment"]["account"]["id"], german.as_str(), "{e}");
    assert_eq!(e["assignment"]["rep"]["id"], w.de.id.as_str());
    assert_eq!(e["kind"], "ASSIGNED");
    let e = update(&mut us, "mine").await;
    assert_eq!(e["assignment"]["account"]["id"], second.as_str(), "{e}");
    assert_eq!(
        promotion(&mut manager, "sql").await["account"]["id"],
        german.as_str()
    );
    assert_eq!(
        promotion(&mut manager, "sql").await["account"]["id"],
        second.as_str()
    );
    // Another workspace hears nothing of it.
    outsider
        .assert_quiet("sql", Duration::from_millis(1000))
        .await;
}

/// `series` (a metric name with its labels) from `/metrics`, once it reaches `at_least`.
async fn metric(base: &str, series: &str, at_least: f64) -> f64 {
    metric_when(base, series, |v| v >= at_least).await
}

/// `series` from `/metrics` once it equals `want`.
async fn metric_settles(base: &str, series: &str, want: f64) -> f64 {
    metric_when(base, series, |v| v == want).await
}

/// `series` from `/metrics` once `done` holds for it (or whatever it is after a few seconds).
async fn metric_when(base: &str, series: &str, done: impl Fn(f64) -> bool) -> f64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"));
        if done(value) || std::time::Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn each_live_delivery_is_timed_at_every_stage_from_its_dispatch() {
    let w = world().await;
    let base = &w.app.base;
    let mut us = Ws::ready(base, MODERN, &w.us.token).await;
    us.subscribe("mine", UPDATES, json!({})).await;
    let mut manager = Ws::ready(base, MODERN, &w.manager.token).await;
    manager.subscribe("sql", PROMOTIONS, json!({})).await;
    sql(&w.marketer, "acme.io", "US").await;
    update(&mut us, "mine").await;
    promotion(&mut manager, "sql").await;

    // Two deliveries (the rep's assignment, the manager's promotion), each seen at every stage;
    // the stages are timed from the same instant, so their sums can only grow stage by stage.
    let name = "quorum_live_delivery_seconds";
    let mut sums = Vec::new();
    for stage in ["taken", "loaded", "handed"] {
        let count = metric(base, &format!("{name}_count{{stage=\"{stage}\"}}"), 2.0).await;
        assert_eq!(count, 2.0, "{stage}");
        let all = metric(
            base,
            &format!("{name}_bucket{{stage=\"{stage}\",le=\"+Inf\"}}"),
            2.0,
        )
        .await;
        assert_eq!(all, 2.0, "{stage}");
        sums.push(metric(base, &format!("{name}_sum{{stage=\"{stage}\"}}"), 0.0).await);
    }
    assert!(sums[0] <= sums[1] && sums[1] <= sums[2], "{sums:?}");
}

#[tokio::test]
async fn a_rep_may_not_follow_another_reps_assignments_but_a_manager_may() {
    let w = world().await;
    let base = &w.app.base;
    let mut us = Ws::ready(base, MODERN, &w.us.token).await;
    us.start("theirs", UPDATES, json!({ "rep": w.de.id })).await;
    let errors = us.error("theirs").await;
    assert_eq!(error_code(&errors), "FORBIDDEN", "{errors}");
    // Their own id is fine, and the refusal left the socket open.
    us.subscribe("mine", UPDATES, json!({ "rep": w.us.id }))
        .await;
    let mut manager = Ws::ready(base, MODERN, &w.manager.token).await;
    manager
        .subscribe("de", UPDATES, json!({ "rep": w.de.id }))
        .await;
    manager.subscribe("all", UPDATES, json!({})).await;
    let admin = w.app.user("acme", Role::Admin).await;
    let mut admin = Ws::ready(base, MODERN, &admin.token).await;
    admin
        .subscribe("de", UPDATES, json!({ "rep": w.de.id }))
        .await;

    let american = sql(&w.marketer, "acme.io", "US").await;
    let german = sql(&w.marketer, "globex.de", "DE").await;
    let account_of = |e: &Value| e["assignment"]["account"]["id"].clone();
    assert_eq!(
        account_of(&update(&mut us, "mine").await),
        american.as_str()
    );
    // The German rep's stream starts with the German account: the American one was not
    // theirs.
    let e = update(&mut manager, "de").await;
    assert_eq!(account_of(&e), german.as_str(), "{e}");
    assert_eq!(e["kind"], "ASSIGNED");
    let e = update(&mut admin, "de").await;
    assert_eq!(account_of(&e), german.as_str(), "{e}");
    // Without a rep: everyone's.
    assert_eq!(
        account_of(&update(&mut manager, "all").await),
        american.as_str()
    );
    assert_eq!(
        account_of(&update(&mut manager, "all").await),
        german.as_str()
    );
}

#[tokio::test]
async fn an_unknown_segment_or_a_malformed_cursor_is_refused() {
    let w = world().await;
    let other = w.app.user("globex", Role::Marketer).await;
    let theirs = other
        .gql(
            "mutation { createSegment(input: { name: \"All\", filter: { scoreMin: 0 } }) { id } }",
            json!({}),
        )
        .await;
    let theirs = theirs["data"]["createSegment"]["id"].clone();
    let mut m = Ws::ready(&w.app.base, MODERN, &w.manager.token).await;
    for (id, segment) in [("junk", json!("any")), ("theirs", theirs)] {
        m.start(id, PROMOTIONS, json!({ "segment": segment })).await;
        let errors = m.error(id).await;
        assert_eq!(error_code(&errors), "NOT_FOUND", "{id}: {errors}");
    }
    for (id, query) in [("promotions", PROMOTIONS), ("updates", UPDATES)] {
        m.start(id, query, json!({ "after": "%% not a cursor %%" }))
            .await;
        let errors = m.error(id).await;
        assert_eq!(error_code(&errors), "BAD_USER_INPUT", "{id}: {errors}");
    }
    m.ping().await;
}

#[tokio::test]
async fn a_segment_subscription_gets_only_promotions_of_accounts_in_the_segment() {
    let w = world().await;
    let res = w
        .marketer
        .gql(
            "mutation { createSegment(input: { name: \"German SQLs\", filter: { countryIn: [\"DE\"], stageIn: [SQL] } }) { id } }",
            json!({}),
        )
        .await;
    let segment = res["data"]["createSegment"]["id"].clone();
    assert!(segment.is_string(), "{res}");
    let mut m = Ws::ready(&w.app.base, MODERN, &w.manager.token).await;
    m.subscribe("de", PROMOTIONS, json!({ "segment": segment }))
        .await;
    m.subscribe("all", PROMOTIONS, json!({})).await;
    let french = sql(&w.marketer, "acme.fr", "FR").await;
    let german = sql(&w.marketer, "globex.de", "DE").await;
    let p = promotion(&mut m, "all").await;
    assert_eq!(p["account"]["id"], french.as_str(), "{p}");
    assert_eq!(
        promotion(&mut m, "all").await["account"]["id"],
        german.as_str()
    );
    // The French promotion was skipped: the first event here is the German one.
    let p = promotion(&mut m, "de").await;
    assert_eq!(p["account"]["id"], german.as_str(), "{p}");
}

#[tokio::test]
async fn a_cursor_from_before_what_the_outbox_keeps_has_expired() {
    let w = world().await;
    let mut m = Ws::ready(&w.app.base, MODERN, &w.manager.token).await;
    m.subscribe("sql", PROMOTIONS, json!({})).await;
    sql(&w.marketer, "acme.io", "FR").await;
    let old = str_of(&promotion(&mut m, "sql").await["cursor"], "cursor").to_owned();
    sql(&w.marketer, "initech.com", "FR").await;
    promotion(&mut m, "sql").await;

    // What the retention pass does: delete the rows, remember how far.
    let db = &w.app.state.db;
    let ws = workspace::Entity::find()
        .filter(workspace::Column::Name.eq("acme"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    outbox::Entity::delete_many()
        .filter(outbox::Column::WorkspaceId.eq(ws.id))
        .exec(db)
        .await
        .unwrap();
    workspace::Entity::update_many()
        .col_expr(
            workspace::Column::OutboxPrunedSeq,
            Expr::value(ws.outbox_seq),
        )
        .filter(workspace::Column::Id.eq(ws.id))
        .exec(db)
        .await
        .unwrap();

    m.start("old", PROMOTIONS, json!({ "after": old })).await;
    let errors = m.error("old").await;
    assert_eq!(error_code(&errors), "CURSOR_EXPIRED", "{errors}");
}

#[tokio::test]
async fn a_subscriber_back_from_a_disconnection_gets_every_promotion_it_missed_in_order_then_live_ones()
 {
    let w = world().await;
    let base = &w.app.base;
    let mut m = Ws::ready(base, MODERN, &w.manager.token).await;
    m.subscribe("sql", PROMOTIONS, json!({})).await;
    let seen = sql(&w.marketer, "seen.io", "FR").await;
    let p = promotion(&mut m, "sql").await;
    assert_eq!(p["account"]["id"], seen.as_str(), "{p}");
    let last = str_of(&p["cursor"], "cursor").to_owned();
    m.close().await;

    // A hundred promotions while away, in one batch.
    let domains: Vec<String> = (0..100).map(|i| format!("missed{i:03}.io")).collect();
    let missed: HashSet<String> = accounts(&w.marketer, &domains, "FR")
        .await
        .into_iter()
        .collect();
    demo_requests(&w.marketer, &domains).await;
    // Commit order, which is the order of the cursors.
    let expected: Vec<String> = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("SQL_PROMOTED"))
        .order_by_asc(outbox::Column::Seq)
        .all(&w.app.state.db)
        .await
        .unwrap()
        .into_iter()
        .skip(1)
        .map(|r| r.account_id.unwrap().to_string())
        .collect();
    assert_eq!(
        expected.iter().cloned().collect::<HashSet<_>>(),
        missed,
        "the outbox holds the hundred"
    );

    let mut back = Ws::ready(base, MODERN, &w.manager.token).await;
    back.subscribe("sql", PROMOTIONS, json!({ "after": last }))
        .await;
    // Committed while the replay may still be running: once, after the missed ones.
    let live = sql(&w.marketer, "live.io", "FR").await;
    let mut ids = Vec::new();
    let mut cursors = Vec::new();
    let mut times = Vec::new();
    for _ in 0..101 {
        let p = promotion(&mut back, "sql").await;
        ids.push(str_of(&p["account"]["id"], "account id").to_owned());
        cursors.push(str_of(&p["cursor"], "cursor").to_owned());
        times.push(
            str_of(&p["at"], "at")
                .parse::<DateTime<Utc>>()
                .unwrap_or_else(|e| panic!("{p}: {e}")),
        );
    }
    assert_eq!(ids[..100], expected[..], "the missed ones, in commit order");
    assert_eq!(ids[100], live, "then the live one");
    let distinct: HashSet<&String> = cursors.iter().collect();
    assert_eq!(distinct.len(), 101, "no cursor twice");
    assert!(!distinct.contains(&last), "nothing from before the cursor");
    assert!(times.windows(2).all(|t| t[0] <= t[1]), "{times:?}");
    back.assert_quiet("sql", Duration::from_millis(1000)).await;

    // From a cursor half-way: the rest, in the same order.
    let mut half = Ws::ready(base, MODERN, &w.manager.token).await;
    half.subscribe("sql", PROMOTIONS, json!({ "after": cursors[49] }))
        .await;
    for id in &ids[50..] {
        assert_eq!(
            promotion(&mut half, "sql").await["account"]["id"],
            id.as_str()
        );
    }
}

/// Two instances on one database and a Redis of the test's own.
async fn two_instances(redis: &TestRedis) -> (World, TestApp) {
    let url = redis.url();
    let a = spawn_app_with(|c| c.redis_url = Some(url.clone())).await;
    let b = a.sibling(|c| c.redis_url = Some(url.clone())).await;
    (world_on(a).await, b)
}

#[tokio::test]
async fn a_promotion_on_one_instance_reaches_subscribers_on_another_through_redis() {
    let redis = TestRedis::start().await;
    let (w, b) = two_instances(&redis).await;
    let mut rep = Ws::ready(&b.base, MODERN, &w.us.token).await;
    rep.subscribe("mine", UPDATES, json!({})).await;
    let mut on_b = Ws::ready(&b.base, MODERN, &w.manager.token).await;
    on_b.subscribe("sql", PROMOTIONS, json!({})).await;
    let mut on_a = Ws::ready(&w.app.base, MODERN, &w.manager.token).await;
    on_a.subscribe("sql", PROMOTIONS, json!({})).await;

    let first = sql(&w.marketer, "acme.io", "US").await;
    let e = update(&mut rep, "mine").await;
    assert_eq!(e["kind"], "ASSIGNED", "{e}");
    assert_eq!(e["assignment"]["account"]["id"], first.as_str());
    assert_eq!(
        promotion(&mut on_b, "sql").await["account"]["id"],
        first.as_str()
    );
    assert_eq!(
        promotion(&mut on_a, "sql").await["account"]["id"],
        first.as_str()
    );

    // And the other way round.
    let second = sql(&w.marketer.on(&b), "initech.com", "FR").await;
    assert_eq!(
        promotion(&mut on_a, "sql").await["account"]["id"],
        second.as_str()
    );
    assert_eq!(
        promotion(&mut on_b, "sql").await["account"]["id"],
        second.as_str()
    );
}

#[tokio::test]
async fn three_instances_serve_any_request_and_every_subscriber_sees_every_promotion_once() {
    let redis = TestRedis::start().await;
    let (w, b) = two_instances(&redis).await;
    let url = redis.url();
    let c = w.app.sibling(|c| c.redis_url = Some(url.clone())).await;
    let apps = [&w.app, &b, &c];
    let mut subs = Vec::new();
    for app in apps {
        let mut ws = Ws::ready(&app.base, MODERN, &w.manager.token).await;
        ws.subscribe("sql", PROMOTIONS, json!({})).await;
        subs.push(ws);
    }
    // Each instance makes promotions in turn, two rounds, some at the same moment.
    let mut made = Vec::new();
    for round in 0..2 {
        let writes = apps.iter().enumerate().map(|(i, app)| {
            let m = w.marketer.on(app);
            async move { sql(&m, &format!("r{round}-i{i}.io"), "FR").await }
        });
        made.extend(futures_util::future::join_all(writes).await);
    }
    let made: HashSet<String> = made.into_iter().collect();
    assert_eq!(made.len(), 6);
    let mut orders = Vec::new();
    for (i, ws) in subs.iter_mut().enumerate() {
        let mut seen = Vec::new();
        for _ in 0..made.len() {
            let p = promotion(ws, "sql").await;
            seen.push((
                str_of(&p["cursor"], "cursor").to_owned(),
                str_of(&p["account"]["id"], "account id").to_owned(),
            ));
        }
        ws.assert_quiet("sql", Duration::from_millis(300)).await;
        let ids: HashSet<String> = seen.iter().map(|(_, id)| id.clone()).collect();
        assert_eq!(ids, made, "instance {i}: every promotion, once");
        orders.push(seen);
    }
    // The outbox's one order, and its cursors, on every instance.
    assert!(orders.windows(2).all(|o| o[0] == o[1]), "{orders:?}");
    // Any instance answers any query the same way: no instance holds state of its own.
    let mut pages = Vec::new();
    for app in apps {
        let res = w
            .manager
            .on(app)
            .gql(
                "{ accounts(first: 50, orderBy: {field: NAME}) { nodes { id stage owner { id } } } }",
                json!({}),
            )
            .await;
        assert!(res["errors"].is_null(), "{res}");
        pages.push(res["data"].clone());
    }
    assert!(pages.windows(2).all(|p| p[0] == p[1]), "{pages:?}");
}

#[tokio::test]
async fn listeners_whose_redis_connections_are_killed_reconnect_and_miss_nothing() {
    let redis = TestRedis::start().await;
    let (w, b) = two_instances(&redis).await;
    let mut sub = Ws::ready(&b.base, MODERN, &w.manager.token).await;
    sub.subscribe("sql", PROMOTIONS, json!({})).await;
    let first = sql(&w.marketer, "first.io", "FR").await;
    assert_eq!(
        promotion(&mut sub, "sql").await["account"]["id"],
        first.as_str()
    );

    // Every instance's subscriber connection dropped by the server, twice, with promotions
    // made in between and right after.
    let mut expected = Vec::new();
    for round in 0..2 {
        // Both instances listen (again: they reconnect on their own).
        let deadline = std::time::Instant::now() + AFTER_OUTAGE;
        while redis
            .cli(&["CLIENT", "LIST", "TYPE", "pubsub"])
            .lines()
            .count()
            < 2
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the instances did not listen again"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let killed = redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
        assert_eq!(killed.trim(), "2", "both instances' listeners killed");
        expected.push(sql(&w.marketer, &format!("kill{round}.io"), "FR").await);
    }
    expected.push(sql(&w.marketer, "after.io", "FR").await);
    let mut ids = Vec::new();
    for _ in 0..expected.len() {
        let p = sub.next_within("sql", AFTER_OUTAGE).await["sqlPromotions"].clone();
        ids.push(str_of(&p["account"]["id"], "account id").to_owned());
    }
    assert_eq!(ids, expected, "every promotion, once, in commit order");
    sub.assert_quiet("sql", Duration::from_millis(500)).await;
}

#[tokio::test]
async fn promotions_made_during_30_seconds_without_redis_all_reach_the_other_instance_once_it_is_back()
 {
    let mut redis = TestRedis::start().await;
    let (w, b) = two_instances(&redis).await;
    let mut sub = Ws::ready(&b.base, MODERN, &w.manager.token).await;
    sub.subscribe("sql", PROMOTIONS, json!({})).await;
    let before = sql(&w.marketer, "before.io", "FR").await;
    let p = promotion(&mut sub, "sql").await;
    assert_eq!(p["account"]["id"], before.as_str(), "{p}");
    let mut cursors = HashSet::from([str_of(&p["cursor"], "cursor").to_owned()]);

    redis.stop();
    // Thirty seconds without Redis, with writes all along on both instances: none waits for
    // it, and the listeners' reconnection backoff (capped at 2 s) keeps trying.
    let down = tokio::time::Instant::now();
    let mut expected = Vec::new();
    for i in 0.. {
        let writer = if i % 2 == 1 {
            w.marketer.on(&b)
        } else {
            w.marketer.clone()
        };
        expected.push(sql(&writer, &format!("down{i}.io"), "FR").await);
        if down.elapsed() >= Duration::from_secs(30) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    redis.restart().await;
    expected.push(sql(&w.marketer, "after.io", "FR").await);

    let mut ids = Vec::new();
    for _ in 0..expected.len() {
        let p = sub.next_within("sql", AFTER_OUTAGE).await["sqlPromotions"].clone();
        let cursor = str_of(&p["cursor"], "cursor").to_owned();
        assert!(cursors.insert(cursor), "delivered twice: {p}");
        ids.push(str_of(&p["account"]["id"], "account id").to_owned());
    }
    assert_eq!(ids, expected, "every promotion, in commit order");
    sub.assert_quiet("sql", Duration::from_millis(1000)).await;
}

/// The viewer's own token with its claims changed by `edit`, signed with `secret`.
fn reforged(token: &str, secret: &str, edit: impl FnOnce(&mut Value)) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let mut claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    edit(&mut claims);
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn bearer(token: &str) -> Value {
    json!({ "Authorization": format!("Bearer {token}") })
}

async fn answers_http(app: &TestApp, user: &Client) {
    let res = app.get("/healthz").send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let me = user.gql("{ me { id } }", json!({})).await;
    assert_eq!(me["data"]["me"]["id"], user.id.as_str(), "{me}");
}

#[tokio::test]
async fn a_missing_bad_or_expired_token_closes_the_socket() {
    let app = spawn_app().await;
    let rep = app.user("acme", Role::Rep).await;
    let now = Utc::now().timestamp();
    let expired = reforged(&rep.token, SECRET, |c| {
        c["iat"] = json!(now - 3600);
        c["nbf"] = json!(now - 3600);
        c["exp"] = json!(now - 120);
    });
    let forged = reforged(
        &rep.token,
        "another-secret-another-secret-another-secret",
        |_| {},
    );
    let cases = [
        ("no payload", Value::Null, 4401),
        ("no token", json!({}), 4401),
        ("garbage", bearer("garbage"), 4403),
        ("forged", bearer(&forged), 4403),
        ("expired", bearer(&expired), 4403),
        ("forged, bare", json!({ "token": forged }), 4403),
    ];
    for (what, payload, code) in cases {
        let mut ws = Ws::connect(&app.base, MODERN).await;
        match ws.init_with(payload).await {
            Incoming::Closed(Some(c)) => assert_eq!(c, code, "{what}"),
            other => panic!("{what}: expected close {code}, got {other:?}"),
        }
    }

    // The real token in each place it may travel.
    Ws::ready(&app.base, MODERN, &rep.token).await.ping().await;
    let mut ws = Ws::connect(&app.base, MODERN).await;
    match ws.init_with(json!({ "token": rep.token })).await {
        Incoming::Json(m) if m["type"] == "connection_ack" => {}
        other => panic!("a bare token: {other:?}"),
    }
    let mut ws = Ws::connect_with(&app.base, MODERN, Some(&rep.token)).await;
    match ws.init_with(json!({})).await {
        Incoming::Json(m) if m["type"] == "connection_ack" => {}
        other => panic!("a token on the upgrade request: {other:?}"),
    }
    ws.ping().await;
    answers_http(&app, &rep).await;
}

#[tokio::test]
async fn a_socket_that_breaks_the_protocol_is_closed_with_its_code_and_the_server_carries_on() {
    let app = spawn_app_with(|c| c.ws_init_timeout_ms = 300).await;
    let m = app.user("acme", Role::Manager).await;
    let base = &app.base;

    let mut silent = Ws::connect(base, MODERN).await;
    assert_eq!(silent.close_code().await, Some(4408), "no connection_init");

    let mut twice = Ws::ready(base, MODERN, &m.token).await;
    match twice.init_with(bearer(&m.token)).await {
        Incoming::Closed(code) => assert_eq!(code, Some(4429), "a second connection_init"),
        other => panic!("a second connection_init: {other:?}"),
    }

    let mut early = Ws::connect(base, MODERN).await;
    early.start("1", PROMOTIONS, json!({})).await;
    assert_eq!(
        early.close_code().await,
        Some(4401),
        "subscribe before connection_ack"
    );

    let mut duplicate = Ws::ready(base, MODERN, &m.token).await;
    duplicate.subscribe("1", PROMOTIONS, json!({})).await;
    duplicate.start("1", PROMOTIONS, json!({})).await;
    assert_eq!(
        duplicate.close_code().await,
        Some(4409),
        "an id already in use"
    );

    let no_id = json!({ "type": "subscribe", "payload": { "query": PROMOTIONS } }).to_string();
    for (what, text) in [
        ("not JSON", "{ not json"),
        ("an unknown type", r#"{"type":"shout"}"#),
        ("a subscribe without an id", no_id.as_str()),
    ] {
        let mut ws = Ws::ready(base, MODERN, &m.token).await;
        ws.send_text(text).await;
        assert_eq!(ws.close_code().await, Some(4400), "{what}");
    }

    // Pings are answered; completing an unknown id changes nothing; a completed id may be
    // used again.
    let mut polite = Ws::ready(base, MODERN, &m.token).await;
    polite.ping().await;
    polite.complete("never-started").await;
    polite.ping().await;
    polite.subscribe("1", PROMOTIONS, json!({})).await;
    polite.complete("1").await;
    polite.subscribe("1", PROMOTIONS, json!({})).await;

    answers_http(&app, &m).await;
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_delivers_promotions_too() {
    let w = world().await;
    let base = &w.app.base;
    // A cursor to start from: graphql-ws cannot tell when a subscription is live, and a
    // subscription that resumes cannot miss what commits next, whenever it starts.
    let mut modern = Ws::ready(base, MODERN, &w.manager.token).await;
    modern.subscribe("sql", PROMOTIONS, json!({})).await;
    sql(&w.marketer, "first.io", "FR").await;
    let cursor = str_of(&promotion(&mut modern, "sql").await["cursor"], "cursor").to_owned();

    let mut legacy = Ws::ready(base, LEGACY, &w.manager.token).await;
    legacy
        .start("1", PROMOTIONS, json!({ "after": cursor }))
        .await;
    let second = sql(&w.marketer, "second.io", "FR").await;
    let p = promotion(&mut legacy, "1").await;
    assert_eq!(p["account"]["id"], second.as_str(), "{p}");
    let cursor = str_of(&p["cursor"], "cursor").to_owned();

    legacy.complete("1").await;
    legacy
        .start("2", PROMOTIONS, json!({ "after": cursor }))
        .await;
    let third = sql(&w.marketer, "third.io", "FR").await;
    let p = promotion(&mut legacy, "2").await;
    assert_eq!(p["account"]["id"], third.as_str(), "{p}");
    // Stopped: nothing more for "1" but, perhaps, its `complete`.
    match legacy
        .recv_for(Some("1"), Duration::from_millis(1000))
        .await
    {
        None => {}
        Some(Incoming::Json(m)) if m["type"] == "complete" => {
            legacy.assert_quiet("1", Duration::from_millis(500)).await;
        }
        Some(other) => panic!("a stopped operation got {other:?}"),
    }
    legacy
        .send(&json!({ "type": "connection_terminate" }))
        .await;
    legacy.close_code().await;

    let mut bad = Ws::connect(base, LEGACY).await;
    match bad.init_with(bearer("garbage")).await {
        Incoming::Json(m) if m["type"] == "connection_error" => {}
        other => panic!("a bad token: expected connection_error, got {other:?}"),
    }
    bad.close_code().await;
    answers_http(&w.app, &w.manager).await;
}

#[tokio::test]
async fn a_token_holds_only_so_many_subscriptions_and_completing_one_frees_its_place() {
    let app = spawn_app_with(|c| c.max_subscriptions_per_token = 2).await;
    let w = world_on(app).await;
    let base = &w.app.base;
    // The limit is per token, across that token's sockets.
    let mut one = Ws::ready(base, MODERN, &w.manager.token).await;
    let mut two = Ws::ready(base, MODERN, &w.manager.token).await;
    one.subscribe("a", PROMOTIONS, json!({})).await;
    two.subscribe("b", PROMOTIONS, json!({})).await;
    two.start("c", PROMOTIONS, json!({})).await;
    assert_eq!(error_code(&two.error("c").await), "TOO_MANY_SUBSCRIPTIONS");
    // Another token of the same workspace is not held back by this one.
    let mut other = Ws::ready(base, MODERN, &w.marketer.token).await;
    other.subscribe("m", PROMOTIONS, json!({})).await;

    one.complete("a").await;
    // Its pong comes after the server handled the `complete`.
    one.ping().await;
    two.subscribe("c", PROMOTIONS, json!({})).await;
    let account = sql(&w.marketer, "limit.io", "US").await;
    for p in [
        promotion(&mut two, "b").await,
        promotion(&mut two, "c").await,
        promotion(&mut other, "m").await,
    ] {
        assert_eq!(p["account"]["id"], json!(account), "{p}");
    }
    one.assert_quiet("a", Duration::from_millis(300)).await;
}

#[tokio::test]
async fn identical_subscriptions_share_one_execution_and_each_socket_still_gets_every_event() {
    let w = world().await;
    let base = &w.app.base;
    let runs = "quorum_subscription_runs";
    let mut a = Ws::ready(base, MODERN, &w.manager.token).await;
    a.subscribe("a", PROMOTIONS, json!({})).await;
    let mut b = Ws::ready(base, MODERN, &w.manager.token).await;
    b.subscribe("b", PROMOTIONS, json!({})).await;
    // The same operation from another viewer is not the same operation.
    let mut rep = Ws::ready(base, MODERN, &w.us.token).await;
    rep.subscribe("r", PROMOTIONS, json!({})).await;
    assert_eq!(metric_settles(base, "quorum_subscriptions", 3.0).await, 3.0);
    assert_eq!(metric_settles(base, runs, 2.0).await, 2.0);

    let first = sql(&w.marketer, "shared.io", "US").await;
    let (pa, pb) = (promotion(&mut a, "a").await, promotion(&mut b, "b").await);
    assert_eq!(pa, pb, "one result, handed to both");
    assert_eq!(pa["account"]["id"], first.as_str(), "{pa}");
    assert_eq!(promotion(&mut rep, "r").await, pa);
    let cursor = str_of(&pa["cursor"], "cursor").to_owned();

    // The socket that started the run leaves: the other keeps it.
    a.complete("a").await;
    a.ping().await;
    let second = sql(&w.marketer, "shared2.io", "US").await;
    for p in [promotion(&mut b, "b").await, promotion(&mut rep, "r").await] {
        assert_eq!(p["account"]["id"], second.as_str(), "{p}");
    }
    a.assert_quiet("a", Duration::from_millis(300)).await;
    assert_eq!(metric_settles(base, runs, 2.0).await, 2.0);

    // Resuming replays from its own cursor, so it runs alone and misses nothing.
    let mut resumed = Ws::ready(base, MODERN, &w.manager.token).await;
    resumed
        .subscribe("s", PROMOTIONS, json!({ "after": cursor }))
        .await;
    assert_eq!(
        promotion(&mut resumed, "s").await["account"]["id"],
        second.as_str()
    );
    assert_eq!(metric_settles(base, runs, 3.0).await, 3.0);

    // A legacy socket joins the shared run and gets its results in its own protocol's frames.
    let mut legacy = Ws::ready(base, LEGACY, &w.manager.token).await;
    legacy.subscribe("l", PROMOTIONS, json!({})).await;
    assert_eq!(metric_settles(base, runs, 3.0).await, 3.0);
    let third = sql(&w.marketer, "shared3.io", "US").await;
    for p in [
        promotion(&mut b, "b").await,
        promotion(&mut legacy, "l").await,
        promotion(&mut resumed, "s").await,
        promotion(&mut rep, "r").await,
    ] {
        assert_eq!(p["account"]["id"], third.as_str(), "{p}");
    }

    // Every socket gone, every run stops.
    for ws in [a, b, rep, resumed, legacy] {
        ws.close().await;
    }
    assert_eq!(metric_settles(base, runs, 0.0).await, 0.0);
    assert_eq!(metric_settles(base, "quorum_subscriptions", 0.0).await, 0.0);
}

#[tokio::test]
async fn a_token_that_expires_while_a_subscription_is_open_ends_it() {
    let w = world().await;
    // Expired 27 s ago: still inside the 30 s clock-skew allowance, so it has 3 s left, time
    // enough for the subscription to start even on a loaded machine (with 1 s, the token
    // sometimes lapsed before the subscribe was read, and the socket closed without it).
    let exp = Utc::now().timestamp() - 27;
    let token = reforged(&w.manager.token, SECRET, |c| {
        c["exp"] = json!(exp);
        c["iat"] = json!(exp - 60);
        c["nbf"] = json!(exp - 60);
    });
    let mut ws = Ws::ready(&w.app.base, MODERN, &token).await;
    ws.start("sql", PROMOTIONS, json!({})).await;
    assert_eq!(error_code(&ws.error("sql").await), "UNAUTHENTICATED");
    assert_eq!(ws.close_code().await, Some(4401));
    answers_http(&w.app, &w.manager).await;
}

#[tokio::test]
async fn one_relay_holds_the_lease_and_another_takes_it_over_once_it_lapses() {
    use quorum_api::store::outbox::{hold_lease, release_lease};
    // The app's own relay stays out of the way: it looks only when a mutation nudges it.
    let app = spawn_app_with(|c| c.relay_poll_ms = 3_600_000).await;
    let db = &app.state.db;
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let t = Utc::now() + chrono::Duration::hours(1);
    let secs = chrono::Duration::seconds;
    assert!(hold_lease(db, "outbox", a, t, t + secs(5)).await.unwrap());
    assert!(
        !hold_lease(db, "outbox", b, t + secs(1), t + secs(6))
            .await
            .unwrap(),
        "A holds it"
    );
    assert!(
        hold_lease(db, "outbox", a, t + secs(2), t + secs(7))
            .await
            .unwrap(),
        "A renews"
    );
    assert!(
        !hold_lease(db, "outbox", b, t + secs(6), t + secs(11))
            .await
            .unwrap(),
        "renewed"
    );
    // A dies without a word: once its lease lapses, B takes over and A is out.
    assert!(
        hold_lease(db, "outbox", b, t + secs(8), t + secs(13))
            .await
            .unwrap()
    );
    assert!(
        !hold_lease(db, "outbox", a, t + secs(9), t + secs(14))
            .await
            .unwrap()
    );
    // A relay that shuts down hands the lease back at once.
    release_lease(db, "outbox", b).await.unwrap();
    assert!(
        hold_lease(db, "outbox", a, t + secs(10), t + secs(15))
            .await
            .unwrap()
    );
    // Leases of other names (the periodic passes') are created on first use and independent.
    assert!(
        hold_lease(db, "sla", b, t + secs(10), t + secs(15))
            .await
            .unwrap()
    );
    assert!(
        !hold_lease(db, "sla", a, t + secs(11), t + secs(16))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn shutting_down_closes_sockets_as_going_away_and_stops_listening() {
    let w = world().await;
    let mut ws = Ws::ready(&w.app.base, MODERN, &w.manager.token).await;
    ws.subscribe("sql", PROMOTIONS, json!({})).await;
    let account = sql(&w.marketer, "last.io", "US").await;
    let p = promotion(&mut ws, "sql").await;
    assert_eq!(p["account"]["id"], json!(account), "{p}");
    w.app.shut_down();
    assert_eq!(ws.close_code().await, Some(1001));
    // The listener is gone too: a new connection finds nobody (at once, give or take the
    // moment the server takes to stop accepting).
    let url = format!("{}/healthz", w.app.base);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while reqwest::Client::new().get(&url).send().await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still accepting connections"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_the_socket_with_1009_and_one_within_it_is_served() {
    let app = spawn_app_with(|c| c.ws_max_message_bytes = 4_096).await;
    let m = app.user("acme", Role::Manager).await;

    // Just under the limit (the query padded with blanks to a 4,000-byte message): an
    // ordinary subscription, which reaches the live feed.
    let mut within = Ws::ready(&app.base, MODERN, &m.token).await;
    let size = |query: &str| {
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": {} } })
            .to_string()
            .len()
    };
    let padded = format!("{PROMOTIONS}{}", " ".repeat(4_000 - size(PROMOTIONS)));
    assert_eq!(size(&padded), 4_000);
    within.subscribe("1", &padded, json!({})).await;

    let mut over = Ws::ready(&app.base, MODERN, &m.token).await;
    over.send_text(&"x".repeat(5_000)).await;
    assert_eq!(
        over.close_code().await,
        Some(1009),
        "a message over the limit"
    );

    within.ping().await;
    answers_http(&app, &m).await;
}

#[tokio::test]
async fn a_socket_that_stops_answering_pings_is_closed_as_idle_and_one_that_answers_stays() {
    // Pings every second; three seconds without a word from the client end the socket.
    let app = spawn_app_with(|c| c.ws_keepalive_secs = 1).await;
    let m = app.user("acme", Role::Manager).await;
    let mut silent = Ws::ready(&app.base, MODERN, &m.token).await;
    let mut attentive = Ws::ready(&app.base, MODERN, &m.token).await;
    attentive.subscribe("p", PROMOTIONS, json!({})).await;

    // Reading answers the server's pings (tungstenite does); `silent` reads nothing meanwhile.
    attentive.assert_quiet("p", Duration::from_secs(5)).await;
    // The server let go of `silent` while it read nothing.
    assert_eq!(
        metric_settles(&app.base, "quorum_ws_connections", 1.0).await,
        1.0
    );
    // Its close frame (1001) sits behind the unanswered pings; reading those makes
    // tungstenite write pongs to a closed socket, which may reset the connection first.
    let code = silent.close_code().await;
    assert!(matches!(code, Some(1001) | None), "{code:?}");
    attentive.ping().await;
    answers_http(&app, &m).await;
}
