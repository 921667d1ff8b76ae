use async_graphql::{Context, Object};

use crate::auth::viewer;
use crate::error::{AppError, IntoGql};
use crate::graphql::object::User;
use crate::graphql::state;
use crate::store;

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let run = async {
            let v = viewer(ctx)?;
            let db = &state(ctx)?.db;
            // A valid token for a user removed since is as good as no token.
            store::user::find(v.workspace_id, db, v.user_id)
                .await?
                .map(User)
                .ok_or(AppError::Unauthenticated)
        };
        run.await.gql()
    }
}
