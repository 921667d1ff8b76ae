//! The real app on a random port, on a database of its own.
//!
//! SQLite by default (a file in a temp dir); PostgreSQL when `TEST_DATABASE_URL` names a server
//! we may create databases on: each test gets `quorum_test_<unix time>_<uuid>` and drops it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use quorum_api::auth::Viewer;
use quorum_api::config::Config;
use quorum_api::startup::{Application, connect};
use quorum_api::state::AppState;
use quorum_api::store;
use quorum_domain::value::{Email, Role, UserId, WorkspaceId};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// A database for one test, removed when dropped.
pub struct TestDb {
    url: String,
    dir: PathBuf,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn fresh() -> Self {
        let dir =
            std::env::temp_dir().join(format!("quorum-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            None => {
                let url = format!("sqlite://{}?mode=rwc", dir.join("quorum.db").display());
                Self { url, dir, pg: None }
            }
            Some(admin) => {
                sweep_leftovers(&admin).await;
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let name = format!("quorum_test_{secs}_{}", uuid::Uuid::new_v4().simple());
                let conn = Database::connect(&admin)
                    .await
                    .expect("TEST_DATABASE_URL reachable");
                conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let url = with_database(&admin, &name);
                Self {
                    url,
                    dir,
                    pg: Some((admin, name)),
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn dir(&self) -> &PathBuf {
        &self.dir
    }

    /// The test runs on PostgreSQL (`TEST_DATABASE_URL`), not SQLite.
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs inside the test's runtime; a thread of its own may block on a new one.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(conn) = Database::connect(&admin).await {
                        conn.execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        ))
                        .await
                        .ok();
                        conn.close().await.ok();
                    }
                });
            })
            .join();
        }
    }
}

/// `postgres://u@h:p/db?x` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Drops test databases left by runs that crashed, once per process. Only those over two
/// hours old: other test processes may be running now.
async fn sweep_leftovers(admin: &str) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let Ok(conn) = Database::connect(admin).await else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let rows = conn
            .query_all_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT datname FROM pg_database WHERE datname LIKE 'quorum_test_%'",
            ))
            .await
            .unwrap_or_default();
        for row in rows {
            let Ok(name) = row.try_get::<String>("", "datname") else {
                continue;
            };
            let born = name
                .split('_')
                .nth(2)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(now);
            if now.saturating_sub(born) > 2 * 3600 {
                conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok();
            }
        }
        conn.close().await.ok();
    })
    .await;
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    /// SQL statements run so far by the app's pool.
    pub statements: Arc<AtomicUsize>,
    /// Shared with any sibling instance; dropped with the last of them.
    pub db: Arc<TestDb>,
    stop: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl TestApp {
    /// Shuts the instance down as SIGTERM would.
    pub fn shut_down(&self) {
        if let Some(stop) = self.stop.lock().unwrap().take() {
            let _ = stop.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app with `tweak` applied to its test config.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(Arc::new(TestDb::fresh().await), tweak).await
}

/// An instance on `db`, which another instance may be using too. With `TEST_REDIS_URL` set,
/// its live events go through that Redis (unless `tweak` says otherwise).
pub async fn spawn_app_on(db: Arc<TestDb>, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::for_tests(db.url().to_owned(), db.dir().clone());
    config.redis_url = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    tweak(&mut config);
    let mut conn = connect(&config).await.expect("test database connects");
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    conn.set_metric_callback(move |info| {
        // The outbox relay polls in the background; count only what requests run.
        let sql = &info.statement.sql;
        let relay = sql.contains("relay_lease")
            || sql.contains("\"published_at\" IS NULL")
            || sql.contains("\"published_at\" <")
            // With the outbox, the relay prunes old batch replies.
            || sql.starts_with("DELETE FROM \"ingest_batch\"");
        if !relay {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let app = Application::build_with_db(config, conn)
        .await
        .expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        // Only an explicit `shut_down`: a dropped sender must not stop a sibling's instance.
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
    }));
    TestApp {
        base,
        http: reqwest::Client::new(),
        state,
        statements,
        db,
        stop: std::sync::Mutex::new(Some(stop)),
    }
}

pub const PASSWORD: &str = "password-for-tests";

/// A signed-in user of one workspace.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub id: String,
    pub email: String,
}

impl TestApp {
    /// A second instance on this one's database (`tweak` applies to its config only).
    pub async fn sibling(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        spawn_app_on(self.db.clone(), tweak).await
    }

    /// A user with `role` in `workspace` (created if new), with a token.
    pub async fn user(&self, workspace: &str, role: Role) -> Client {
        let n = uuid::Uuid::new_v4().simple().to_string();
        let email = format!(
            "{}-{}@{workspace}.example.com",
            role.as_str().to_lowercase(),
            &n[..8]
        );
        let id = self.user_with(workspace, role, &email).await;
        let ws = store::workspace::find_or_create(&self.state.db, workspace)
            .await
            .expect("workspace");
        let viewer = Viewer {
            user_id: id,
            workspace_id: WorkspaceId::from(ws.id),
            role,
        };
        let (token, _) = self.state.keys.issue(&viewer, 3600).expect("token");
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            token,
            id: id.to_string(),
            email,
        }
    }

    /// Creates a user with `PASSWORD` and returns its id.
    pub async fn user_with(&self, workspace: &str, role: Role, email: &str) -> UserId {
        let ws = store::workspace::find_or_create(&self.state.db, workspace)
            .await
            .expect("workspace");
        let hash = quorum_api::auth::hash_password(PASSWORD.to_owned())
            .await
            .expect("hash");
        let new = store::user::NewUser {
            email: Email::parse(email).expect("email"),
            name: email.split('@').next().unwrap_or("user").to_owned(),
            role,
            password_hash: hash,
        };
        let user = store::user::insert(WorkspaceId::from(ws.id), &self.state.db, new)
            .await
            .expect("user");
        UserId::from(user.id)
    }

    /// A client that sends no token.
    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            token: String::new(),
            id: String::new(),
            email: String::new(),
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }

    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }
}

