//! A contact's aggregates (`contact_activity.account_id`) name the account the contact belongs
//! to now, not the one it belonged to when it last engaged: rescoring reads the aggregates of
//! the accounts it scores by that column (BENCHMARKS.md, issue 4), and moving a contact to
//! another account now moves them along. This aligns rows written before that.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let differs = match m.get_database_backend() {
            DatabaseBackend::Sqlite => "IS NOT",
            _ => "IS DISTINCT FROM",
        };
        // Only the rows that differ: on PostgreSQL every row written is a new version.
        m.get_connection()
            .execute_unprepared(&format!(
                "UPDATE contact_activity SET account_id = ({owner}) \
                 WHERE account_id {differs} ({owner})",
                owner = "SELECT c.account_id FROM contact c \
                         WHERE c.workspace_id = contact_activity.workspace_id \
                         AND c.id = contact_activity.contact_id"
            ))
            .await?;
        Ok(())
    }

    /// Nothing to undo: the rows name the contacts' accounts either way.
    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
