use std::collections::HashMap;

use async_graphql::{Context, Object};
use quorum_domain::value::Role;
use sea_orm::TransactionTrait;

use crate::auth::{RoleGuard, viewer};
use crate::error::{AppError, IntoGql};
use crate::graphql::input::{ContactInput, check_batch};
use crate::graphql::object::Contact;
use crate::graphql::state;
use crate::store;

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
            check_batch(&input, "input")?;
            let mut items = Vec::with_capacity(input.len());
            let mut seen: HashMap<String, usize> = HashMap::new();
            for (i, raw) in input.into_iter().enumerate() {
                let item = raw.parse(&format!("input[{i}]"))?;
                if let Some(first) = seen.insert(item.email.as_str().to_owned(), i) {
                    return Err(AppError::bad_input(
                        format!("input[{i}].email"),
                        format!("{} is also input[{first}]", item.email),
                    ));
                }
                items.push(item);
            }
            let txn = state(ctx)?.db.begin().await?;
            let rows = store::contact::upsert_many(v.workspace_id, &txn, items).await?;
            txn.commit().await?;
            Ok(rows.into_iter().map(Contact).collect())
        };
        run.await.gql()
    }
}
