//! Reps' routing profiles, routing rules and assignments.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use quorum_domain::route::{Rep, RoutingRule, Scope, Target};
use quorum_domain::value::{AccountId, CountryCode, Role, Tier, UserId, WorkspaceId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::{account, app_user, assignment, routing_rule};
use super::{IN_CHUNK, account::chunked};
use crate::error::AppError;

/// Statuses of an assignment someone still has to work.
pub const OPEN: [&str; 4] = ["PENDING", "ACCEPTED", "WORKING", "SLA_BREACHED"];

/// A rule as stored (JSON): plain values, so the domain types need no serde.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRule {
    pub tiers: Vec<i64>,
    pub countries: Vec<String>,
    pub regions: Vec<String>,
    pub industries: Vec<String>,
    pub target: StoredTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StoredTarget {
    Owner,
    Territory,
    Pool { reps: Vec<Uuid> },
    Industry,
}

impl StoredRule {
    pub fn to_domain(&self, name: &str) -> RoutingRule {
        RoutingRule {
            name: name.to_owned(),
            when: Scope {
                tiers: self
                    .tiers
                    .iter()
                    .filter_map(|t| Tier::parse(*t).ok())
                    .collect(),
                countries: self
                    .countries
                    .iter()
                    .filter_map(|c| CountryCode::parse(c).ok())
                    .collect(),
                regions: self.regions.clone(),
                industries: self.industries.clone(),
            },
            to: match &self.target {
                StoredTarget::Owner => Target::Owner,
                StoredTarget::Territory => Target::Territory,
                StoredTarget::Pool { reps } => {
                    Target::Pool(reps.iter().copied().map(UserId::from).collect())
                }
                StoredTarget::Industry => Target::Industry,
            },
        }
    }
}

/// The rules of a workspace that set none: keep the owner, else the territory's reps.
pub fn default_rules() -> Vec<(String, StoredRule)> {
    let rule = |target| StoredRule {
        tiers: Vec::new(),
        countries: Vec::new(),
        regions: Vec::new(),
        industries: Vec::new(),
        target,
    };
    vec![
        (
            "Keep the current owner".to_owned(),
            rule(StoredTarget::Owner),
        ),
        ("Territory".to_owned(), rule(StoredTarget::Territory)),
    ]
}

/// The workspace's rules in order, or [`default_rules`].
pub async fn rules(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
) -> Result<Vec<(String, StoredRule)>, AppError> {
    let rows = routing_rule::Entity::find()
        .filter(routing_rule::Column::WorkspaceId.eq(ws.get()))
        .order_by_asc(routing_rule::Column::Position)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(default_rules());
    }
    rows.into_iter()
        .map(|r| {
            let rule: StoredRule = serde_json::from_str(&r.definition).map_err(|e| {
                AppError::internal(anyhow::anyhow!("stored routing rule unreadable: {e}"))
            })?;
            Ok((r.name, rule))
        })
        .collect()
}

