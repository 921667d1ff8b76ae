use quorum_migration::{Migrator, MigratorTrait};

use crate::helpers::TestDb;

#[test]
fn the_checked_in_schema_is_the_one_the_server_serves() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let served = quorum_api::graphql::sdl();
    assert!(
        checked_in == served,
        "api/schema.graphql is out of date: run `cargo run -p quorum-api -- schema > api/schema.graphql` and review the diff"
    );
}

/// A fresh database with every migration applied, and a connection to it.
async fn migrated() -> (TestDb, sea_orm::DatabaseConnection) {
    let db = TestDb::fresh().await;
    let config = quorum_api::config::Config::for_tests(db.url().to_owned(), db.dir().clone());
    let conn = quorum_api::startup::connect(&config).await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    (db, conn)
}

#[tokio::test]
async fn migrations_run_up_down_and_up_again() {
    let (_db, conn) = migrated().await;
    assert!(
        Migrator::get_pending_migrations(&conn)
            .await
            .unwrap()
            .is_empty()
    );
    Migrator::down(&conn, None).await.unwrap();
    assert_eq!(
        Migrator::get_applied_migrations(&conn).await.unwrap().len(),
        0
    );
    Migrator::up(&conn, None).await.unwrap();
    assert_eq!(
        Migrator::get_applied_migrations(&conn).await.unwrap().len(),
        Migrator::migrations().len()
    );
    conn.close().await.unwrap();
}

/// Tables whose rows belong to no one workspace, and why (migration 17).
const GLOBAL_TABLES: &[&str] = &[
    // Its key is the workspace.
    "workspace",
    // One lease for every instance's relay.
    "relay_lease",
    // Failed logins, by the e-mail tried: it may name no user.
    "login_failure",
    "seaql_migrations",
];

/// Unique keys that span workspaces on purpose: names and logins are global.
const GLOBAL_UNIQUE: &[&str] = &["app_user(email)", "workspace(name)"];

/// Every tenant table's primary key starts with `workspace_id`, every unique key includes it and
/// every reference between tenant tables carries it, so PostgreSQL can be partitioned, or
/// sharded by Citus, on the workspace (docs/scaling.md). Read from the database's catalog, so
/// a table or index added later without the workspace fails here. SQLite keeps its original
/// primary keys (it cannot change them in place, and is never partitioned); its unique keys
/// are checked.
#[tokio::test]
async fn every_tenant_key_starts_with_the_workspace() {
    let (db, conn) = migrated().await;
    let keys = if db.is_postgres() {
        postgres_keys(&conn).await
    } else {
        sqlite_keys(&conn).await
    };
    let tenant: Vec<&Key> = keys
        .iter()
        .filter(|k| !GLOBAL_TABLES.contains(&k.table.as_str()))
        .collect();
    if db.is_postgres() {
        let count = |kind| tenant.iter().filter(|k| k.kind == kind).count();
        assert!(count('p') >= 20 && count('f') >= 16, "{keys:#?}");
    }
    let mut violations = Vec::new();
    let mut global = Vec::new();
    for k in &keys {
        let named = format!("{}({})", k.table, k.cols.join(", "));
        let is_global = GLOBAL_TABLES.contains(&k.table.as_str());
        match k.kind {
            'p' if !is_global && k.cols.first().map(String::as_str) != Some("workspace_id") => {
                violations.push(format!(
                    "primary key {named} does not start with workspace_id"
                ));
            }
            'u' if !k.cols.iter().any(|c| c == "workspace_id") => global.push(named),
            'f' if k.references != "workspace" && !is_global => {
                let at = k.cols.iter().position(|c| c == "workspace_id");
                if at.is_none() || at.map(|i| k.ref_cols[i].as_str()) != Some("workspace_id") {
                    violations.push(format!(
                        "reference {named} → {}({}) does not carry workspace_id",
                        k.references,
                        k.ref_cols.join(", ")
                    ));
                }
            }
            _ => {}
        }
    }
    global.sort();
    assert_eq!(global, GLOBAL_UNIQUE, "unique keys without the workspace");
    assert!(violations.is_empty(), "{violations:#?}");
    if db.is_postgres() {
        entity_keys_match_the_database(&keys);
    }
    conn.close().await.unwrap();
}

