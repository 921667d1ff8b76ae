//! Every tenant table's key starts with `workspace_id`, and every reference between tenant
//! tables carries it: `contact.account_id → account.id` becomes
//! `(workspace_id, account_id) → account (workspace_id, id)`. A distributed PostgreSQL (Citus,
//! distribution column `workspace_id`) and native `PARTITION BY HASH (workspace_id)` both
//! require the partitioning column in every primary key, unique index and foreign key
//! (docs/scaling.md). It also makes a row of one workspace unreachable from another's key.
//!
//! Left global on purpose: `workspace` (its key *is* the workspace), `relay_lease` (one row
//! for every instance), and the globally unique `workspace.name` and `app_user.email` (login
//! finds the workspace from the e-mail).
//!
//! SQLite, the embedded one-instance default, cannot change a table's primary key without
//! rebuilding the table, and nothing there is partitioned: it keeps its keys and gains only
//! the unique indexes that the application's `ON CONFLICT` targets name, so the same
//! statements run on both. The partial unique indexes change on both.
//!
//! On PostgreSQL this rebuilds every key under an exclusive lock: on a large database, run
//! `quorum migrate` in a quiet window.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, key before, key after).
const KEYS: &[(&str, &str, &str)] = &[
    ("app_user", "id", "workspace_id, id"),
    ("account", "id", "workspace_id, id"),
    (
        "account_technology",
        "account_id, technology",
        "workspace_id, account_id, technology",
    ),
    ("contact", "id", "workspace_id, id"),
    ("buying_committee", "id", "workspace_id, id"),
    (
        "committee_member",
        "committee_id, contact_id",
        "workspace_id, committee_id, contact_id",
    ),
    ("scoring_model", "id", "workspace_id, id"),
    ("engagement_event", "id", "workspace_id, id"),
    ("contact_activity", "contact_id", "workspace_id, contact_id"),
    ("score_history", "id", "workspace_id, id"),
    ("stage_transition", "id", "workspace_id, id"),
    ("outbox", "id", "workspace_id, id"),
    ("routing_rule", "id", "workspace_id, id"),
    ("assignment", "id", "workspace_id, id"),
    ("opportunity", "id", "workspace_id, id"),
    ("bant", "account_id", "workspace_id, account_id"),
    ("segment", "id", "workspace_id, id"),
    ("marketing_spend", "id", "workspace_id, id"),
    ("funnel_entry", "id", "workspace_id, id"),
];

/// How a reference behaved when its row was deleted.
#[derive(Clone, Copy)]
enum OnDelete {
    Cascade,
    /// The referencing column became null. A composite reference cannot do that on
    /// PostgreSQL before 15 (it would null `workspace_id` too), so these become `NO ACTION`,
    /// checked at the end of the statement: Quorum never deletes users, accounts or contacts
    /// on their own, and removing a workspace removes all of its rows in one statement.
    SetNull,
}

/// (table, column, referenced table, before): every referenced column is `id`.
const REFERENCES: &[(&str, &str, &str, OnDelete)] = &[
    ("account", "owner_id", "app_user", OnDelete::SetNull),
    (
        "account_technology",
        "account_id",
        "account",
        OnDelete::Cascade,
    ),
    ("contact", "account_id", "account", OnDelete::SetNull),
    (
        "buying_committee",
        "account_id",
        "account",
        OnDelete::Cascade,
    ),
    (
        "committee_member",
        "committee_id",
        "buying_committee",
        OnDelete::Cascade,
    ),
    (
        "committee_member",
        "contact_id",
        "contact",
        OnDelete::Cascade,
    ),
    (
        "engagement_event",
        "account_id",
        "account",
        OnDelete::Cascade,
    ),
    (
        "engagement_event",
        "contact_id",
        "contact",
        OnDelete::Cascade,
    ),
    (
        "contact_activity",
        "contact_id",
        "contact",
        OnDelete::Cascade,
    ),
    ("score_history", "account_id", "account", OnDelete::Cascade),
    (
        "stage_transition",
        "account_id",
        "account",
        OnDelete::Cascade,
    ),
    ("assignment", "account_id", "account", OnDelete::Cascade),
    ("assignment", "rep_id", "app_user", OnDelete::SetNull),
    ("opportunity", "account_id", "account", OnDelete::Cascade),
    ("bant", "account_id", "account", OnDelete::Cascade),
    ("funnel_entry", "account_id", "account", OnDelete::Cascade),
];

