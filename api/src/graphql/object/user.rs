use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::Role;
use crate::store::entity::app_user;

/// A person who uses Quorum.
pub struct User(pub app_user::Model);

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
}

/// What `login` returns: a bearer token for the `Authorization` header.
#[derive(SimpleObject)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}
