use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entity::workspace;
use crate::error::AppError;

/// The workspace called `name`, created if new (used by `quorum user add`).
pub async fn find_or_create(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<workspace::Model, AppError> {
    if let Some(w) = by_name(db, name).await? {
        return Ok(w);
    }
    let model = workspace::Model {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        created_at: super::now(),
        outbox_seq: 0,
        outbox_pruned_seq: 0,
        reassign_breached_tier1: false,
    };
    workspace::Entity::insert(super::all_set::<_, workspace::ActiveModel>(model.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(model)
}

pub async fn by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<workspace::Model>, AppError> {
    Ok(workspace::Entity::find()
        .filter(workspace::Column::Name.eq(name))
        .one(db)
        .await?)
}

/// Every workspace, for installation-wide jobs (the periodic rescoring).
pub async fn all_ids(
    db: &impl ConnectionTrait,
) -> Result<Vec<quorum_domain::value::WorkspaceId>, AppError> {
    use sea_orm::QuerySelect;
    let ids: Vec<Uuid> = workspace::Entity::find()
        .select_only()
        .column(workspace::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(Into::into).collect())
}

pub async fn find(
    ws: quorum_domain::value::WorkspaceId,
    db: &impl ConnectionTrait,
) -> Result<Option<workspace::Model>, AppError> {
    Ok(workspace::Entity::find_by_id(ws.get()).one(db).await?)
}

pub async fn set_reassign_breached_tier1(
    ws: quorum_domain::value::WorkspaceId,
    db: &impl ConnectionTrait,
    on: bool,
) -> Result<(), AppError> {
    use sea_orm::sea_query::Expr;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::ReassignBreachedTier1, Expr::value(on))
        .filter(workspace::Column::Id.eq(ws.get()))
        .exec(db)
        .await?;
    Ok(())
}
