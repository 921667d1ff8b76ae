use async_graphql::{Context, ID, Object};

use crate::auth::viewer;
use crate::error::{AppResult, IntoGql};
use crate::graphql::loader::{loaders, unshare};
use crate::graphql::object::{Contact, parse_id};

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// A contact of the caller's workspace; `null` for any other id.
    async fn contact(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Contact>> {
        let run = async {
            viewer(ctx)?;
            let Some(id) = parse_id(&id) else {
                return Ok(None);
            };
            let row = loaders(ctx)?
                .contact
                .load_one(id.into())
                .await
                .map_err(unshare)?;
            AppResult::Ok(row.map(Contact))
        };
        run.await.gql()
    }
}
