use async_graphql::{Context, ID, Object};

use crate::auth::viewer;
use crate::error::{AppResult, IntoGql};
use crate::graphql::object::{Segment, parse_id};
use crate::graphql::state;
use crate::store;

#[derive(Default)]
pub struct SegmentQuery;

#[Object]
impl SegmentQuery {
    /// The workspace's segments, by name.
    async fn segments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Segment>> {
        let run = async {
            let v = viewer(ctx)?;
            let rows = store::segment::list(v.workspace_id, &state(ctx)?.db).await?;
            AppResult::Ok(rows.into_iter().map(Segment).collect())
        };
        run.await.gql()
    }

    /// A segment of the caller's workspace; `null` for any other id.
    async fn segment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Segment>> {
        let run = async {
            let v = viewer(ctx)?;
            let Some(id) = parse_id(&id) else {
                return Ok(None);
            };
            let row = store::segment::get(v.workspace_id, &state(ctx)?.db, id).await?;
            AppResult::Ok(row.map(Segment))
        };
        run.await.gql()
    }
}
