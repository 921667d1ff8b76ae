use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::{Stage, User};
use crate::store::entity::stage_transition;

/// One change of an account's stage, with why and by whom.
pub struct StageTransition(pub stage_transition::Model);

#[Object]
impl StageTransition {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn account_id(&self) -> ID {
        ID(self.0.account_id.to_string())
    }

    /// `null` only for a stage this server version does not know.
    async fn from(&self) -> Option<Stage> {
        Stage::from_stored(&self.0.from_stage)
    }

    async fn to(&self) -> Option<Stage> {
        Stage::from_stored(&self.0.to_stage)
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// For automatic changes, every threshold and gate with its required and actual value
    /// ("total 81.2 ≥ 80; DEMO_REQUEST 2 days ago (window 30 days); …"); for manual ones, the
    /// person's note.
    async fn reason(&self) -> &str {
        &self.0.reason
    }

    /// Whether the scoring rules made the change (rather than a person or an opportunity).
    async fn automatic(&self) -> bool {
        self.0.actor_id.is_none()
    }

    /// Who made the change; `null` when automation did.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        User::load(ctx, self.0.actor_id).await
    }

    /// The scoring model version behind an automatic change.
    async fn model_version(&self) -> Option<i32> {
        self.0.model_version
    }
}
