use sea_orm::entity::prelude::*;

/// A point of an account's score over time.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "score_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub at: DateTimeUtc,
    pub total: f64,
    pub fit: f64,
    pub engagement: f64,
    pub intent: f64,
    pub coverage: f64,
    pub model_version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
