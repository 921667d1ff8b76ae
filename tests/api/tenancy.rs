//! A token from one workspace sees nothing of another and changes nothing there.

use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{code, spawn_app};

#[tokio::test]
async fn another_workspace_sees_nothing_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = app.user("acme", Role::Admin).await;
    let account = acme.upsert_account("acme.io").await;
    let contact = acme.upsert_contact("ceo@acme.io").await;
    let committee = acme
        .gql(
            "mutation($a: ID!) { createBuyingCommittee(accountId: $a, name: \"CRM\") { id } }",
            json!({ "a": account }),
        )
        .await["data"]["createBuyingCommittee"]["id"]
        .clone();
    acme.gql(
        "mutation($c: ID!, $p: ID!) { setCommitteeMember(committeeId: $c, contactId: $p, role: CHAMPION) { id } }",
        json!({ "c": committee, "p": contact }),
    )
    .await;

    let globex = app.user("globex", Role::Admin).await;
    let res = globex
        .gql(
            "query($id: ID!) { account(id: $id) { id } }",
            json!({ "id": account }),
        )
        .await;
    assert_eq!(res, json!({ "data": { "account": null } }));
    let res = globex
        .gql(
            "query($id: ID!) { contact(id: $id) { id } }",
            json!({ "id": contact }),
        )
        .await;
    assert_eq!(res, json!({ "data": { "contact": null } }));
    let res = globex
        .gql(
            "{ accounts { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res["data"]["accounts"],
        json!({ "totalCount": 0, "edges": [] })
    );
    let res = globex.gql("{ me { email } }", json!({})).await;
    assert_eq!(res["data"]["me"]["email"], globex.email.as_str());

    // Writes aimed at acme's rows find nothing, exactly as made-up ids do.
    let made_up = "01a20684-f85c-725d-b7a7-4dc9b48d827a";
    for (q, vars) in [
        (
            "mutation($a: ID!) { createBuyingCommittee(accountId: $a, name: \"X\") { id } }",
            json!({ "a": account }),
        ),
        (
            "mutation($a: ID!) { createBuyingCommittee(accountId: $a, name: \"X\") { id } }",
            json!({ "a": made_up }),
        ),
        (
            "mutation($c: ID!, $p: ID!) { setCommitteeMember(committeeId: $c, contactId: $p, role: BLOCKER) { id } }",
            json!({ "c": committee, "p": contact }),
        ),
        (
            "mutation($c: ID!, $p: ID!) { removeCommitteeMember(committeeId: $c, contactId: $p) { id } }",
            json!({ "c": committee, "p": contact }),
        ),
    ] {
        let res = globex.gql(q, vars).await;
        assert_eq!(code(&res), "NOT_FOUND", "{q}: {res}");
    }
    // The same domain and e-mail in another workspace are other rows, not acme's.
    let theirs = globex.upsert_account("acme.io").await;
    assert_ne!(theirs, account);
    let res = globex
        .gql("mutation { upsertContacts(input: [{email: \"ceo@acme.io\", name: \"Mallory\"}]) { id account { id } } }", json!({}))
        .await;
    assert_ne!(res["data"]["upsertContacts"][0]["id"], contact.as_str());
    assert_eq!(
        res["data"]["upsertContacts"][0]["account"]["id"],
        theirs.as_str()
    );

    let res = acme
        .gql(
            "query($id: ID!) { account(id: $id) { name contacts { edges { node { name } } } buyingCommittees { members { role } } } }",
            json!({ "id": account }),
        )
        .await;
    assert_eq!(
        res["data"]["account"],
        json!({ "name": "acme.io", "contacts": { "edges": [{ "node": { "name": Value::Null } }] }, "buyingCommittees": [{ "members": [{ "role": "CHAMPION" }] }] })
    );
}
