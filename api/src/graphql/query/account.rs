use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object};
use quorum_domain::filter::AccountFilter;

use crate::auth::viewer;
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::input::{AccountFilterInput, AccountOrder, AccountOrderField};
use crate::graphql::object::{
    Account, Cursor, SortDirection, TotalCount, list_cost, page_size, parse_id,
};
use crate::graphql::{
    loader::{loaders, unshare},
    state,
};
use crate::store::{self, account::After};

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// An account of the caller's workspace; `null` for any other id.
    async fn account(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Account>> {
        let run = async {
            viewer(ctx)?;
            let Some(id) = parse_id(&id) else {
                return Ok(None);
            };
            let row = loaders(ctx)?
                .account
                .load_one(id.into())
                .await
                .map_err(unshare)?;
            AppResult::Ok(row.map(Account))
        };
        run.await.gql()
    }

    /// Accounts matching `filter` and, with `segmentId`, the segment's filter too, in
    /// `orderBy` order (default: by name).
    #[graphql(complexity = "list_cost(first, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountFilterInput>,
        segment_id: Option<ID>,
        order_by: Option<AccountOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Account, TotalCount>> {
        let run = async {
            let v = viewer(ctx)?;
            let mut all = Vec::new();
            if let Some(f) = filter {
                all.push(f.parse("filter")?);
            }
            if let Some(id) = segment_id {
                let db = &state(ctx)?.db;
                let segment = match parse_id(&id) {
                    Some(id) => store::segment::get(v.workspace_id, db, id).await?,
                    None => None,
                };
                let segment = segment.ok_or(AppError::NotFound("segment"))?;
                all.push(crate::segment::filter_of(&segment)?);
            }
            let filter = match all.len() {
                1 => all.remove(0),
                _ => AccountFilter::And(all),
            };
            account_page(ctx, &filter, order_by, first, after).await
        };
        run.await.gql()
    }
}

/// One page of the workspace's accounts matching `filter`: `accounts` and `Segment.accounts`.
pub async fn account_page(
    ctx: &Context<'_>,
    filter: &AccountFilter,
    order_by: Option<AccountOrder>,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<Connection<String, Account, TotalCount>> {
    let v = viewer(ctx)?;
    let first = page_size(first)?;
    let order = order_by.unwrap_or(AccountOrder {
        field: AccountOrderField::Name,
        direction: SortDirection::Asc,
    });
    let (key, descending) = order.key();
    let after: Option<After> = after.map(|c| Cursor::decode(&c, "after")).transpose()?;
    if after
        .as_ref()
        .is_some_and(|a| (a.sort, a.descending) != (key, descending))
    {
        return Err(AppError::bad_input(
            "after",
            "this cursor belongs to another order",
        ));
    }
    let has_previous = after.is_some();
    let count = ctx.look_ahead().field("totalCount").exists();
    let page = store::account::page(
        v.workspace_id,
        &state(ctx)?.db,
        filter,
        (key, descending),
        first,
        after,
        count,
    )
    .await?;
    let mut conn = Connection::with_additional_fields(
        has_previous,
        page.has_next,
        TotalCount {
            // Not selected when not counted: the client never sees this 0.
            total_count: page.total.unwrap_or(0),
        },
    );
    conn.edges.extend(page.rows.into_iter().map(|a| {
        let cursor = Cursor::encode(&After {
            sort: key,
            descending,
            key: key.value_of(&a),
            id: a.id,
        });
        Edge::new(cursor, Account(a))
    }));
    Ok(conn)
}