/// Replaces the workspace's rules.
pub async fn set_rules(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    rules: &[(String, StoredRule)],
) -> Result<(), AppError> {
    routing_rule::Entity::delete_many()
        .filter(routing_rule::Column::WorkspaceId.eq(ws.get()))
        .exec(db)
        .await?;
    let mut rows = Vec::with_capacity(rules.len());
    for (position, (name, rule)) in rules.iter().enumerate() {
        rows.push(super::all_set::<_, routing_rule::ActiveModel>(
            routing_rule::Model {
                id: Uuid::now_v7(),
                workspace_id: ws.get(),
                position: i32::try_from(position).map_err(AppError::internal)?,
                name: name.clone(),
                definition: serde_json::to_string(rule).map_err(AppError::internal)?,
            },
        ));
    }
    if !rows.is_empty() {
        routing_rule::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The workspace's reps, by name.
pub async fn reps(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
) -> Result<Vec<app_user::Model>, AppError> {
    Ok(app_user::Entity::find()
        .filter(app_user::Column::WorkspaceId.eq(ws.get()))
        .filter(app_user::Column::Role.eq(Role::Rep.as_str()))
        .order_by_asc(app_user::Column::Name)
        .order_by_asc(app_user::Column::Id)
        .all(db)
        .await?)
}

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// A rep's territory countries, regions and industries.
pub fn profile(u: &app_user::Model) -> (Vec<String>, Vec<String>, Vec<String>) {
    (
        list(&u.rep_countries),
        list(&u.rep_regions),
        list(&u.rep_industries),
    )
}

/// A rep as routing sees them, with `load` open assignments.
pub fn domain_rep(u: &app_user::Model, load: u32) -> Rep {
    let (countries, regions, industries) = profile(u);
    Rep {
        id: UserId::from(u.id),
        active: u.rep_active,
        capacity: u32::try_from(u.rep_capacity).unwrap_or(0),
        load,
        countries: countries
            .iter()
            .filter_map(|c| CountryCode::parse(c).ok())
            .collect(),
        regions,
        industries,
        turn: u64::try_from(u.rep_turn).unwrap_or(0),
    }
}

/// Open assignments per rep.
pub async fn open_loads(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
) -> Result<HashMap<Uuid, u32>, AppError> {
    let rows: Vec<(Option<Uuid>, i64)> = assignment::Entity::find()
        .select_only()
        .column(assignment::Column::RepId)
        .column_as(assignment::Column::Id.count(), "n")
        .filter(assignment::Column::WorkspaceId.eq(ws.get()))
        .filter(assignment::Column::Status.is_in(OPEN))
        .group_by(assignment::Column::RepId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(rep, n)| Some((rep?, u32::try_from(n).unwrap_or(u32::MAX))))
        .collect())
}

/// Serialises routing within a workspace until the transaction ends (PostgreSQL; SQLite has
/// one writer): loads read under it stay true until the new assignments commit, so two
/// concurrent promotions cannot both take a rep's last slot. `FOR NO KEY UPDATE`, not `FOR
/// UPDATE`: every insert referencing the workspace holds a key-share lock on its row, and two
/// transactions each holding one while waiting for `FOR UPDATE` would deadlock.
pub async fn lock_workspace(ws: WorkspaceId, db: &impl ConnectionTrait) -> Result<(), AppError> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    super::entity::workspace::Entity::find_by_id(ws.get())
        .select_only()
        .column(super::entity::workspace::Column::Id)
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(())
}

/// Open assignments of these accounts.
pub async fn open_of_accounts(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<assignment::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            assignment::Entity::find()
                .filter(assignment::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    assignment::Column::AccountId,
                    chunk.iter().map(|a| a.get()),
                ))
                .filter(assignment::Column::Status.is_in(OPEN))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Every assignment of these accounts, newest first.
pub async fn of_accounts(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<assignment::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            assignment::Entity::find()
                .filter(assignment::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    assignment::Column::AccountId,
                    chunk.iter().map(|a| a.get()),
                ))
                .order_by_desc(assignment::Column::AssignedAt)
                .order_by_desc(assignment::Column::Id)
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

