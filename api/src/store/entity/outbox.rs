use sea_orm::entity::prelude::*;

/// An event written in the transaction of the change it announces.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Per workspace, gap-free and in commit order: the subscription cursor.
    pub seq: i64,
    pub kind: String,
    pub account_id: Option<Uuid>,
    /// JSON body.
    pub payload: String,
    pub created_at: DateTimeUtc,
    /// When the relay rang the bus for it; `None` while it waits.
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