/// Removing a workspace removes every row of it: each tenant table is reached from
/// `workspace` by a chain of `ON DELETE CASCADE` references. Migration 19 dropped the direct
/// reference of tables that reach it through their account; this keeps that safe for every
/// table, including ones added later. On PostgreSQL a statement trigger named
/// `cascade_to_<table>` counts as a cascade too (migration 21; what it does is tested in
/// `engagement::removing_a_contact_an_account_or_a_workspace_removes_their_events`).
#[tokio::test]
async fn deleting_a_workspace_cascades_to_every_tenant_table() {
    let (db, conn) = migrated().await;
    // Both queries answer `tbl` (and `refs`, the referenced table, for the cascades).
    let (tables_sql, cascades_sql) = if db.is_postgres() {
        (
            "SELECT relname::text AS tbl FROM pg_class \
             WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace",
            "SELECT conrelid::regclass::text AS tbl, confrelid::regclass::text AS refs \
             FROM pg_constraint WHERE contype = 'f' AND confdeltype = 'c' \
             AND connamespace = current_schema()::regnamespace \
             UNION ALL SELECT substr(tgname, 12), tgrelid::regclass::text FROM pg_trigger \
             WHERE tgname LIKE 'cascade\\_to\\_%'",
        )
    } else {
        (
            "SELECT name AS tbl FROM sqlite_master \
             WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            "SELECT m.name AS tbl, f.\"table\" AS refs \
             FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' AND f.on_delete = 'CASCADE'",
        )
    };
    let tables: Vec<String> = rows(&conn, tables_sql)
        .await
        .iter()
        .map(|r| r.try_get("", "tbl").unwrap())
        .collect();
    let cascades: Vec<(String, String)> = rows(&conn, cascades_sql)
        .await
        .iter()
        .map(|r| {
            (
                r.try_get("", "tbl").unwrap(),
                r.try_get("", "refs").unwrap(),
            )
        })
        .collect();
    assert!(tables.len() >= 20 && !cascades.is_empty(), "{tables:?}");
    let mut reached: std::collections::BTreeSet<&str> = ["workspace"].into();
    loop {
        let before = reached.len();
        for (table, to) in &cascades {
            if reached.contains(to.as_str()) {
                reached.insert(table);
            }
        }
        if reached.len() == before {
            break;
        }
    }
    let mut orphaned: Vec<&str> = tables
        .iter()
        .map(String::as_str)
        .filter(|t| !GLOBAL_TABLES.contains(t) && !reached.contains(t))
        .collect();
    orphaned.sort();
    assert!(
        orphaned.is_empty(),
        "tables no workspace deletion reaches: {orphaned:?}"
    );
    conn.close().await.unwrap();
}

/// The entities name the same keys, so the rows they update and find are addressed by
/// workspace first.
fn entity_keys_match_the_database(keys: &[Key]) {
    use quorum_api::store::entity::*;
    use sea_orm::{EntityTrait, Iterable, PrimaryKeyToColumn};
    fn key<E: EntityTrait>(e: E) -> (String, Vec<String>) {
        let cols = E::PrimaryKey::iter()
            .map(|k| sea_orm::IdenStatic::as_str(&k.into_column()).to_owned())
            .collect();
        (e.table_name().to_owned(), cols)
    }
    let entities = [
        key(account::Entity),
        key(account_technology::Entity),
        key(app_user::Entity),
        key(assignment::Entity),
        key(bant::Entity),
        key(buying_committee::Entity),
        key(committee_member::Entity),
        key(contact::Entity),
        key(contact_activity::Entity),
        key(engagement_event::Entity),
        key(funnel_entry::Entity),
        key(ingest_batch::Entity),
        key(login_failure::Entity),
        key(marketing_spend::Entity),
        key(opportunity::Entity),
        key(outbox::Entity),
        key(routing_rule::Entity),
        key(score_history::Entity),
        key(scoring_model::Entity),
        key(segment::Entity),
        key(stage_transition::Entity),
        key(workspace::Entity),
    ];
    for (table, cols) in entities {
        let db = keys
            .iter()
            .find(|k| k.kind == 'p' && k.table == table)
            .map(|k| k.cols.clone());
        assert_eq!(db, Some(cols), "the entity of {table} names another key");
    }
}

