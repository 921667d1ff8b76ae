//! Opportunities and BANT.

use quorum_domain::value::{AccountId, WorkspaceId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::IN_CHUNK;
use super::entity::{bant, opportunity};
use crate::error::AppError;

/// Opportunities of these accounts, oldest first.
pub async fn opportunities_of(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<opportunity::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            opportunity::Entity::find()
                .filter(opportunity::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    opportunity::Column::AccountId,
                    chunk.iter().map(|a| a.get()),
                ))
                .order_by_asc(opportunity::Column::CreatedAt)
                .order_by_asc(opportunity::Column::Id)
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// One opportunity, locked until the transaction ends (see [`super::for_update`]).
pub async fn find_opportunity(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<opportunity::Model>, AppError> {
    let q = opportunity::Entity::find_by_id((ws.get(), id));
    Ok(super::for_update(q, db).one(db).await?)
}

pub async fn insert_opportunity(
    db: &impl ConnectionTrait,
    row: opportunity::Model,
) -> Result<(), AppError> {
    opportunity::Entity::insert(super::all_set::<_, opportunity::ActiveModel>(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn save_opportunity(
    db: &impl ConnectionTrait,
    row: opportunity::Model,
) -> Result<(), AppError> {
    opportunity::Entity::update(super::all_set::<_, opportunity::ActiveModel>(row))
        .exec(db)
        .await?;
    Ok(())
}

/// BANT of these accounts.
pub async fn bant_of(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<bant::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            bant::Entity::find()
                .filter(bant::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    bant::Column::AccountId,
                    chunk.iter().map(|a| a.get()),
                ))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Stores an account's BANT, replacing what was there.
pub async fn upsert_bant(db: &impl ConnectionTrait, row: bant::Model) -> Result<(), AppError> {
    bant::Entity::insert(super::all_set::<_, bant::ActiveModel>(row))
        .on_conflict(
            OnConflict::columns([bant::Column::WorkspaceId, bant::Column::AccountId])
                .update_columns([
                    bant::Column::Budget,
                    bant::Column::Authority,
                    bant::Column::Need,
                    bant::Column::Timeline,
                    bant::Column::Notes,
                    bant::Column::UpdatedBy,
                    bant::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Whether the account has an open opportunity.
pub async fn has_open(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    account: AccountId,
) -> Result<bool, AppError> {
    let n: Option<Uuid> = opportunity::Entity::find()
        .select_only()
        .column(opportunity::Column::Id)
        .filter(opportunity::Column::WorkspaceId.eq(ws.get()))
        .filter(opportunity::Column::AccountId.eq(account.get()))
        .filter(opportunity::Column::Status.eq("OPEN"))
        .into_tuple()
        .one(db)
        .await?;
    Ok(n.is_some())
}
