//! Stage changes, automatic (found while rescoring) or manual, stored in the caller's
//! transaction together with their transition rows and, for a promotion to SQL, the outbox
//! event that subscribers will see: a change is never on record without its announcement, nor
//! announced without being on record.

use chrono::{DateTime, Utc};
use quorum_domain::qualify::{Actor, Transition};
use quorum_domain::value::{AccountId, Stage, WorkspaceId};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::AppError;
use crate::scoring::datetime;
use crate::store::entity::stage_transition;
use crate::store::qualification::{self as stored, NewEvent, StageRow};

/// Outbox event kinds.
pub const SQL_PROMOTED: &str = "SQL_PROMOTED";

/// Stores `changes` (one per account) and returns their rows in the same order.
pub async fn record(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    changes: &[(AccountId, Transition)],
    model_version: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Vec<stage_transition::Model>, AppError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let mut stages = Vec::with_capacity(changes.len());
    let mut rows = Vec::with_capacity(changes.len());
    let mut events = Vec::new();
    for (account, t) in changes {
        let at = datetime(t.at).unwrap_or(now);
        let actor_id = match t.actor {
            Actor::System => None,
            Actor::User(u) => Some(u.get()),
        };
        stages.push(StageRow {
            account: *account,
            stage: t.to.as_str(),
            manual: actor_id.is_some(),
            at,
        });
        let row = stage_transition::Model {
            id: Uuid::now_v7(),
            workspace_id: ws.get(),
            account_id: account.get(),
            from_stage: t.from.as_str().to_owned(),
            to_stage: t.to.as_str().to_owned(),
            at,
            reason: t.reason.to_string(),
            reason_detail: serde_json::to_string(&t.reason).map_err(AppError::internal)?,
            actor_id,
            model_version: actor_id.is_none().then_some(model_version).flatten(),
        };
        if t.to == Stage::Sql {
            events.push(NewEvent {
                kind: SQL_PROMOTED,
                account: Some(*account),
                payload: serde_json::json!({
                    "accountId": account.get(),
                    "transitionId": row.id,
                    "from": row.from_stage,
                    "at": at,
                }),
            });
        }
        rows.push(row);
    }
    stored::set_stages(ws, db, &stages).await?;
    stored::insert_transitions(db, &rows).await?;
    stored::append(ws, db, events, now).await?;
    Ok(rows)
}
