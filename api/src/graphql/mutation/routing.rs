use async_graphql::{Context, ID, InputObject, Object};
use quorum_domain::route::validate_rules;
use quorum_domain::value::{CountryCode, Role, Tier, UserId, non_empty};

use crate::auth::{RoleGuard, viewer};
use crate::error::{AppError, At, IntoGql};
use crate::graphql::object::{Assignment, User, parse_id};
use crate::graphql::query::{RoutingRule, WorkspaceSettings};
use crate::graphql::state;
use crate::qualification::{self, ASSIGNMENT_ACCEPTED, FIRST_TOUCH};
use crate::store;
use crate::store::routing::{RepUpdate, StoredRule, StoredTarget};

#[derive(Default)]
pub struct RoutingMutation;

/// Changes to a rep's routing profile; fields left out are kept.
#[derive(InputObject)]
pub struct RepInput {
    pub active: Option<bool>,
    /// 0 to 1,000 open assignments.
    pub capacity: Option<i32>,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
    pub industries: Option<Vec<String>>,
}

/// One routing rule; empty scope lists match every account.
#[derive(InputObject)]
pub struct RoutingRuleInput {
    pub name: String,
    #[graphql(default)]
    pub tiers: Vec<i32>,
    #[graphql(default)]
    pub countries: Vec<String>,
    #[graphql(default)]
    pub regions: Vec<String>,
    #[graphql(default)]
    pub industries: Vec<String>,
    /// `OWNER` (keep the current owner), `TERRITORY`, `POOL` (the reps in `pool`) or
    /// `INDUSTRY` (reps who know the account's industry).
    pub target: String,
    #[graphql(default)]
    pub pool: Vec<ID>,
}

fn countries(list: &[String], at: &str) -> Result<Vec<String>, AppError> {
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            CountryCode::parse(c)
                .map(|c| c.as_str().to_owned())
                .at(|| format!("{at}[{i}]"))
        })
        .collect()
}

