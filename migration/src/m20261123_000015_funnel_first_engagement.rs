//! The account's first engagement copied onto its funnel entries, and the report's index
//! made covering. The funnel then answers from the index alone, one stage range at a time:
//! the heap of `funnel_entry` is about three times the size of that index, and reading it
//! was most of the report's time; time to SQL no longer joins every account
//! (BENCHMARKS.md, analytics, session 7).
//!
//! The application keeps the copy current as it writes (entries take it when linked, a late
//! older event moves it on every entry of its account); this migration fills it in.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FunnelEntry {
    Table,
    /// The account's earliest engagement event (`account.first_engaged_at`).
    FirstEngagedAt,
}

const INDEX: &str = "idx_funnel_entry_workspace_stage_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(FunnelEntry::Table)
                .add_column(
                    ColumnDef::new(FunnelEntry::FirstEngagedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE funnel_entry SET first_engaged_at = (SELECT a.first_engaged_at \
             FROM account a WHERE a.id = funnel_entry.account_id)",
        )
        .await?;
        // SQLite has no INCLUDE, and no heap to avoid: its index stays as it was.
        if m.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            db.execute_unprepared(&format!(
                "DROP INDEX {INDEX}; CREATE INDEX {INDEX} ON funnel_entry \
                 (workspace_id, stage, at) INCLUDE (prev_entry_at, next_stage_at, first_engaged_at)"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared(&format!(
                    "DROP INDEX {INDEX}; CREATE INDEX {INDEX} ON funnel_entry \
                     (workspace_id, stage, at)"
                ))
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table(FunnelEntry::Table)
                .drop_column(FunnelEntry::FirstEngagedAt)
                .to_owned(),
        )
        .await
    }
}
