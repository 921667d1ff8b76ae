use async_graphql::{Context, Object};
use quorum_domain::value::Role;

use crate::auth::{RoleGuard, viewer};
use crate::error::IntoGql;
use crate::graphql::input::{AccountInput, parse_batch};
use crate::graphql::object::Account;
use crate::graphql::state;
use crate::upsert;

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates or updates accounts by domain, all or nothing: one bad item writes none.
    /// Returns them in input order.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Marketer])")]
    async fn upsert_accounts(
        &self,
        ctx: &Context<'_>,
        input: Vec<AccountInput>,
    ) -> async_graphql::Result<Vec<Account>> {
        let run = async {
            let v = viewer(ctx)?;
            let items = parse_batch(input, "domain", AccountInput::parse, |a| {
                a.domain.as_str().to_owned()
            })?;
            let done = upsert::accounts(v.workspace_id, &state(ctx)?.db, items).await?;
            Ok(done.rows.into_iter().map(Account).collect())
        };
        run.await.gql()
    }
}
