use sea_orm::entity::prelude::*;

/// One entry of an account into a funnel stage (a copy of its stage transition's facts),
/// linked to the account's previous entry into the same stage and to its first entry into
/// the following one. Kept by `store::qualification::insert_transitions`; the funnel report
/// reads these instead of the wider transition log.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "funnel_entry")]
pub struct Model {
    /// The stage transition's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub stage: String,
    pub at: DateTimeUtc,
    /// The previous entry into the same stage, by (at, id); `None` for the first.
    pub prev_entry_at: Option<DateTimeUtc>,
    /// The first entry into the following stage at or after this one.
    pub next_stage_at: Option<DateTimeUtc>,
    /// The account's first engagement (`account.first_engaged_at`), copied here so that time
    /// to SQL reads entries alone.
    pub first_engaged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
