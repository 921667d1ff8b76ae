//! `quorum demo`: a generated workspace with every role, routing, a scoring model, segments,
//! committees, 90 days of history and won and lost deals; then the server, with live
//! engagement that keeps promoting and assigning accounts every few seconds.
//!
//! Everything is written through the GraphQL schema as the demo's admin, or through the code
//! the mutations run (`quorum import`), so the demo exercises what a real client would.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_graphql::{Request, Variables};
use quorum_domain::generate::{self, Population, Rng, Spec};
use quorum_domain::value::{Email, EngagementKind, Role, Stage, UserId, WorkspaceId};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::auth::{Caller, Viewer};
use crate::config::Config;
use crate::graphql::{Limits, QuorumSchema, build_schema};
use crate::ingest::{self, RawEvent};
use crate::startup::Application;
use crate::state::AppState;
use crate::store::entity::{account, contact, engagement_event};
use crate::{import, store};

/// The demo workspace's name.
pub const WORKSPACE: &str = "Demo";
/// Every demo user's password: it is a demo.
pub const PASSWORD: &str = "quorum-demo";

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Accounts to generate.
    #[arg(long, default_value_t = 120)]
    pub accounts: usize,
    /// The same seed gives the same workspace.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds between bursts of live engagement.
    #[arg(long, default_value_t = 2)]
    pub every: u64,
}

/// A demo user, as printed.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub email: String,
    pub role: Role,
    pub id: UserId,
    pub token: String,
}

/// The reps: (name, regions, countries, capacity).
const REPS: &[(&str, &[&str], &[&str], i32)] = &[
    ("ana", &["North America"], &[], 40),
    ("ben", &["North America"], &[], 40),
    ("chloe", &["EMEA"], &[], 40),
    ("david", &["EMEA"], &[], 30),
    ("emi", &["APAC"], &[], 30),
    ("felipe", &["LATAM"], &[], 30),
];

