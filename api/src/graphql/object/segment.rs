use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{Account, Stage, TotalCount, list_cost};
use crate::auth::viewer;
use crate::error::{AppResult, IntoGql};
use crate::graphql::input::{AccountFilterInput, AccountOrder};
use crate::graphql::query::account_page;
use crate::graphql::state;
use crate::store;
use crate::store::entity::segment;

/// A saved account filter. Its members are whichever accounts match it now.
pub struct Segment(pub segment::Model);

/// How many of a segment's accounts are in one stage.
#[derive(SimpleObject)]
pub struct StageCount {
    pub stage: Stage,
    pub count: i64,
}

#[Object]
impl Segment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The filter as it was saved.
    async fn filter(&self) -> async_graphql::Result<AccountFilterInput> {
        crate::segment::stored_input(&self.0).gql()
    }

    /// The tier (1–3) the segment gives its members; `null` when it sets none.
    async fn tier(&self) -> Option<i32> {
        self.0.tier.map(i32::from)
    }

    /// Accounts matching the filter now.
    async fn account_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let run = async {
            let v = viewer(ctx)?;
            let filter = crate::segment::filter_of(&self.0)?;
            store::segment::count(v.workspace_id, &state(ctx)?.db, &filter).await
        };
        run.await.gql()
    }

    /// Members per stage; stages with no member are left out.
    async fn stage_counts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StageCount>> {
        let run = async {
            let v = viewer(ctx)?;
            let filter = crate::segment::filter_of(&self.0)?;
            let rows =
                store::segment::stage_counts(v.workspace_id, &state(ctx)?.db, &filter).await?;
            AppResult::Ok(
                rows.into_iter()
                    .filter_map(|(s, n)| {
                        Stage::from_stored(&s).map(|stage| StageCount { stage, count: n })
                    })
                    .collect(),
            )
        };
        run.await.gql()
    }

    /// The members, in `orderBy` order (default: by name).
    #[graphql(complexity = "list_cost(first, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        order_by: Option<AccountOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Account, TotalCount>> {
        let run = async {
            let filter = crate::segment::filter_of(&self.0)?;
            account_page(ctx, &filter, order_by, first, after).await
        };
        run.await.gql()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
