//! Workspace settings: whether a breached tier-1 assignment is routed to another rep.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_workspace_and_user::Workspace;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Settings {
    ReassignBreachedTier1,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Workspace::Table)
                .add_column(boolean(Settings::ReassignBreachedTier1).default(false))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Workspace::Table)
                .drop_column(Settings::ReassignBreachedTier1)
                .to_owned(),
        )
        .await
    }
}
