use sea_orm::entity::prelude::*;

/// One stage change of an account.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stage_transition")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub account_id: Uuid,
    pub from_stage: String,
    pub to_stage: String,
    pub at: DateTimeUtc,
    /// For people: the checks that held, or the person's note.
    pub reason: String,
    /// JSON `quorum_domain::qualify::Reason`.
    pub reason_detail: String,
    /// `None` for the system.
    pub actor_id: Option<Uuid>,
    pub model_version: Option<i32>,
    /// The account's previous entry into the same stage, by (at, id); `None` for its first.
    /// Kept by `store::qualification::link_transitions`, which the funnel relies on.
    pub prev_entry_at: Option<DateTimeUtc>,
    /// The account's first entry into the funnel's following stage at or after this one.
    pub next_stage_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
