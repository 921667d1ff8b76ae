use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use quorum_domain::value::AccountId;

use super::{Account, User};
use crate::error::{AppResult, IntoGql};
use crate::graphql::loader::{loaders, unshare};
use crate::store::entity::{app_user, assignment};

/// Where an assignment stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum AssignmentStatus {
    Pending,
    Accepted,
    Working,
    SlaBreached,
    Reassigned,
    Closed,
}

impl AssignmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Accepted => "ACCEPTED",
            Self::Working => "WORKING",
            Self::SlaBreached => "SLA_BREACHED",
            Self::Reassigned => "REASSIGNED",
            Self::Closed => "CLOSED",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Working,
            Self::SlaBreached,
            Self::Reassigned,
            Self::Closed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Who works an SQL account, chosen by routing the moment it qualified.
pub struct Assignment(pub assignment::Model);

#[Object]
impl Assignment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
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

    /// `null` while the account waits in the unassigned queue.
    async fn rep(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        User::load(ctx, self.0.rep_id).await
    }

    async fn status(&self) -> Option<AssignmentStatus> {
        AssignmentStatus::from_stored(&self.0.status)
    }

    /// The routing rule that chose the rep.
    async fn rule(&self) -> Option<&str> {
        self.0.rule.as_deref()
    }

    /// Why this rep (or why nobody): the rule, the candidates' loads, the tie-break.
    async fn reason(&self) -> &str {
        &self.0.reason
    }

    async fn assigned_at(&self) -> DateTime<Utc> {
        self.0.assigned_at
    }

    /// First touch is due by then (5 minutes for tier 1, an hour otherwise).
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }

    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }

    async fn first_touch_at(&self) -> Option<DateTime<Utc>> {
        self.0.first_touch_at
    }

    /// How the rep first reached out (`call`, `email`, …).
    async fn first_touch_channel(&self) -> Option<&str> {
        self.0.first_touch_channel.as_deref()
    }

    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

/// A rep's routing profile.
#[derive(SimpleObject)]
pub struct RepProfile {
    /// Inactive reps get no new assignments.
    pub active: bool,
    /// Most open assignments at once.
    pub capacity: i32,
    /// Territory: ISO country codes and regions.
    pub countries: Vec<String>,
    pub regions: Vec<String>,
    /// Industries the rep knows.
    pub industries: Vec<String>,
}

impl From<&app_user::Model> for RepProfile {
    fn from(u: &app_user::Model) -> Self {
        let (countries, regions, industries) = crate::store::routing::profile(u);
        Self {
            active: u.rep_active,
            capacity: u.rep_capacity,
            countries,
            regions,
            industries,
        }
    }
}
