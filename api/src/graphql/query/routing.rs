use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use quorum_domain::value::Role;

use crate::auth::{RoleGuard, rep_scope, viewer};
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::object::{Assignment, AssignmentStatus, Cursor, User, list_cost, page_size};
use crate::graphql::state;
use crate::store;
use crate::store::routing::{StoredRule, StoredTarget};

#[derive(Default)]
pub struct RoutingQuery;

/// One routing rule. Rules are tried in order; the first whose scope matches the account and
/// that has an active rep under capacity decides (see README, "How SQLs are routed").
#[derive(SimpleObject)]
pub struct RoutingRule {
    pub name: String,
    /// Scope: the rule applies to accounts matching every non-empty list.
    pub tiers: Vec<i32>,
    pub countries: Vec<String>,
    pub regions: Vec<String>,
    pub industries: Vec<String>,
    /// `OWNER`, `TERRITORY`, `POOL` or `INDUSTRY`.
    pub target: String,
    /// The pool's reps (`POOL` only).
    pub pool: Vec<ID>,
}

impl RoutingRule {
    pub fn from_stored(name: String, r: StoredRule) -> Self {
        let (target, pool) = match r.target {
            StoredTarget::Owner => ("OWNER", Vec::new()),
            StoredTarget::Territory => ("TERRITORY", Vec::new()),
            StoredTarget::Pool { reps } => (
                "POOL",
                reps.into_iter().map(|id| ID(id.to_string())).collect(),
            ),
            StoredTarget::Industry => ("INDUSTRY", Vec::new()),
        };
        Self {
            name,
            tiers: r.tiers.into_iter().map(|t| t as i32).collect(),
            countries: r.countries,
            regions: r.regions,
            industries: r.industries,
            target: target.to_owned(),
            pool,
        }
    }
}

/// Workspace-wide behaviour managers can switch.
#[derive(SimpleObject)]
pub struct WorkspaceSettings {
    /// When a tier-1 assignment breaches its SLA, route the account to another rep.
    pub reassign_breached_tier1: bool,
}

#[Object]
impl RoutingQuery {
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn workspace_settings(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<WorkspaceSettings> {
        let run = async {
            let v = viewer(ctx)?;
            let w = store::workspace::find(v.workspace_id, &state(ctx)?.db)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            AppResult::Ok(WorkspaceSettings {
                reassign_breached_tier1: w.reassign_breached_tier1,
            })
        };
        run.await.gql()
    }

    /// The workspace's reps with their routing profiles.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn reps(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let run = async {
            let v = viewer(ctx)?;
            let reps = store::routing::reps(v.workspace_id, &state(ctx)?.db).await?;
            AppResult::Ok(reps.into_iter().map(User).collect())
        };
        run.await.gql()
    }

    /// The rules in force, in order (the defaults until a manager sets some).
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn routing_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RoutingRule>> {
        let run = async {
            let v = viewer(ctx)?;
            let rules = store::routing::rules(v.workspace_id, &state(ctx)?.db).await?;
            AppResult::Ok(
                rules
                    .into_iter()
                    .map(|(name, r)| RoutingRule::from_stored(name, r))
                    .collect(),
            )
        };
        run.await.gql()
    }

    /// Assignments, newest first. A rep sees only their own (`repId` left out means theirs;
    /// another rep's id is `FORBIDDEN`); managers and admins see any rep's, or all with
    /// `repId` left out.
    #[graphql(complexity = "list_cost(first, child_complexity)")]
    async fn assignments(
        &self,
        ctx: &Context<'_>,
        rep_id: Option<ID>,
        status: Option<Vec<AssignmentStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Assignment>> {
        let run = async {
            let v = viewer(ctx)?;
            let rep = rep_scope(&v, rep_id.as_ref())?;
            let limit = page_size(first)?;
            let after: Option<(DateTime<Utc>, uuid::Uuid)> = match after {
                Some(c) => Some(Cursor::decode(&c, "after")?),
                None => None,
            };
            let statuses: Vec<String> = status
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.as_str().to_owned())
                .collect();
            let mut rows = store::routing::page(
                v.workspace_id,
                &state(ctx)?.db,
                rep,
                &statuses,
                after,
                limit + 1,
            )
            .await?;
            let more = rows.len() as u64 > limit;
            rows.truncate(limit as usize);
            let mut conn = Connection::new(after.is_some(), more);
            conn.edges.extend(
                rows.into_iter()
                    .map(|a| Edge::new(Cursor::encode(&(a.assigned_at, a.id)), Assignment(a))),
            );
            Ok(conn)
        };
        run.await.gql()
    }
}
