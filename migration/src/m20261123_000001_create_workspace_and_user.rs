use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Workspace {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum AppUser {
    Table,
    Id,
    WorkspaceId,
    Email,
    Name,
    Role,
    PasswordHash,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Workspace::Table)
                .col(pk_uuid(Workspace::Id))
                .col(string_uniq(Workspace::Name))
                .col(timestamp_with_time_zone(Workspace::CreatedAt))
                .to_owned(),
        )
        .await?;
        // `user` is reserved in PostgreSQL.
        m.create_table(
            Table::create()
                .table(AppUser::Table)
                .col(pk_uuid(AppUser::Id))
                .col(uuid(AppUser::WorkspaceId))
                // Unique across the installation: `login` finds the workspace from the e-mail.
                .col(string_uniq(AppUser::Email))
                .col(string(AppUser::Name))
                .col(string(AppUser::Role))
                .col(string(AppUser::PasswordHash))
                .col(timestamp_with_time_zone(AppUser::CreatedAt))
                .foreign_key(&mut cascade(
                    AppUser::Table,
                    AppUser::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_app_user_workspace_role")
                .table(AppUser::Table)
                .col(AppUser::WorkspaceId)
                .col(AppUser::Role)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AppUser::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Workspace::Table).to_owned())
            .await
    }
}
