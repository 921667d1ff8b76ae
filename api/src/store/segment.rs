use quorum_domain::filter::AccountFilter;
use quorum_domain::value::{AccountId, WorkspaceId};
use sea_orm::sea_query::{CaseStatement, Expr, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, StatementBuilder,
};
use uuid::Uuid;

use super::IN_CHUNK;
use super::account::compile;
use super::entity::{account, segment};
use crate::error::AppError;

pub async fn list(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
) -> Result<Vec<segment::Model>, AppError> {
    Ok(segment::Entity::find()
        .filter(segment::Column::WorkspaceId.eq(ws.get()))
        .order_by_asc(segment::Column::Name)
        .order_by_asc(segment::Column::Id)
        .all(db)
        .await?)
}

pub async fn get(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<segment::Model>, AppError> {
    Ok(segment::Entity::find_by_id((ws.get(), id)).one(db).await?)
}

/// The segments that set a tier, most important tier first (then oldest first): an account
/// several of them select takes the first one's tier.
pub async fn tiering(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
) -> Result<Vec<segment::Model>, AppError> {
    Ok(segment::Entity::find()
        .filter(segment::Column::WorkspaceId.eq(ws.get()))
        .filter(segment::Column::Tier.is_not_null())
        .order_by_asc(segment::Column::Tier)
        .order_by_asc(segment::Column::CreatedAt)
        .order_by_asc(segment::Column::Id)
        .all(db)
        .await?)
}

pub async fn insert(db: &impl ConnectionTrait, row: segment::Model) -> Result<(), AppError> {
    segment::Entity::insert(super::all_set(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn update(db: &impl ConnectionTrait, row: segment::Model) -> Result<(), AppError> {
    segment::Entity::update(super::all_set(row))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether a row was deleted.
pub async fn delete(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<bool, AppError> {
    let res = segment::Entity::delete_many()
        .filter(segment::Column::WorkspaceId.eq(ws.get()))
        .filter(segment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Accounts matching `filter`, per stage.
pub async fn stage_counts(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    filter: &AccountFilter,
) -> Result<Vec<(String, i64)>, AppError> {
    Ok(account::Entity::find()
        .select_only()
        .column(account::Column::Stage)
        .column_as(account::Column::Id.count(), "n")
        .filter(account::Column::WorkspaceId.eq(ws.get()))
        .filter(compile(ws, filter))
        .group_by(account::Column::Stage)
        .order_by_asc(account::Column::Stage)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?)
}

pub async fn count(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    filter: &AccountFilter,
) -> Result<u64, AppError> {
    Ok(account::Entity::find()
        .filter(account::Column::WorkspaceId.eq(ws.get()))
        .filter(compile(ws, filter))
        .count(db)
        .await?)
}

/// Sets `tier` of the given accounts (every account of the workspace with `None`) to the
/// tier of the first segment in `tiers` that selects it, or back to its own `base_tier`.
/// One statement per chunk of ids, evaluated on the rows as they stand in this transaction.
pub async fn apply_tiers(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    tiers: &[(AccountFilter, i16)],
    ids: Option<&[AccountId]>,
) -> Result<(), AppError> {
    let base = Expr::col((account::Entity, account::Column::BaseTier));
    let tier_of = || -> SimpleExpr {
        if tiers.is_empty() {
            return base.clone();
        }
        let mut case = CaseStatement::new();
        for (filter, tier) in tiers {
            case = case.case(compile(ws, filter), Expr::val(*tier));
        }
        case.finally(base.clone()).into()
    };
    let run = |chunk: Option<&[AccountId]>| {
        let mut q = Query::update();
        q.table(account::Entity)
            .value(account::Column::Tier, tier_of())
            .and_where(account::Column::WorkspaceId.eq(ws.get()));
        if let Some(ids) = chunk {
            q.and_where(super::one_of(
                db,
                account::Column::Id,
                ids.iter().map(|i| i.get()),
            ));
        }
        db.execute_raw(StatementBuilder::build(&q, &db.get_database_backend()))
    };
    match ids {
        None => {
            run(None).await?;
        }
        // Without tiering segments every touched account already has its base tier: the
        // last segment's removal reset the whole workspace.
        Some(_) if tiers.is_empty() => {}
        Some(ids) => {
            for chunk in ids.chunks(IN_CHUNK) {
                run(Some(chunk)).await?;
            }
        }
    }
    Ok(())
}
