use sea_orm::entity::prelude::*;

/// The reply to an `ingestEngagements` call that named a `batchId`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ingest_batch")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub batch_id: String,
    /// `ingest::fingerprint` of the batch's events.
    pub fingerprint: String,
    /// JSON `ingest::Outcome`.
    pub reply: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
