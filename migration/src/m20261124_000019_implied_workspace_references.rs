//! Drops, on PostgreSQL, the `workspace_id → workspace` references of tables whose rows also
//! reference an account by `(workspace_id, account_id)`: the account's own reference to its
//! workspace already implies theirs, and deleting a workspace still reaches them through the
//! account (`ON DELETE CASCADE` both ways). Each reference is a trigger that looks the
//! referenced row up and locks it for every row written; for `engagement_event`, written a
//! thousand rows per ingestion batch, that lookup was a third of the checks its inserts paid
//! (BENCHMARKS.md, issue 4).
//!
//! SQLite cannot drop a constraint without rebuilding the table, and checks references far
//! more cheaply in-process: it keeps them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables whose `account_id` is `NOT NULL` and references `account (workspace_id, id)`.
const TABLES: &[&str] = &[
    "engagement_event",
    "buying_committee",
    "stage_transition",
    "assignment",
    "opportunity",
    "bant",
    "funnel_entry",
];

/// Runs `sql(table)` for every table of [`TABLES`], on PostgreSQL only.
async fn each_table(m: &SchemaManager<'_>, sql: impl Fn(&str) -> String) -> Result<(), DbErr> {
    if m.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    for table in TABLES {
        m.get_connection().execute_unprepared(&sql(table)).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        each_table(m, |table| {
            format!("ALTER TABLE {table} DROP CONSTRAINT {table}_workspace_id_fkey")
        })
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        each_table(m, |table| {
            format!(
                "ALTER TABLE {table} ADD CONSTRAINT {table}_workspace_id_fkey \
                 FOREIGN KEY (workspace_id) REFERENCES workspace (id) ON DELETE CASCADE"
            )
        })
        .await
    }
}
