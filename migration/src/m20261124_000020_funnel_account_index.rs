//! The index that links an account's funnel entries (`MAX(at)` of the same stage before an
//! entry, `MIN(at)` of the next stage after it) gains the workspace in front:
//! `(workspace_id, account_id, stage, at)`. Without it PostgreSQL answered those `MAX`/`MIN`
//! by walking the workspace's `(workspace_id, stage, at)` index backwards and filtering on the
//! account, thousands of entries for each one relinked: a batch promoting 700 accounts spent
//! 400 ms there (BENCHMARKS.md, issue 4). With every column of the lookup in one index, the
//! planner has no cheaper-looking wrong choice.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_funnel_entry_account_stage_at";

#[derive(DeriveIden)]
enum FunnelEntry {
    Table,
    WorkspaceId,
    AccountId,
    Stage,
    At,
}

async fn recreate(m: &SchemaManager<'_>, with_workspace: bool) -> Result<(), DbErr> {
    m.drop_index(
        Index::drop()
            .name(INDEX)
            .table(FunnelEntry::Table)
            .to_owned(),
    )
    .await?;
    let mut index = Index::create();
    index.name(INDEX).table(FunnelEntry::Table);
    if with_workspace {
        index.col(FunnelEntry::WorkspaceId);
    }
    index
        .col(FunnelEntry::AccountId)
        .col(FunnelEntry::Stage)
        .col(FunnelEntry::At);
    m.create_index(index.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        recreate(m, true).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        recreate(m, false).await
    }
}
