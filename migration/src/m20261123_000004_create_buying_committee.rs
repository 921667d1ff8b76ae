use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;
use crate::m20261123_000001_create_workspace_and_user::Workspace;
use crate::m20261123_000002_create_account::Account;
use crate::m20261123_000003_create_contact::Contact;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BuyingCommittee {
    Table,
    Id,
    WorkspaceId,
    AccountId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CommitteeMember {
    Table,
    CommitteeId,
    ContactId,
    WorkspaceId,
    Role,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BuyingCommittee::Table)
                .col(pk_uuid(BuyingCommittee::Id))
                .col(uuid(BuyingCommittee::WorkspaceId))
                .col(uuid(BuyingCommittee::AccountId))
                .col(string(BuyingCommittee::Name))
                .col(timestamp_with_time_zone(BuyingCommittee::CreatedAt))
                .foreign_key(&mut cascade(
                    BuyingCommittee::Table,
                    BuyingCommittee::WorkspaceId,
                    Workspace::Table,
                    Workspace::Id,
                ))
                .foreign_key(&mut cascade(
                    BuyingCommittee::Table,
                    BuyingCommittee::AccountId,
                    Account::Table,
                    Account::Id,
                ))
                .to_owned(),
        )
        .await?;
        // One committee per buying initiative: the name tells them apart on an account.
        m.create_index(
            Index::create()
                .name("uq_buying_committee_account_name")
                .table(BuyingCommittee::Table)
                .col(BuyingCommittee::AccountId)
                .col(BuyingCommittee::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CommitteeMember::Table)
                .col(uuid(CommitteeMember::CommitteeId))
                .col(uuid(CommitteeMember::ContactId))
                .col(uuid(CommitteeMember::WorkspaceId))
                .col(string(CommitteeMember::Role))
                .col(timestamp_with_time_zone(CommitteeMember::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(CommitteeMember::CommitteeId)
                        .col(CommitteeMember::ContactId),
                )
                .foreign_key(&mut cascade(
                    CommitteeMember::Table,
                    CommitteeMember::CommitteeId,
                    BuyingCommittee::Table,
                    BuyingCommittee::Id,
                ))
                .foreign_key(&mut cascade(
                    CommitteeMember::Table,
                    CommitteeMember::ContactId,
                    Contact::Table,
                    Contact::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_committee_member_contact")
                .table(CommitteeMember::Table)
                .col(CommitteeMember::ContactId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CommitteeMember::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(BuyingCommittee::Table).to_owned())
            .await
    }
}
