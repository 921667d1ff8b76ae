use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use quorum_domain::score::ContactActivity;
use quorum_domain::value::{AccountId, ContactId, WorkspaceId};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity::{account, contact_activity, engagement_event, score_history};
use super::{IN_CHUNK, account::chunked, bulk};
use crate::error::AppError;

/// Which of `event_ids` the workspace has already stored.
pub async fn known_event_ids(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    event_ids: &[&str],
) -> Result<HashSet<String>, AppError> {
    let mut out = HashSet::new();
    for chunk in event_ids.chunks(IN_CHUNK) {
        let rows: Vec<String> = engagement_event::Entity::find()
            .select_only()
            .column(engagement_event::Column::EventId)
            .filter(engagement_event::Column::WorkspaceId.eq(ws.get()))
            .filter(super::one_of(
                db,
                engagement_event::Column::EventId,
                chunk.iter().map(|e| (*e).to_owned()),
            ))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Appends events (already deduplicated by the caller) and moves their accounts' first
/// engagement back where one is older. `stored`: the first engagement the caller read for
/// accounts it holds locked; an account it names is written only if the batch moves it.
pub async fn insert_events(
    db: &impl ConnectionTrait,
    rows: Vec<engagement_event::Model>,
    stored: &HashMap<Uuid, Option<DateTime<Utc>>>,
) -> Result<(), AppError> {
    // Each account's oldest event in this batch; events are never removed, so a running
    // minimum is exact. Only accounts it moves back are written.
    let mut firsts: BTreeMap<(Uuid, Uuid), DateTime<Utc>> = BTreeMap::new();
    for r in &rows {
        firsts
            .entry((r.workspace_id, r.account_id))
            .and_modify(|m| *m = (*m).min(r.occurred_at))
            .or_insert(r.occurred_at);
    }
    insert_rows(db, rows).await?;
    // Past an account's first weeks most batches leave its first engagement where it is;
    // leaving those out spares the statement a lookup per account.
    firsts.retain(|(_, id), at| !matches!(stored.get(id), Some(Some(first)) if first <= at));
    if firsts.is_empty() {
        return Ok(());
    }
    // Funnel entries carry a copy of the first engagement (time to SQL reads it there): the
    // entries of accounts it moved take the new one. An account's first events usually come
    // before any entry, so there is mostly nothing to copy.
    if bulk::json_rows(db) {
        let json: Vec<serde_json::Value> = firsts
            .iter()
            .map(|((ws, id), at)| serde_json::json!({ "ws": ws, "id": id, "at": at }))
            .collect();
        return bulk::exec(
            db,
            "WITH moved AS (UPDATE account SET first_engaged_at = v.at \
             FROM json_to_recordset($1::json) AS v(ws uuid, id uuid, at timestamptz) \
             WHERE account.id = v.id AND account.workspace_id = v.ws \
             AND (account.first_engaged_at IS NULL OR account.first_engaged_at > v.at) \
             RETURNING account.workspace_id, account.id, account.first_engaged_at) \
             UPDATE funnel_entry SET first_engaged_at = moved.first_engaged_at FROM moved \
             WHERE funnel_entry.workspace_id = moved.workspace_id \
             AND funnel_entry.account_id = moved.id",
            &json,
            None,
        )
        .await;
    }
    let mut moved: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for ((ws, id), at) in firsts {
        let res = account::Entity::update_many()
            .col_expr(account::Column::FirstEngagedAt, Expr::value(at))
            .filter(account::Column::WorkspaceId.eq(ws))
            .filter(account::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(account::Column::FirstEngagedAt.is_null())
                    .add(account::Column::FirstEngagedAt.gt(at)),
            )
            .exec(db)
            .await?;
        if res.rows_affected > 0 {
            moved.entry(ws).or_default().push(id);
        }
    }
    for (ws, ids) in moved {
        super::qualification::copy_first_engagement(ws, db, &ids).await?;
    }
    Ok(())
}

async fn insert_rows(
    db: &impl ConnectionTrait,
    rows: Vec<engagement_event::Model>,
) -> Result<(), AppError> {
    if bulk::json_rows(db) {
        let rows: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "workspace_id": r.workspace_id, "event_id": r.event_id,
                    "account_id": r.account_id, "contact_id": r.contact_id, "kind": r.kind,
                    "occurred_at": r.occurred_at, "metadata": r.metadata,
                    "received_at": r.received_at,
                })
            })
            .collect();
        return bulk::exec(
            db,
            "INSERT INTO engagement_event \
             (id, workspace_id, event_id, account_id, contact_id, kind, occurred_at, metadata, received_at) \
             SELECT * FROM json_to_recordset($1::json) AS r(id uuid, workspace_id uuid, \
             event_id text, account_id uuid, contact_id uuid, kind text, occurred_at timestamptz, \
             metadata text, received_at timestamptz)",
            &rows,
            None,
        )
        .await;
    }
    let active = rows
        .into_iter()
        .map(super::all_set::<_, engagement_event::ActiveModel>);
    // 9 columns × 2,000 rows.
    super::insert_chunked(db, active.collect(), 2_000).await
}

/// Every stored event of one contact, oldest first (for rebuilding its aggregates).
pub async fn events_of_contact(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    contact: ContactId,
) -> Result<Vec<engagement_event::Model>, AppError> {
    Ok(engagement_event::Entity::find()
        .filter(engagement_event::Column::WorkspaceId.eq(ws.get()))
        .filter(engagement_event::Column::ContactId.eq(contact.get()))
        .order_by_asc(engagement_event::Column::OccurredAt)
        .all(db)
        .await?)
}

