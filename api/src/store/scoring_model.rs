use chrono::{DateTime, Utc};
use quorum_domain::score::ScoringModel;
use quorum_domain::value::WorkspaceId;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::entity::scoring_model;
use crate::error::AppError;

/// The model in force: the latest published version, or the default model (version 1) for a
/// workspace that has published none.
pub async fn current(ws: WorkspaceId, db: &impl ConnectionTrait) -> Result<ScoringModel, AppError> {
    Ok(current_with_time(ws, db).await?.0)
}

/// The model in force and when it was published (`None` for the built-in default).
pub async fn current_with_time(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
) -> Result<(ScoringModel, Option<DateTime<Utc>>), AppError> {
    let row = scoring_model::Entity::find()
        .filter(scoring_model::Column::WorkspaceId.eq(ws.get()))
        .order_by_desc(scoring_model::Column::Version)
        .one(db)
        .await?;
    match row {
        None => Ok((ScoringModel::default(), None)),
        Some(r) => Ok((parse(&r)?, Some(r.created_at))),
    }
}

/// One published version; version 1 is the built-in default when the workspace never
/// published its own.
pub async fn of_version(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    version: i32,
) -> Result<Option<ScoringModel>, AppError> {
    let row = scoring_model::Entity::find()
        .filter(scoring_model::Column::WorkspaceId.eq(ws.get()))
        .filter(scoring_model::Column::Version.eq(version))
        .one(db)
        .await?;
    match row {
        Some(r) => Ok(Some(parse(&r)?)),
        None if version == ScoringModel::default().version => Ok(Some(ScoringModel::default())),
        None => Ok(None),
    }
}

fn parse(r: &scoring_model::Model) -> Result<ScoringModel, AppError> {
    serde_json::from_str(&r.definition).map_err(|e| {
        AppError::internal(anyhow::anyhow!(
            "stored scoring model {} unreadable: {e}",
            r.version
        ))
    })
}

/// Stores `model` (already validated, its version the next one). Two publishes racing for
/// the same version: the second gets `CONFLICT`.
pub async fn insert(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    model: &ScoringModel,
) -> Result<DateTime<Utc>, AppError> {
    let now = super::now();
    let definition = serde_json::to_string(model).map_err(AppError::internal)?;
    scoring_model::Entity::insert(scoring_model::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        workspace_id: Set(ws.get()),
        version: Set(model.version),
        definition: Set(definition),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => {
            AppError::Conflict("another model was published meanwhile; fetch it and retry".into())
        }
        other => other,
    })?;
    Ok(now)
}
