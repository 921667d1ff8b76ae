use clap::Parser as _;
use quorum_api::cli::{Cli, Command, UserCommand, generate, import, token, user_add};
use quorum_api::config::Config;
use quorum_api::startup::{Application, connect, migrate};
use tracing_subscriber::EnvFilter;

// jemalloc rather than glibc's malloc: under the mixed load glibc's arenas fragmented (RSS
// creeping ~0.5-0.75 MiB/min over a flat live heap) and kept every freed 19 MiB Argon2 work
// area (BENCHMARKS.md, "Session 11: where the memory goes").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's own counts, for `/metrics`: they tell a growing live heap (a leak) from pages
/// the allocator holds (fragmentation) without a profiler.
#[cfg(not(target_env = "msvc"))]
fn jemalloc_memory() -> Option<quorum_api::metrics::Memory> {
    use tikv_jemalloc_ctl::{epoch, stats};
    // The statistics are a snapshot taken when the epoch advances.
    epoch::advance().ok()?;
    Some(quorum_api::metrics::Memory {
        allocated: stats::allocated::read().ok()? as u64,
        active: stats::active::read().ok()? as u64,
        resident: stats::resident::read().ok()? as u64,
        retained: stats::retained::read().ok()? as u64,
        metadata: stats::metadata::read().ok()? as u64,
    })
}

/// jemalloc's purging settings are baked in at build time (`.cargo/config.toml`); here the
/// binary only makes its counts visible.
#[cfg(not(target_env = "msvc"))]
fn report_allocator_memory() {
    quorum_api::metrics::report_memory_with(jemalloc_memory);
}

#[cfg(target_env = "msvc")]
fn report_allocator_memory() {}

/// On SIGUSR1, jemalloc's full statistics (per arena: dirty, muzzy and retained extents, bins,
/// large classes) go to stderr: the counts in `/metrics` say how much the allocator holds
/// beyond the live heap, these say what kind of pages they are, in the running process and
/// without a restart (`kill -USR1 <pid>`).
#[cfg(all(unix, not(target_env = "msvc")))]
fn print_allocator_statistics_on_sigusr1() {
    use actix_web::rt::signal::unix::{SignalKind, signal};
    let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
        tracing::warn!("SIGUSR1 cannot be watched: no allocator statistics on demand");
        return;
    };
    actix_web::rt::spawn(async move {
        while usr1.recv().await.is_some() {
            let options = tikv_jemalloc_ctl::stats_print::Options::default();
            if let Err(e) = tikv_jemalloc_ctl::stats_print::stats_print(std::io::stderr(), options)
            {
                tracing::warn!(error = %e, "the allocator's statistics could not be written");
            }
        }
    });
}

#[cfg(not(all(unix, not(target_env = "msvc"))))]
fn print_allocator_statistics_on_sigusr1() {}

fn init_tracing(config: &Config) {
    init_tracing_at(config, "info");
}

/// `default` applies when `RUST_LOG` is not set.
fn init_tracing_at(config: &Config, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Span close events carry each request's id, method, route, status and latency.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            init_tracing(&config);
            report_allocator_memory();
            print_allocator_statistics_on_sigusr1();
            let app = Application::build(config.clone()).await?;
            tracing::info!(port = app.port(), bind = %config.bind, "quorum listening: GraphQL on /graphql");
            app.run_until_stopped().await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            init_tracing(&config);
            migrate(&connect(&config).await?).await?;
            tracing::info!("migrations applied");
        }
        Command::Rescore => {
            init_tracing(&config);
            let db = connect(&config).await?;
            migrate(&db).await?;
            let n = quorum_api::scoring::rescore_stale_everywhere(&db, quorum_api::store::now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("rescored {n} accounts");
        }
        Command::Schema => print!("{}", quorum_api::graphql::sdl()),
        Command::User(UserCommand::Add {
            workspace,
            email,
            role,
            password,
            name,
        }) => {
            let id = user_add(
                &config,
                &workspace,
                &email,
                role,
                &password,
                name.as_deref(),
            )
            .await?;
            println!("created user {id} ({email}, {role}) in workspace {workspace}");
        }
        Command::Import(args) => {
            // Progress and the summary are the output; only problems are logged.
            init_tracing_at(&config, "warn");
            import(&config, args).await?;
        }
        Command::Generate(args) => {
            init_tracing_at(&config, "warn");
            generate(&config, args).await?;
        }
        Command::Demo(args) => {
            init_tracing_at(&config, "warn");
            quorum_api::demo::run(config, args).await?;
        }
        Command::Token { email, ttl } => println!("{}", token(&config, &email, ttl).await?),
    }
    Ok(())
}
