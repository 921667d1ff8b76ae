//! The SLA watch: an assignment nobody touched by its due time is marked `SLA_BREACHED`, with
//! an outbox event, so managers see it and subscribers hear of it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use quorum_domain::value::WorkspaceId;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};

use crate::error::AppError;
use crate::qualification::{SLA_BREACHED, assignment_event};
use crate::store;
use crate::store::entity::assignment;

/// Marks every overdue, untouched assignment (`PENDING` or `ACCEPTED`, no first touch,
/// `dueAt` before `now`) as breached, one transaction per workspace; returns how many.
/// Idempotent: a breached assignment is not overdue again, so instances may overlap.
pub async fn breach_overdue(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let overdue = assignment::Entity::find()
        .filter(assignment::Column::Status.is_in(["PENDING", "ACCEPTED"]))
        .filter(assignment::Column::FirstTouchAt.is_null())
        .filter(assignment::Column::DueAt.lt(now))
        .all(db)
        .await?;
    let mut by_workspace: BTreeMap<uuid::Uuid, Vec<uuid::Uuid>> = BTreeMap::new();
    for a in overdue {
        by_workspace.entry(a.workspace_id).or_default().push(a.id);
    }
    let mut done = 0;
    for (ws, ids) in by_workspace {
        let ws = WorkspaceId::from(ws);
        let txn = db.begin().await?;
        let mut events = Vec::new();
        for id in ids {
            // Re-read under the row lock: the rep may have touched it since the scan.
            let Some(mut a) = store::routing::find_assignment(ws, &txn, id).await? else {
                continue;
            };
            if !matches!(a.status.as_str(), "PENDING" | "ACCEPTED") || a.first_touch_at.is_some() {
                continue;
            }
            a.status = "SLA_BREACHED".to_owned();
            store::routing::save_assignment(&txn, a.clone()).await?;
            events.push(assignment_event(SLA_BREACHED, &a));
        }
        done += events.len();
        store::qualification::append(ws, &txn, events, now).await?;
        txn.commit().await?;
    }
    Ok(done)
}

/// Runs [`breach_overdue`] every `every` until the process stops.
pub async fn watch(db: DatabaseConnection, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match breach_overdue(&db, store::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(assignments = n, "SLA breaches recorded"),
            Err(e) => tracing::warn!(error = ?e, "SLA watch failed; next pass retries"),
        }
    }
}