/// Runs the demo until stopped. `config` keeps the caller's database when one was named;
/// otherwise the demo has a data dir of its own.
pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<()> {
    if config.database_url.is_none() && config.data_dir == std::path::Path::new("./data") {
        config.data_dir = "./quorum-demo".into();
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let app = Application::build(config.clone()).await?;
    let state = app.state().clone();
    let demo = Demo::open(&state, &config).await?;
    let spec = Spec::new(
        args.accounts,
        args.seed,
        crate::scoring::timestamp(store::now()),
    );
    let population = generate::population(&spec);
    if !demo.seeded {
        demo.seed(&spec, &population, &config).await?;
    } else if demo.complete().await? {
        println!(
            "reusing the demo workspace in {}",
            config.data_dir.display()
        );
    } else {
        bail!(
            "an earlier `quorum demo` stopped before its workspace was ready: remove {} \
             (or the `{WORKSPACE}` workspace) and run it again",
            config.data_dir.display()
        );
    }
    let users = demo.users(&config).await?;
    print_welcome(&users, app.port(), &config);
    tokio::spawn(simulate(
        state.clone(),
        demo.ws,
        population,
        args.seed,
        Duration::from_secs(args.every.max(1)),
    ));
    app.run_until_stopped().await?;
    Ok(())
}

/// The demo workspace and a way to act in it as its admin.
pub struct Demo {
    state: AppState,
    schema: QuorumSchema,
    pub ws: WorkspaceId,
    admin: Viewer,
    /// Whether an earlier run already made it.
    pub seeded: bool,
}

impl Demo {
    /// Finds or creates the workspace and its admin.
    pub async fn open(state: &AppState, config: &Config) -> anyhow::Result<Self> {
        let seeded = store::workspace::by_name(&state.db, WORKSPACE)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_some();
        let admin_email = email("admin");
        let admin_id = match user_id(&state.db, &admin_email).await? {
            Some(id) => id,
            None => {
                crate::cli::create_user(
                    &state.db,
                    WORKSPACE,
                    &admin_email,
                    Role::Admin,
                    PASSWORD,
                    None,
                )
                .await?
            }
        };
        let ws = store::workspace::by_name(&state.db, WORKSPACE)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .map(|w| WorkspaceId::from(w.id))
            .context("the demo workspace")?;
        Ok(Self {
            state: state.clone(),
            schema: build_schema(state.clone(), &Limits::from(config)),
            ws,
            admin: Viewer {
                user_id: admin_id,
                workspace_id: ws,
                role: Role::Admin,
            },
            seeded,
        })
    }

    /// Whether an earlier setup got as far as the history, which comes after everything but
    /// the deals.
    pub async fn complete(&self) -> anyhow::Result<bool> {
        use sea_orm::PaginatorTrait as _;
        let events = engagement_event::Entity::find()
            .filter(engagement_event::Column::WorkspaceId.eq(self.ws.get()))
            .count(&self.state.db)
            .await?;
        Ok(events > 0)
    }

    /// Runs a GraphQL operation as the admin; any error fails the demo's setup.
    pub async fn exec(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let req = Request::new(query).variables(Variables::from_json(variables));
        let req =
            crate::http::prepare(req, Caller::Viewer(self.admin), &self.state, &self.state.db);
        let res = self.schema.execute(req).await;
        if let Some(e) = res.errors.first() {
            bail!(
                "{}: {}",
                query
                    .split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" "),
                e.message
            );
        }
        Ok(res.data.into_json()?)
    }

    /// Users, routing, model, segments, population, committees, history and deals.
    pub async fn seed(
        &self,
        spec: &Spec,
        population: &Population,
        config: &Config,
    ) -> anyhow::Result<()> {
        let create_user = "mutation($i: UserInput!) { createUser(input: $i) { id } }";
        for (who, role) in [("marketer", "MARKETER"), ("manager", "MANAGER")] {
            self.exec(
                create_user,
                json!({"i": {"email": email(who), "name": title_case(who), "role": role, "password": PASSWORD}}),
            )
            .await?;
        }
        let mut reps = Vec::new();
        for (name, regions, countries, capacity) in REPS {
            let made = self
                .exec(
                    create_user,
                    json!({"i": {"email": email(name), "name": title_case(name), "role": "REP", "password": PASSWORD}}),
                )
                .await?;
            let id = made["createUser"]["id"].clone();
            self.exec(
                "mutation($id: ID!, $i: RepInput!) { updateRep(id: $id, input: $i) { id } }",
                json!({"id": id, "i": {"capacity": capacity, "regions": regions, "countries": countries}}),
            )
            .await?;
            reps.push(id);
        }
        // Tier-1 accounts go to the two most senior reps; the rest by territory.
        self.exec(
            "mutation($r: [RoutingRuleInput!]!) { setRoutingRules(rules: $r) { name } }",
            json!({"r": [
                {"name": "Tier 1 to the strategic pool", "tiers": [1], "target": "POOL", "pool": [reps[0], reps[2]]},
                {"name": "Everyone else by territory", "target": "TERRITORY"},
            ]}),
        )
        .await?;
        self.exec(
            "mutation($m: ScoringModelInput!) { publishScoringModel(input: $m) { version } }",
            json!({"m": model()}),
        )
        .await?;
        for segment in segments() {
            self.exec(
                "mutation($s: SegmentInput!) { createSegment(input: $s) { id } }",
                json!({"s": segment}),
            )
            .await?;
        }

        let dir = config.data_dir.join("generated");
        let files = crate::generate::write(spec, &dir)?;
        for (kind, file) in [
            (import::Kind::Accounts, files.accounts),
            (import::Kind::Contacts, files.contacts),
        ] {
            self.import(kind, file).await?;
        }
        self.committees(population).await?;
        self.import(import::Kind::Engagements, files.engagements)
            .await?;
        self.deals(spec.seed).await
    }

    async fn import(&self, kind: import::Kind, file: std::path::PathBuf) -> anyhow::Result<()> {
        let s = import::run(&self.state.db, import::Options::new(kind, file, WORKSPACE)).await?;
        if s.rejected > 0 {
            bail!("{kind:?}: {} generated rows were rejected", s.rejected);
        }
        Ok(())
    }

    /// One committee per account, of the contacts the generator gave a buying role.
    async fn committees(&self, population: &Population) -> anyhow::Result<()> {
        let ids = contact_ids(&self.state.db, self.ws).await?;
        let accounts = account_ids(&self.state.db, self.ws).await?;
        for a in &population.accounts {
            let Some(account_id) = accounts.get(&a.domain) else {
                continue;
            };
            let made = self
                .exec(
                    "mutation($a: ID!) { createBuyingCommittee(accountId: $a, name: \"Buying committee\") { id } }",
                    json!({"a": account_id.to_string()}),
                )
                .await?;
            let committee = made["createBuyingCommittee"]["id"].clone();
            let people = &population.contacts[a.first_contact..a.first_contact + a.contact_count];
            for c in people {
                let (Some(role), Some(contact_id)) = (c.role, ids.get(&c.email)) else {
                    continue;
                };
                self.exec(
                    "mutation($c: ID!, $p: ID!, $r: BuyingRole!) { setCommitteeMember(committeeId: $c, contactId: $p, role: $r) { id } }",
                    json!({"c": committee, "p": contact_id.to_string(), "r": role.as_str()}),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Deals for about half the SQLs: some still open, the others won or lost, so the funnel
    /// and velocity have something to show.
    async fn deals(&self, seed: u64) -> anyhow::Result<()> {
        let mut sqls: Vec<account::Model> = account::Entity::find()
            .filter(account::Column::WorkspaceId.eq(self.ws.get()))
            .filter(account::Column::Stage.eq(Stage::Sql.as_str()))
            .all(&self.state.db)
            .await?;
        sqls.sort_by(|a, b| a.domain.cmp(&b.domain));
        let mut rng = Rng::new(seed ^ 0xD0D0);
        for a in sqls {
            if !rng.chance(0.5) {
                continue;
            }
            let amount =
                (a.annual_revenue.unwrap_or(5_000_000.0) * 0.002).clamp(8_000.0, 400_000.0);
            let made = self
                .exec(
                    "mutation($a: ID!, $m: Float!) { createOpportunity(accountId: $a, amount: $m) { id } }",
                    json!({"a": a.id.to_string(), "m": amount.round()}),
                )
                .await?;
            if rng.chance(0.6) {
                self.exec(
                    "mutation($o: ID!, $w: Boolean!) { closeOpportunity(id: $o, won: $w) { id } }",
                    json!({"o": made["createOpportunity"]["id"], "w": rng.chance(0.55)}),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Every demo user with a fresh token.
    pub async fn users(&self, config: &Config) -> anyhow::Result<Vec<DemoUser>> {
        let mut out = Vec::new();
        let names = ["admin", "marketer", "manager"]
            .into_iter()
            .chain(REPS.iter().map(|r| r.0));
        for name in names {
            let address = email(name);
            let user = find_user(&self.state.db, &address)
                .await?
                .with_context(|| format!("demo user {address}"))?;
            let role = Role::parse(&user.role).map_err(|e| anyhow::anyhow!("{e}"))?;
            let viewer = Viewer {
                user_id: UserId::from(user.id),
                workspace_id: self.ws,
                role,
            };
            let (token, _) = self
                .state
                .keys
                .issue(&viewer, config.token_ttl_secs)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            out.push(DemoUser {
                email: address,
                role,
                id: viewer.user_id,
                token,
            });
        }
        Ok(out)
    }
}

fn email(who: &str) -> String {
    format!("{who}@demo.quorum.dev")
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

async fn user_id(db: &DatabaseConnection, address: &str) -> anyhow::Result<Option<UserId>> {
    Ok(find_user(db, address).await?.map(|u| UserId::from(u.id)))
}

async fn find_user(
    db: &DatabaseConnection,
    address: &str,
) -> anyhow::Result<Option<crate::store::entity::app_user::Model>> {
    let address = Email::parse(address).map_err(|e| anyhow::anyhow!("{e}"))?;
    store::user::find_by_email(db, &address)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn account_ids(
    db: &DatabaseConnection,
    ws: WorkspaceId,
) -> anyhow::Result<HashMap<String, uuid::Uuid>> {
    Ok(account::Entity::find()
        .filter(account::Column::WorkspaceId.eq(ws.get()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.domain, a.id))
        .collect())
}

async fn contact_ids(
    db: &DatabaseConnection,
    ws: WorkspaceId,
) -> anyhow::Result<HashMap<String, uuid::Uuid>> {
    Ok(contact::Entity::find()
        .filter(contact::Column::WorkspaceId.eq(ws.get()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.email, c.id))
        .collect())
}

/// The demo model's SQL gates, which the live simulation aims at.
const MIN_FIT: f64 = 30.0;
const MIN_COVERAGE: f64 = 0.25;

/// The demo's scoring model: the default shape, aimed at the generated market.
fn model() -> Value {
    json!({
        "fitRules": [
            {"name": "target-industry", "points": 25, "industryIn": ["Software", "Fintech", "Healthcare", "Insurance"]},
            {"name": "mid-market-or-enterprise", "points": 25, "employeeCountMin": 200, "employeeCountMax": 10000},
            {"name": "revenue-band", "points": 15, "annualRevenueMin": 20000000, "annualRevenueMax": 2000000000},
            {"name": "core-market", "points": 15, "countryIn": ["US", "CA", "GB", "DE"]},
            {"name": "uses-crm", "points": 20, "usesTechnology": ["Salesforce", "HubSpot"]},
            {"name": "uses-competitor", "points": -20, "usesCompetitor": ["6sense"]},
        ],
        "thresholds": {
            "mql": 40, "sql": 60, "sqlMinFit": MIN_FIT, "sqlMinCoverage": MIN_COVERAGE,
            "demotionMargin": 10, "highIntentWindowDays": 14,
        },
    })
}

fn segments() -> [Value; 3] {
    [
        json!({
            "name": "Tier-1 fintech in North America",
            "description": "Fintechs of 200 people or more in the US and Canada: our best market.",
            "filter": {"industryIn": ["Fintech"], "regionIn": ["North America"], "employeeCountMin": 200},
            "tier": 1,
        }),
        json!({
            "name": "EMEA software",
            "description": "Software companies in Europe, the Middle East and Africa.",
            "filter": {"industryIn": ["Software"], "regionIn": ["EMEA"]},
            "tier": 2,
        }),
        json!({
            "name": "Healthcare and biotech",
            "description": "Every region.",
            "filter": {"industryIn": ["Healthcare", "Biotech"]},
        }),
    ]
}

/// GraphiQL at `base`, opening with `token` in its headers (the fragment stays in the
/// browser).
pub fn graphiql_link(base: &str, token: &str) -> String {
    format!("{base}/graphql#token={token}")
}

fn print_welcome(users: &[DemoUser], port: u16, config: &Config) {
    let base = format!("http://127.0.0.1:{port}");
    println!();
    println!(
        "Quorum demo: workspace `{WORKSPACE}`, data in {}",
        config.data_dir.display()
    );
    println!("  board     {base}/");
    println!("  GraphiQL  {base}/graphql");
    println!();
    println!("Users (password `{PASSWORD}` for all), each with a token and a GraphiQL link");
    println!("that opens with the token in place:");
    for u in users {
        println!("  {:<9} {}", u.role.as_str(), u.email);
        println!("            Authorization: Bearer {}", u.token);
        println!("            {}", graphiql_link(&base, &u.token));
    }
    println!();
    println!(
        "Live engagement is being simulated: promotions and assignments arrive every few seconds."
    );
}

/// Live engagement: every `every`, one warming account not yet an SQL gets a burst of
/// high-intent actions from its senior people (so it is promoted and routed within a few
/// bursts), and a handful of others get background noise.
pub async fn simulate(
    state: AppState,
    ws: WorkspaceId,
    population: Population,
    seed: u64,
    every: Duration,
) {
    let mut rng = Rng::new(seed ^ 0x11FE);
    let mut ticker = tokio::time::interval(every);
    let mut n: u64 = 0;
    let mut bursts: HashMap<String, u32> = HashMap::new();
    loop {
        ticker.tick().await;
        let picked = burst(&state.db, ws, &population, &mut rng, &mut n, &mut bursts).await;
        let events = match picked {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "demo: could not pick accounts");
                continue;
            }
        };
        if events.is_empty() {
            continue;
        }
        if let Err(e) = ingest::ingest(ws, &state.db, events, store::now()).await {
            tracing::warn!(error = %e, "demo: live engagement was not stored");
        }
    }
}

async fn burst(
    db: &DatabaseConnection,
    ws: WorkspaceId,
    population: &Population,
    rng: &mut Rng,
    n: &mut u64,
    bursts: &mut HashMap<String, u32>,
) -> anyhow::Result<Vec<RawEvent>> {
    // Accounts that can still be promoted and pass the SQL gates on fit and committee
    // coverage (the demo model's `sqlMinFit` and `sqlMinCoverage`) first; then those that fit,
    // whose committee may yet engage.
    let open = [Stage::Target, Stage::Engaged, Stage::Mql].map(Stage::as_str);
    let mut warm: Vec<account::Model> = account::Entity::find()
        .filter(account::Column::WorkspaceId.eq(ws.get()))
        .filter(account::Column::Stage.is_in(open))
        .filter(account::Column::ScoreFit.gte(MIN_FIT))
        .all(db)
        .await?;
    // An account a few bursts did not promote is held back by a gate engagement cannot open
    // (no committee member with a required role, say): leave it be.
    warm.retain(|a| bursts.get(&a.domain).is_none_or(|b| *b < 4));
    let ready = |a: &account::Model| a.score_coverage >= MIN_COVERAGE;
    warm.sort_by(|a, b| {
        ready(b)
            .cmp(&ready(a))
            .then(b.score_total.total_cmp(&a.score_total))
            .then(a.domain.cmp(&b.domain))
    });
    let by_domain: HashMap<&str, &generate::Account> = population
        .accounts
        .iter()
        .map(|a| (a.domain.as_str(), a))
        .collect();
    let now = store::now();
    // `who` is the contact's e-mail (or, for an intent surge, moved to the account's domain).
    let mut event = |who: &str, kind: EngagementKind| {
        *n += 1;
        RawEvent {
            event_id: format!("live-{}-{n}", now.timestamp_millis()),
            contact_id: None,
            contact_email: Some(who.to_owned()),
            account_domain: None,
            kind: kind.as_str().to_owned(),
            occurred_at: now.to_rfc3339(),
            metadata: Some(json!({"source": "quorum demo"})),
        }
    };
    let mut out = Vec::new();
    // The two warmest take turns: one is promoted within a burst or two, and an account the
    // SQL gates hold back cannot stall the feed.
    let warmest = warm
        .get(rng.below(warm.len().clamp(1, 2)))
        .and_then(|a| by_domain.get(a.domain.as_str()));
    if let Some(g) = warmest {
        *bursts.entry(g.domain.clone()).or_default() += 1;
    }
    if let Some(g) = warmest {
        let people = &population.contacts[g.first_contact..g.first_contact + g.contact_count];
        // Committee members first (their engagement is what coverage counts), senior first.
        let mut senior: Vec<_> = people.iter().collect();
        senior.sort_by_key(|c| (c.role.is_none(), c.seniority));
        for c in senior.iter().take(4) {
            let kind = *rng.pick(&[
                EngagementKind::DemoRequest,
                EngagementKind::PricingPageView,
                EngagementKind::ContactSales,
                EngagementKind::WebinarAttended,
            ]);
            out.push(event(&c.email, kind));
        }
        // An intent provider sees the company researching the category too.
        let mut surge = event(&g.domain, EngagementKind::IntentSurge);
        surge.account_domain = surge.contact_email.take();
        out.push(surge);
    }
    for _ in 0..5 {
        let c = rng.pick(&population.contacts);
        let kind = *rng.pick(&[
            EngagementKind::EmailOpen,
            EngagementKind::WebVisit,
            EngagementKind::EmailClick,
            EngagementKind::ContentDownload,
        ]);
        out.push(event(&c.email, kind));
    }
    Ok(out)
}
