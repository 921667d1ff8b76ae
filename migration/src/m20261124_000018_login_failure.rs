//! Failed logins per e-mail, in the database so that every instance behind a load balancer
//! slows the same guesser down: counted in one instance's memory, N instances allowed N times
//! the guesses. Keyed by the e-mail tried, which may name no user and so no workspace: like
//! `relay_lease`, a table of no workspace.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginFailure {
    Table,
    /// Trimmed and lower-cased, as `login` compares it.
    Email,
    /// Failures since the count last restarted (it restarts once the last one is older than
    /// the throttle's window, and after a successful login).
    Failures,
    LastFailedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LoginFailure::Table)
                .col(string(LoginFailure::Email).primary_key())
                .col(integer(LoginFailure::Failures))
                .col(timestamp_with_time_zone(LoginFailure::LastFailedAt))
                .to_owned(),
        )
        .await?;
        // Rows out of the window are deleted by age.
        m.create_index(
            Index::create()
                .name("idx_login_failure_last_failed_at")
                .table(LoginFailure::Table)
                .col(LoginFailure::LastFailedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LoginFailure::Table).to_owned())
            .await
    }
}
