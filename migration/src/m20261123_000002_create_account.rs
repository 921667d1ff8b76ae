use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::{AppUser, Workspace};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Account {
    Table,
    Id,
    WorkspaceId,
    Name,
    Domain,
    Industry,
    EmployeeCount,
    AnnualRevenue,
    Country,
    Region,
    Tier,
    Stage,
    OwnerId,
    ScoreTotal,
    ScoreFit,
    ScoreEngagement,
    ScoreIntent,
    ScoreCoverage,
    ScoreModelVersion,
    ScoreComputedAt,
    CreatedAt,
    UpdatedAt,
}

/// One row per technology an account uses, so segment filters (any / all / none of a set)
/// compile to plain `EXISTS` subqueries on both backends instead of JSON functions.
#[derive(DeriveIden)]
enum AccountTechnology {
    Table,
    AccountId,
    WorkspaceId,
    Technology,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Account::Table)
                .col(pk_uuid(Account::Id))
                .col(uuid(Account::WorkspaceId))
                .col(string(Account::Name))
                .col(string(Account::Domain))
                .col(string_null(Account::Industry))
                .col(big_integer_null(Account::EmployeeCount))
                .col(double_null(Account::AnnualRevenue))
                .col(string_len_null(Account::Country, 2))
                .col(string_null(Account::Region))
                .col(small_integer_null(Account::Tier))
                .col(string(Account::Stage))
                .col(uuid_null(Account::OwnerId))
                .col(double(Account::ScoreTotal).default(0.0))
                .col(double(Account::ScoreFit).default(0.0))
                .col(double(Account::ScoreEngagement).default(0.0))
                .col(double(Account::ScoreIntent).default(0.0))
                .col(double(Account::ScoreCoverage).default(0.0))
                .col(integer(Account::ScoreModelVersion).default(0))
                .col(timestamp_with_time_zone_null(Account::ScoreComputedAt))
                .col(timestamp_with_time_zone(Account::CreatedAt))
                .col(timestamp_with_time_zone(Account::UpdatedAt))
                .foreign_key(&mut cascade(
                    Account::Table,
                    Account::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(Account::Table, Account::OwnerId)
                        .to(AppUser::Table, AppUser::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "uq_account_workspace_domain",
                vec![Account::WorkspaceId, Account::Domain],
            ),
            (
                "idx_account_workspace_name",
                vec![Account::WorkspaceId, Account::Name],
            ),
            (
                "idx_account_workspace_created",
                vec![Account::WorkspaceId, Account::CreatedAt],
            ),
            (
                "idx_account_workspace_score",
                vec![Account::WorkspaceId, Account::ScoreTotal],
            ),
            (
                "idx_account_workspace_stage",
                vec![Account::WorkspaceId, Account::Stage],
            ),
            ("idx_account_owner", vec![Account::OwnerId]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Account::Table);
            if name.starts_with("uq_") {
                idx.unique();
            }
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(AccountTechnology::Table)
                .col(uuid(AccountTechnology::AccountId))
                .col(uuid(AccountTechnology::WorkspaceId))
                .col(string(AccountTechnology::Technology))
                .primary_key(
                    Index::create()
                        .col(AccountTechnology::AccountId)
                        .col(AccountTechnology::Technology),
                )
                .foreign_key(&mut cascade(
                    AccountTechnology::Table,
                    AccountTechnology::AccountId,
                    Account::Table,
                    Account::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_account_technology_workspace_technology")
                .table(AccountTechnology::Table)
                .col(AccountTechnology::WorkspaceId)
                .col(AccountTechnology::Technology)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AccountTechnology::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Account::Table).to_owned())
            .await
    }
}
