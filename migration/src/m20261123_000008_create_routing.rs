//! Routing: reps' territories and capacity, ordered routing rules, and assignments.

use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::{AppUser, Workspace};
use crate::m20261123_000002_create_account::Account;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A workspace's routing rules, tried in `position` order.
#[derive(DeriveIden)]
enum RoutingRule {
    Table,
    Id,
    WorkspaceId,
    Position,
    Name,
    /// JSON: the scope (`tiers`, `countries`, `regions`, `industries`) and the target.
    Definition,
}

/// Who works an SQL, since when, and by when it must be touched.
#[derive(DeriveIden)]
enum Assignment {
    Table,
    Id,
    WorkspaceId,
    AccountId,
    /// Null while the account waits in the unassigned queue.
    RepId,
    Status,
    /// The routing rule that chose the rep, or what else did (a manager's reassignment).
    Rule,
    Reason,
    AssignedAt,
    DueAt,
    AcceptedAt,
    FirstTouchAt,
    FirstTouchChannel,
    ClosedAt,
}

/// A rep's routing profile, on their user row.
#[derive(DeriveIden)]
#[expect(
    clippy::enum_variant_names,
    reason = "DeriveIden names each column after its variant"
)]
enum RepColumns {
    RepActive,
    RepCapacity,
    /// JSON arrays.
    RepCountries,
    RepRegions,
    RepIndustries,
    /// Round-robin memory: the turn of the rep's latest routed assignment.
    RepTurn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RoutingRule::Table)
                .col(pk_uuid(RoutingRule::Id))
                .col(uuid(RoutingRule::WorkspaceId))
                .col(integer(RoutingRule::Position))
                .col(string(RoutingRule::Name))
                .col(text(RoutingRule::Definition))
                .foreign_key(&mut cascade(
                    RoutingRule::Table,
                    RoutingRule::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_routing_rule_workspace_position")
                .table(RoutingRule::Table)
                .col(RoutingRule::WorkspaceId)
                .col(RoutingRule::Position)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Assignment::Table)
                .col(pk_uuid(Assignment::Id))
                .col(uuid(Assignment::WorkspaceId))
                .col(uuid(Assignment::AccountId))
                .col(uuid_null(Assignment::RepId))
                .col(string(Assignment::Status))
                .col(string_null(Assignment::Rule))
                .col(text(Assignment::Reason))
                .col(timestamp_with_time_zone(Assignment::AssignedAt))
                .col(timestamp_with_time_zone(Assignment::DueAt))
                .col(timestamp_with_time_zone_null(Assignment::AcceptedAt))
                .col(timestamp_with_time_zone_null(Assignment::FirstTouchAt))
                .col(string_null(Assignment::FirstTouchChannel))
                .col(timestamp_with_time_zone_null(Assignment::ClosedAt))
                .foreign_key(&mut cascade(
                    Assignment::Table,
                    Assignment::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .foreign_key(&mut cascade(
                    Assignment::Table,
                    Assignment::AccountId,
                    Account::Table,
                    Account::Id,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(Assignment::Table, Assignment::RepId)
                        .to(AppUser::Table, AppUser::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_assignment_rep_status",
                vec![Assignment::RepId, Assignment::Status],
            ),
            (
                "idx_assignment_workspace_status",
                vec![Assignment::WorkspaceId, Assignment::Status],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Assignment::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        // One open assignment per account, whatever races: the database refuses a second.
        // (Partial unique indexes read the same on PostgreSQL and SQLite.)
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_assignment_open_account ON assignment (account_id) \
                 WHERE status IN ('PENDING', 'ACCEPTED', 'WORKING', 'SLA_BREACHED')",
            )
            .await?;

        // SQLite adds one column per ALTER TABLE.
        let columns = [
            boolean(RepColumns::RepActive).default(true).to_owned(),
            integer(RepColumns::RepCapacity).default(20).to_owned(),
            text(RepColumns::RepCountries).default("[]").to_owned(),
            text(RepColumns::RepRegions).default("[]").to_owned(),
            text(RepColumns::RepIndustries).default("[]").to_owned(),
            big_integer(RepColumns::RepTurn).default(0).to_owned(),
        ];
        for mut col in columns {
            m.alter_table(
                Table::alter()
                    .table(AppUser::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            RepColumns::RepTurn,
            RepColumns::RepIndustries,
            RepColumns::RepRegions,
            RepColumns::RepCountries,
            RepColumns::RepCapacity,
            RepColumns::RepActive,
        ] {
            m.alter_table(
                Table::alter()
                    .table(AppUser::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(Assignment::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RoutingRule::Table).to_owned())
            .await
    }
}
