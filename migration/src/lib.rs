//! Quorum's schema, one migration per change, each with a `down()`.
//!
//! Migrations name their tables and columns with their own `DeriveIden` enums rather than the
//! `api` entities, so that a later change to an entity never rewrites an old migration.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_workspace_and_user;
mod m20261123_000002_create_account;
mod m20261123_000003_create_contact;
mod m20261123_000004_create_buying_committee;
mod m20261123_000005_create_engagement;
mod m20261123_000006_breakdown_on_read;
mod m20261123_000007_create_qualification;
mod m20261123_000008_create_routing;
mod m20261123_000009_create_pipeline;
mod m20261123_000010_workspace_settings;
mod m20261123_000011_create_relay;
mod m20261123_000012_create_segment;
mod m20261123_000013_create_analytics;
mod m20261123_000014_funnel_links;
mod m20261123_000015_funnel_first_engagement;
mod m20261124_000016_ingest_batch;
mod m20261124_000017_workspace_keys;
mod m20261124_000018_login_failure;
mod m20261124_000019_implied_workspace_references;
mod m20261124_000020_funnel_account_index;
mod m20261124_000021_event_references_by_statement;
mod m20261124_000022_aggregates_follow_their_contact;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_workspace_and_user::Migration),
            Box::new(m20261123_000002_create_account::Migration),
            Box::new(m20261123_000003_create_contact::Migration),
            Box::new(m20261123_000004_create_buying_committee::Migration),
            Box::new(m20261123_000005_create_engagement::Migration),
            Box::new(m20261123_000006_breakdown_on_read::Migration),
            Box::new(m20261123_000007_create_qualification::Migration),
            Box::new(m20261123_000008_create_routing::Migration),
            Box::new(m20261123_000009_create_pipeline::Migration),
            Box::new(m20261123_000010_workspace_settings::Migration),
            Box::new(m20261123_000011_create_relay::Migration),
            Box::new(m20261123_000012_create_segment::Migration),
            Box::new(m20261123_000013_create_analytics::Migration),
            Box::new(m20261123_000014_funnel_links::Migration),
            Box::new(m20261123_000015_funnel_first_engagement::Migration),
            Box::new(m20261124_000016_ingest_batch::Migration),
            Box::new(m20261124_000017_workspace_keys::Migration),
            Box::new(m20261124_000018_login_failure::Migration),
            Box::new(m20261124_000019_implied_workspace_references::Migration),
            Box::new(m20261124_000020_funnel_account_index::Migration),
            Box::new(m20261124_000021_event_references_by_statement::Migration),
            Box::new(m20261124_000022_aggregates_follow_their_contact::Migration),
        ]
    }
}

/// A foreign key from `table.column` to `to.id`, removed with its parent row.
pub(crate) fn cascade(
    table: impl IntoTableRef,
    column: impl IntoIden + 'static,
    to: impl IntoTableRef,
    to_id: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(to, to_id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}
