//! What the funnel would otherwise recompute from the raw logs on every read, kept beside
//! them: `funnel_entry`, one narrow row per entry into a funnel stage (ENGAGED, MQL, SQL,
//! OPPORTUNITY, WON) with the account's previous entry into the same stage and its first
//! entry into the following stage; and per account, its first engagement. A year's funnel
//! then reads the window's entries once, with no self-join and no pass over the engagement
//! events, and `stage_transition` stays an append-only log (BENCHMARKS.md, analytics).
//!
//! The application keeps these current as it writes; this migration fills them in for rows
//! written before it, with the same definitions.

use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::Workspace;
use crate::m20261123_000002_create_account::Account;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FunnelEntry {
    Table,
    /// The stage transition's id.
    Id,
    WorkspaceId,
    AccountId,
    Stage,
    At,
    /// The account's entry into the same stage just before this one, ordered by (at, id);
    /// null for its first. An entry is an account's first into its stage within a window
    /// exactly when it is in the window and this is null or before the window.
    PrevEntryAt,
    /// The account's first entry into the following stage at or after this one; null until
    /// there is one, and always for WON.
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
        m.create_table(
            Table::create()
                .table(FunnelEntry::Table)
                .col(pk_uuid(FunnelEntry::Id))
                .col(uuid(FunnelEntry::WorkspaceId))
                .col(uuid(FunnelEntry::AccountId))
                .col(string(FunnelEntry::Stage))
                .col(timestamp_with_time_zone(FunnelEntry::At))
                .col(timestamp_with_time_zone_null(FunnelEntry::PrevEntryAt))
                .col(timestamp_with_time_zone_null(FunnelEntry::NextStageAt))
                .foreign_key(&mut cascade(
                    FunnelEntry::Table,
                    FunnelEntry::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .foreign_key(&mut cascade(
                    FunnelEntry::Table,
                    FunnelEntry::AccountId,
                    Account::Table,
                    Account::Id,
                ))
                .to_owned(),
        )
        .await?;
        // Linking looks up an account's entries by stage; reports read a workspace's by
        // stage and time.
        for (name, first) in [
            ("idx_funnel_entry_account_stage_at", FunnelEntry::AccountId),
            (
                "idx_funnel_entry_workspace_stage_at",
                FunnelEntry::WorkspaceId,
            ),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(FunnelEntry::Table)
                    .col(first)
                    .col(FunnelEntry::Stage)
                    .col(FunnelEntry::At)
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
            "INSERT INTO funnel_entry (id, workspace_id, account_id, stage, at) \
             SELECT id, workspace_id, account_id, to_stage, at FROM stage_transition \
             WHERE to_stage IN ('ENGAGED', 'MQL', 'SQL', 'OPPORTUNITY', 'WON')",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE funnel_entry SET \
             prev_entry_at = (SELECT MAX(p.at) FROM funnel_entry p \
               WHERE p.account_id = funnel_entry.account_id AND p.stage = funnel_entry.stage \
               AND (p.at < funnel_entry.at OR (p.at = funnel_entry.at AND p.id < funnel_entry.id))), \
             next_stage_at = (SELECT MIN(n.at) FROM funnel_entry n \
               WHERE n.account_id = funnel_entry.account_id \
               AND n.stage = CASE funnel_entry.stage \
                 WHEN 'ENGAGED' THEN 'MQL' WHEN 'MQL' THEN 'SQL' \
                 WHEN 'SQL' THEN 'OPPORTUNITY' WHEN 'OPPORTUNITY' THEN 'WON' END \
               AND n.at >= funnel_entry.at)",
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
        m.drop_table(Table::drop().table(FunnelEntry::Table).to_owned())
            .await
    }
}
