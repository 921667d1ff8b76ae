//! `engagement_event`'s references to its account and contact become, on PostgreSQL, one
//! statement-level cascade each instead of foreign keys. A foreign key checks every inserted
//! row with its own lookup of the referenced row: 15 ms per reference for a 1,000-event
//! ingestion batch, 30 of the ~250 ms the whole batch takes (BENCHMARKS.md, issue 4). The
//! check guards nothing there: ingestion writes an event only for an account it found and
//! locked and a contact it found or created, in the same transaction, and Quorum never
//! deletes accounts or contacts on their own.
//!
//! What the keys also did, removing the events of a deleted account or contact (a workspace
//! being removed reaches its accounts by their own cascade), the triggers keep: one `DELETE`
//! per deleting statement, joined to the rows it deleted, through the events' account and
//! contact indexes. Each trigger is named `cascade_to_engagement_event`, which the schema test
//! reads as a cascade.
//!
//! SQLite checks references in-process, far more cheaply, and cannot drop a constraint
//! without rebuilding the table: it keeps them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (referenced table, event column): every reference is `(workspace_id, column) → (workspace_id, id)`.
const REFERENCES: &[(&str, &str)] = &[("account", "account_id"), ("contact", "contact_id")];

fn up_sql(table: &str, column: &str) -> String {
    format!(
        "ALTER TABLE engagement_event DROP CONSTRAINT engagement_event_{column}_fkey;
         CREATE FUNCTION engagement_event_cascade_from_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             DELETE FROM engagement_event e USING gone
             WHERE e.workspace_id = gone.workspace_id AND e.{column} = gone.id;
             RETURN NULL;
         END $$;
         CREATE TRIGGER cascade_to_engagement_event AFTER DELETE ON {table}
             REFERENCING OLD TABLE AS gone
             FOR EACH STATEMENT EXECUTE FUNCTION engagement_event_cascade_from_{table}();"
    )
}

fn down_sql(table: &str, column: &str) -> String {
    format!(
        "DROP TRIGGER cascade_to_engagement_event ON {table};
         DROP FUNCTION engagement_event_cascade_from_{table}();
         ALTER TABLE engagement_event ADD CONSTRAINT engagement_event_{column}_fkey
             FOREIGN KEY (workspace_id, {column}) REFERENCES {table} (workspace_id, id)
             ON DELETE CASCADE;"
    )
}

async fn each(m: &SchemaManager<'_>, sql: fn(&str, &str) -> String) -> Result<(), DbErr> {
    if m.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    for (table, column) in REFERENCES {
        m.get_connection()
            .execute_unprepared(&sql(table, column))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        each(m, up_sql).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        each(m, down_sql).await
    }
}
