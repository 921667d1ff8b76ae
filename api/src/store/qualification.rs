//! Stage transitions and the outbox.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use quorum_domain::value::{AccountId, WorkspaceId};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, Statement,
};
use uuid::Uuid;

use super::entity::{account, funnel_entry, outbox, stage_transition};
use super::{IN_CHUNK, bulk};
use crate::error::AppError;

/// Moves accounts to new stages; `manual` says a person set it.
pub struct StageRow {
    pub account: AccountId,
    pub stage: &'static str,
    pub manual: bool,
    pub at: DateTime<Utc>,
}

pub async fn set_stages(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    rows: &[StageRow],
) -> Result<(), AppError> {
    if bulk::json_rows(db) {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.account.get(), "stage": r.stage, "manual": r.manual, "at": r.at,
                })
            })
            .collect();
        return bulk::exec(
            db,
            "UPDATE account SET stage = v.stage, stage_manual = v.manual, stage_changed_at = v.at \
             FROM json_to_recordset($1::json) AS v(id uuid, stage text, manual boolean, at timestamptz) \
             WHERE account.id = v.id AND account.workspace_id = $2",
            &json,
            Some(ws.get().into()),
        )
        .await;
    }
    use sea_orm::sea_query::Expr;
    for r in rows {
        account::Entity::update_many()
            .col_expr(account::Column::Stage, Expr::value(r.stage))
            .col_expr(account::Column::StageManual, Expr::value(r.manual))
            .col_expr(account::Column::StageChangedAt, Expr::value(r.at))
            .filter(account::Column::WorkspaceId.eq(ws.get()))
            .filter(account::Column::Id.eq(r.account.get()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The funnel's stages, each converting to the next. Entries into these are copied to
/// `funnel_entry` and linked by this order, and the funnel report reads them there.
pub const FUNNEL: [&str; 5] = ["ENGAGED", "MQL", "SQL", "OPPORTUNITY", "WON"];

/// Appends transitions; those into a funnel stage also become funnel entries, linked into
/// their accounts' histories.
pub async fn insert_transitions(
    db: &impl ConnectionTrait,
    rows: &[stage_transition::Model],
) -> Result<(), AppError> {
    insert_rows(db, rows).await?;
    let entries: Vec<funnel_entry::Model> = rows
        .iter()
        .filter(|r| FUNNEL.contains(&r.to_stage.as_str()))
        .map(|r| funnel_entry::Model {
            id: r.id,
            workspace_id: r.workspace_id,
            account_id: r.account_id,
            stage: r.to_stage.clone(),
            at: r.at,
            prev_entry_at: None,
            next_stage_at: None,
            first_engaged_at: None,
        })
        .collect();
    let mut accounts: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    for e in &entries {
        accounts
            .entry(e.workspace_id)
            .or_default()
            .insert(e.account_id);
    }
    insert_entries(db, entries).await?;
    for (ws, ids) in accounts {
        link_entries(ws, db, &ids.into_iter().collect::<Vec<_>>()).await?;
    }
    Ok(())
}

async fn insert_entries(
    db: &impl ConnectionTrait,
    rows: Vec<funnel_entry::Model>,
) -> Result<(), AppError> {
    if bulk::json_rows(db) {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "workspace_id": r.workspace_id, "account_id": r.account_id,
                    "stage": r.stage, "at": r.at,
                })
            })
            .collect();
        return bulk::exec(
            db,
            "INSERT INTO funnel_entry (id, workspace_id, account_id, stage, at) \
             SELECT * FROM json_to_recordset($1::json) AS r(id uuid, workspace_id uuid, \
             account_id uuid, stage text, at timestamptz)",
            &json,
            None,
        )
        .await;
    }
    let active = rows
        .into_iter()
        .map(super::all_set::<_, funnel_entry::ActiveModel>);
    // 7 columns × 3,000 rows.
    super::insert_chunked(db, active.collect(), 3_000).await
}

/// Recomputes `prev_entry_at` and `next_stage_at` on every funnel entry of `accounts` from
/// their histories, and copies their accounts' first engagement. A new entry is the next stage
/// of older ones, and one written with an earlier `at` than some already stored changes their
/// previous entries too, so each touched account's (short) history is relinked rather than
/// patched.
async fn link_entries(
    ws: Uuid,
    db: &impl ConnectionTrait,
    accounts: &[Uuid],
) -> Result<(), AppError> {
    const PREV: &str = "(SELECT MAX(p.at) FROM funnel_entry p \
        WHERE p.workspace_id = funnel_entry.workspace_id \
        AND p.account_id = funnel_entry.account_id AND p.stage = funnel_entry.stage \
        AND (p.at < funnel_entry.at OR (p.at = funnel_entry.at AND p.id < funnel_entry.id)))";
    let following: String = FUNNEL
        .windows(2)
        .map(|w| format!(" WHEN '{}' THEN '{}'", w[0], w[1]))
        .collect();
    let next = format!(
        "(SELECT MIN(n.at) FROM funnel_entry n \
         WHERE n.workspace_id = funnel_entry.workspace_id \
         AND n.account_id = funnel_entry.account_id \
         AND n.stage = CASE funnel_entry.stage{following} END \
         AND n.at >= funnel_entry.at)"
    );
    relink(
        ws,
        db,
        accounts,
        &[
            (funnel_entry::Column::PrevEntryAt, PREV),
            (funnel_entry::Column::NextStageAt, &next),
            (funnel_entry::Column::FirstEngagedAt, FIRST_ENGAGED),
        ],
    )
    .await
}

