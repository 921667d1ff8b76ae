//! Replies to `ingestEngagements` calls that named a `batchId`, so that a client retrying a
//! batch (its answer lost to a timeout, say) gets the first answer again rather than a count
//! of duplicates. Kept as long as the outbox keeps delivered events.

use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::Workspace;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IngestBatch {
    Table,
    WorkspaceId,
    /// The client's id for the batch.
    BatchId,
    /// A hash of the batch's events: the same id with other events is refused.
    Fingerprint,
    /// The reply, as JSON.
    Reply,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IngestBatch::Table)
                .col(uuid(IngestBatch::WorkspaceId))
                .col(string(IngestBatch::BatchId))
                .col(string(IngestBatch::Fingerprint))
                .col(text(IngestBatch::Reply))
                .col(timestamp_with_time_zone(IngestBatch::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IngestBatch::WorkspaceId)
                        .col(IngestBatch::BatchId),
                )
                .foreign_key(&mut cascade(
                    IngestBatch::Table,
                    IngestBatch::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .to_owned(),
        )
        .await?;
        // Pruning deletes by age.
        m.create_index(
            Index::create()
                .name("idx_ingest_batch_created_at")
                .table(IngestBatch::Table)
                .col(IngestBatch::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IngestBatch::Table).to_owned())
            .await
    }
}
