//! Segments (saved account filters that may set their members' tier), and the folded text
//! keys filters compare on.
//!
//! Filters compare text case-insensitively. SQLite's `lower()` folds only ASCII while
//! PostgreSQL's folds all of Unicode, so the same filter would select different accounts on
//! the two backends; the application now writes each key itself (`filter::text_key`). Rows
//! written before this migration get SQL's `lower(trim(…))`, exact for ASCII text.

use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::Workspace;
use crate::m20261123_000002_create_account::Account;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Keys {
    NameKey,
    IndustryKey,
    RegionKey,
    /// The tier set by `upsertAccounts`; `tier` is this unless a tier-setting segment selects
    /// the account.
    BaseTier,
    TechnologyKey,
}

#[derive(DeriveIden)]
enum AccountTechnology {
    Table,
    WorkspaceId,
}

#[derive(DeriveIden)]
enum Segment {
    Table,
    Id,
    WorkspaceId,
    Name,
    Description,
    /// The filter as JSON (`AccountFilterInput`'s shape).
    Filter,
    /// 1–3, applied to every member; null: the segment sets no tier.
    Tier,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [
            string(Keys::NameKey).default("").to_owned(),
            string_null(Keys::IndustryKey),
            string_null(Keys::RegionKey),
            small_integer_null(Keys::BaseTier),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Account::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(AccountTechnology::Table)
                .add_column(string(Keys::TechnologyKey).default("").to_owned())
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE account SET name_key = lower(trim(name)), industry_key = lower(trim(industry)), \
             region_key = lower(trim(region)), base_tier = tier",
        )
        .await?;
        // `accounts(orderBy: STAGE_CHANGED)` pages by this column; an account's stage starts when
        // it is created.
        db.execute_unprepared(
            "UPDATE account SET stage_changed_at = created_at WHERE stage_changed_at IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE account_technology SET technology_key = lower(trim(technology))",
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("idx_account_technology_workspace_technology")
                .table(AccountTechnology::Table)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_account_technology_workspace_key")
                .table(AccountTechnology::Table)
                .col(AccountTechnology::WorkspaceId)
                .col(Keys::TechnologyKey)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_account_workspace_stage_changed")
                .table(Account::Table)
                .col(Account::WorkspaceId)
                .col(Alias::new("stage_changed_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Segment::Table)
                .col(pk_uuid(Segment::Id))
                .col(uuid(Segment::WorkspaceId))
                .col(string(Segment::Name))
                .col(text_null(Segment::Description))
                .col(text(Segment::Filter))
                .col(small_integer_null(Segment::Tier))
                .col(uuid(Segment::CreatedBy))
                .col(timestamp_with_time_zone(Segment::CreatedAt))
                .col(timestamp_with_time_zone(Segment::UpdatedAt))
                .foreign_key(&mut cascade(
                    Segment::Table,
                    Segment::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_segment_workspace_name")
                .table(Segment::Table)
                .col(Segment::WorkspaceId)
                .col(Segment::Name)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Segment::Table).to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("idx_account_workspace_stage_changed")
                .table(Account::Table)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("idx_account_technology_workspace_key")
                .table(AccountTechnology::Table)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_account_technology_workspace_technology")
                .table(AccountTechnology::Table)
                .col(AccountTechnology::WorkspaceId)
                .col(Alias::new("technology"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(AccountTechnology::Table)
                .drop_column(Keys::TechnologyKey)
                .to_owned(),
        )
        .await?;
        for col in [
            Keys::NameKey,
            Keys::IndustryKey,
            Keys::RegionKey,
            Keys::BaseTier,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Account::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
