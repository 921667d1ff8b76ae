use sea_orm::entity::prelude::*;

/// Who works an SQL account, and how that is going.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// `None`: in the unassigned queue.
    pub rep_id: Option<Uuid>,
    /// `PENDING`, `ACCEPTED`, `WORKING`, `SLA_BREACHED`, `REASSIGNED` or `CLOSED`.
    pub status: String,
    /// The routing rule that chose the rep.
    pub rule: Option<String>,
    pub reason: String,
    pub assigned_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub first_touch_at: Option<DateTimeUtc>,
    pub first_touch_channel: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
