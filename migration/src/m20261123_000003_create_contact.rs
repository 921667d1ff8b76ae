use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::Workspace;
use crate::m20261123_000002_create_account::Account;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Contact {
    Table,
    Id,
    WorkspaceId,
    AccountId,
    Email,
    Name,
    Title,
    Seniority,
    Department,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Contact::Table)
                .col(pk_uuid(Contact::Id))
                .col(uuid(Contact::WorkspaceId))
                // Null until lead-to-account matching finds the company.
                .col(uuid_null(Contact::AccountId))
                .col(string(Contact::Email))
                .col(string_null(Contact::Name))
                .col(string_null(Contact::Title))
                .col(string_null(Contact::Seniority))
                .col(string_null(Contact::Department))
                .col(timestamp_with_time_zone(Contact::CreatedAt))
                .col(timestamp_with_time_zone(Contact::UpdatedAt))
                .foreign_key(&mut cascade(
                    Contact::Table,
                    Contact::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(Contact::Table, Contact::AccountId)
                        .to(Account::Table, Account::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_contact_workspace_email")
                .table(Contact::Table)
                .col(Contact::WorkspaceId)
                .col(Contact::Email)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_contact_account_email")
                .table(Contact::Table)
                .col(Contact::AccountId)
                .col(Contact::Email)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Contact::Table).to_owned())
            .await
    }
}
