//! The outbox as a delivery ledger: what waits for the relay, the relay's lease, and pruning.

use chrono::{DateTime, Utc};
use quorum_domain::value::WorkspaceId;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Statement,
};
use uuid::Uuid;

use super::entity::{outbox, workspace};
use crate::error::AppError;

/// The last `seq` committed in the workspace's outbox, and the last one pruned away.
pub async fn bounds(ws: WorkspaceId, db: &impl ConnectionTrait) -> Result<(i64, i64), AppError> {
    let w = workspace::Entity::find_by_id(ws.get())
        .one(db)
        .await?
        .ok_or(AppError::NotFound("workspace"))?;
    Ok((w.outbox_seq, w.outbox_pruned_seq))
}

/// A workspace with rows the relay has not announced yet, up to `last`.
#[derive(Debug, FromQueryResult)]
pub struct Waiting {
    pub workspace_id: Uuid,
    pub last: i64,
}

/// Workspaces whose outbox holds rows not yet announced, each with its highest such `seq`.
pub async fn waiting(db: &impl ConnectionTrait) -> Result<Vec<Waiting>, AppError> {
    Ok(outbox::Entity::find()
        .select_only()
        .column(outbox::Column::WorkspaceId)
        .column_as(outbox::Column::Seq.max(), "last")
        .filter(outbox::Column::PublishedAt.is_null())
        .group_by(outbox::Column::WorkspaceId)
        .into_model::<Waiting>()
        .all(db)
        .await?)
}

/// Marks the workspace's rows up to `last` announced.
pub async fn mark_published(
    db: &impl ConnectionTrait,
    ws: Uuid,
    last: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::PublishedAt, Expr::value(now))
        .filter(outbox::Column::WorkspaceId.eq(ws))
        .filter(outbox::Column::Seq.lte(last))
        .filter(outbox::Column::PublishedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Age of the oldest row the relay has not announced: the delivery lag.
pub async fn oldest_waiting(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, AppError> {
    Ok(outbox::Entity::find()
        .select_only()
        .column_as(outbox::Column::CreatedAt.min(), "oldest")
        .filter(outbox::Column::PublishedAt.is_null())
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten())
}

/// Takes or renews lease `name` (`outbox` for the relay; see `crate::periodic` for the others)
/// for `holder` until `until`; true when `holder` has it. A lease past its expiry is free, so
/// a dead holder's is taken over. A lease named for the first time is created.
pub async fn hold_lease(
    db: &impl ConnectionTrait,
    name: &str,
    holder: Uuid,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, AppError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "INSERT INTO relay_lease (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE relay_lease.holder = excluded.holder OR relay_lease.holder IS NULL \
             OR relay_lease.expires_at < $4"
        }
        _ => {
            "INSERT INTO relay_lease (name, holder, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE relay_lease.holder = excluded.holder OR relay_lease.holder IS NULL \
             OR relay_lease.expires_at < ?4"
        }
    };
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [name.into(), holder.into(), until.into(), now.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Gives lease `name` up (on shutdown) so another instance need not wait for it to expire.
pub async fn release_lease(
    db: &impl ConnectionTrait,
    name: &str,
    holder: Uuid,
) -> Result<(), AppError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "UPDATE relay_lease SET holder = NULL WHERE name = $1 AND holder = $2"
        }
        _ => "UPDATE relay_lease SET holder = NULL WHERE name = ?1 AND holder = ?2",
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [name.into(), holder.into()],
    ))
    .await?;
    Ok(())
}

/// Who holds lease `name`, if anyone does now.
pub async fn lease_holder(
    db: &impl ConnectionTrait,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, AppError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT holder FROM relay_lease WHERE name = $1 AND expires_at >= $2"
        }
        _ => "SELECT holder FROM relay_lease WHERE name = ?1 AND expires_at >= ?2",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [name.into(), now.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<Uuid>>("", "holder")?,
        None => None,
    })
}

/// Deletes announced rows older than `before`, remembering per workspace the highest `seq`
/// deleted so that a cursor from before it is told it expired. Returns the rows deleted.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, AppError> {
    let pruned: Vec<(Uuid, Option<i64>)> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::WorkspaceId)
        .column_as(outbox::Column::Seq.max(), "last")
        .filter(outbox::Column::PublishedAt.lt(before))
        .group_by(outbox::Column::WorkspaceId)
        .into_tuple()
        .all(db)
        .await?;
    let mut deleted = 0;
    for (ws, last) in pruned {
        let Some(last) = last else { continue };
        // Rows are deleted by `seq`, so that the recorded bound and the rows gone agree even
        // if some row at or below it was announced later than the others.
        workspace::Entity::update_many()
            .col_expr(workspace::Column::OutboxPrunedSeq, Expr::value(last))
            .filter(workspace::Column::Id.eq(ws))
            .filter(workspace::Column::OutboxPrunedSeq.lt(last))
            .exec(db)
            .await?;
        deleted += outbox::Entity::delete_many()
            .filter(outbox::Column::WorkspaceId.eq(ws))
            .filter(outbox::Column::Seq.lte(last))
            .filter(outbox::Column::PublishedAt.is_not_null())
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(deleted)
}
