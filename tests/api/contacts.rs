use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{code, field, spawn_app};

const UPSERT: &str = "mutation($i: [ContactInput!]!) { upsertContacts(input: $i) {
    id email name title seniority department account { domain } } }";

#[tokio::test]
async fn contacts_are_matched_to_accounts_by_email_domain_but_never_free_mail() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    m.upsert_account("acme.io").await;
    m.upsert_account("gmail.com").await; // even if someone made such an account
    let res = m
        .gql(
            UPSERT,
            json!({ "i": [
            { "email": "Jane@Acme.io", "name": "Jane", "seniority": "VP", "title": "VP Sales" },
            { "email": "joe@eu.acme.io" },
            { "email": "someone@gmail.com" },
            { "email": "x@unknown.io" }
        ] }),
        )
        .await;
    let c = res["data"]["upsertContacts"]
        .as_array()
        .unwrap_or_else(|| panic!("{res}"));
    assert_eq!(c[0]["email"], "jane@acme.io");
    assert_eq!(
        (c[0]["seniority"].as_str(), c[0]["title"].as_str()),
        (Some("VP"), Some("VP Sales"))
    );
    let domains: Vec<Value> = c.iter().map(|x| x["account"]["domain"].clone()).collect();
    assert_eq!(
        domains,
        [json!("acme.io"), json!("acme.io"), Value::Null, Value::Null]
    );
}

#[tokio::test]
async fn account_domain_attaches_explicitly_and_updates_keep_the_account() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    m.upsert_account("acme.io").await;
    m.upsert_account("globex.com").await;
    let res = m
        .gql(
            UPSERT,
            json!({ "i": [{ "email": "pat@gmail.com", "accountDomain": "Globex.com" }] }),
        )
        .await;
    assert_eq!(
        res["data"]["upsertContacts"][0]["account"]["domain"], "globex.com",
        "{res}"
    );
    // Updating without accountDomain keeps it; null clears the name.
    let res = m
        .gql(
            UPSERT,
            json!({ "i": [{ "email": "pat@gmail.com", "name": "Pat" }] }),
        )
        .await;
    assert_eq!(
        res["data"]["upsertContacts"][0]["account"]["domain"],
        "globex.com"
    );
    let res = m
        .gql(
            UPSERT,
            json!({ "i": [{ "email": "pat@gmail.com", "name": null, "department": "IT" }] }),
        )
        .await;
    let c = &res["data"]["upsertContacts"][0];
    assert_eq!(
        (c["name"].clone(), c["department"].as_str()),
        (Value::Null, Some("IT"))
    );
    // An unmatched contact is matched once its company exists.
    m.upsert_contact("kim@initech.io").await;
    m.upsert_account("initech.io").await;
    let res = m
        .gql(UPSERT, json!({ "i": [{ "email": "kim@initech.io" }] }))
        .await;
    assert_eq!(
        res["data"]["upsertContacts"][0]["account"]["domain"],
        "initech.io"
    );
}

#[tokio::test]
async fn upsert_contacts_with_one_bad_item_writes_nothing() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    m.upsert_account("acme.io").await;
    let good = json!({ "email": "ok@acme.io" });
    for (bad, want) in [
        (json!({ "email": "not-an-email" }), "input[1].email"),
        (
            json!({ "email": "b@acme.io", "accountDomain": "nowhere.io" }),
            "input[1].accountDomain",
        ),
        (
            json!({ "email": "b@acme.io", "accountDomain": "not a domain" }),
            "input[1].accountDomain",
        ),
        (json!({ "email": "b@acme.io", "name": "" }), "input[1].name"),
        (json!({ "email": "OK@acme.io" }), "input[1].email"),
    ] {
        let res = m.gql(UPSERT, json!({ "i": [good.clone(), bad] })).await;
        assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", want), "{res}");
    }
    let res = m
        .gql(
            "{ accounts { edges { node { contacts { totalCount } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res["data"]["accounts"]["edges"][0]["node"]["contacts"]["totalCount"],
        0
    );
}

#[tokio::test]
async fn only_admins_and_marketers_upsert_contacts_and_everyone_reads_them() {
    let app = spawn_app().await;
    for role in [Role::Manager, Role::Rep] {
        let res = app
            .user("acme", role)
            .await
            .gql(UPSERT, json!({ "i": [{ "email": "a@a.io" }] }))
            .await;
        assert_eq!(code(&res), "FORBIDDEN");
    }
    let id = app
        .user("acme", Role::Admin)
        .await
        .upsert_contact("a@a.io")
        .await;
    let rep = app.user("acme", Role::Rep).await;
    let res = rep
        .gql(
            "query($id: ID!) { contact(id: $id) { email account { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        res["data"]["contact"],
        json!({ "email": "a@a.io", "account": null })
    );
    let res = rep.gql("{ contact(id: \"nope\") { id } }", json!({})).await;
    assert_eq!(res["data"]["contact"], Value::Null);
}

#[tokio::test]
async fn account_contacts_page_by_email() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let account = m.upsert_account("acme.io").await;
    let items: Vec<Value> = (0..7)
        .map(|i| json!({ "email": format!("p{i}@acme.io") }))
        .collect();
    m.gql(UPSERT, json!({ "i": items })).await;
    let q = "query($id: ID!, $a: String) { account(id: $id) { contacts(first: 3, after: $a) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { email } } } } }";
    let seen = m
        .walk(
            q,
            json!({ "id": account }),
            &["account", "contacts"],
            "email",
            7,
        )
        .await;
    assert_eq!(
        seen,
        (0..7).map(|i| format!("p{i}@acme.io")).collect::<Vec<_>>()
    );
}
