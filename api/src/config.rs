//! Settings, from flags or the environment. Tests build `Config` values directly.

use std::path::PathBuf;

use clap::ArgAction;

/// Everything `quorum` reads from its environment; `README.md` lists the variables.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Where the embedded defaults live: the SQLite file and the generated JWT secret.
    #[arg(long, env = "QUORUM_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// `postgres://…` for production; default: `sqlite://<data dir>/quorum.db`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// HS256 signing secret (at least 32 bytes); default: generated once into the data dir.
    #[arg(long, env = "JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// PEM RS256 public key of an identity provider; replaces the shared secret for checking
    /// tokens.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE", global = true)]
    pub jwt_public_key_file: Option<PathBuf>,

    /// PEM RS256 private key, so that `login` and `quorum token` can sign when RS256 is used.
    #[arg(long, env = "JWT_PRIVATE_KEY_FILE", global = true)]
    pub jwt_private_key_file: Option<PathBuf>,

    /// `iss` of the tokens we issue and accept.
    #[arg(
        long,
        env = "QUORUM_JWT_ISSUER",
        default_value = "quorum",
        global = true
    )]
    pub jwt_issuer: String,

    /// `aud` of the tokens we issue and accept.
    #[arg(
        long,
        env = "QUORUM_JWT_AUDIENCE",
        default_value = "quorum-api",
        global = true
    )]
    pub jwt_audience: String,

    /// Lifetime of tokens issued by `login`, in seconds.
    #[arg(long, env = "QUORUM_TOKEN_TTL", default_value_t = 12 * 3600, global = true)]
    pub token_ttl_secs: u64,

    /// Address to listen on.
    #[arg(
        long,
        env = "QUORUM_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,

    /// HTTP worker threads; default: one per core.
    #[arg(long, env = "QUORUM_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Pooled database connections; default 10 on PostgreSQL, 1 on SQLite (one writer at a
    /// time, and a single connection never meets `SQLITE_BUSY` mid-transaction).
    #[arg(long, env = "QUORUM_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,

    /// Pooled connections for live delivery (the outbox relay, subscribers' reads), apart
    /// from the requests' pool so that events reach sockets even while writers queue for it.
    #[arg(
        long,
        env = "QUORUM_LIVE_DB_MAX_CONNECTIONS",
        default_value_t = 4,
        global = true
    )]
    pub live_db_max_connections: u32,

    /// How long a request waits for a pooled connection before failing with `UNAVAILABLE`.
    #[arg(
        long,
        env = "QUORUM_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 3000,
        global = true
    )]
    pub db_acquire_timeout_ms: u64,

    /// Serve GraphiQL on `GET /graphql`. Turn off in production.
    #[arg(long, env = "QUORUM_GRAPHIQL", default_value_t = true, action = ArgAction::Set, global = true)]
    pub graphiql: bool,

    /// Answer introspection queries. Turn off in production.
    #[arg(long, env = "QUORUM_INTROSPECTION", default_value_t = true, action = ArgAction::Set, global = true)]
    pub introspection: bool,

    /// Deepest selection nesting a query may have.
    #[arg(long, env = "QUORUM_MAX_DEPTH", default_value_t = 12, global = true)]
    pub max_depth: usize,

    /// Highest cost a query may have; list fields cost `first` × their selection.
    #[arg(
        long,
        env = "QUORUM_MAX_COMPLEXITY",
        default_value_t = 20_000,
        global = true
    )]
    pub max_complexity: usize,

    /// Operations in one batched (JSON array) request.
    #[arg(long, env = "QUORUM_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,

    /// Largest request body, in bytes; larger ones get 413.
    #[arg(long, env = "QUORUM_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(
        long,
        env = "QUORUM_SHUTDOWN_TIMEOUT",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_timeout_secs: u64,

    /// Delay added per recent failed login for the same e-mail, in milliseconds (doubling,
    /// capped at 5 s), so that guessing passwords is slow.
    #[arg(
        long,
        env = "QUORUM_LOGIN_BACKOFF_MS",
        default_value_t = 250,
        global = true
    )]
    pub login_backoff_ms: u64,

    /// Seconds between passes that rescore accounts whose engagement or intent decays with
    /// time (and any scored under an older model); 0 turns the pass off.
    #[arg(
        long,
        env = "QUORUM_RESCORE_INTERVAL_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub rescore_interval_secs: u64,

    /// Seconds between passes that mark untouched, overdue assignments `SLA_BREACHED`; 0
    /// turns the watch off.
    #[arg(
        long,
        env = "QUORUM_SLA_CHECK_INTERVAL_SECS",
        default_value_t = 30,
        global = true
    )]
    pub sla_check_interval_secs: u64,

    /// How long, in milliseconds, a DataLoader gathers keys before one batched query.
    #[arg(
        long,
        env = "QUORUM_LOADER_WINDOW_MS",
        default_value_t = 1,
        global = true
    )]
    pub loader_window_ms: u64,

    /// `redis://…`: fan live events out to every instance through Redis; default: an
    /// in-process bus (one instance).
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Milliseconds between the relay's looks at the outbox when nothing woke it sooner.
    #[arg(
        long,
        env = "QUORUM_RELAY_POLL_MS",
        default_value_t = 250,
        global = true
    )]
    pub relay_poll_ms: u64,

    /// Seconds a relay's lease lasts unless renewed; a relay that dies is replaced after it.
    #[arg(
        long,
        env = "QUORUM_RELAY_LEASE_SECS",
        default_value_t = 5,
        global = true
    )]
    pub relay_lease_secs: u64,

    /// Seconds announced outbox rows are kept so that clients can resume from their cursor.
    #[arg(long, env = "QUORUM_OUTBOX_RETENTION_SECS", default_value_t = 7 * 24 * 3600, global = true)]
    pub outbox_retention_secs: u64,

    /// Milliseconds a new WebSocket gets to send `connection_init`.
    #[arg(
        long,
        env = "QUORUM_WS_INIT_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub ws_init_timeout_ms: u64,

    /// Seconds between server pings on a WebSocket; one silent for three of them is closed.
    #[arg(
        long,
        env = "QUORUM_WS_KEEPALIVE_SECS",
        default_value_t = 15,
        global = true
    )]
    pub ws_keepalive_secs: u64,

    /// Largest WebSocket message (and frame), in bytes; larger ones close the socket unread.
    #[arg(long, env = "QUORUM_WS_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024, global = true)]
    pub ws_max_message_bytes: usize,

    /// Events a subscription may fall behind before it is closed with its resume cursor.
    #[arg(long, env = "QUORUM_WS_BUFFER", default_value_t = 1024, global = true)]
    pub ws_buffer: usize,

    /// Subscriptions one token may hold open at once on an instance.
    #[arg(
        long,
        env = "QUORUM_MAX_SUBSCRIPTIONS_PER_TOKEN",
        default_value_t = 50,
        global = true
    )]
    pub max_subscriptions_per_token: usize,

    /// `text` for people, `json` for log collectors.
    #[arg(long, env = "QUORUM_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("quorum.db").display()
            )
        })
    }

    pub fn loader_window(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.loader_window_ms)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }

    /// A config for tests: the given database, a fixed secret, a random port, one worker.
    pub fn for_tests(database_url: String, data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            database_url: Some(database_url),
            jwt_secret: Some("test-secret-test-secret-test-secret-0123456789".into()),
            jwt_public_key_file: None,
            jwt_private_key_file: None,
            jwt_issuer: "quorum".into(),
            jwt_audience: "quorum-api".into(),
            token_ttl_secs: 3600,
            bind: "127.0.0.1:0".into(),
            workers: Some(1),
            db_max_connections: None,
            live_db_max_connections: 2,
            db_acquire_timeout_ms: 3000,
            graphiql: true,
            introspection: true,
            max_depth: 12,
            max_complexity: 20_000,
            max_batch: 10,
            max_body_bytes: 4 * 1024 * 1024,
            shutdown_timeout_secs: 5,
            login_backoff_ms: 250,
            loader_window_ms: 1,
            rescore_interval_secs: 0,
            sla_check_interval_secs: 0,
            log_format: "text".into(),
            redis_url: None,
            relay_poll_ms: 20,
            relay_lease_secs: 2,
            outbox_retention_secs: 7 * 24 * 3600,
            ws_init_timeout_ms: 10_000,
            ws_keepalive_secs: 15,
            ws_max_message_bytes: 64 * 1024,
            ws_buffer: 1024,
            max_subscriptions_per_token: 50,
        }
    }
}
