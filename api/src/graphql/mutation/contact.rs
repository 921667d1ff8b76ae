use async_graphql::{Context, Object};
use quorum_domain::value::Role;
use sea_orm::TransactionTrait;

use crate::auth::{RoleGuard, viewer};
use crate::error::IntoGql;
use crate::graphql::input::{ContactInput, parse_batch};
use crate::graphql::object::Contact;
use crate::graphql::state;
use crate::scoring;
use crate::store;
use quorum_domain::value::AccountId;
use std::collections::BTreeSet;

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Creates or updates contacts by e-mail, all or nothing, matching each to its account.
    /// Returns them in input order.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Marketer])")]
    async fn upsert_contacts(
        &self,
        ctx: &Context<'_>,
        input: Vec<ContactInput>,
    ) -> async_graphql::Result<Vec<Contact>> {
        let run = async {
            let v = viewer(ctx)?;
            let items = parse_batch(input, "email", ContactInput::parse, |c| {
                c.email.as_str().to_owned()
            })?;
            let txn = state(ctx)?.db.begin().await?;
            let emails: Vec<&str> = items.iter().map(|c| c.email.as_str()).collect();
            // Seniority and the account a contact belongs to move engagement: rescore the
            // accounts the contacts leave and join.
            let mut touched: BTreeSet<AccountId> =
                store::contact::by_emails(v.workspace_id, &txn, &emails)
                    .await?
                    .into_iter()
                    .filter_map(|c| c.account_id.map(AccountId::from))
                    .collect();
            let rows = store::contact::upsert_many(v.workspace_id, &txn, items).await?;
            touched.extend(
                rows.iter()
                    .filter_map(|c| c.account_id.map(AccountId::from)),
            );
            scoring::rescore_changed(
                v.workspace_id,
                &txn,
                &touched.into_iter().collect::<Vec<_>>(),
            )
            .await?;
            txn.commit().await?;
            Ok(rows.into_iter().map(Contact).collect())
        };
        run.await.gql()
    }
}
