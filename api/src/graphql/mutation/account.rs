use async_graphql::{Context, Object};
use quorum_domain::value::Role;

use crate::auth::{RoleGuard, viewer};
use crate::error::IntoGql;
use crate::graphql::input::{AccountInput, parse_batch};
use crate::graphql::object::Account;
use crate::graphql::state;
use crate::scoring;
use crate::store;
use crate::store::entity::account;
use quorum_domain::value::AccountId;

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
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let rows = store::account::upsert_many(v.workspace_id, &txn, items).await?;
            // Fit depends on firmographics: the new facts are scored in the same transaction.
            let ids: Vec<AccountId> = rows.iter().map(|a| AccountId::from(a.id)).collect();
            scoring::rescore_changed(v.workspace_id, &txn, &ids).await?;
            let rows = store::account::of_ids(v.workspace_id, &txn, &ids).await?;
            txn.commit().await?;
            Ok(in_order(&ids, rows).into_iter().map(Account).collect())
        };
        run.await.gql()
    }
}

/// `rows` in the order of `ids`.
fn in_order(ids: &[AccountId], rows: Vec<account::Model>) -> Vec<account::Model> {
    let mut by_id: std::collections::HashMap<uuid::Uuid, account::Model> =
        rows.into_iter().map(|a| (a.id, a)).collect();
    ids.iter()
        .filter_map(|id| by_id.remove(&id.get()))
        .collect()
}
