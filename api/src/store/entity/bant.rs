use sea_orm::entity::prelude::*;

/// Budget, authority, need and timeline of an account, as its rep recorded them.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bant")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    pub budget: Option<f64>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
    pub notes: Option<String>,
    pub updated_by: Uuid,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