pub async fn insert_assignments(
    db: &impl ConnectionTrait,
    rows: &[assignment::Model],
) -> Result<(), AppError> {
    let active = rows
        .iter()
        .cloned()
        .map(super::all_set::<_, assignment::ActiveModel>);
    // 14 columns × 2,000 rows stays under SQLite's bound-parameter limit.
    for chunk in chunked(active.collect(), 2_000) {
        assignment::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Makes `rep` the account's owner.
pub async fn set_owner(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    account: AccountId,
    rep: UserId,
) -> Result<(), AppError> {
    account::Entity::update_many()
        .col_expr(account::Column::OwnerId, Expr::value(rep.get()))
        .filter(account::Column::WorkspaceId.eq(ws.get()))
        .filter(account::Column::Id.eq(account.get()))
        .exec(db)
        .await?;
    Ok(())
}

/// Records routed assignments on the accounts and the reps: each account's new owner, and
/// each rep's round-robin turn after its last account. Two statements on PostgreSQL.
pub async fn set_owners_and_turns(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    owners: &[(AccountId, UserId)],
    turns: &BTreeMap<UserId, u64>,
) -> Result<(), AppError> {
    if !super::bulk::json_rows(db) {
        for (account, rep) in owners {
            set_owner(ws, db, *account, *rep).await?;
        }
        for (rep, turn) in turns {
            set_turn(ws, db, *rep, *turn).await?;
        }
        return Ok(());
    }
    let owners: Vec<serde_json::Value> = owners
        .iter()
        .map(|(a, r)| serde_json::json!({ "id": a.get(), "rep": r.get() }))
        .collect();
    super::bulk::exec(
        db,
        "UPDATE account SET owner_id = v.rep \
         FROM json_to_recordset($1::json) AS v(id uuid, rep uuid) \
         WHERE account.workspace_id = $2 AND account.id = v.id",
        &owners,
        Some(ws.get().into()),
    )
    .await?;
    let mut rows = Vec::with_capacity(turns.len());
    for (rep, turn) in turns {
        let turn = i64::try_from(*turn).map_err(AppError::internal)?;
        rows.push(serde_json::json!({ "id": rep.get(), "turn": turn }));
    }
    super::bulk::exec(
        db,
        "UPDATE app_user SET rep_turn = v.turn \
         FROM json_to_recordset($1::json) AS v(id uuid, turn int8) \
         WHERE app_user.workspace_id = $2 AND app_user.id = v.id",
        &rows,
        Some(ws.get().into()),
    )
    .await
}

async fn set_turn(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    rep: UserId,
    turn: u64,
) -> Result<(), AppError> {
    app_user::Entity::update_many()
        .col_expr(
            app_user::Column::RepTurn,
            Expr::value(i64::try_from(turn).map_err(AppError::internal)?),
        )
        .filter(app_user::Column::WorkspaceId.eq(ws.get()))
        .filter(app_user::Column::Id.eq(rep.get()))
        .exec(db)
        .await?;
    Ok(())
}

/// The assignment as it stands, without locking it (for readers).
pub async fn get_assignment(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<assignment::Model>, AppError> {
    Ok(assignment::Entity::find_by_id((ws.get(), id))
        .one(db)
        .await?)
}

/// Assignments by id, without locking them (for readers); unknown ids are left out.
pub async fn assignments_of_ids(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<assignment::Model>, AppError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::IN_CHUNK) {
        out.extend(
            assignment::Entity::find()
                .filter(assignment::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    assignment::Column::Id,
                    chunk.iter().copied(),
                ))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// One assignment, locked until the transaction ends (see [`super::for_update`]).
pub async fn find_assignment(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<assignment::Model>, AppError> {
    let q = assignment::Entity::find_by_id((ws.get(), id));
    Ok(super::for_update(q, db).one(db).await?)
}

/// Saves an assignment's changed status and times.
pub async fn save_assignment(
    db: &impl ConnectionTrait,
    row: assignment::Model,
) -> Result<(), AppError> {
    let active = super::all_set::<_, assignment::ActiveModel>(row);
    assignment::Entity::update(active).exec(db).await?;
    Ok(())
}

/// One page of assignments, newest first, optionally of one rep and some statuses.
pub async fn page(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    rep: Option<UserId>,
    statuses: &[String],
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<assignment::Model>, AppError> {
    let mut q = assignment::Entity::find().filter(assignment::Column::WorkspaceId.eq(ws.get()));
    if let Some(rep) = rep {
        q = q.filter(assignment::Column::RepId.eq(rep.get()));
    }
    if !statuses.is_empty() {
        q = q.filter(assignment::Column::Status.is_in(statuses.iter().map(String::as_str)));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            Expr::col(assignment::Column::AssignedAt)
                .lt(at)
                .or(Expr::col(assignment::Column::AssignedAt)
                    .eq(at)
                    .and(Expr::col(assignment::Column::Id).lt(id))),
        );
    }
    Ok(q.order_by_desc(assignment::Column::AssignedAt)
        .order_by_desc(assignment::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Sets a rep's routing profile fields that are `Some`.
pub struct RepUpdate {
    pub active: Option<bool>,
    pub capacity: Option<i32>,
    pub countries: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
    pub industries: Option<Vec<String>>,
}

pub async fn update_rep(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    rep: &app_user::Model,
    update: RepUpdate,
) -> Result<app_user::Model, AppError> {
    let json = |v: &Vec<String>| serde_json::to_string(v).map_err(AppError::internal);
    let mut next = rep.clone();
    if let Some(v) = update.active {
        next.rep_active = v;
    }
    if let Some(v) = update.capacity {
        next.rep_capacity = v;
    }
    if let Some(v) = &update.countries {
        next.rep_countries = json(v)?;
    }
    if let Some(v) = &update.regions {
        next.rep_regions = json(v)?;
    }
    if let Some(v) = &update.industries {
        next.rep_industries = json(v)?;
    }
    app_user::Entity::update_many()
        .col_expr(app_user::Column::RepActive, Expr::value(next.rep_active))
        .col_expr(
            app_user::Column::RepCapacity,
            Expr::value(next.rep_capacity),
        )
        .col_expr(
            app_user::Column::RepCountries,
            Expr::value(next.rep_countries.clone()),
        )
        .col_expr(
            app_user::Column::RepRegions,
            Expr::value(next.rep_regions.clone()),
        )
        .col_expr(
            app_user::Column::RepIndustries,
            Expr::value(next.rep_industries.clone()),
        )
        .filter(app_user::Column::WorkspaceId.eq(ws.get()))
        .filter(app_user::Column::Id.eq(rep.id))
        .exec(db)
        .await?;
    Ok(next)
}
