//! What the funnel would otherwise recompute from the raw logs on every read, kept with the
//! rows: per transition, the account's previous entry into the same stage and its first
//! entry into the funnel's following stage at or after it; per account, its first
//! engagement. A year's funnel then reads the window's transitions once, with no
//! self-join and no pass over the engagement events (BENCHMARKS.md, analytics).
//!
//! The application keeps these current as it writes; this migration fills them in for rows
//! written before it, with the same definitions.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000002_create_account::Account;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StageTransition {
    Table,
    /// The account's entry into the same stage just before this one, ordered by (at, id);
    /// null for its first. A transition is an account's first entry into its stage within
    /// a window exactly when it is in the window and this is null or before the window.
    PrevEntryAt,
    /// The account's first entry into the funnel's following stage (ENGAGED → MQL → SQL →
    /// OPPORTUNITY → WON) at or after this transition; null until there is one, and for
    /// stages with no following one.
    NextStageAt,
}

#[derive(DeriveIden)]
enum Keys {
    /// The account's earliest engagement event.
    FirstEngagedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [StageTransition::PrevEntryAt, StageTransition::NextStageAt] {
            m.alter_table(
                Table::alter()
                    .table(StageTransition::Table)
                    .add_column(timestamp_with_time_zone_null(col))
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Account::Table)
                .add_column(timestamp_with_time_zone_null(Keys::FirstEngagedAt))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE stage_transition SET \
             prev_entry_at = (SELECT MAX(p.at) FROM stage_transition p \
               WHERE p.account_id = stage_transition.account_id \
               AND p.to_stage = stage_transition.to_stage \
               AND (p.at < stage_transition.at \
                 OR (p.at = stage_transition.at AND p.id < stage_transition.id))), \
             next_stage_at = (SELECT MIN(n.at) FROM stage_transition n \
               WHERE n.account_id = stage_transition.account_id \
               AND n.to_stage = CASE stage_transition.to_stage \
                 WHEN 'ENGAGED' THEN 'MQL' WHEN 'MQL' THEN 'SQL' \
                 WHEN 'SQL' THEN 'OPPORTUNITY' WHEN 'OPPORTUNITY' THEN 'WON' END \
               AND n.at >= stage_transition.at)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE account SET first_engaged_at = (SELECT MIN(e.occurred_at) \
             FROM engagement_event e WHERE e.account_id = account.id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Account::Table)
                .drop_column(Keys::FirstEngagedAt)
                .to_owned(),
        )
        .await?;
        for col in [StageTransition::PrevEntryAt, StageTransition::NextStageAt] {
            m.alter_table(
                Table::alter()
                    .table(StageTransition::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