/// (name, table, columns before, columns after, predicate): unique indexes that gain the
/// workspace, on both backends.
const UNIQUE: &[(&str, &str, &str, &str, &str)] = &[
    (
        "uq_buying_committee_account_name",
        "buying_committee",
        "account_id, name",
        "workspace_id, account_id, name",
        "",
    ),
    (
        "uq_assignment_open_account",
        "assignment",
        "account_id",
        "workspace_id, account_id",
        " WHERE status IN ('PENDING', 'ACCEPTED', 'WORKING', 'SLA_BREACHED')",
    ),
    (
        "uq_opportunity_open_account",
        "opportunity",
        "account_id",
        "workspace_id, account_id",
        " WHERE status = 'OPEN'",
    ),
];

/// SQLite only: the new keys that `ON CONFLICT` clauses name, as unique indexes.
const SQLITE_CONFLICT_KEYS: &[&str] = &["committee_member", "contact_activity", "bant"];

fn new_key(table: &str) -> &'static str {
    KEYS.iter()
        .find(|(t, _, _)| *t == table)
        .map_or("", |(_, _, after)| after)
}

async fn run(db: &impl ConnectionTrait, statements: Vec<String>) -> Result<(), DbErr> {
    for sql in statements {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

fn unique_indexes(after: bool) -> Vec<String> {
    UNIQUE
        .iter()
        .flat_map(|(name, table, before_cols, after_cols, predicate)| {
            let cols = if after { after_cols } else { before_cols };
            [
                format!("DROP INDEX {name}"),
                format!("CREATE UNIQUE INDEX {name} ON {table} ({cols}){predicate}"),
            ]
        })
        .collect()
}

fn drop_references() -> Vec<String> {
    REFERENCES
        .iter()
        .map(|(table, col, _, _)| format!("ALTER TABLE {table} DROP CONSTRAINT {table}_{col}_fkey"))
        .collect()
}

fn set_keys(after: bool) -> Vec<String> {
    KEYS.iter()
        .map(|(table, before, after_cols)| {
            let cols = if after { after_cols } else { before };
            format!(
                "ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, \
                 ADD CONSTRAINT {table}_pkey PRIMARY KEY ({cols})"
            )
        })
        .collect()
}

fn add_references(after: bool) -> Vec<String> {
    REFERENCES
        .iter()
        .map(|(table, col, to, on_delete)| {
            let (cols, to_cols) = if after {
                (format!("workspace_id, {col}"), "workspace_id, id")
            } else {
                ((*col).to_owned(), "id")
            };
            let action = match (on_delete, after) {
                (OnDelete::Cascade, _) => "CASCADE",
                (OnDelete::SetNull, true) => "NO ACTION",
                (OnDelete::SetNull, false) => "SET NULL",
            };
            format!(
                "ALTER TABLE {table} ADD CONSTRAINT {table}_{col}_fkey \
                 FOREIGN KEY ({cols}) REFERENCES {to} ({to_cols}) ON DELETE {action}"
            )
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if m.get_database_backend() != DatabaseBackend::Postgres {
            let mut sql = unique_indexes(true);
            sql.extend(SQLITE_CONFLICT_KEYS.iter().map(|t| {
                format!(
                    "CREATE UNIQUE INDEX uq_{t}_workspace_key ON {t} ({})",
                    new_key(t)
                )
            }));
            return run(db, sql).await;
        }
        // References first: a key cannot be dropped while one depends on it.
        let mut sql = drop_references();
        sql.extend(set_keys(true));
        sql.extend(unique_indexes(true));
        sql.extend(add_references(true));
        run(db, sql).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if m.get_database_backend() != DatabaseBackend::Postgres {
            let mut sql: Vec<String> = SQLITE_CONFLICT_KEYS
                .iter()
                .map(|t| format!("DROP INDEX uq_{t}_workspace_key"))
                .collect();
            sql.extend(unique_indexes(false));
            return run(db, sql).await;
        }
        let mut sql = drop_references();
        sql.extend(unique_indexes(false));
        sql.extend(set_keys(false));
        sql.extend(add_references(false));
        run(db, sql).await
    }
}
