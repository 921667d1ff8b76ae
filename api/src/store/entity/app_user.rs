use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    /// Routing profile (meaningful for reps): inactive reps get no new assignments.
    pub rep_active: bool,
    /// Most open assignments at once.
    pub rep_capacity: i32,
    /// JSON arrays: territory countries and regions, industries known.
    pub rep_countries: String,
    pub rep_regions: String,
    pub rep_industries: String,
    /// Round-robin memory (see `quorum_domain::route::Rep::turn`).
    pub rep_turn: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
