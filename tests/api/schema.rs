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

#[tokio::test]
async fn migrations_run_up_down_and_up_again() {
    let db = TestDb::fresh().await;
    let config = quorum_api::config::Config::for_tests(db.url().to_owned(), db.dir().clone());
    let conn = quorum_api::startup::connect(&config).await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
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
