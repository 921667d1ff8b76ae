use async_graphql::{Context, Object};

use crate::auth::viewer;
use crate::error::{AppResult, IntoGql};
use crate::graphql::object::ScoringModelObject;
use crate::graphql::state;
use crate::store;

#[derive(Default)]
pub struct ModelQuery;

#[Object]
impl ModelQuery {
    /// The scoring model in force.
    async fn scoring_model(&self, ctx: &Context<'_>) -> async_graphql::Result<ScoringModelObject> {
        let run = async {
            let v = viewer(ctx)?;
            let (model, published_at) =
                store::scoring_model::current_with_time(v.workspace_id, &state(ctx)?.db).await?;
            AppResult::Ok(ScoringModelObject {
                model,
                published_at,
            })
        };
        run.await.gql()
    }
}