/// The account's first engagement, for an `UPDATE funnel_entry`.
const FIRST_ENGAGED: &str = "(SELECT a.first_engaged_at FROM account a \
    WHERE a.workspace_id = funnel_entry.workspace_id AND a.id = funnel_entry.account_id)";

/// Copies the first engagement of `accounts` onto their funnel entries, after events moved it.
pub(super) async fn copy_first_engagement(
    ws: Uuid,
    db: &impl ConnectionTrait,
    accounts: &[Uuid],
) -> Result<(), AppError> {
    relink(
        ws,
        db,
        accounts,
        &[(funnel_entry::Column::FirstEngagedAt, FIRST_ENGAGED)],
    )
    .await
}

/// Sets each of `cols` to its SQL expression on the funnel entries of `accounts`. Only rows
/// where one of them moves are written: usually the new entry and the ones it is the next
/// stage of, not the account's whole history again (dead row versions are what the funnel's
/// scan pays for).
async fn relink(
    ws: Uuid,
    db: &impl ConnectionTrait,
    accounts: &[Uuid],
    cols: &[(funnel_entry::Column, &str)],
) -> Result<(), AppError> {
    use sea_orm::sea_query::Expr;
    let changed = cols
        .iter()
        .map(|(c, e)| {
            let name = sea_orm::IdenStatic::as_str(c);
            format!("funnel_entry.{name} IS DISTINCT FROM {e}")
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    for chunk in accounts.chunks(IN_CHUNK) {
        let mut q = funnel_entry::Entity::update_many();
        for (c, e) in cols {
            q = q.col_expr(*c, Expr::cust(e.to_string()));
        }
        q.filter(funnel_entry::Column::WorkspaceId.eq(ws))
            .filter(super::one_of(
                db,
                funnel_entry::Column::AccountId,
                chunk.iter().copied(),
            ))
            .filter(Expr::cust(format!("({changed})")))
            .exec(db)
            .await?;
    }
    Ok(())
}

async fn insert_rows(
    db: &impl ConnectionTrait,
    rows: &[stage_transition::Model],
) -> Result<(), AppError> {
    if bulk::json_rows(db) {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "workspace_id": r.workspace_id, "account_id": r.account_id,
                    "from_stage": r.from_stage, "to_stage": r.to_stage, "at": r.at,
                    "reason": r.reason, "reason_detail": r.reason_detail,
                    "actor_id": r.actor_id, "model_version": r.model_version,
                })
            })
            .collect();
        return bulk::exec(
            db,
            "INSERT INTO stage_transition (id, workspace_id, account_id, from_stage, to_stage, at, \
             reason, reason_detail, actor_id, model_version) \
             SELECT * FROM json_to_recordset($1::json) AS r(id uuid, workspace_id uuid, \
             account_id uuid, from_stage text, to_stage text, at timestamptz, reason text, \
             reason_detail text, actor_id uuid, model_version int)",
            &json,
            None,
        )
        .await;
    }
    let active = rows
        .iter()
        .cloned()
        .map(super::all_set::<_, stage_transition::ActiveModel>);
    // 10 columns × 3,000 rows.
    super::insert_chunked(db, active.collect(), 3_000).await?;
    Ok(())
}

/// An account's transitions, oldest first.
pub async fn transitions_of(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<stage_transition::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            stage_transition::Entity::find()
                .filter(stage_transition::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    stage_transition::Column::AccountId,
                    chunk.iter().map(|a| a.get()),
                ))
                .order_by_asc(stage_transition::Column::At)
                .order_by_asc(stage_transition::Column::Id)
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// One event for the outbox.
pub struct NewEvent {
    pub kind: &'static str,
    pub account: Option<AccountId>,
    pub payload: serde_json::Value,
}

/// Appends events to the workspace's outbox, numbered after the last one. Taking the numbers
/// locks the workspace's counter row until the transaction ends, so numbers are handed out
/// in commit order: a reader that has seen `seq` n will never later find a committed n − 1.
pub async fn append(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    events: Vec<NewEvent>,
    now: DateTime<Utc>,
) -> Result<Vec<outbox::Model>, AppError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(events.len()).map_err(AppError::internal)?;
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE workspace SET outbox_seq = outbox_seq + $1 WHERE id = $2 RETURNING outbox_seq"
        }
        _ => "UPDATE workspace SET outbox_seq = outbox_seq + ? WHERE id = ? RETURNING outbox_seq",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [n.into(), ws.get().into()],
        ))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("workspace {ws} is missing")))?;
    let last: i64 = row.try_get("", "outbox_seq")?;
    let rows: Vec<outbox::Model> = events
        .into_iter()
        .zip(last - n + 1..)
        .map(|(e, seq)| outbox::Model {
            id: Uuid::now_v7(),
            workspace_id: ws.get(),
            seq,
            kind: e.kind.to_owned(),
            account_id: e.account.map(AccountId::get),
            payload: e.payload.to_string(),
            created_at: now,
            published_at: None,
        })
        .collect();
    let active = rows
        .iter()
        .cloned()
        .map(super::all_set::<_, outbox::ActiveModel>);
    super::insert_chunked(db, active.collect(), 3_000).await?;
    Ok(rows)
}

/// Outbox events after `after` (exclusive), oldest first, at most `limit`.
pub async fn events_after(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<outbox::Model>, AppError> {
    use sea_orm::QuerySelect;
    Ok(outbox::Entity::find()
        .filter(outbox::Column::WorkspaceId.eq(ws.get()))
        .filter(outbox::Column::Seq.gt(after))
        .order_by_asc(outbox::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}
