//! The `quorum` command line.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use quorum_domain::value::{Email, Role, UserId, WorkspaceId, non_empty};

use crate::auth::{JwtKeys, Viewer, hash_password};
use crate::config::Config;
use crate::startup::{connect, migrate};
use crate::store;

#[derive(Debug, Parser)]
#[command(
    name = "quorum",
    version,
    about = "Account-based qualification over GraphQL"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Rescore accounts whose score decays with time or was made by an older model, in every
    /// workspace, then exit (what the server does every `QUORUM_RESCORE_INTERVAL_SECS`).
    Rescore,
    /// Import accounts, contacts or engagement events from a CSV or NDJSON file whose columns
    /// (or keys) are the GraphQL input fields, e.g. `eventId,contactEmail,kind,occurredAt`.
    /// Bad rows go to a rejects file with their line and reason; re-running is safe.
    Import(ImportArgs),
    /// Write a realistic synthetic workspace (accounts, contacts and their engagement history)
    /// as NDJSON files for `quorum import`; with `--workspace`, import it straight away.
    Generate(GenerateArgs),
    /// Serve a generated demo workspace (every role, routing, a scoring model, segments and 90
    /// days of history) with live engagement; data in ./quorum-demo unless told otherwise.
    Demo(crate::demo::DemoArgs),
    /// Print a token for a user, for local use with curl or GraphiQL.
    Token {
        #[arg(long)]
        email: String,
        /// Lifetime in seconds; default `QUORUM_TOKEN_TTL`.
        #[arg(long)]
        ttl: Option<u64>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[arg(value_enum)]
    kind: crate::import::Kind,
    file: std::path::PathBuf,
    /// The workspace's name (as given to `quorum user add`).
    #[arg(long)]
    workspace: String,
    /// Default: from the extension (`.csv`; `.ndjson`, `.jsonl` or `.json`).
    #[arg(long, value_enum)]
    format: Option<crate::import::Format>,
    /// Where rejected rows go; default: FILE.rejected.csv (or .ndjson).
    #[arg(long)]
    rejects: Option<std::path::PathBuf>,
    /// Rows per transaction; default 500 for accounts and contacts, 5,000 for events.
    #[arg(long)]
    batch: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    #[arg(long, default_value_t = 200)]
    accounts: usize,
    /// The same seed gives the same workspace.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Events in the history; default 60 per account (about 10 per contact).
    #[arg(long)]
    events: Option<usize>,
    /// Days of history.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// The end of the history (RFC 3339); default now. Fix it to get the same timestamps too.
    #[arg(long)]
    now: Option<String>,
    /// Directory for accounts.ndjson, contacts.ndjson and engagements.ndjson.
    #[arg(long, default_value = "generated")]
    out: std::path::PathBuf,
    /// Also import the files into this workspace (created if new).
    #[arg(long)]
    workspace: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user, and its workspace if new.
    Add {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        password: String,
        /// Display name; default: the e-mail's local part.
        #[arg(long)]
        name: Option<String>,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(&raw.to_ascii_uppercase()).map_err(|e| e.to_string())
}

/// Creates the user (and the workspace when new). Returns the user's id.
pub async fn user_add(
    config: &Config,
    workspace: &str,
    email: &str,
    role: Role,
    password: &str,
    name: Option<&str>,
) -> anyhow::Result<UserId> {
    let db = connect(config).await?;
    migrate(&db).await?;
    create_user(&db, workspace, email, role, password, name).await
}

/// `user_add` on a database already connected and migrated.
pub async fn create_user(
    db: &sea_orm::DatabaseConnection,
    workspace: &str,
    email: &str,
    role: Role,
    password: &str,
    name: Option<&str>,
) -> anyhow::Result<UserId> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let workspace = non_empty(workspace, 200).map_err(|e| anyhow::anyhow!("--workspace: {e}"))?;
    if password.chars().count() < crate::graphql::mutation::MIN_PASSWORD {
        anyhow::bail!(
            "--password: must be at least {} characters",
            crate::graphql::mutation::MIN_PASSWORD
        );
    }
    let name = match name {
        Some(n) => non_empty(n, 200).map_err(|e| anyhow::anyhow!("--name: {e}"))?,
        None => email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    let hash = hash_password(password.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let ws = store::workspace::find_or_create(db, &workspace)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let new = store::user::NewUser {
        email,
        name,
        role,
        password_hash: hash,
    };
    let user = store::user::insert(WorkspaceId::from(ws.id), db, new)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(UserId::from(user.id))
}

/// A signed token for the user with `email`.
pub async fn token(config: &Config, email: &str, ttl: Option<u64>) -> anyhow::Result<String> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let db = connect(config).await?;
    migrate(&db).await?;
    let user = store::user::find_by_email(&db, &email)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_context(|| format!("no user has the e-mail {email}"))?;
    let role = Role::parse(&user.role).map_err(|e| anyhow::anyhow!("{e}"))?;
    let keys = JwtKeys::from_config(config)?;
    let viewer = Viewer {
        user_id: UserId::from(user.id),
        workspace_id: WorkspaceId::from(user.workspace_id),
        role,
    };
    let (token, _) = keys
        .issue(&viewer, ttl.unwrap_or(config.token_ttl_secs))
        .map_err(|_| {
            anyhow::anyhow!(
                "this server only checks tokens (JWT_PUBLIC_KEY_FILE without JWT_PRIVATE_KEY_FILE)"
            )
        })?;
    Ok(token)
}

/// `quorum generate`: writes the files, then imports them when asked to.
pub async fn generate(config: &Config, args: GenerateArgs) -> anyhow::Result<()> {
    let now = match &args.now {
        Some(raw) => chrono::DateTime::parse_from_rfc3339(raw)
            .map_err(|e| anyhow::anyhow!("--now: {e}"))?
            .with_timezone(&chrono::Utc),
        None => crate::store::now(),
    };
    let mut spec = quorum_domain::generate::Spec::new(
        args.accounts,
        args.seed,
        crate::scoring::timestamp(now),
    );
    spec.days = args.days;
    if let Some(n) = args.events {
        spec.events = n;
    }
    let files = crate::generate::write(&spec, &args.out)?;
    println!(
        "wrote {}, {} and {} ({} events)",
        files.accounts.display(),
        files.contacts.display(),
        files.engagements.display(),
        spec.events
    );
    let Some(workspace) = args.workspace else {
        return Ok(());
    };
    let db = connect(config).await?;
    migrate(&db).await?;
    store::workspace::find_or_create(&db, &workspace)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (kind, file) in [
        (crate::import::Kind::Accounts, files.accounts),
        (crate::import::Kind::Contacts, files.contacts),
        (crate::import::Kind::Engagements, files.engagements),
    ] {
        let opts = crate::import::Options {
            progress: true,
            ..crate::import::Options::new(kind, file, workspace.clone())
        };
        import_file(&db, opts).await?;
    }
    Ok(())
}

/// `quorum import`: runs it with progress on stderr and prints the summary.
pub async fn import(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let db = connect(config).await?;
    migrate(&db).await?;
    let opts = crate::import::Options {
        format: args.format,
        rejects: args.rejects,
        batch: args.batch,
        progress: true,
        ..crate::import::Options::new(args.kind, args.file, args.workspace)
    };
    import_file(&db, opts).await
}

async fn import_file(
    db: &sea_orm::DatabaseConnection,
    opts: crate::import::Options,
) -> anyhow::Result<()> {
    let file = opts.file.clone();
    let s = crate::import::run(db, opts).await?;
    let secs = s.elapsed.as_secs_f64();
    println!(
        "{}: {} rows in {secs:.1} s ({:.0} rows/s): {} accepted, {} duplicates, {} rejected",
        file.display(),
        s.rows,
        s.rows as f64 / secs.max(0.001),
        s.accepted,
        s.duplicates,
        s.rejected,
    );
    if let Some(path) = s.rejects_file {
        println!(
            "rejected rows, with their line and reason: {}",
            path.display()
        );
    }
    Ok(())
}
