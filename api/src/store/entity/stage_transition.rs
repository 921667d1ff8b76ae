use sea_orm::entity::prelude::*;

/// One stage change of an account. Serialisable: a batch's reply, with its transitions, is
/// kept for retries (`ingest_batch`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "stage_transition")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
