use sea_orm::entity::prelude::*;

/// Money spent on marketing in one month, on the whole workspace or on one segment.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "marketing_spend")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `YYYY-MM`.
    pub month: String,
    pub month_start: DateTimeUtc,
    pub segment_id: Option<Uuid>,
    /// `segment_id` as text, `""` for none.
    pub segment_key: String,
    pub amount: f64,
    pub recorded_by: Uuid,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
