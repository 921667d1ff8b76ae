use async_graphql::{Context, Object};
use quorum_domain::value::Role;

use crate::auth::{RoleGuard, viewer};
use crate::error::{AppResult, IntoGql};
use crate::graphql::input::ScoringModelInput;
use crate::graphql::object::ScoringModelObject;
use crate::graphql::state;
use crate::scoring::{self, Scope};
use crate::store;

#[derive(Default)]
pub struct ModelMutation;

#[Object]
impl ModelMutation {
    /// Publishes the next version of the scoring model (fields left out are kept) and
    /// rescores every account under it, in short batches. A change of points or weights
    /// rescores from the stored aggregates; a new half-life rebuilds them from raw events.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Marketer])")]
    async fn publish_scoring_model(
        &self,
        ctx: &Context<'_>,
        input: ScoringModelInput,
    ) -> async_graphql::Result<ScoringModelObject> {
        let run = async {
            let v = viewer(ctx)?;
            let db = &state(ctx)?.db;
            let current = store::scoring_model::current(v.workspace_id, db).await?;
            let next = input.apply(&current)?;
            let published_at = store::scoring_model::insert(v.workspace_id, db, &next).await?;
            // Should the client go away mid-way, the periodic pass finishes the job: it
            // rescores accounts scored under an older version.
            scoring::rescore_workspace(v.workspace_id, db, &next, Scope::All, store::now()).await?;
            AppResult::Ok(ScoringModelObject {
                model: next,
                published_at: Some(published_at),
            })
        };
        run.await.gql()
    }
}
