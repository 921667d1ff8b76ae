//! Fault and race drills (issue 9): what two instances doing the same thing at once must not
//! break.

use chrono::{Duration, Utc};
use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{Client, spawn_app};

const INGEST: &str = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) {
    accepted duplicates rejected { reason } } }";

const ACCOUNT: &str = "query($id: ID!) { account(id: $id) { stage
    score { total engagement }
    transitions { from to }
    assignment { rep { id } } } }";

fn event(id: &str, email: &str, kind: &str, minutes_ago: i64) -> Value {
    let at = (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339();
    json!({ "eventId": id, "contactEmail": email, "kind": kind, "occurredAt": at })
}

async fn account(m: &Client, domain: &str) -> String {
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": [{ "name": domain, "domain": domain, "country": "US" }] }),
        )
        .await;
    let id = res["data"]["upsertAccounts"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{res}"))
        .to_owned();
    let res = m
        .gql(
            "mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }",
            json!({ "i": [{ "email": format!("jane@{domain}"), "seniority": "VP" }] }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    id
}

#[tokio::test]
async fn two_instances_rescoring_one_account_at_once_make_one_score_one_promotion_one_assignment() {
    let a = spawn_app().await;
    let b = a.sibling(|_| {}).await;
    let marketer = a.user("acme", Role::Marketer).await;
    marketer.publish_one_event_sql_model().await;
    let manager = a.user("acme", Role::Manager).await;
    let rep = a.user("acme", Role::Rep).await;
    let res = manager
        .gql(
            "mutation($id: ID!, $i: RepInput!) { updateRep(id: $id, input: $i) { id } }",
            json!({ "id": rep.id, "i": { "capacity": 100, "countries": ["US"] } }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let on_b = marketer.on(&b);

    // The control: the same two events, one after the other, on one instance.
    let control_id = account(&marketer, "control.io").await;
    for (id, kind, ago) in [("c1", "DEMO_REQUEST", 3), ("c2", "CONTACT_SALES", 2)] {
        let res = marketer
            .gql(
                INGEST,
                json!({ "e": [event(id, "jane@control.io", kind, ago)] }),
            )
            .await;
        assert_eq!(res["data"]["ingestEngagements"]["accepted"], 1, "{res}");
    }
    let control = manager.gql(ACCOUNT, json!({ "id": control_id })).await;
    let expected = control["data"]["account"]["score"]["engagement"]
        .as_f64()
        .unwrap_or_else(|| panic!("{control}"));

    // Several accounts, each hit by both instances at the same moment, so the two
    // transactions interleave in every way the databases allow.
    for round in 0..5 {
        let domain = format!("race{round}.io");
        let id = account(&marketer, &domain).await;
        let email = format!("jane@{domain}");
        let (one, two) = tokio::join!(
            marketer.gql(
                INGEST,
                json!({ "e": [event(&format!("{round}a"), &email, "DEMO_REQUEST", 3)] })
            ),
            on_b.gql(
                INGEST,
                json!({ "e": [event(&format!("{round}b"), &email, "CONTACT_SALES", 2)] })
            ),
        );
        for res in [&one, &two] {
            assert_eq!(res["data"]["ingestEngagements"]["accepted"], 1, "{res}");
        }
        let got = manager.gql(ACCOUNT, json!({ "id": id })).await;
        let acc = &got["data"]["account"];
        assert_eq!(acc["stage"], "SQL", "{got}");
        // Both events count, once each: the score is the control's.
        let engagement = acc["score"]["engagement"].as_f64().unwrap();
        assert!(
            (engagement - expected).abs() < 1e-6,
            "{engagement} vs {expected}: {got}"
        );
        let to_sql = acc["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["to"] == "SQL")
            .count();
        assert_eq!(to_sql, 1, "one promotion: {got}");
        assert_eq!(acc["assignment"]["rep"]["id"], rep.id.as_str(), "{got}");
        let res = manager
            .gql(
                "{ assignments(first: 100) { nodes { account { id } } } }",
                json!({}),
            )
            .await;
        let assigned = res["data"]["assignments"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{res}"))
            .iter()
            .filter(|n| n["account"]["id"] == id.as_str())
            .count();
        assert_eq!(assigned, 1, "one assignment: {res}");
    }
}
