//! Failed logins per e-mail (see `auth::LoginThrottle`). Unlike the rest of `store` these rows
//! belong to no workspace: the e-mail tried may name no user at all.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entity::login_failure;
use crate::auth::LOGIN_WINDOW;
use crate::error::AppError;

/// Failures for `email` within the window before `now`.
pub async fn recent_failures(
    db: &impl ConnectionTrait,
    email: &str,
    now: DateTime<Utc>,
) -> Result<u32, AppError> {
    let row = login_failure::Entity::find_by_id(email.to_owned())
        .one(db)
        .await?;
    Ok(row
        .filter(|r| r.last_failed_at > now - LOGIN_WINDOW)
        .map_or(0, |r| u32::try_from(r.failures).unwrap_or(0)))
}

/// Counts one more failure for `email`. The count is one atomic increment, so guesses sent in
/// parallel to several instances all count.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use login_failure::Column;
    // Out of the window, a count restarts: this deletes this e-mail's old row as well as
    // everyone else's, which keeps the table to the last window's failures.
    login_failure::Entity::delete_many()
        .filter(Column::LastFailedAt.lte(now - LOGIN_WINDOW))
        .exec(db)
        .await?;
    login_failure::Entity::insert(login_failure::ActiveModel {
        email: Set(email.to_owned()),
        failures: Set(1),
        last_failed_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(Column::Email)
            .value(
                Column::Failures,
                Expr::col((login_failure::Entity, Column::Failures)).add(1),
            )
            .update_column(Column::LastFailedAt)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Forgets `email`'s failures (it logged in).
pub async fn clear(db: &impl ConnectionTrait, email: &str) -> Result<(), AppError> {
    login_failure::Entity::delete_by_id(email.to_owned())
        .exec(db)
        .await?;
    Ok(())
}
