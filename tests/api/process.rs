//! Drills on `quorum serve` run as a process of its own, so that it can die as processes do:
//! `kill -9` between a promotion's commit and its delivery, and SIGTERM under load.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use quorum_api::bus::encode_cursor;
use quorum_api::config::Config;
use quorum_api::qualification::SQL_PROMOTED;
use quorum_api::store::entity::{engagement_event, outbox};
use quorum_domain::value::Role;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, TestDb, TestRedis, spawn_app};
use crate::ws::{Incoming, MODERN, Ws};

const PROMOTIONS: &str = "subscription($after: String) {
    sqlPromotions(after: $after) { cursor account { id domain } } }";
const READ: &str =
    "{ accounts(first: 20) { totalCount edges { node { id stage score { total } } } } }";
const INGEST: &str = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) {
    accepted duplicates promotions { accountId } } }";

/// `quorum serve` in a child process on `db`, with the test config's secret and settings
/// (and `TEST_REDIS_URL` when set). Killed when dropped.
struct Server {
    child: Child,
    base: String,
    port: u16,
    log: PathBuf,
}

impl Server {
    async fn start(db: &TestDb, extra: &[(&str, &str)]) -> Self {
        let c = Config::for_tests(db.url().to_owned(), db.dir().clone());
        // A port nobody holds now; the server binds it a moment later.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = db.dir().join(format!("server-{port}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum-drill"));
        cmd.arg("serve")
            .env("DATABASE_URL", db.url())
            .env("QUORUM_DATA_DIR", db.dir())
            .env("JWT_SECRET", c.jwt_secret.clone().expect("a test secret"))
            .env("QUORUM_BIND", format!("127.0.0.1:{port}"))
            .env("QUORUM_WORKERS", "2")
            .env("QUORUM_RELAY_POLL_MS", c.relay_poll_ms.to_string())
            .env("QUORUM_RELAY_LEASE_SECS", c.relay_lease_secs.to_string())
            .env("QUORUM_RESCORE_INTERVAL_SECS", "0")
            .env("QUORUM_SLA_CHECK_INTERVAL_SECS", "0")
            .env("QUORUM_LOADER_WINDOW_MS", "1")
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a log file"));
        if let Some(redis) = std::env::var("TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            cmd.env("REDIS_URL", redis);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("quorum-drill starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            log,
        };
        server.ready().await;
        server
    }

    async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let res = reqwest::get(format!("{}/healthz", self.base)).await;
            if res.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not come up; its log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs.
    fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL delivered");
        self.child.wait().expect("the killed server is reaped");
    }

    fn sigterm(&self) {
        self.signal("TERM");
    }

    /// Sends SIG`name` (`TERM`, `USR1`) with kill(1).
    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "SIG{name} delivered");
    }

    /// The exit status, if the process ends within `within`.
    async fn exited_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `c`, talking to `server`.
fn at(c: &Client, server: &Server) -> Client {
    Client {
        base: server.base.clone(),
        ..c.clone()
    }
}

/// A marketer and a manager of acme, with a model that promotes on one demo request; the
/// in-process instance that set them up is stopped (it lets go of the relay lease), so the
/// process started next is the only server. Its pool stays open for the test's own reads.
async fn setup() -> (TestApp, Client, Client) {
    let app = spawn_app().await;
    let marketer = app.user("acme", Role::Marketer).await;
    marketer.publish_one_event_sql_model().await;
    let manager = app.user("acme", Role::Manager).await;
    app.shut_down();
    (app, marketer, manager)
}

