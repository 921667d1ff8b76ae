//! Stage changes, automatic (found while rescoring) or manual, stored in the caller's
//! transaction together with their transition rows, the assignment of every new SQL, and the
//! outbox events subscribers will see: a change is never on record without its announcement,
//! nor announced without being on record.

use chrono::{DateTime, Utc};
use quorum_domain::qualify::{Actor, Transition};
use quorum_domain::route::{Rep, Router, RoutingAccount, RoutingRule, SlaPolicy};
use quorum_domain::value::{AccountId, CountryCode, Stage, Tier, UserId, WorkspaceId};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::AppError;
use crate::scoring::{datetime, timestamp};
use crate::store::entity::{account, assignment, stage_transition};
use crate::store::qualification::{self as stored, NewEvent, StageRow};
use crate::store::routing;

/// Outbox event kinds.
pub const SQL_PROMOTED: &str = "SQL_PROMOTED";
pub const ASSIGNMENT_CREATED: &str = "ASSIGNMENT_CREATED";
pub const ASSIGNMENT_ACCEPTED: &str = "ASSIGNMENT_ACCEPTED";
pub const FIRST_TOUCH: &str = "FIRST_TOUCH";
pub const SLA_BREACHED: &str = "SLA_BREACHED";
pub const ASSIGNMENT_REASSIGNED: &str = "ASSIGNMENT_REASSIGNED";
pub const ASSIGNMENT_CLOSED: &str = "ASSIGNMENT_CLOSED";

/// Whether an outbox kind is one of the changes to an assignment.
pub fn is_assignment_event(kind: &str) -> bool {
    [
        ASSIGNMENT_CREATED,
        ASSIGNMENT_ACCEPTED,
        FIRST_TOUCH,
        SLA_BREACHED,
        ASSIGNMENT_REASSIGNED,
        ASSIGNMENT_CLOSED,
    ]
    .contains(&kind)
}

/// Stores `changes` (one per account) and returns their rows in the same order.
pub async fn record(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    changes: &[(&account::Model, Transition)],
    model_version: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Vec<stage_transition::Model>, AppError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let mut stages = Vec::with_capacity(changes.len());
    let mut rows = Vec::with_capacity(changes.len());
    let mut promoted = Vec::new();
    for (account, t) in changes {
        let at = datetime(t.at).unwrap_or(now);
        let actor_id = match t.actor {
            Actor::System => None,
            Actor::User(u) => Some(u.get()),
        };
        stages.push(StageRow {
            account: AccountId::from(account.id),
            stage: t.to.as_str(),
            manual: actor_id.is_some(),
            at,
        });
        let row = stage_transition::Model {
            id: Uuid::now_v7(),
            workspace_id: ws.get(),
            account_id: account.id,
            from_stage: t.from.as_str().to_owned(),
            to_stage: t.to.as_str().to_owned(),
            at,
            reason: t.reason.to_string(),
            reason_detail: serde_json::to_string(&t.reason).map_err(AppError::internal)?,
            actor_id,
            model_version: actor_id.is_none().then_some(model_version).flatten(),
        };
        if t.to == Stage::Sql {
            promoted.push((*account, row.id, row.from_stage.clone(), at));
        }
        rows.push(row);
    }
    stored::set_stages(ws, db, &stages).await?;
    stored::insert_transitions(db, &rows).await?;
    let changed: Vec<AccountId> = changes.iter().map(|(a, _)| AccountId::from(a.id)).collect();
    crate::segment::refresh(ws, db, Some(&changed)).await?;
    if promoted.is_empty() {
        return Ok(rows);
    }

    // Routing reads the accounts as they now stand: a segment may have just set the tier
    // that decides the rep pool and the SLA.
    let promoted_ids: Vec<AccountId> = promoted.iter().map(|p| AccountId::from(p.0.id)).collect();
    let mut current = crate::store::account::of_ids(ws, db, &promoted_ids).await?;
    // The database answers in its own order; routing goes in the promotions' (rep capacity
    // goes to the first).
    let rank: std::collections::HashMap<Uuid, usize> = promoted_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.get(), i))
        .collect();
    current.sort_by_key(|a| rank.get(&a.id).copied());
    let assigned = assign(ws, db, current.iter(), now).await?;
    let mut events = Vec::with_capacity(promoted.len() * 2);
    for (account, transition, from, at) in &promoted {
        let assignment = assigned.iter().find(|a| a.account_id == account.id);
        events.push(NewEvent {
            kind: SQL_PROMOTED,
            account: Some(AccountId::from(account.id)),
            payload: serde_json::json!({
                "accountId": account.id,
                "transitionId": transition,
                "from": from,
                "at": at,
                "assignmentId": assignment.map(|a| a.id),
            }),
        });
        if let Some(a) = assignment {
            events.push(assignment_event(ASSIGNMENT_CREATED, a));
        }
    }
    stored::append(ws, db, events, now).await?;
    Ok(rows)
}

