use async_graphql::{Context, ID, InputObject, Object};
use quorum_domain::qualify::{self, StageError};
use quorum_domain::value::{AccountId, Role, Stage, UserId, non_empty};
use sea_orm::ConnectionTrait;

use crate::auth::{RoleGuard, Viewer, viewer};
use crate::error::{AppError, At, IntoGql};
use crate::graphql::object::{Account, Assignment, Opportunity, account_id, parse_id};
use crate::graphql::state;
use crate::qualification::{
    self, ASSIGNMENT_CLOSED, ASSIGNMENT_CREATED, ASSIGNMENT_REASSIGNED, assignment_event,
};
use crate::scoring::timestamp;
use crate::store::entity::{account, assignment, bant, opportunity};
use crate::store::{self, qualification::NewEvent};

#[derive(Default)]
pub struct PipelineMutation;

/// What a rep learned; fields left out are cleared (the whole record is replaced).
#[derive(InputObject)]
pub struct BantInput {
    /// The budget the buyer has, in the workspace's currency.
    pub budget: Option<f64>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
    pub notes: Option<String>,
}

/// Managers and admins work any account; a rep only the accounts they own.
fn may_work(v: &Viewer, account: &account::Model) -> Result<(), AppError> {
    match v.role {
        Role::Admin | Role::Manager => Ok(()),
        Role::Rep if account.owner_id == Some(v.user_id.get()) => Ok(()),
        Role::Rep | Role::Marketer => Err(AppError::Forbidden),
    }
}

async fn workable(
    v: &Viewer,
    db: &impl ConnectionTrait,
    id: AccountId,
) -> Result<account::Model, AppError> {
    let account = store::account::find_for_update(v.workspace_id, db, id)
        .await?
        .ok_or(AppError::NotFound("account"))?;
    may_work(v, &account)?;
    Ok(account)
}

fn stage_of(a: &account::Model) -> Result<Stage, AppError> {
    Stage::parse(&a.stage).map_err(|e| AppError::internal(anyhow::anyhow!("stored stage: {e}")))
}

fn refused(e: StageError) -> AppError {
    AppError::Conflict(e.to_string())
}

fn text(v: Option<String>, field: &str) -> Result<Option<String>, AppError> {
    match v {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => Ok(Some(non_empty(&s, 2_000).at(|| format!("input.{field}"))?)),
    }
}

