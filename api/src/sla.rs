//! The SLA watch: an assignment nobody touched by its due time is marked `SLA_BREACHED`, with
//! an outbox event, so managers see it and subscribers hear of it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use quorum_domain::route::{Rep, Router, RoutingRule};
use quorum_domain::value::{AccountId, WorkspaceId};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use crate::error::AppError;
use crate::qualification::{
    ASSIGNMENT_CREATED, ASSIGNMENT_REASSIGNED, SLA_BREACHED, assignment_event, route_account,
    routing_state,
};
use crate::store;
use crate::store::entity::{account, assignment};
use crate::store::qualification::NewEvent;

/// Marks every overdue, untouched assignment (`PENDING` or `ACCEPTED`, no first touch,
/// `dueAt` before `now`) as breached, one transaction per workspace, and where the workspace
/// asks for it routes breached tier-1 accounts to another rep; returns how many breached.
/// Idempotent: a breached assignment is not overdue again, so instances may overlap.
pub async fn breach_overdue(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let overdue = assignment::Entity::find()
        .filter(assignment::Column::Status.is_in(["PENDING", "ACCEPTED"]))
        .filter(assignment::Column::FirstTouchAt.is_null())
        .filter(assignment::Column::DueAt.lt(now))
        .order_by_asc(assignment::Column::DueAt)
        .order_by_asc(assignment::Column::Id)
        .all(db)
        .await?;
    let mut by_workspace: BTreeMap<uuid::Uuid, Vec<uuid::Uuid>> = BTreeMap::new();
    for a in overdue {
        by_workspace.entry(a.workspace_id).or_default().push(a.id);
    }
    let mut done = 0;
    for (ws, ids) in by_workspace {
        let ws = WorkspaceId::from(ws);
        let txn = crate::store::write_txn(db).await?;
        let reassign = store::workspace::find(ws, &txn)
            .await?
            .is_some_and(|w| w.reassign_breached_tier1);
        // Read once, on the first tier-1 breach, under the routing lock.
        let mut routing: Option<(Vec<Rep>, Vec<RoutingRule>)> = None;
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
            done += 1;
            if reassign {
                let account = store::account::find(ws, &txn, AccountId::from(a.account_id)).await?;
                if let Some(account) = account.filter(|x| x.tier == Some(1)) {
                    if routing.is_none() {
                        routing = Some(routing_state(ws, &txn).await?);
                    }
                    if let Some((reps, rules)) = routing.as_mut() {
                        events.extend(reroute(ws, &txn, a, &account, reps, rules, now).await?);
                    }
                }
            }
        }
        store::qualification::append(ws, &txn, events, now).await?;
        txn.commit().await?;
    }
    Ok(done)
}

/// Routes a breached tier-1 assignment to another rep (the breached one left out, the
/// workspace's rules as usual); returns the outbox events. Nobody else eligible: it stays
/// breached where it is.
async fn reroute(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    mut old: assignment::Model,
    account: &account::Model,
    reps: &mut [Rep],
    rules: &[RoutingRule],
    now: DateTime<Utc>,
) -> Result<Vec<NewEvent>, AppError> {
    let others: Vec<Rep> = reps
        .iter()
        .filter(|r| Some(r.id.get()) != old.rep_id)
        .cloned()
        .collect();
    let mut router = Router::new(&others, rules);
    // The owner rule would pick the rep who breached: route as if the account had none.
    let mut unowned = account.clone();
    unowned.owner_id = None;
    let new = route_account(ws, db, &mut router, &unowned, now).await?;
    let Some(rep) = new.rep_id else {
        return Ok(Vec::new());
    };
    crate::segment::refresh(ws, db, Some(&[AccountId::from(account.id)])).await?;
    // Later reroutes in this pass see the load this one adds.
    if let Some(r) = reps.iter_mut().find(|r| r.id.get() == rep) {
        r.load += 1;
    }
    old.status = "REASSIGNED".to_owned();
    old.closed_at = Some(now);
    store::routing::save_assignment(db, old.clone()).await?;
    store::routing::insert_assignments(db, std::slice::from_ref(&new)).await?;
    Ok(vec![
        assignment_event(ASSIGNMENT_REASSIGNED, &old),
        assignment_event(ASSIGNMENT_CREATED, &new),
    ])
}

/// One pass of the SLA watch: [`breach_overdue`] now, logged (one instance at a time runs it:
/// see `crate::periodic`).
pub async fn watch_pass(db: DatabaseConnection) {
    match breach_overdue(&db, store::now()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(assignments = n, "SLA breaches recorded"),
        Err(e) => tracing::warn!(error = ?e, "SLA watch failed; next pass retries"),
    }
}