impl Client {
    /// Runs one operation; returns the whole JSON response.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        let res = req.send().await.expect("request sent");
        res.json().await.expect("JSON response")
    }

    /// Follows `endCursor` (passed as `$a`) through every page of the connection at `path`,
    /// checking each page's `totalCount`; returns each edge's `node.<key>` in order.
    pub async fn walk(
        &self,
        query: &str,
        mut vars: Value,
        path: &[&str],
        key: &str,
        total: u64,
    ) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let res = self.gql(query, vars.clone()).await;
            let conn = path.iter().fold(&res["data"], |v, k| &v[*k]);
            assert_eq!(conn["totalCount"], total, "{res}");
            let edges = conn["edges"].as_array().unwrap_or_else(|| panic!("{res}"));
            seen.extend(
                edges
                    .iter()
                    .map(|e| e["node"][key].as_str().unwrap_or_default().to_owned()),
            );
            if conn["pageInfo"]["hasNextPage"] != true {
                return seen;
            }
            vars["a"] = conn["pageInfo"]["endCursor"].clone();
        }
    }

    /// Same user, talking to another instance.
    pub fn on(&self, app: &TestApp) -> Client {
        Client {
            base: app.base.clone(),
            http: app.http.clone(),
            ..self.clone()
        }
    }

    /// Same client with another token (forged, expired, …).
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: token.to_owned(),
            ..self.clone()
        }
    }

    /// Upserts one account with `domain` and returns its id.
    /// Publishes a model whose total is the engagement alone, with low lines: one high-intent
    /// event (a demo request) makes an SQL.
    pub async fn publish_one_event_sql_model(&self) {
        let res = self
            .gql(
                "mutation($i: ScoringModelInput!) { publishScoringModel(input: $i) { version } }",
                json!({ "i": { "weights": { "fit": 0.0, "engagement": 1.0, "intent": 0.0 },
                    "thresholds": { "mql": 1.0, "sql": 2.0, "sqlMinFit": 0.0, "sqlMinCoverage": 0.0,
                        "demotionMargin": 1.0, "highIntentWindowDays": 30.0 } } }),
            )
            .await;
        assert!(res["errors"].is_null(), "{res}");
    }

    pub async fn upsert_account(&self, domain: &str) -> String {
        let res = self
            .gql(
                "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
                json!({ "i": [{ "name": domain, "domain": domain }] }),
            )
            .await;
        res["data"]["upsertAccounts"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("upsert failed: {res}"))
            .to_owned()
    }

    /// Upserts one contact and returns its id.
    pub async fn upsert_contact(&self, email: &str) -> String {
        let res = self
            .gql(
                "mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }",
                json!({ "i": [{ "email": email }] }),
            )
            .await;
        res["data"]["upsertContacts"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("upsert failed: {res}"))
            .to_owned()
    }
}

/// The `extensions.code` of the first error.
pub fn code(res: &Value) -> &str {
    res["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no error code>")
}

/// The `extensions.field` of the first error.
pub fn field(res: &Value) -> &str {
    res["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("<no field>")
}

/// A `redis-server` of the test's own on a free port, killed when dropped. `stop` and
/// `restart` (on the same port) make an outage.
pub struct TestRedis {
    port: u16,
    dir: PathBuf,
    child: Option<std::process::Child>,
}

impl TestRedis {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("quorum-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut redis = Self {
            port,
            dir,
            child: None,
        };
        redis.restart().await;
        redis
    }

    /// Runs `redis-cli` against this server with `args`; its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server, as a crash would: no goodbye to its clients.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts it (again) on the same port, empty, and waits until it answers `PING`.
    pub async fn restart(&mut self) {
        self.stop();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on the PATH: the Redis tests start their own");
        // Owned before anything can fail, so that dropping `self` kills it.
        let child = self.child.insert(child);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !redis_answers(self.port).await {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("redis-server on port {} exited: {status}", self.port);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not answer on port {}",
                self.port
            );
            // Polling for readiness of a process, not waiting for an event.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

async fn redis_answers(port: u16) -> bool {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if s.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut answer = [0_u8; 7];
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(1), s.read_exact(&mut answer)).await;
    matches!(read, Ok(Ok(_))) && &answer == b"+PONG\r\n"
}
