//! Delivery of the outbox: which rows the relay has announced, the lease that lets one relay
//! announce at a time, and how far each workspace's outbox has been pruned (older cursors
//! have expired).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_workspace_and_user::Workspace;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    /// When the relay rang the bus for this row; null while it waits.
    PublishedAt,
}

#[derive(DeriveIden)]
enum RelayLease {
    Table,
    Name,
    /// The instance that holds the lease.
    Holder,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Pruned {
    /// Rows up to this `seq` were deleted: a cursor before it has expired.
    OutboxPrunedSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Outbox::Table)
                .add_column(timestamp_with_time_zone_null(Outbox::PublishedAt))
                .to_owned(),
        )
        .await?;
        // The relay's work queue: small (only what waits), so it stays cheap to scan.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_outbox_unpublished ON outbox (created_at) \
                 WHERE published_at IS NULL",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("idx_outbox_published_at")
                .table(Outbox::Table)
                .col(Outbox::PublishedAt)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Workspace::Table)
                .add_column(big_integer(Pruned::OutboxPrunedSeq).default(0))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RelayLease::Table)
                .col(string(RelayLease::Name).primary_key())
                .col(uuid_null(RelayLease::Holder))
                .col(timestamp_with_time_zone(RelayLease::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table(RelayLease::Table)
                .columns([RelayLease::Name, RelayLease::ExpiresAt])
                .values_panic(["outbox".into(), Expr::current_timestamp()])
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RelayLease::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Workspace::Table)
                .drop_column(Pruned::OutboxPrunedSeq)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("idx_outbox_published_at")
                .table(Outbox::Table)
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared("DROP INDEX idx_outbox_unpublished")
            .await?;
        m.alter_table(
            Table::alter()
                .table(Outbox::Table)
                .drop_column(Outbox::PublishedAt)
                .to_owned(),
        )
        .await
    }
}
