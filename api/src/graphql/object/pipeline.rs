use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::store::entity::{bant, opportunity};

/// A deal on an account.
pub struct Opportunity(pub opportunity::Model);

#[Object]
impl Opportunity {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn account_id(&self) -> ID {
        ID(self.0.account_id.to_string())
    }

    async fn amount(&self) -> f64 {
        self.0.amount
    }

    /// `OPEN`, `WON` or `LOST`.
    async fn status(&self) -> &str {
        &self.0.status
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

/// Budget, authority, need and timeline, as the account's rep recorded them.
#[derive(SimpleObject)]
pub struct Bant {
    pub budget: Option<f64>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
    pub notes: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<bant::Model> for Bant {
    fn from(b: bant::Model) -> Self {
        Self {
            budget: b.budget,
            authority: b.authority,
            need: b.need,
            timeline: b.timeline,
            notes: b.notes,
            updated_at: b.updated_at,
        }
    }
}
