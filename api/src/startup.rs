//! Building and running the server, shared by `quorum serve` and the tests.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::dev::{Server, Service as _};
use actix_web::http::ConnectionType;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpMessage as _, HttpServer, web};
use anyhow::Context as _;
use futures_util::FutureExt as _;
use quorum_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tracing_actix_web::{RequestId, TracingLogger};

use crate::assets;
use crate::auth::{JwtKeys, LoginThrottle};
use crate::bus::Bus;
use crate::config::Config;
use crate::graphql::{Limits, build_schema};
use crate::http;
use crate::metrics::Metrics;
use crate::periodic::{self, Periodic};
use crate::state::AppState;
use crate::ws::{Runs, TokenLimits};

/// The requests' pool, sized and timed by `config`. SQLite gets WAL, a busy timeout and
/// foreign keys.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let max = config
        .db_max_connections
        .unwrap_or(if config.is_sqlite() { 1 } else { 10 });
    connect_sized(config, max).await
}

/// The live-delivery pool on PostgreSQL (see `Config::live_db_max_connections`).
pub async fn connect_live(config: &Config) -> anyhow::Result<DatabaseConnection> {
    connect_sized(config, config.live_db_max_connections.max(1)).await
}

async fn connect_sized(config: &Config, max: u32) -> anyhow::Result<DatabaseConnection> {
    let url = config.database_url();
    if config.is_sqlite() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
    }
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(max)
        .min_connections(0)
        .acquire_timeout(Duration::from_millis(config.db_acquire_timeout_ms))
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        // Custom plans for every execution: a generic plan cached while a table was nearly
        // empty (a new workspace's first imports) kept scanning it sequentially once it held
        // 100,000 rows (seconds per 1,000-email lookup); planning these statements costs
        // well under a millisecond.
        .map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]))
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    Database::connect(opts)
        .await
        .context("connecting to the database")
}

/// Brings the schema up to date, in one transaction on one connection: every pending
/// migration or none, and on SQLite no statement of a migration runs on another pooled
/// connection whose view of the schema is stale. Instances that start together take turns, or
/// two would apply the same migration at once and one would fail: on PostgreSQL that
/// transaction holds an advisory lock, on SQLite an exclusive lock on a file beside the
/// database is held around it.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait as _, DbBackend};
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let _turn = if postgres {
        None
    } else {
        sqlite_migration_lock(db).await?
    };
    let txn = crate::store::write_txn(db)
        .await
        .context("starting the migrations")?;
    if postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await
            .context("waiting for other instances' migrations")?;
    }
    Migrator::up(&txn, None)
        .await
        .context("running migrations")?;
    txn.commit().await.context("committing the migrations")
}

/// The advisory lock's key: "quorummg" in ASCII, unlikely to collide with another
/// application's on a shared server.
const MIGRATION_LOCK: i64 = 0x71756f72756d6d67;

/// An exclusive lock on `<database file>.migrate-lock`, held until the file is dropped; `None`
/// for an in-memory database, which no other process can open.
async fn sqlite_migration_lock(db: &DatabaseConnection) -> anyhow::Result<Option<std::fs::File>> {
    use sea_orm::{ConnectionTrait as _, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
        ))
        .await
        .context("finding the database file")?;
    let file: String = match row {
        Some(r) => r.try_get("", "file").context("finding the database file")?,
        None => String::new(),
    };
    if file.is_empty() {
        return Ok(None);
    }
    let path = format!("{file}.migrate-lock");
    let locked = tokio::task::spawn_blocking(move || {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        f.lock()?;
        Ok::<_, std::io::Error>(f)
    })
    .await
    .context("waiting for other instances' migrations")?
    .context("locking the database for migrations")?;
    Ok(Some(locked))
}

/// Runs `pass` every `secs` seconds on whichever instance holds `lease` (see `periodic`); 0
/// turns it off.
fn spawn_periodic<Fut>(
    state: &AppState,
    lease: &'static str,
    secs: u64,
    at_start: bool,
    pass: fn(DatabaseConnection) -> Fut,
) where
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    if secs == 0 {
        return;
    }
    let p = Periodic {
        lease,
        every: Duration::from_secs(secs),
        at_start,
        instance: state.bus.instance,
    };
    let db = state.db.clone();
    tokio::spawn(periodic::run(
        state.db.clone(),
        p,
        state.shutdown.clone(),
        move || pass(db.clone()),
    ));
}

/// Lowers idle accounts' scores as their engagement decays (one instance at a time runs it:
/// see `periodic`).
async fn rescore_pass(db: DatabaseConnection) {
    match crate::scoring::rescore_stale_everywhere(&db, crate::store::now()).await {
        Ok(n) => tracing::info!(accounts = n, "periodic rescoring done"),
        Err(e) => tracing::warn!(error = ?e, "periodic rescoring failed; next pass retries"),
    }
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    /// Tells the bus and the sockets that the server is stopping.
    stop: tokio::sync::watch::Sender<bool>,
    /// The listening socket (shared with actix), closed at shutdown to refuse new connections.
    listener: TcpListener,
    shutdown_timeout: Duration,
}

/// Counts a request as in flight until dropped (answered, or abandoned by its client).
struct InFlight(Arc<Metrics>);

