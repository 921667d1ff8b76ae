use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use quorum_domain::score::contact_engagement;
use quorum_domain::value::{self as v, AccountId, ContactId, WorkspaceId};

use super::{Account, Seniority};
use crate::error::{AppResult, IntoGql};
use crate::graphql::loader::{loaders, unshare};
use crate::graphql::state;
use crate::scoring;
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

    /// This contact's engagement as of now: decayed event points, capped, times the seniority
    /// multiplier (0 to 60 under the default model). What the account roll-up ranks.
    async fn engagement_score(&self, ctx: &Context<'_>) -> async_graphql::Result<f64> {
        let load = async {
            let l = loaders(ctx)?;
            let Some(row) = l
                .activity
                .load_one(ContactId::from(self.0.id))
                .await
                .map_err(unshare)?
            else {
                return Ok(0.0);
            };
            let model = l.model().await?;
            let ws = WorkspaceId::from(self.0.workspace_id);
            let activity = scoring::activity_of(ws, &state(ctx)?.db, &row, model).await?;
            let seniority = self
                .0
                .seniority
                .as_deref()
                .and_then(|s| v::Seniority::parse(s).ok());
            AppResult::Ok(contact_engagement(
                &activity,
                seniority,
                model,
                scoring::timestamp(Utc::now()),
            ))
        };
        load.await.gql()
    }

    /// The latest event that showed interest (not unsubscribes or bounces).
    async fn last_engaged_at(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DateTime<Utc>>> {
        let load = async {
            let row = loaders(ctx)?
                .activity
                .load_one(ContactId::from(self.0.id))
                .await
                .map_err(unshare)?;
            AppResult::Ok(row.and_then(|r| r.last_engaged_at))
        };
        load.await.gql()
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
