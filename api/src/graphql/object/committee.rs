use async_graphql::{Context, ID, Object};
use quorum_domain::committee::{DEFAULT_REQUIRED_ROLES, coverage};
use quorum_domain::value::{self as v, AccountId, CommitteeId, ContactId};

use super::{Account, BuyingRole, Contact};
use crate::error::{AppResult, IntoGql};
use crate::graphql::loader::{loaders, unshare};
use crate::store::entity::{buying_committee, committee_member};

/// The people on one account who decide one purchase.
pub struct BuyingCommittee(pub buying_committee::Model);

impl BuyingCommittee {
    async fn member_rows(&self, ctx: &Context<'_>) -> AppResult<Vec<committee_member::Model>> {
        let rows = loaders(ctx)?
            .members
            .load_one(CommitteeId::from(self.0.id))
            .await
            .map_err(unshare)?;
        Ok(rows.unwrap_or_default())
    }

    async fn coverage(&self, ctx: &Context<'_>) -> AppResult<quorum_domain::committee::Coverage> {
        let held = self
            .member_rows(ctx)
            .await?
            .into_iter()
            .filter_map(|m| v::BuyingRole::parse(&m.role).ok());
        Ok(coverage(held, DEFAULT_REQUIRED_ROLES))
    }
}

#[Object]
impl BuyingCommittee {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        let load = async {
            let row = loaders(ctx)?
                .account
                .load_one(AccountId::from(self.0.account_id))
                .await
                .map_err(unshare)?;
            AppResult::Ok(row.map(Account))
        };
        load.await.gql()
    }

    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CommitteeMember>> {
        let rows = self.member_rows(ctx).await.gql()?;
        Ok(rows.into_iter().map(CommitteeMember).collect())
    }

    /// 0–1: share of the required roles held by a member. Until scoring models make the set
    /// configurable, the required roles are decision maker, economic buyer, champion and
    /// technical evaluator.
    #[graphql(name = "coverage")]
    async fn gql_coverage(&self, ctx: &Context<'_>) -> async_graphql::Result<f64> {
        Ok(self.coverage(ctx).await.gql()?.share)
    }

    /// Required roles no member holds yet.
    async fn missing_roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<BuyingRole>> {
        Ok(self
            .coverage(ctx)
            .await
            .gql()?
            .missing
            .into_iter()
            .map(BuyingRole::from)
            .collect())
    }
}

/// A contact's place on a committee.
pub struct CommitteeMember(pub committee_member::Model);

#[Object]
impl CommitteeMember {
    async fn role(&self) -> Option<BuyingRole> {
        BuyingRole::from_stored(&self.0.role)
    }

    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let load = async {
            let row = loaders(ctx)?
                .contact
                .load_one(ContactId::from(self.0.contact_id))
                .await
                .map_err(unshare)?;
            AppResult::Ok(row.map(Contact))
        };
        load.await.gql()
    }
}
