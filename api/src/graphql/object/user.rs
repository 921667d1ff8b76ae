use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::Role;
use crate::store::entity::app_user;

/// A person who uses Quorum.
pub struct User(pub app_user::Model);

impl User {
    /// The user `id` names, through the request's loader; `None` for no id or no such user.
    pub async fn load(
        ctx: &async_graphql::Context<'_>,
        id: Option<uuid::Uuid>,
    ) -> async_graphql::Result<Option<User>> {
        use crate::error::{AppResult, IntoGql};
        use crate::graphql::loader::{loaders, unshare};
        let load = async {
            let Some(id) = id else {
                return Ok(None);
            };
            let row = loaders(ctx)?
                .user
                .load_one(quorum_domain::value::UserId::from(id))
                .await
                .map_err(unshare)?;
            AppResult::Ok(row.map(User))
        };
        load.await.gql()
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn role(&self) -> Option<Role> {
        Role::from_stored(&self.0.role)
    }

    /// Territory, industries, capacity and whether routing may pick them; reps only.
    async fn rep_profile(&self) -> Option<super::RepProfile> {
        (self.0.role == quorum_domain::value::Role::Rep.as_str())
            .then(|| super::RepProfile::from(&self.0))
    }
}

/// What `login` returns: a bearer token for the `Authorization` header.
#[derive(SimpleObject)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}