/// The outbox event announcing something that happened to an assignment.
pub fn assignment_event(kind: &'static str, a: &assignment::Model) -> NewEvent {
    NewEvent {
        kind,
        account: Some(AccountId::from(a.account_id)),
        payload: serde_json::json!({
            "assignmentId": a.id,
            "accountId": a.account_id,
            "repId": a.rep_id,
            "status": a.status,
            "dueAt": a.due_at,
        }),
    }
}

/// Routes every account that has no open assignment yet; returns the new assignments (an
/// account no rep can take gets one in the unassigned queue, without a rep).
async fn assign(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    accounts: impl Iterator<Item = &account::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<assignment::Model>, AppError> {
    let accounts: Vec<&account::Model> = accounts.collect();
    let (reps, rules) = routing_state(ws, db).await?;
    let ids: Vec<AccountId> = accounts.iter().map(|a| AccountId::from(a.id)).collect();
    let open = routing::open_of_accounts(ws, db, &ids).await?;
    let mut router = Router::new(&reps, &rules);
    let mut out = Vec::new();
    let mut owners = Vec::new();
    // Each rep's turn after the last account it took: what storing every turn in order leaves.
    let mut turns = std::collections::BTreeMap::new();
    for a in accounts {
        // Re-promoted while still assigned: the rep keeps working it.
        if open.iter().any(|o| o.account_id == a.id) {
            continue;
        }
        let (assignment, owner) = decide(ws, &mut router, a, now);
        if let Some((rep, turn)) = owner {
            owners.push((AccountId::from(a.id), rep));
            turns.insert(rep, turn);
        }
        out.push(assignment);
    }
    // Written together rather than per account: a batch promoting hundreds of accounts paid two
    // round trips for each (BENCHMARKS.md, issue 4).
    routing::set_owners_and_turns(ws, db, &owners, &turns).await?;
    routing::insert_assignments(db, &out).await?;
    // A new owner can move the account in or out of a segment that sets tiers.
    let owned: Vec<AccountId> = out
        .iter()
        .filter(|a| a.rep_id.is_some())
        .map(|a| AccountId::from(a.account_id))
        .collect();
    crate::segment::refresh(ws, db, Some(&owned)).await?;
    Ok(out)
}

/// Takes the workspace's routing lock and reads the reps (with their open assignments) and
/// the rules in force.
pub async fn routing_state(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
) -> Result<(Vec<Rep>, Vec<RoutingRule>), AppError> {
    routing::lock_workspace(ws, db).await?;
    let users = routing::reps(ws, db).await?;
    let loads = routing::open_loads(ws, db).await?;
    let reps = users
        .iter()
        .map(|u| routing::domain_rep(u, loads.get(&u.id).copied().unwrap_or(0)))
        .collect();
    let rules = routing::rules(ws, db)
        .await?
        .iter()
        .map(|(name, r)| r.to_domain(name))
        .collect();
    Ok((reps, rules))
}

/// Routes one account (recording the choice in `router`), makes the chosen rep its owner and
/// stores the rep's turn; returns the new `PENDING` assignment, not yet inserted.
pub async fn route_account(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    router: &mut Router<'_>,
    a: &account::Model,
    now: DateTime<Utc>,
) -> Result<assignment::Model, AppError> {
    let (assignment, owner) = decide(ws, router, a, now);
    if let Some((rep, turn)) = owner {
        let turns = std::collections::BTreeMap::from([(rep, turn)]);
        routing::set_owners_and_turns(ws, db, &[(AccountId::from(a.id), rep)], &turns).await?;
    }
    Ok(assignment)
}

/// Routes one account (recording the choice in `router`): the new `PENDING` assignment, and
/// the rep who becomes the account's owner with that rep's round-robin turn, both to store.
fn decide(
    ws: WorkspaceId,
    router: &mut Router<'_>,
    a: &account::Model,
    now: DateTime<Utc>,
) -> (assignment::Model, Option<(UserId, u64)>) {
    let sla = SlaPolicy::default();
    let tier = a.tier.and_then(|t| Tier::parse(i64::from(t)).ok());
    let decision = router.route(
        &RoutingAccount {
            country: a
                .country
                .as_deref()
                .and_then(|c| CountryCode::parse(c).ok()),
            region: a.region.clone(),
            industry: a.industry.clone(),
            tier,
            owner: a.owner_id.map(UserId::from),
        },
        &sla,
        timestamp(now),
    );
    router.assign(&decision);
    let owner = decision.rep.map(|rep| (rep, decision.turn));
    let assignment = assignment::Model {
        id: Uuid::now_v7(),
        workspace_id: ws.get(),
        account_id: a.id,
        rep_id: decision.rep.map(UserId::get),
        status: "PENDING".to_owned(),
        rule: decision.rule,
        reason: decision.reason,
        assigned_at: now,
        // From `now` itself rather than the decision's millisecond timestamp, so the SLA
        // is exact to the microsecond the assignment is stamped with.
        due_at: now + chrono::Duration::minutes(i64::from(sla.minutes(tier))),
        accepted_at: None,
        first_touch_at: None,
        first_touch_channel: None,
        closed_at: None,
    };
    (assignment, owner)
}