/// Stored aggregates of these contacts.
pub async fn activities_of_contacts(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[ContactId],
) -> Result<Vec<contact_activity::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            contact_activity::Entity::find()
                .filter(contact_activity::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    contact_activity::Column::ContactId,
                    chunk.iter().map(|c| c.get()),
                ))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// One contact's aggregates, ready to store.
pub struct ActivityRow {
    pub contact: ContactId,
    pub account: Option<AccountId>,
    pub activity: ContactActivity,
    pub half_life_days: f64,
    pub last_engaged_at: Option<DateTime<Utc>>,
}

pub async fn upsert_activities(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    rows: Vec<ActivityRow>,
) -> Result<(), AppError> {
    if bulk::json_rows(db) {
        let mut json = Vec::with_capacity(rows.len());
        for r in rows {
            json.push(serde_json::json!({
                "contact_id": r.contact.get(),
                "account_id": r.account.map(AccountId::get),
                "activity": serde_json::to_string(&r.activity).map_err(AppError::internal)?,
                "half_life_days": r.half_life_days,
                "last_engaged_at": r.last_engaged_at,
            }));
        }
        return bulk::exec(
            db,
            "INSERT INTO contact_activity \
             (contact_id, workspace_id, account_id, activity, half_life_days, last_engaged_at) \
             SELECT r.contact_id, $2, r.account_id, r.activity, r.half_life_days, r.last_engaged_at \
             FROM json_to_recordset($1::json) AS r(contact_id uuid, account_id uuid, activity text, \
             half_life_days float8, last_engaged_at timestamptz) \
             ON CONFLICT (workspace_id, contact_id) DO UPDATE SET account_id = excluded.account_id, \
             activity = excluded.activity, half_life_days = excluded.half_life_days, \
             last_engaged_at = excluded.last_engaged_at",
            &json,
            Some(ws.get().into()),
        )
        .await;
    }
    let mut active = Vec::with_capacity(rows.len());
    for r in rows {
        let json = serde_json::to_string(&r.activity).map_err(AppError::internal)?;
        active.push(contact_activity::ActiveModel {
            contact_id: Set(r.contact.get()),
            workspace_id: Set(ws.get()),
            account_id: Set(r.account.map(AccountId::get)),
            activity: Set(json),
            half_life_days: Set(r.half_life_days),
            last_engaged_at: Set(r.last_engaged_at),
        });
    }
    for chunk in chunked(active, 1_000) {
        contact_activity::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    contact_activity::Column::WorkspaceId,
                    contact_activity::Column::ContactId,
                ])
                .update_columns([
                    contact_activity::Column::AccountId,
                    contact_activity::Column::Activity,
                    contact_activity::Column::HalfLifeDays,
                    contact_activity::Column::LastEngagedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

pub async fn insert_history(
    db: &impl ConnectionTrait,
    rows: Vec<score_history::Model>,
) -> Result<(), AppError> {
    if bulk::json_rows(db) {
        let rows: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "workspace_id": r.workspace_id, "account_id": r.account_id,
                    "at": r.at, "total": r.total, "fit": r.fit, "engagement": r.engagement,
                    "intent": r.intent, "coverage": r.coverage, "model_version": r.model_version,
                })
            })
            .collect();
        return bulk::exec(
            db,
            "INSERT INTO score_history \
             (id, workspace_id, account_id, at, total, fit, engagement, intent, coverage, model_version) \
             SELECT * FROM json_to_recordset($1::json) AS r(id uuid, workspace_id uuid, \
             account_id uuid, at timestamptz, total float8, fit float8, engagement float8, \
             intent float8, coverage float8, model_version int)",
            &rows,
            None,
        )
        .await;
    }
    let active = rows
        .into_iter()
        .map(super::all_set::<_, score_history::ActiveModel>);
    super::insert_chunked(db, active.collect(), 2_000).await?;
    Ok(())
}

/// An account's score points since `since` (all when `None`), oldest first.
pub async fn history(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    account: AccountId,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<score_history::Model>, AppError> {
    let mut q = score_history::Entity::find()
        .filter(score_history::Column::WorkspaceId.eq(ws.get()))
        .filter(score_history::Column::AccountId.eq(account.get()));
    if let Some(t) = since {
        q = q.filter(score_history::Column::At.gte(t));
    }
    Ok(q.order_by_asc(score_history::Column::At)
        .order_by_asc(score_history::Column::Id)
        .all(db)
        .await?)
}

/// A fresh history row id.
pub fn history_id() -> Uuid {
    Uuid::now_v7()
}

/// The kept reply to batch `batch_id`, if any.
pub async fn find_batch(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    batch_id: &str,
) -> Result<Option<super::entity::ingest_batch::Model>, AppError> {
    Ok(
        super::entity::ingest_batch::Entity::find_by_id((ws.get(), batch_id.to_owned()))
            .one(db)
            .await?,
    )
}

/// Keeps a batch's reply; a second reply for the same id is a `Conflict`.
pub async fn insert_batch(
    db: &impl ConnectionTrait,
    row: super::entity::ingest_batch::Model,
) -> Result<(), AppError> {
    super::entity::ingest_batch::Entity::insert(super::all_set::<
        _,
        super::entity::ingest_batch::ActiveModel,
    >(row))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Forgets batch replies kept since before `before`.
pub async fn prune_batches(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, AppError> {
    use super::entity::ingest_batch;
    Ok(ingest_batch::Entity::delete_many()
        .filter(ingest_batch::Column::CreatedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
