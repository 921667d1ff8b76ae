//! Opportunities and BANT: what sales records once an account is worked.

use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::Workspace;
use crate::m20261123_000002_create_account::Account;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Opportunity {
    Table,
    Id,
    WorkspaceId,
    AccountId,
    Amount,
    /// `OPEN`, `WON` or `LOST`.
    Status,
    CreatedBy,
    CreatedAt,
    ClosedAt,
}

/// Budget, authority, need, timeline: a rep's qualification notes, one row per account.
#[derive(DeriveIden)]
enum Bant {
    Table,
    AccountId,
    WorkspaceId,
    Budget,
    Authority,
    Need,
    Timeline,
    Notes,
    UpdatedBy,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Opportunity::Table)
                .col(pk_uuid(Opportunity::Id))
                .col(uuid(Opportunity::WorkspaceId))
                .col(uuid(Opportunity::AccountId))
                .col(double(Opportunity::Amount))
                .col(string(Opportunity::Status))
                .col(uuid(Opportunity::CreatedBy))
                .col(timestamp_with_time_zone(Opportunity::CreatedAt))
                .col(timestamp_with_time_zone_null(Opportunity::ClosedAt))
                .foreign_key(&mut cascade(
                    Opportunity::Table,
                    Opportunity::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .foreign_key(&mut cascade(
                    Opportunity::Table,
                    Opportunity::AccountId,
                    Account::Table,
                    Account::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_opportunity_account")
                .table(Opportunity::Table)
                .col(Opportunity::AccountId)
                .to_owned(),
        )
        .await?;
        // One open opportunity per account.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_opportunity_open_account ON opportunity (account_id) \
                 WHERE status = 'OPEN'",
            )
            .await?;

        m.create_table(
            Table::create()
                .table(Bant::Table)
                .col(pk_uuid(Bant::AccountId))
                .col(uuid(Bant::WorkspaceId))
                .col(double_null(Bant::Budget))
                .col(text_null(Bant::Authority))
                .col(text_null(Bant::Need))
                .col(text_null(Bant::Timeline))
                .col(text_null(Bant::Notes))
                .col(uuid(Bant::UpdatedBy))
                .col(timestamp_with_time_zone(Bant::UpdatedAt))
                .foreign_key(&mut cascade(
                    Bant::Table,
                    Bant::AccountId,
                    Account::Table,
                    Account::Id,
                ))
                .foreign_key(&mut cascade(
                    Bant::Table,
                    Bant::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Bant::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Opportunity::Table).to_owned())
            .await
    }
}
