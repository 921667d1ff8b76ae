use async_graphql::{Context, ID, Object};
use quorum_domain::value::AccountId;

use super::{Account, Seniority};
use crate::error::{AppResult, IntoGql};
use crate::graphql::loader::{loaders, unshare};
use crate::store::entity::contact;

/// A person at an account (or not yet matched to one).
pub struct Contact(pub contact::Model);

#[Object]
impl Contact {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    async fn seniority(&self) -> Option<Seniority> {
        self.0.seniority.as_deref().and_then(Seniority::from_stored)
    }

    async fn department(&self) -> Option<&str> {
        self.0.department.as_deref()
    }

    /// The company, once lead-to-account matching or `accountDomain` found it.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        let load = async {
            let Some(id) = self.0.account_id else {
                return Ok(None);
            };
            let row = loaders(ctx)?
                .account
                .load_one(AccountId::from(id))
                .await
                .map_err(unshare)?;
            AppResult::Ok(row.map(Account))
        };
        load.await.gql()
    }
}
