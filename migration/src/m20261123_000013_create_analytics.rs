//! Marketing spend (for cost per SQL), and the indexes the funnel, velocity and SLA reports
//! read by: transitions by stage and time, opportunities and assignments by time.

use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::Workspace;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MarketingSpend {
    Table,
    Id,
    WorkspaceId,
    /// `YYYY-MM`.
    Month,
    /// The month's first instant (UTC), for window comparisons.
    MonthStart,
    /// The segment the money was spent on; no foreign key, so deleting a segment keeps its
    /// spend in the workspace's totals.
    SegmentId,
    /// The segment id as text, `""` for none: one row per (month, segment) on both backends,
    /// whose unique indexes treat nulls as distinct.
    SegmentKey,
    Amount,
    RecordedBy,
    RecordedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(MarketingSpend::Table)
                .col(pk_uuid(MarketingSpend::Id))
                .col(uuid(MarketingSpend::WorkspaceId))
                .col(string(MarketingSpend::Month))
                .col(timestamp_with_time_zone(MarketingSpend::MonthStart))
                .col(uuid_null(MarketingSpend::SegmentId))
                .col(string(MarketingSpend::SegmentKey))
                .col(double(MarketingSpend::Amount))
                .col(uuid(MarketingSpend::RecordedBy))
                .col(timestamp_with_time_zone(MarketingSpend::RecordedAt))
                .foreign_key(&mut cascade(
                    MarketingSpend::Table,
                    MarketingSpend::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_marketing_spend_month_segment")
                .table(MarketingSpend::Table)
                .col(MarketingSpend::WorkspaceId)
                .col(MarketingSpend::Month)
                .col(MarketingSpend::SegmentKey)
                .unique()
                .to_owned(),
        )
        .await?;
        for (name, table, cols) in [
            (
                "idx_stage_transition_workspace_stage_at",
                "stage_transition",
                &["workspace_id", "to_stage", "at"][..],
            ),
            (
                "idx_opportunity_workspace_created",
                "opportunity",
                &["workspace_id", "created_at"][..],
            ),
            (
                "idx_opportunity_workspace_closed",
                "opportunity",
                &["workspace_id", "closed_at"][..],
            ),
            (
                "idx_assignment_workspace_assigned",
                "assignment",
                &["workspace_id", "assigned_at"][..],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Alias::new(table));
            for c in cols {
                idx.col(Alias::new(*c));
            }
            m.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            (
                "idx_stage_transition_workspace_stage_at",
                "stage_transition",
            ),
            ("idx_opportunity_workspace_created", "opportunity"),
            ("idx_opportunity_workspace_closed", "opportunity"),
            ("idx_assignment_workspace_assigned", "assignment"),
        ] {
            m.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        m.drop_table(Table::drop().table(MarketingSpend::Table).to_owned())
            .await
    }
}