/// Closes the account's open assignment (its deal is decided), with an outbox event.
async fn close_assignment(
    ws: quorum_domain::value::WorkspaceId,
    db: &impl ConnectionTrait,
    account: AccountId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<NewEvent>, AppError> {
    let mut events = Vec::new();
    for mut a in store::routing::open_of_accounts(ws, db, &[account]).await? {
        a.status = "CLOSED".to_owned();
        a.closed_at = Some(now);
        store::routing::save_assignment(db, a.clone()).await?;
        events.push(assignment_event(ASSIGNMENT_CLOSED, &a));
    }
    Ok(events)
}

#[Object]
impl PipelineMutation {
    /// Records budget, authority, need and timeline for an account (its rep, or a manager).
    async fn record_bant(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        input: BantInput,
    ) -> async_graphql::Result<Account> {
        let run = async {
            let v = viewer(ctx)?;
            let id = self::account_id(&account_id, "account")?;
            if let Some(b) = input.budget
                && !(b.is_finite() && b >= 0.0)
            {
                return Err(AppError::bad_input("input.budget", "must be a number ≥ 0"));
            }
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let account = workable(&v, &txn, id).await?;
            store::pipeline::upsert_bant(
                &txn,
                bant::Model {
                    account_id: account.id,
                    workspace_id: v.workspace_id.get(),
                    budget: input.budget,
                    authority: text(input.authority, "authority")?,
                    need: text(input.need, "need")?,
                    timeline: text(input.timeline, "timeline")?,
                    notes: text(input.notes, "notes")?,
                    updated_by: v.user_id.get(),
                    updated_at: store::now(),
                },
            )
            .await?;
            txn.commit().await?;
            Ok(Account(account))
        };
        run.await.gql()
    }

    /// Opens a deal: the account moves to `OPPORTUNITY` (one open opportunity at a time).
    async fn create_opportunity(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        amount: f64,
    ) -> async_graphql::Result<Opportunity> {
        let run = async {
            let v = viewer(ctx)?;
            let id = self::account_id(&account_id, "account")?;
            if !(amount.is_finite() && amount > 0.0) {
                return Err(AppError::bad_input("amount", "must be a number > 0"));
            }
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let account = workable(&v, &txn, id).await?;
            let now = store::now();
            let t = qualify::open_opportunity(stage_of(&account)?, v.user_id, timestamp(now))
                .map_err(refused)?;
            if store::pipeline::has_open(v.workspace_id, &txn, id).await? {
                return Err(AppError::Conflict(
                    "the account already has an open opportunity".into(),
                ));
            }
            let row = opportunity::Model {
                id: uuid::Uuid::now_v7(),
                workspace_id: v.workspace_id.get(),
                account_id: account.id,
                amount,
                status: "OPEN".to_owned(),
                created_by: v.user_id.get(),
                created_at: now,
                closed_at: None,
            };
            store::pipeline::insert_opportunity(&txn, row.clone()).await?;
            qualification::record(v.workspace_id, &txn, &[(&account, t)], None, now).await?;
            txn.commit().await?;
            Ok(Opportunity(row))
        };
        run.await.gql()
    }

    /// Closes a deal won or lost: the account moves to `WON` or `LOST` and its assignment
    /// closes.
    async fn close_opportunity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        won: bool,
    ) -> async_graphql::Result<Opportunity> {
        let run = async {
            let v = viewer(ctx)?;
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let mut row = match parse_id(&id) {
                Some(id) => store::pipeline::find_opportunity(v.workspace_id, &txn, id).await?,
                None => None,
            }
            .ok_or(AppError::NotFound("opportunity"))?;
            let account = workable(&v, &txn, AccountId::from(row.account_id)).await?;
            if row.status != "OPEN" {
                return Err(AppError::Conflict(format!(
                    "the opportunity is already {}",
                    row.status
                )));
            }
            let now = store::now();
            let t = qualify::close_opportunity(stage_of(&account)?, won, v.user_id, timestamp(now))
                .map_err(refused)?;
            row.status = if won { "WON" } else { "LOST" }.to_owned();
            row.closed_at = Some(now);
            store::pipeline::save_opportunity(&txn, row.clone()).await?;
            qualification::record(v.workspace_id, &txn, &[(&account, t)], None, now).await?;
            let events =
                close_assignment(v.workspace_id, &txn, AccountId::from(account.id), now).await?;
            store::qualification::append(v.workspace_id, &txn, events, now).await?;
            txn.commit().await?;
            Ok(Opportunity(row))
        };
        run.await.gql()
    }

    /// Moves an account's open assignment to another rep, with the reason on record; the rep
    /// must be active and under capacity.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn reassign(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        rep_id: ID,
        reason: String,
    ) -> async_graphql::Result<Assignment> {
        let run = async {
            let v = viewer(ctx)?;
            let id = self::account_id(&account_id, "account")?;
            let reason = non_empty(&reason, 1_000).at(|| "reason".into())?;
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let account = store::account::find_for_update(v.workspace_id, &txn, id)
                .await?
                .ok_or(AppError::NotFound("account"))?;
            let rep = match parse_id(&rep_id) {
                Some(r) => store::user::find(v.workspace_id, &txn, UserId::from(r)).await?,
                None => None,
            }
            .filter(|u| u.role == Role::Rep.as_str())
            .ok_or(AppError::NotFound("rep"))?;
            // The same lock as routing: loads stay true until this commits.
            store::routing::lock_workspace(v.workspace_id, &txn).await?;
            let Some(mut old) = store::routing::open_of_accounts(v.workspace_id, &txn, &[id])
                .await?
                .into_iter()
                .next()
            else {
                return Err(AppError::Conflict(
                    "the account has no open assignment to move".into(),
                ));
            };
            if old.rep_id == Some(rep.id) {
                return Err(AppError::Conflict("the rep already has it".into()));
            }
            let load = store::routing::open_loads(v.workspace_id, &txn)
                .await?
                .get(&rep.id)
                .copied()
                .unwrap_or(0);
            if !rep.rep_active || i64::from(load) >= i64::from(rep.rep_capacity) {
                return Err(AppError::Conflict(format!(
                    "{} is inactive or at capacity ({load} of {})",
                    rep.email, rep.rep_capacity
                )));
            }
            let now = store::now();
            old.status = "REASSIGNED".to_owned();
            old.closed_at = Some(now);
            store::routing::save_assignment(&txn, old.clone()).await?;
            let new = assignment::Model {
                id: uuid::Uuid::now_v7(),
                workspace_id: v.workspace_id.get(),
                account_id: account.id,
                rep_id: Some(rep.id),
                status: "PENDING".to_owned(),
                rule: None,
                reason: format!("reassigned by {}: {reason}", v.user_id),
                assigned_at: now,
                // The new rep gets the same time to respond as the first one had.
                due_at: now + (old.due_at - old.assigned_at),
                accepted_at: None,
                first_touch_at: None,
                first_touch_channel: None,
                closed_at: None,
            };
            store::routing::insert_assignments(&txn, std::slice::from_ref(&new)).await?;
            store::routing::set_owner(v.workspace_id, &txn, id, UserId::from(rep.id)).await?;
            crate::segment::refresh(v.workspace_id, &txn, Some(&[id])).await?;
            let events = vec![
                assignment_event(ASSIGNMENT_REASSIGNED, &old),
                assignment_event(ASSIGNMENT_CREATED, &new),
            ];
            store::qualification::append(v.workspace_id, &txn, events, now).await?;
            txn.commit().await?;
            Ok(Assignment(new))
        };
        run.await.gql()
    }
}
