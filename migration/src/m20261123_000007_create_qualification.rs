//! Qualification: the record of every stage change and the transactional outbox that carries
//! promotions (and, with routing, assignments) to subscribers.

use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::Workspace;
use crate::m20261123_000002_create_account::Account;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every stage change: automatic ones name the model version and the checks that held,
/// manual ones the person and their note.
#[derive(DeriveIden)]
enum StageTransition {
    Table,
    Id,
    WorkspaceId,
    AccountId,
    FromStage,
    ToStage,
    At,
    /// For people: "total 81.2 ≥ 80; …" or the person's note.
    Reason,
    /// The structured reason (JSON), for machines.
    ReasonDetail,
    /// Null for the system.
    ActorId,
    ModelVersion,
}

/// Events written in the same transaction as the change they announce; `seq` orders them per
/// workspace and is the subscription cursor.
#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    WorkspaceId,
    Seq,
    Kind,
    AccountId,
    /// JSON body of the event.
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AccountStageColumns {
    /// Whether a person set the current stage (automation then never demotes it).
    StageManual,
    StageChangedAt,
}

#[derive(DeriveIden)]
enum WorkspaceOutboxColumns {
    /// The last outbox sequence number handed out.
    OutboxSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StageTransition::Table)
                .col(pk_uuid(StageTransition::Id))
                .col(uuid(StageTransition::WorkspaceId))
                .col(uuid(StageTransition::AccountId))
                .col(string(StageTransition::FromStage))
                .col(string(StageTransition::ToStage))
                .col(timestamp_with_time_zone(StageTransition::At))
                .col(text(StageTransition::Reason))
                .col(text(StageTransition::ReasonDetail))
                .col(uuid_null(StageTransition::ActorId))
                .col(integer_null(StageTransition::ModelVersion))
                .foreign_key(&mut cascade(
                    StageTransition::Table,
                    StageTransition::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .foreign_key(&mut cascade(
                    StageTransition::Table,
                    StageTransition::AccountId,
                    Account::Table,
                    Account::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_stage_transition_account_at")
                .table(StageTransition::Table)
                .col(StageTransition::AccountId)
                .col(StageTransition::At)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_stage_transition_workspace_at")
                .table(StageTransition::Table)
                .col(StageTransition::WorkspaceId)
                .col(StageTransition::At)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(pk_uuid(Outbox::Id))
                .col(uuid(Outbox::WorkspaceId))
                .col(big_integer(Outbox::Seq))
                .col(string(Outbox::Kind))
                .col(uuid_null(Outbox::AccountId))
                .col(text(Outbox::Payload))
                .col(timestamp_with_time_zone(Outbox::CreatedAt))
                .foreign_key(&mut cascade(
                    Outbox::Table,
                    Outbox::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_outbox_workspace_seq")
                .table(Outbox::Table)
                .col(Outbox::WorkspaceId)
                .col(Outbox::Seq)
                .unique()
                .to_owned(),
        )
        .await?;

        // SQLite adds one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(Account::Table)
                .add_column(boolean(AccountStageColumns::StageManual).default(false))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Account::Table)
                .add_column(timestamp_with_time_zone_null(
                    AccountStageColumns::StageChangedAt,
                ))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Workspace::Table)
                .add_column(big_integer(WorkspaceOutboxColumns::OutboxSeq).default(0))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Workspace::Table)
                .drop_column(WorkspaceOutboxColumns::OutboxSeq)
                .to_owned(),
        )
        .await?;
        for col in [
            AccountStageColumns::StageChangedAt,
            AccountStageColumns::StageManual,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Account::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(StageTransition::Table).to_owned())
            .await
    }
}
