use quorum_domain::value::Role;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{code, spawn_app};

#[tokio::test]
async fn a_broken_database_answers_internal_without_leaking_sql() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let id = m.upsert_contact("a@acme.io").await;
    app.state
        .db
        .execute_unprepared("ALTER TABLE contact DROP COLUMN title")
        .await
        .unwrap();
    let res = m
        .gql(
            "query($id: ID!) { contact(id: $id) { email } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&res), "INTERNAL", "{res}");
    let text = res.to_string().to_lowercase();
    for leak in [
        "select",
        "no such",
        "does not exist",
        "title",
        "sqlx",
        "sqlite",
        "postgres",
    ] {
        assert!(!text.contains(leak), "{leak} leaked: {res}");
    }
}