/// One GraphQL request: its answer, or why none came (the server may be going away).
async fn post(m: &Client, query: &str, variables: Value) -> Result<Value, String> {
    let res = m
        .http
        .post(format!("{}/graphql", m.base))
        .bearer_auth(&m.token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await;
    match res {
        Ok(r) => r.json::<Value>().await.map_err(|e| e.to_string()),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// What each writer sent: event id, and the answer or why none came.
type Sent = Vec<(String, Result<Value, String>)>;

fn demo_request(event_id: &str, domain: &str) -> Value {
    json!({ "eventId": event_id, "contactEmail": format!("jane@{domain}"),
        "kind": "DEMO_REQUEST", "occurredAt": chrono::Utc::now().to_rfc3339() })
}

/// Writers that each send one demo request at a time, for a new company each time, until
/// `stop` is set or the server stops answering. Each returns (event id, answer or error).
fn writers(
    m: &Client,
    n: usize,
    tag: &str,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Sent>> {
    (0..n)
        .map(|w| {
            let (m, stop, tag) = (m.clone(), stop.clone(), tag.to_owned());
            tokio::spawn(async move {
                let mut sent = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("{tag}-{w}-{i}");
                    let domain = format!("{tag}-{w}-{i}.example-drill.com");
                    let answer =
                        post(&m, INGEST, json!({ "e": [demo_request(&id, &domain)] })).await;
                    let failed = answer.is_err();
                    sent.push((id, answer));
                    if failed {
                        break;
                    }
                }
                sent
            })
        })
        .collect()
}

/// Two `quorum serve` processes on one database and a Redis of the test's own: what either
/// ingests reaches the subscribers on both, once each.
#[tokio::test]
async fn two_serve_processes_deliver_what_either_ingests_to_subscribers_on_both() {
    let (app, marketer, manager) = setup().await;
    let redis = TestRedis::start().await;
    let url = redis.url();
    let a = Server::start(&app.db, &[("REDIS_URL", &url)]).await;
    let b = Server::start(&app.db, &[("REDIS_URL", &url)]).await;
    let mut on_a = Ws::ready(&a.base, MODERN, &manager.token).await;
    on_a.subscribe("p", PROMOTIONS, json!({})).await;
    let mut on_b = Ws::ready(&b.base, MODERN, &manager.token).await;
    on_b.subscribe("p", PROMOTIONS, json!({})).await;

    for (server, domain) in [
        (&a, "on-a.example-drill.com"),
        (&b, "on-b.example-drill.com"),
    ] {
        let sent = at(&marketer, server)
            .gql(INGEST, json!({ "e": [demo_request(domain, domain)] }))
            .await;
        assert_eq!(sent["data"]["ingestEngagements"]["accepted"], 1, "{sent}");
        for ws in [&mut on_a, &mut on_b] {
            let got = ws.next("p").await;
            assert_eq!(got["sqlPromotions"]["account"]["domain"], domain, "{got}");
        }
    }
    on_a.assert_quiet("p", Duration::from_millis(500)).await;
    on_b.assert_quiet("p", Duration::from_millis(500)).await;
}

/// Reads promotions from `ws` until the socket closes or nothing comes for `quiet`.
async fn read_until_closed_or_quiet(ws: &mut Ws, quiet: Duration, into: &mut Vec<Value>) {
    while let Some(m) = ws.recv_for(Some("p"), quiet).await {
        match m {
            Incoming::Json(m) if m["type"] == "next" => {
                assert!(m["payload"]["errors"].is_null(), "{m}");
                into.push(m["payload"]["data"]["sqlPromotions"].clone());
            }
            Incoming::Closed(_) => return,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The cursors of every promotion committed in the database, in order.
async fn committed_promotions(db: &DatabaseConnection) -> Vec<String> {
    outbox::Entity::find()
        .filter(outbox::Column::Kind.eq(SQL_PROMOTED))
        .order_by_asc(outbox::Column::Seq)
        .all(db)
        .await
        .expect("outbox reads")
        .into_iter()
        .map(|r| encode_cursor(r.seq))
        .collect()
}

/// `got` holds each cursor of `want` in order; a cursor seen twice carries the same event.
fn exactly_once_per_cursor(who: &str, got: &[Value], want: &[String]) {
    let mut by_cursor: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut order = Vec::new();
    for e in got {
        let cursor = e["cursor"].as_str().expect("a cursor");
        match by_cursor.insert(cursor, e) {
            Some(before) => assert_eq!(before, e, "{who}: cursor {cursor} came twice, unlike"),
            None => order.push(cursor.to_owned()),
        }
    }
    assert_eq!(
        order, want,
        "{who}: not every committed promotion, once, in order"
    );
}

#[tokio::test]
async fn a_server_killed_between_a_promotions_commit_and_its_delivery_loses_nothing() {
    let (app, marketer, manager) = setup().await;
    let db = app.state.db.clone();
    let mut server = Server::start(&app.db, &[]).await;
    let mut ws = Ws::ready(&server.base, MODERN, &manager.token).await;
    ws.subscribe("p", PROMOTIONS, json!({})).await;
    let mut got = Vec::new();
    // With Redis, a second instance whose subscriber never disconnects: it gets what the dead
    // server left unannounced once another instance takes the relay lease over.
    let redis = std::env::var("TEST_REDIS_URL").is_ok_and(|u| !u.is_empty());
    // A first promotion: the server relays it, so it holds the relay lease from here on.
    let first = at(&marketer, &server)
        .gql(
            INGEST,
            json!({ "e": [demo_request("first", "first.example-drill.com")] }),
        )
        .await;
    assert_eq!(first["data"]["ingestEngagements"]["accepted"], 1, "{first}");
    got.push(ws.next("p").await["sqlPromotions"].clone());
    let mut steady: Option<(TestApp, Ws, Vec<Value>)> = None;
    if redis {
        let b = app.sibling(|_| {}).await;
        let mut bws = Ws::ready(&b.base, MODERN, &manager.token).await;
        bws.subscribe("p", PROMOTIONS, json!({ "after": got[0]["cursor"] }))
            .await;
        steady = Some((b, bws, got.clone()));
    }
    let mut answered = Vec::new();
    let mut hits = 0;
    for round in 0..8 {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = writers(&at(&marketer, &server), 3, &format!("r{round}"), &stop);
        tokio::time::sleep(Duration::from_millis(200 + 97 * round)).await;
        server.kill9();
        for t in tasks {
            answered.extend(t.await.expect("writer"));
        }
        let waiting = outbox::Entity::find()
            .filter(outbox::Column::PublishedAt.is_null())
            .all(&db)
            .await
            .expect("outbox reads")
            .len();
        if waiting > 0 {
            hits += 1;
        }
        read_until_closed_or_quiet(&mut ws, Duration::from_secs(5), &mut got).await;
        server = Server::start(&app.db, &[]).await;
        ws = Ws::ready(&server.base, MODERN, &manager.token).await;
        let after = got
            .last()
            .map(|e| e["cursor"].clone())
            .unwrap_or(Value::Null);
        ws.subscribe("p", PROMOTIONS, json!({ "after": after }))
            .await;
        if hits >= 2 {
            break;
        }
    }
    assert!(
        hits > 0,
        "no kill landed between a commit and its announcement in 8 rounds"
    );

    let want = committed_promotions(&db).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while by_cursor_count(&got) < want.len() && Instant::now() < deadline {
        read_until_closed_or_quiet(&mut ws, Duration::from_millis(500), &mut got).await;
    }
    exactly_once_per_cursor("the resuming subscriber", &got, &want);
    if let Some((_b, mut bws, mut seen)) = steady {
        let deadline = Instant::now() + Duration::from_secs(30);
        while by_cursor_count(&seen) < want.len() && Instant::now() < deadline {
            read_until_closed_or_quiet(&mut bws, Duration::from_millis(500), &mut seen).await;
        }
        exactly_once_per_cursor("the other instance's subscriber", &seen, &want);
    }
    eprintln!(
        "kill -9 drill: {} promotions, {hits} kills with rows still unannounced",
        want.len()
    );
    // Every promotion a writer was told about is among them.
    let delivered: Vec<&str> = got
        .iter()
        .filter_map(|e| e["account"]["id"].as_str())
        .collect();
    let told: Vec<&str> = answered
        .iter()
        .filter_map(|(_, a)| a.as_ref().ok())
        .flat_map(|a| {
            a["data"]["ingestEngagements"]["promotions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["accountId"].as_str())
        })
        .collect();
    assert!(!told.is_empty());
    for account in told {
        assert!(
            delivered.contains(&account),
            "{account} was never delivered"
        );
    }
}

fn by_cursor_count(events: &[Value]) -> usize {
    events
        .iter()
        .filter_map(|e| e["cursor"].as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// A request whose body trickles in: the server holds it (in flight) from its headers on,
/// and it is complete only when the test says so.
struct Slow {
    stream: tokio::net::TcpStream,
    rest: Vec<u8>,
}

impl Slow {
    async fn start(server: &Server, m: &Client, event_id: &str) -> Self {
        use tokio::io::AsyncWriteExt as _;
        let event = demo_request(event_id, &format!("{event_id}.example-drill.com"));
        let body = json!({ "query": INGEST, "variables": { "e": [event] } }).to_string();
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            server.port,
            m.token,
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .expect("connects");
        stream.write_all(head.as_bytes()).await.expect("head sent");
        stream
            .write_all(&body.as_bytes()[..10])
            .await
            .expect("sent");
        Slow {
            stream,
            rest: body.as_bytes()[10..].to_vec(),
        }
    }

    /// Sends the rest of the body; the status and JSON body of the answer.
    async fn finish(mut self) -> (u16, Value) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        for chunk in self.rest.chunks(self.rest.len().div_ceil(3)) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.stream.write_all(chunk).await.expect("body sent");
        }
        let mut answer = Vec::new();
        self.stream
            .read_to_end(&mut answer)
            .await
            .expect("answer read");
        let answer = String::from_utf8(answer).expect("UTF-8");
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status");
        (status, serde_json::from_str(body).expect("a JSON body"))
    }
}

/// The instance's `/metrics` text.
async fn metrics_text(server: &Server) -> String {
    reqwest::get(format!("{}/metrics", server.base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

/// The instance's `quorum_http_requests_in_flight`.
async fn in_flight(server: &Server) -> f64 {
    metrics_text(server)
        .await
        .lines()
        .find_map(|l| l.strip_prefix("quorum_http_requests_in_flight "))
        .and_then(|v| v.trim().parse().ok())
        .expect("quorum_http_requests_in_flight")
}

/// Whether any of `ids` is stored.
async fn stored(db: &DatabaseConnection, ids: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for chunk in ids.chunks(500) {
        found.extend(
            engagement_event::Entity::find()
                .filter(engagement_event::Column::EventId.is_in(chunk.to_vec()))
                .all(db)
                .await
                .expect("events read")
                .into_iter()
                .map(|e| e.event_id),
        );
    }
    found
}

#[tokio::test]
async fn sigterm_under_load_finishes_what_it_accepted_refuses_the_rest_and_exits_in_time() {
    let (app, marketer, manager) = setup().await;
    let db = app.state.db.clone();
    let timeout = 10;
    let mut server = Server::start(
        &app.db,
        &[("QUORUM_SHUTDOWN_TIMEOUT", &timeout.to_string())],
    )
    .await;
    let (marketer, manager) = (at(&marketer, &server), at(&manager, &server));
    let mut ws = Ws::ready(&server.base, MODERN, &manager.token).await;
    ws.subscribe("p", PROMOTIONS, json!({})).await;
    // A load balancer's health checker, on a kept-alive connection opened before the signal.
    let checker = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("a client");
    let readyz = format!("{}/readyz", server.base);
    let ready = checker.get(&readyz).send().await.expect("readyz answers");
    assert_eq!(ready.status(), 200);
    // In flight across the signal, for certain: the server has it before the signal (the
    // gauge counts it and the metrics request), its body ends after.
    let slow = Slow::start(&server, &marketer, "slow").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while in_flight(&server).await < 2.0 {
        assert!(Instant::now() < deadline, "the slow request never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let tasks = writers(&marketer, 3, "load", &stop);
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (m, stop) = (manager.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let answer = post(&m, READ, json!({})).await;
                    let failed = answer.is_err();
                    answers.push(answer);
                    if failed {
                        break;
                    }
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A large batch too, usually in flight when the signal comes.
    let big_ids: Vec<String> = (0..10_000).map(|i| format!("big-{i}")).collect();
    let big = {
        let events: Vec<Value> = big_ids
            .iter()
            .enumerate()
            .map(|(i, id)| demo_request(id, &format!("big-{}.example-drill.com", i % 500)))
            .collect();
        let m = marketer.clone();
        tokio::spawn(async move { post(&m, INGEST, json!({ "e": events })).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    server.sigterm();
    // New connections are refused while the slow request is still in flight.
    let mut refused = false;
    while signalled.elapsed() < Duration::from_secs(2) {
        if tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(refused, "new connections were still accepted after SIGTERM");
    // No longer ready: 503 on a kept-alive connection, or no answer at all.
    let draining = checker
        .get(&readyz)
        .send()
        .await
        .map(|r| r.status().as_u16());
    if let Ok(status) = draining {
        assert_eq!(status, 503, "ready while draining");
    }
    assert_eq!(
        ws.close_code().await,
        Some(1001),
        "sockets close as going away"
    );
    let (status, answer) = slow.finish().await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"]["ingestEngagements"]["accepted"], 1,
        "{answer}"
    );
    assert_eq!(stored(&db, &["slow".to_owned()]).await, ["slow"]);

    let status = server
        .exited_within(Duration::from_secs(timeout))
        .await
        .unwrap_or_else(|| panic!("still running {timeout} s after SIGTERM"));
    assert!(status.success(), "exit status {status}");
    let took = signalled.elapsed();

    // The batch and the load: an answer is a success; no answer leaves nothing behind.
    match big.await.expect("the batch's task") {
        Ok(big) => {
            assert!(big["errors"].is_null(), "{big}\n{}", server.log_text());
            assert_eq!(
                big["data"]["ingestEngagements"]["accepted"], 10_000,
                "{big}"
            );
        }
        Err(e) => assert_eq!(
            stored(&db, &big_ids).await.len(),
            0,
            "the batch failed ({e}) yet left events"
        ),
    }
    stop.store(true, Ordering::SeqCst);
    let mut written = Vec::new();
    for t in tasks {
        written.extend(t.await.expect("writer"));
    }
    let mut read = Vec::new();
    for t in readers {
        read.extend(t.await.expect("reader"));
    }
    for a in read.iter().filter_map(|a| a.as_ref().ok()) {
        assert!(a["errors"].is_null(), "a read failed during shutdown: {a}");
    }
    let mut unanswered = Vec::new();
    for (id, a) in &written {
        match a {
            Ok(a) => assert!(
                a["errors"].is_null() && a["data"]["ingestEngagements"]["accepted"] == 1,
                "a write failed during shutdown: {a}"
            ),
            Err(_) => unanswered.push(id.clone()),
        }
    }
    let left = stored(&db, &unanswered).await;
    assert!(left.is_empty(), "accepted, then failed: {left:?}");
    let answered = written.iter().filter(|(_, a)| a.is_ok()).count()
        + read.iter().filter(|a| a.is_ok()).count();
    assert!(
        answered >= 10,
        "too little load to tell: {written:?} {read:?}"
    );
    eprintln!(
        "SIGTERM drill: exited {took:?} after the signal; /readyz meanwhile {draining:?}; \
         {answered} load requests answered, {} unanswered",
        unanswered.len()
    );
}

/// The binary reports what its allocator holds beside the live heap, so that an operator can
/// tell a leak (allocated growing) from pages the allocator keeps (resident growing alone)
/// without a profiler.
#[tokio::test]
async fn the_binary_reports_its_allocators_memory() {
    let app = spawn_app().await;
    app.shut_down();
    let server = Server::start(&app.db, &[]).await;
    let text = metrics_text(&server).await;
    let bytes = |name: &str| -> u64 {
        let series = format!("quorum_memory_{name}_bytes ");
        text.lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series}in\n{text}"))
    };
    let (allocated, active, resident, metadata) = (
        bytes("allocated"),
        bytes("active"),
        bytes("resident"),
        bytes("metadata"),
    );
    bytes("retained");
    // The purging settings `.cargo/config.toml` bakes into jemalloc's build.
    assert!(
        tikv_jemalloc_ctl::opt::background_thread::read().expect("jemalloc's options"),
        "jemalloc built without background purging"
    );
    // A serving process holds at least its pools, caches and schema; jemalloc's counts nest.
    assert!(allocated > 1 << 20, "allocated {allocated}");
    assert!(
        active >= allocated,
        "active {active} < allocated {allocated}"
    );
    assert!(
        resident >= active + metadata / 2,
        "resident {resident}, active {active}, metadata {metadata}"
    );
    // On SIGUSR1 it writes jemalloc's per-arena statistics to its log, and keeps serving.
    assert!(!server.log_text().contains("Begin jemalloc statistics"));
    server.signal("USR1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_text().contains("End jemalloc statistics") {
        assert!(
            Instant::now() < deadline,
            "no allocator statistics after SIGUSR1; the log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = server.log_text();
    assert!(log.contains("Begin jemalloc statistics") && log.contains("arenas"));
    metrics_text(&server).await;
}