#[derive(Debug)]
struct Key {
    table: String,
    /// `p` primary, `u` unique, `f` foreign.
    kind: char,
    cols: Vec<String>,
    references: String,
    ref_cols: Vec<String>,
}

fn split(list: String) -> Vec<String> {
    list.split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn rows(conn: &sea_orm::DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    use sea_orm::ConnectionTrait;
    conn.query_all_raw(sea_orm::Statement::from_string(
        conn.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap()
}

async fn postgres_keys(conn: &sea_orm::DatabaseConnection) -> Vec<Key> {
    // Unique indexes include those behind UNIQUE constraints and partial ones.
    let indexes = rows(
        conn,
        "SELECT i.indrelid::regclass::text AS tbl, \
         CASE WHEN i.indisprimary THEN 'p' ELSE 'u' END AS kind, \
         (SELECT string_agg(a.attname, ',' ORDER BY k.ord) \
          FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, ord) \
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n) AS cols, \
         '' AS refs, '' AS ref_cols \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         WHERE i.indisunique AND c.relnamespace = current_schema()::regnamespace",
    )
    .await;
    let references = rows(
        conn,
        "SELECT c.conrelid::regclass::text AS tbl, 'f' AS kind, \
         (SELECT string_agg(a.attname, ',' ORDER BY k.ord) \
          FROM unnest(c.conkey) WITH ORDINALITY k(n, ord) \
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS cols, \
         c.confrelid::regclass::text AS refs, \
         (SELECT string_agg(a.attname, ',' ORDER BY k.ord) \
          FROM unnest(c.confkey) WITH ORDINALITY k(n, ord) \
          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS ref_cols \
         FROM pg_constraint c \
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    )
    .await;
    indexes
        .into_iter()
        .chain(references)
        .map(|r| Key {
            table: r.try_get("", "tbl").unwrap(),
            kind: r
                .try_get::<String>("", "kind")
                .unwrap()
                .chars()
                .next()
                .unwrap(),
            cols: split(r.try_get("", "cols").unwrap()),
            references: r.try_get("", "refs").unwrap(),
            ref_cols: split(r.try_get("", "ref_cols").unwrap()),
        })
        .collect()
}

/// SQLite's unique indexes (its primary keys are left as they were; see the test).
async fn sqlite_keys(conn: &sea_orm::DatabaseConnection) -> Vec<Key> {
    let indexes = rows(
        conn,
        "SELECT m.name AS tbl, il.name AS idx FROM sqlite_master m, pragma_index_list(m.name) il \
         WHERE m.type = 'table' AND il.\"unique\" = 1 AND il.origin <> 'pk'",
    )
    .await;
    let mut out = Vec::new();
    for r in indexes {
        let table: String = r.try_get("", "tbl").unwrap();
        let idx: String = r.try_get("", "idx").unwrap();
        let cols = rows(
            conn,
            &format!("SELECT name FROM pragma_index_info('{idx}') ORDER BY seqno"),
        )
        .await
        .into_iter()
        .map(|c| c.try_get::<String>("", "name").unwrap())
        .collect();
        out.push(Key {
            table,
            kind: 'u',
            cols,
            references: String::new(),
            ref_cols: Vec::new(),
        });
    }
    out
}

/// Several instances starting at once against a new database (a rollout, a scaled-up
/// deployment) each run the migrations: one applies them, the others wait and find nothing
/// left to do, and none fails.
#[tokio::test]
async fn instances_starting_together_migrate_once_without_failing() {
    let db = TestDb::fresh().await;
    let config = quorum_api::config::Config::for_tests(db.url().to_owned(), db.dir().clone());
    let mut pools = Vec::new();
    for _ in 0..4 {
        pools.push(quorum_api::startup::connect(&config).await.unwrap());
    }
    let runs = pools.iter().map(quorum_api::startup::migrate);
    for (i, res) in futures_util::future::join_all(runs)
        .await
        .into_iter()
        .enumerate()
    {
        assert!(res.is_ok(), "instance {i}: {res:?}");
    }
    assert_eq!(
        Migrator::get_applied_migrations(&pools[0])
            .await
            .unwrap()
            .len(),
        Migrator::migrations().len()
    );
    for p in pools {
        p.close().await.unwrap();
    }
}
