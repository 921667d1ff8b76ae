use quorum_domain::value::{Email, Role, UserId, WorkspaceId};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entity::app_user;
use crate::error::AppError;

/// A user about to be created; the password is already hashed.
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// Open assignments a new rep may hold until a manager sets their capacity.
pub const DEFAULT_CAPACITY: i32 = 20;

pub async fn insert(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    new: NewUser,
) -> Result<app_user::Model, AppError> {
    let model = app_user::Model {
        id: UserId::new().get(),
        workspace_id: ws.get(),
        email: new.email.as_str().to_owned(),
        name: new.name,
        role: new.role.as_str().to_owned(),
        password_hash: new.password_hash,
        created_at: super::now(),
        rep_active: true,
        rep_capacity: DEFAULT_CAPACITY,
        rep_countries: "[]".to_owned(),
        rep_regions: "[]".to_owned(),
        rep_industries: "[]".to_owned(),
        rep_turn: 0,
    };
    app_user::Entity::insert(super::all_set::<_, app_user::ActiveModel>(model.clone()))
        .exec_without_returning(db)
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => {
                AppError::Conflict(format!("a user with e-mail {} already exists", model.email))
            }
            other => other,
        })?;
    Ok(model)
}

pub async fn find(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: UserId,
) -> Result<Option<app_user::Model>, AppError> {
    Ok(app_user::Entity::find_by_id((ws.get(), id.get()))
        .one(db)
        .await?)
}

pub async fn of_ids(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[UserId],
) -> Result<Vec<app_user::Model>, AppError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::IN_CHUNK) {
        out.extend(
            app_user::Entity::find()
                .filter(app_user::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    app_user::Column::Id,
                    chunk.iter().map(|i| i.get()),
                ))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The one user with this e-mail in the whole installation: `login` and `quorum token` start
/// from an e-mail, before any workspace is known.
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<app_user::Model>, AppError> {
    Ok(app_user::Entity::find()
        .filter(app_user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?)
}
