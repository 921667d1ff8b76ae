use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workspace")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTimeUtc,
    /// The last outbox sequence number handed out.
    pub outbox_seq: i64,
    /// Outbox rows up to this `seq` were pruned: older cursors have expired.
    pub outbox_pruned_seq: i64,
    /// Route a tier-1 assignment to another rep when its SLA is breached.
    pub reassign_breached_tier1: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