impl RoutingRuleInput {
    fn parse(self, i: usize) -> Result<(String, StoredRule), AppError> {
        let at = |f: &str| format!("rules[{i}].{f}");
        let tiers = self
            .tiers
            .iter()
            .enumerate()
            .map(|(j, t)| {
                Tier::parse(i64::from(*t))
                    .map(|t| i64::from(t.get()))
                    .at(|| format!("{}[{j}]", at("tiers")))
            })
            .collect::<Result<_, _>>()?;
        let target = match self.target.as_str() {
            "OWNER" => StoredTarget::Owner,
            "TERRITORY" => StoredTarget::Territory,
            "INDUSTRY" => StoredTarget::Industry,
            "POOL" => StoredTarget::Pool {
                reps: self
                    .pool
                    .iter()
                    .enumerate()
                    .map(|(j, id)| {
                        parse_id(id).ok_or_else(|| {
                            AppError::bad_input(format!("{}[{j}]", at("pool")), "no such rep")
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            _ => {
                return Err(AppError::bad_input(
                    at("target"),
                    "must be OWNER, TERRITORY, POOL or INDUSTRY",
                ));
            }
        };
        let rule = StoredRule {
            tiers,
            countries: countries(&self.countries, &at("countries"))?,
            regions: self.regions,
            industries: self.industries,
            target,
        };
        Ok((self.name, rule))
    }
}

/// Settings to change; fields left out are kept.
#[derive(InputObject)]
pub struct WorkspaceSettingsInput {
    pub reassign_breached_tier1: Option<bool>,
}

#[Object]
impl RoutingMutation {
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn update_workspace_settings(
        &self,
        ctx: &Context<'_>,
        input: WorkspaceSettingsInput,
    ) -> async_graphql::Result<WorkspaceSettings> {
        let run = async {
            let v = viewer(ctx)?;
            let db = &state(ctx)?.db;
            if let Some(on) = input.reassign_breached_tier1 {
                store::workspace::set_reassign_breached_tier1(v.workspace_id, db, on).await?;
            }
            let w = store::workspace::find(v.workspace_id, db)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            Ok(WorkspaceSettings {
                reassign_breached_tier1: w.reassign_breached_tier1,
            })
        };
        run.await.gql()
    }

    /// Sets a rep's territory, industries, capacity or availability.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn update_rep(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: RepInput,
    ) -> async_graphql::Result<User> {
        let run = async {
            let v = viewer(ctx)?;
            let db = &state(ctx)?.db;
            let user = match parse_id(&id) {
                Some(id) => store::user::find(v.workspace_id, db, UserId::from(id)).await?,
                None => None,
            }
            .filter(|u| u.role == Role::Rep.as_str())
            .ok_or(AppError::NotFound("rep"))?;
            let update = RepUpdate {
                active: input.active,
                capacity: input.capacity,
                countries: match &input.countries {
                    Some(list) => Some(countries(list, "input.countries")?),
                    None => None,
                },
                regions: input.regions,
                industries: input.industries,
            };
            if let Some(c) = update.capacity
                && !(0..=quorum_domain::route::MAX_CAPACITY as i32).contains(&c)
            {
                return Err(AppError::bad_input(
                    "input.capacity",
                    "must be between 0 and 1000",
                ));
            }
            // Validated as stored, inside the transaction: a refusal writes nothing.
            let txn = crate::store::write_txn(db).await?;
            let next = store::routing::update_rep(v.workspace_id, &txn, &user, update).await?;
            quorum_domain::route::Rep::validate(&store::routing::domain_rep(&next, 0))
                .map_err(|(field, e)| AppError::bad_input(format!("input.{field}"), e.message()))?;
            txn.commit().await?;
            Ok(User(next))
        };
        run.await.gql()
    }

    /// Replaces the routing rules; they are tried in the order given.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn set_routing_rules(
        &self,
        ctx: &Context<'_>,
        rules: Vec<RoutingRuleInput>,
    ) -> async_graphql::Result<Vec<RoutingRule>> {
        let run = async {
            let v = viewer(ctx)?;
            let db = &state(ctx)?.db;
            let parsed = rules
                .into_iter()
                .enumerate()
                .map(|(i, r)| r.parse(i))
                .collect::<Result<Vec<_>, _>>()?;
            let reps: Vec<uuid::Uuid> = store::routing::reps(v.workspace_id, db)
                .await?
                .into_iter()
                .map(|u| u.id)
                .collect();
            let domain: Vec<_> = parsed.iter().map(|(n, r)| r.to_domain(n)).collect();
            validate_rules(&domain, |id| reps.contains(&id.get()))
                .map_err(|(field, e)| AppError::bad_input(field, e.message()))?;
            let txn = crate::store::write_txn(db).await?;
            store::routing::set_rules(v.workspace_id, &txn, &parsed).await?;
            txn.commit().await?;
            Ok(parsed
                .into_iter()
                .map(|(name, r)| RoutingRule::from_stored(name, r))
                .collect())
        };
        run.await.gql()
    }

    /// The assigned rep takes the account on.
    async fn accept_assignment(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Assignment> {
        let run = async {
            let v = viewer(ctx)?;
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let mut a = own_assignment(&v, &txn, &id).await?;
            if !matches!(a.status.as_str(), "PENDING" | "SLA_BREACHED") {
                return Err(AppError::Conflict(format!(
                    "the assignment is {}, not pending",
                    a.status
                )));
            }
            let now = store::now();
            a.status = "ACCEPTED".to_owned();
            a.accepted_at = Some(now);
            store::routing::save_assignment(&txn, a.clone()).await?;
            let event = qualification::assignment_event(ASSIGNMENT_ACCEPTED, &a);
            store::qualification::append(v.workspace_id, &txn, vec![event], now).await?;
            txn.commit().await?;
            Ok(Assignment(a))
        };
        run.await.gql()
    }

    /// The assigned rep reached out for the first time (`channel`: `call`, `email`, …); the
    /// SLA is met if this comes before `dueAt`.
    async fn record_first_touch(
        &self,
        ctx: &Context<'_>,
        assignment_id: ID,
        channel: String,
    ) -> async_graphql::Result<Assignment> {
        let run = async {
            let v = viewer(ctx)?;
            let channel = non_empty(&channel, 50).at(|| "channel".into())?;
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let mut a = own_assignment(&v, &txn, &assignment_id).await?;
            if a.first_touch_at.is_some() {
                return Err(AppError::Conflict(
                    "the first touch is already on record".into(),
                ));
            }
            if !store::routing::OPEN.contains(&a.status.as_str()) {
                return Err(AppError::Conflict(format!(
                    "the assignment is {}",
                    a.status
                )));
            }
            let now = store::now();
            a.status = "WORKING".to_owned();
            a.accepted_at = a.accepted_at.or(Some(now));
            a.first_touch_at = Some(now);
            a.first_touch_channel = Some(channel);
            store::routing::save_assignment(&txn, a.clone()).await?;
            let event = qualification::assignment_event(FIRST_TOUCH, &a);
            store::qualification::append(v.workspace_id, &txn, vec![event], now).await?;
            txn.commit().await?;
            Ok(Assignment(a))
        };
        run.await.gql()
    }
}

/// The viewer's own assignment, locked; anyone else's reads as missing.
async fn own_assignment(
    v: &crate::auth::Viewer,
    db: &impl sea_orm::ConnectionTrait,
    id: &ID,
) -> Result<store::entity::assignment::Model, AppError> {
    let a = match parse_id(id) {
        Some(id) => store::routing::find_assignment(v.workspace_id, db, id).await?,
        None => None,
    };
    a.filter(|a| a.rep_id == Some(v.user_id.get()))
        .ok_or(AppError::NotFound("assignment"))
}
