use async_graphql::connection::{Connection, Edge};
use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use quorum_domain::value::AccountId;

use super::{
    Assignment, Bant, BuyingCommittee, Contact, Cursor, Opportunity, Stage, StageTransition,
    TotalCount, User, list_cost, page_size,
};
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::loader::{ScoreKey, loaders, unshare};
use crate::graphql::state;
use crate::store::{
    self,
    entity::{account, score_history},
};
use quorum_domain::score::Contribution;

/// A company: the unit Quorum scores, qualifies and routes.
pub struct Account(pub account::Model);

impl Account {
    fn id(&self) -> AccountId {
        AccountId::from(self.0.id)
    }
}

#[Object]
impl Account {
    #[graphql(name = "id")]
    async fn gql_id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Lower-case host, unique in the workspace.
    async fn domain(&self) -> &str {
        &self.0.domain
    }

    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }

    /// GraphQL `Int` is 32-bit; no company has more employees than that.
    async fn employee_count(&self) -> Option<i32> {
        self.0
            .employee_count
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
    }

    async fn annual_revenue(&self) -> Option<f64> {
        self.0.annual_revenue
    }

    /// ISO 3166-1 alpha-2.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }

    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }

    async fn technologies(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let load = async {
            let techs = loaders(ctx)?
                .technologies
                .load_one(self.id())
                .await
                .map_err(unshare)?;
            AppResult::Ok(techs.unwrap_or_default())
        };
        load.await.gql()
    }

    /// 1 (one-to-one) to 3 (one-to-many), or none.
    async fn tier(&self) -> Option<i32> {
        self.0.tier.map(i32::from)
    }

    async fn stage(&self) -> Stage {
        Stage::from_stored(&self.0.stage).unwrap_or(Stage::Target)
    }

    /// The rep who owns the account, once routing assigned one.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        User::load(ctx, self.0.owner_id).await
    }

    async fn score(&self) -> AccountScore {
        AccountScore::of(&self.0)
    }

    /// The account's latest assignment (the open one, while it is an SQL being worked). A rep
    /// sees only assignments of their own.
    async fn assignment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Assignment>> {
        let load = async {
            let v = crate::auth::viewer(ctx)?;
            let latest = loaders(ctx)?
                .assignments
                .load_one(self.id())
                .await
                .map_err(unshare)?
                .and_then(|rows| rows.into_iter().next());
            AppResult::Ok(
                latest
                    .filter(|a| {
                        v.role != quorum_domain::value::Role::Rep
                            || a.rep_id == Some(v.user_id.get())
                    })
                    .map(Assignment),
            )
        };
        load.await.gql()
    }

    /// Deals on the account, oldest first.
    async fn opportunities(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Opportunity>> {
        let load = async {
            let rows = loaders(ctx)?
                .opportunities
                .load_one(self.id())
                .await
                .map_err(unshare)?
                .unwrap_or_default();
            AppResult::Ok(rows.into_iter().map(Opportunity).collect())
        };
        load.await.gql()
    }

    /// Budget, authority, need and timeline; `null` until someone records them.
    async fn bant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Bant>> {
        let load = async {
            let row = loaders(ctx)?
                .bant
                .load_one(self.id())
                .await
                .map_err(unshare)?;
            AppResult::Ok(row.map(Bant::from))
        };
        load.await.gql()
    }

    /// Every stage change, oldest first.
    async fn transitions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StageTransition>> {
        let load = async {
            let rows = loaders(ctx)?
                .transitions
                .load_one(self.id())
                .await
                .map_err(unshare)?
                .unwrap_or_default();
            AppResult::Ok(rows.into_iter().map(StageTransition).collect())
        };
        load.await.gql()
    }

    /// A point whenever the total moved by 1 or more, or the model changed; oldest first.
    async fn score_history(
        &self,
        ctx: &Context<'_>,
        since: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Vec<ScorePoint>> {
        let load = async {
            let ws = quorum_domain::value::WorkspaceId::from(self.0.workspace_id);
            let rows = store::engagement::history(ws, &state(ctx)?.db, self.id(), since).await?;
            AppResult::Ok(rows.into_iter().map(ScorePoint::from).collect())
        };
        load.await.gql()
    }

    /// Contacts by e-mail.
    #[graphql(complexity = "list_cost(first, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Contact, TotalCount>> {
        let load = async {
            let first = page_size(first)? as usize;
            let all = loaders(ctx)?
                .contacts
                .load_one(self.id())
                .await
                .map_err(unshare)?
                .unwrap_or_default();
            let start = match after {
                Some(c) => {
                    let email: String = Cursor::decode(&c, "after")?;
                    all.partition_point(|x| x.email <= email)
                }
                None => 0,
            };
            let rest = all.len().saturating_sub(start);
            let mut conn = Connection::with_additional_fields(
                start > 0,
                rest > first,
                TotalCount {
                    total_count: all.len() as u64,
                },
            );
            conn.edges.extend(
                all.into_iter()
                    .skip(start)
                    .take(first)
                    .map(|c| Edge::new(Cursor::encode(&c.email), Contact(c))),
            );
            AppResult::Ok(conn)
        };
        load.await.gql()
    }

    /// Committees by name.
    async fn buying_committees(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<BuyingCommittee>> {
        let load = async {
            let rows = loaders(ctx)?
                .committees
                .load_one(self.id())
                .await
                .map_err(unshare)?;
            AppResult::Ok(
                rows.unwrap_or_default()
                    .into_iter()
                    .map(BuyingCommittee)
                    .collect(),
            )
        };
        load.await.gql()
    }
}

/// An account's score and why: every number comes with the contributions that add up to it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AccountScore {
    /// 0–100, the model's weighted blend of the components.
    pub total: f64,
    pub fit: f64,
    pub engagement: f64,
    pub intent: f64,
    /// 0–1: share of the required buying roles held by engaged members.
    pub committee_coverage: f64,
    /// 0 until a scoring model has scored the account.
    pub model_version: i32,
    pub computed_at: DateTime<Utc>,
    #[graphql(skip)]
    pub key: ScoreKey,
}