impl InFlight {
    fn enter(metrics: &Arc<Metrics>) -> Self {
        metrics.requests_in_flight.fetch_add(1, Ordering::SeqCst);
        Self(metrics.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.requests_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = connect(&config).await?;
        Self::build_with_db(config, db).await
    }

    /// With a connection made by the caller (tests attach a statement counter to it).
    pub async fn build_with_db(config: Config, db: DatabaseConnection) -> anyhow::Result<Self> {
        migrate(&db).await?;
        // SQLite keeps its one connection: a second one's relay writes would meet
        // `SQLITE_BUSY` inside other connections' transactions.
        let live_db = if config.is_sqlite() {
            db.clone()
        } else {
            connect_live(&config).await?
        };
        let keys = JwtKeys::from_config(&config)?;
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let bus = Bus::start(&config, live_db.clone(), shutdown.clone())?;
        let state = AppState {
            db,
            live_db,
            bus,
            metrics: Arc::new(Metrics::default()),
            token_limits: Arc::new(TokenLimits::default()),
            runs: Arc::new(Runs::new(config.ws_buffer)),
            shutdown,
            keys: Arc::new(keys),
            throttle: Arc::new(LoginThrottle::new(Duration::from_millis(
                config.login_backoff_ms,
            ))),
            config: Arc::new(config.clone()),
        };
        // Built once: every worker shares it.
        let schema = build_schema(state.clone(), &Limits::from(&config));
        let listener =
            TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let own_listener = listener.try_clone()?;
        let max_body = config.max_body_bytes;
        let app_state = state.clone();
        let counter = state.metrics.clone();
        let mut server = HttpServer::new(move || {
            let counter = counter.clone();
            App::new()
                .wrap_fn(move |req, srv| {
                    let started = std::time::Instant::now();
                    let in_flight = InFlight::enter(&counter);
                    srv.call(req).map(move |res| {
                        drop(in_flight);
                        res.map(|mut res| {
                            let state = res.request().app_data::<web::Data<AppState>>().cloned();
                            if let Some(state) = state {
                                if *state.shutdown.borrow() {
                                    // Draining: a kept-alive client goes elsewhere for its
                                    // next request instead of holding this instance open.
                                    res.response_mut()
                                        .head_mut()
                                        .set_connection_type(ConnectionType::Close);
                                }
                                state.metrics.request(
                                    res.request().method().as_str(),
                                    res.request().path(),
                                    res.status().as_u16(),
                                    started.elapsed(),
                                );
                            }
                            let id = res
                                .request()
                                .extensions()
                                .get::<RequestId>()
                                .map(|id| id.to_string());
                            if let Some(v) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                                res.headers_mut()
                                    .insert(HeaderName::from_static("x-request-id"), v);
                            }
                            res
                        })
                    })
                })
                .wrap(TracingLogger::default())
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::Data::new(schema.clone()))
                .app_data(web::Data::new(app_state.clone()))
                .route("/graphql", web::post().to(http::graphql_post))
                .route(
                    "/graphql",
                    web::get()
                        .guard(actix_web::guard::Header("upgrade", "websocket"))
                        .to(crate::ws::graphql_ws),
                )
                .route("/graphql", web::get().to(http::graphql_get))
                .route("/metrics", web::get().to(crate::metrics::metrics))
                .route("/healthz", web::get().to(http::healthz))
                .route("/readyz", web::get().to(http::readyz))
                .route("/", web::get().to(assets::board))
                .route("/assets/board/{name}", web::get().to(assets::board_asset))
                .route(
                    "/assets/graphiql/{name}",
                    web::get().to(assets::graphiql_asset),
                )
        })
        .shutdown_timeout(config.shutdown_timeout_secs)
        // Signals are ours: sockets must hear "going away" before actix stops the workers.
        .disable_signals();
        if let Some(n) = config.workers {
            server = server.workers(n);
        }
        let server = server.listen(listener)?.run();
        // The rescore not at start: a rollout restarting every instance would run it each time.
        spawn_periodic(
            &state,
            "rescore",
            config.rescore_interval_secs,
            false,
            rescore_pass,
        );
        spawn_periodic(
            &state,
            "sla",
            config.sla_check_interval_secs,
            true,
            crate::sla::watch_pass,
        );
        Ok(Self {
            port,
            server,
            state,
            stop,
            listener: own_listener,
            shutdown_timeout: Duration::from_secs(config.shutdown_timeout_secs),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM, then lets in-flight requests finish (actix's graceful
    /// shutdown, bounded by `QUORUM_SHUTDOWN_TIMEOUT`).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` resolves, then shuts down as on SIGTERM (tests stop an instance
    /// this way).
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        let stop = self.stop;
        let (listener, metrics) = (self.listener, self.state.metrics.clone());
        let timeout = self.shutdown_timeout;
        tokio::spawn(async move {
            signal.await;
            tracing::info!("shutting down: closing sockets, finishing requests");
            // WebSockets hear "going away", the bus stops, `/readyz` says draining.
            let _ = stop.send(true);
            handle.pause().await;
            // The accept thread applies the pause on its own; closing the socket under it
            // before then only makes it log a failed accept.
            tokio::time::sleep(Duration::from_millis(50)).await;
            // Refused from now on, rather than queued in the backlog until the process ends.
            if let Err(e) = socket2::SockRef::from(&listener).shutdown(std::net::Shutdown::Both) {
                tracing::warn!(error = %e, "could not close the listening socket");
            }
            // Every worker stays up until no request is in flight anywhere: a pooled database
            // connection is driven by the worker runtime that opened it, so a worker that
            // stopped first would fail another worker's request mid-query.
            let deadline = tokio::time::Instant::now() + timeout;
            while metrics.requests_in_flight.load(Ordering::SeqCst) > 0
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            handle.stop(true).await;
        });
        self.server.await
    }
}
