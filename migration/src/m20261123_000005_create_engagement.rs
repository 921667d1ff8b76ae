use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::Workspace;
use crate::m20261123_000002_create_account::Account;
use crate::m20261123_000003_create_contact::Contact;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Published scoring models; the highest version of a workspace is the one in force.
#[derive(DeriveIden)]
enum ScoringModel {
    Table,
    Id,
    WorkspaceId,
    Version,
    Definition,
    CreatedAt,
}

/// Raw events, append-only. `event_id` is the client's idempotency key.
#[derive(DeriveIden)]
enum EngagementEvent {
    Table,
    Id,
    WorkspaceId,
    EventId,
    AccountId,
    ContactId,
    Kind,
    OccurredAt,
    Metadata,
    ReceivedAt,
}

/// A contact's decayed counts per kind (the incremental aggregates), as JSON.
#[derive(DeriveIden)]
enum ContactActivity {
    Table,
    ContactId,
    WorkspaceId,
    AccountId,
    Activity,
    HalfLifeDays,
    LastEngagedAt,
}

#[derive(DeriveIden)]
enum ScoreHistory {
    Table,
    Id,
    WorkspaceId,
    AccountId,
    At,
    Total,
    Fit,
    Engagement,
    Intent,
    Coverage,
    ModelVersion,
}

/// Columns added to `account`: the breakdown behind the stored score and the account-level
/// intent aggregate.
#[derive(DeriveIden)]
enum AccountScoreColumns {
    ScoreBreakdown,
    IntentActivity,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ScoringModel::Table)
                .col(pk_uuid(ScoringModel::Id))
                .col(uuid(ScoringModel::WorkspaceId))
                .col(integer(ScoringModel::Version))
                .col(text(ScoringModel::Definition))
                .col(timestamp_with_time_zone(ScoringModel::CreatedAt))
                .foreign_key(&mut cascade(
                    ScoringModel::Table,
                    ScoringModel::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_scoring_model_workspace_version")
                .table(ScoringModel::Table)
                .col(ScoringModel::WorkspaceId)
                .col(ScoringModel::Version)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(EngagementEvent::Table)
                .col(pk_uuid(EngagementEvent::Id))
                .col(uuid(EngagementEvent::WorkspaceId))
                .col(string(EngagementEvent::EventId))
                .col(uuid(EngagementEvent::AccountId))
                .col(uuid_null(EngagementEvent::ContactId))
                .col(string(EngagementEvent::Kind))
                .col(timestamp_with_time_zone(EngagementEvent::OccurredAt))
                .col(text_null(EngagementEvent::Metadata))
                .col(timestamp_with_time_zone(EngagementEvent::ReceivedAt))
                .foreign_key(&mut cascade(
                    EngagementEvent::Table,
                    EngagementEvent::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .foreign_key(&mut cascade(
                    EngagementEvent::Table,
                    EngagementEvent::AccountId,
                    Account::Table,
                    Account::Id,
                ))
                .foreign_key(&mut cascade(
                    EngagementEvent::Table,
                    EngagementEvent::ContactId,
                    Contact::Table,
                    Contact::Id,
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols, unique) in [
            // Event id first: deduplication probes a batch's ids, and with the workspace first
            // PostgreSQL scans the workspace's whole range when its statistics are stale.
            (
                "uq_engagement_event_event_workspace",
                vec![EngagementEvent::EventId, EngagementEvent::WorkspaceId],
                true,
            ),
            (
                "idx_engagement_event_account_occurred",
                vec![EngagementEvent::AccountId, EngagementEvent::OccurredAt],
                false,
            ),
            (
                "idx_engagement_event_contact",
                vec![EngagementEvent::ContactId],
                false,
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(EngagementEvent::Table);
            if unique {
                idx.unique();
            }
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(ContactActivity::Table)
                .col(pk_uuid(ContactActivity::ContactId))
                .col(uuid(ContactActivity::WorkspaceId))
                .col(uuid_null(ContactActivity::AccountId))
                .col(text(ContactActivity::Activity))
                .col(double(ContactActivity::HalfLifeDays))
                .col(timestamp_with_time_zone_null(
                    ContactActivity::LastEngagedAt,
                ))
                .foreign_key(&mut cascade(
                    ContactActivity::Table,
                    ContactActivity::ContactId,
                    Contact::Table,
                    Contact::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_contact_activity_account")
                .table(ContactActivity::Table)
                .col(ContactActivity::AccountId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ScoreHistory::Table)
                .col(pk_uuid(ScoreHistory::Id))
                .col(uuid(ScoreHistory::WorkspaceId))
                .col(uuid(ScoreHistory::AccountId))
                .col(timestamp_with_time_zone(ScoreHistory::At))
                .col(double(ScoreHistory::Total))
                .col(double(ScoreHistory::Fit))
                .col(double(ScoreHistory::Engagement))
                .col(double(ScoreHistory::Intent))
                .col(double(ScoreHistory::Coverage))
                .col(integer(ScoreHistory::ModelVersion))
                .foreign_key(&mut cascade(
                    ScoreHistory::Table,
                    ScoreHistory::AccountId,
                    Account::Table,
                    Account::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_score_history_account_at")
                .table(ScoreHistory::Table)
                .col(ScoreHistory::AccountId)
                .col(ScoreHistory::At)
                .to_owned(),
        )
        .await?;

        // SQLite adds one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(Account::Table)
                .add_column(text(AccountScoreColumns::ScoreBreakdown).default("[]"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Account::Table)
                .add_column(text_null(AccountScoreColumns::IntentActivity))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            AccountScoreColumns::IntentActivity,
            AccountScoreColumns::ScoreBreakdown,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Account::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(ScoreHistory::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ContactActivity::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(EngagementEvent::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ScoringModel::Table).to_owned())
            .await
    }
}