impl AccountScore {
    /// The score stored on the account.
    pub fn of(a: &account::Model) -> Self {
        Self {
            total: a.score_total,
            fit: a.score_fit,
            engagement: a.score_engagement,
            intent: a.score_intent,
            committee_coverage: a.score_coverage,
            model_version: a.score_model_version,
            computed_at: a.score_computed_at.unwrap_or(a.created_at),
            key: ScoreKey {
                account: AccountId::from(a.id),
                version: a.score_model_version,
                computed_at: a.score_computed_at,
            },
        }
    }
}

#[ComplexObject]
impl AccountScore {
    /// The contributions behind these numbers, rebuilt under the same model version and as of
    /// `computedAt`; empty before the first scoring.
    async fn breakdown(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ScoreContribution>> {
        let load = async {
            let lines = loaders(ctx)?
                .breakdown
                .load_one(self.key)
                .await
                .map_err(unshare)?
                .unwrap_or_default();
            AppResult::Ok(lines.into_iter().map(ScoreContribution::from).collect())
        };
        load.await.gql()
    }
}

/// One line of a score's explanation. A component's contributions add up to it.
#[derive(SimpleObject)]
pub struct ScoreContribution {
    /// `FIT`, `ENGAGEMENT`, `INTENT` or `COMMITTEE` (the coverage bonus added to the total).
    pub component: String,
    /// What earned the points: `rule:<name>`, `EMAIL_OPEN by jane@acme.io`, `INTENT_SURGE`
    /// or `role:CHAMPION`.
    pub source: String,
    pub points: f64,
    /// How the points were reached, for people.
    pub detail: String,
}

impl From<Contribution> for ScoreContribution {
    fn from(c: Contribution) -> Self {
        Self {
            component: c.component.as_str().to_owned(),
            source: c.source,
            points: c.points,
            detail: c.detail,
        }
    }
}

/// An account's score at one moment.
#[derive(SimpleObject)]
pub struct ScorePoint {
    pub at: DateTime<Utc>,
    pub total: f64,
    pub fit: f64,
    pub engagement: f64,
    pub intent: f64,
    pub committee_coverage: f64,
    pub model_version: i32,
}

impl From<score_history::Model> for ScorePoint {
    fn from(h: score_history::Model) -> Self {
        Self {
            at: h.at,
            total: h.total,
            fit: h.fit,
            engagement: h.engagement,
            intent: h.intent,
            committee_coverage: h.coverage,
            model_version: h.model_version,
        }
    }
}

/// An account id argument, or `NOT_FOUND` (an id that cannot exist is simply not found).
pub fn account_id(id: &ID, what: &'static str) -> Result<AccountId, AppError> {
    super::parse_id(id)
        .map(AccountId::from)
        .ok_or(AppError::NotFound(what))
}
