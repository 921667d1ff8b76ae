use async_graphql::{Context, Object};
use quorum_domain::value::Role;

use crate::auth::{RoleGuard, viewer};
use crate::error::IntoGql;
use crate::graphql::input::{ContactInput, parse_batch};
use crate::graphql::object::Contact;
use crate::graphql::state;
use crate::upsert;

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
            let done = upsert::contacts(v.workspace_id, &state(ctx)?.db, items).await?;
            Ok(done.rows.into_iter().map(Contact).collect())
        };
        run.await.gql()
    }
}
