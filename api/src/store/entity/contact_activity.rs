use sea_orm::entity::prelude::*;

/// A contact's decayed event counts (the incremental aggregates).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_activity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub contact_id: Uuid,
    pub account_id: Option<Uuid>,
    /// JSON `quorum_domain::score::ContactActivity`.
    pub activity: String,
    /// The half-life the decayed counts were built with; another one needs a rebuild.
    pub half_life_days: f64,
    pub last_engaged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
