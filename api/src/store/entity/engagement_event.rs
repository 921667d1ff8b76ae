use sea_orm::entity::prelude::*;

/// One raw engagement event; append-only.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "engagement_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The client's idempotency key, unique per workspace.
    pub event_id: String,
    pub account_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub kind: String,
    pub occurred_at: DateTimeUtc,
    /// JSON object (url, topic, campaign, …) as the client sent it.
    pub metadata: Option<String>,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
