//! The authorization matrix. Every root field of the schema, read from the running server so
//! that a field added later fails here until it has a row, is called by every role and by no
//! one: with the caller's own ids, with another workspace's, with ids that do not exist and,
//! for a rep, with another rep's. Each call selects every field of every type its answer
//! reaches, and the test checks that every field of the schema was selected somewhere.
//!
//! What must hold, with zero exceptions:
//! - a role outside a field's row is refused (`FORBIDDEN`, or `NOT_FOUND` where the field
//!   acts only on the caller's own rows), no one at all is `UNAUTHENTICATED`, and nothing
//!   changes in either workspace;
//! - another workspace's id gets exactly the answer of an id that does not exist;
//! - no answer holds anything of another workspace, nor, for a rep, another rep's
//!   assignments; a rep's writes on another rep's rows fail;
//! - each row's own call succeeds for at least one of its roles, so a row cannot pass by
//!   failing for everyone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{Client, PASSWORD, TestApp, spawn_app};
use crate::ws::{Incoming, MODERN, Ws};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Admin,
    Marketer,
    Manager,
    Rep,
    /// No token at all.
    Nobody,
}

use Who::{Admin, Manager, Marketer, Nobody, Rep};

const EVERYONE: [Who; 5] = [Admin, Marketer, Manager, Rep, Nobody];
const SIGNED_IN: &[Who] = &[Admin, Marketer, Manager, Rep];
const MARKETING: &[Who] = &[Admin, Marketer];
const MANAGEMENT: &[Who] = &[Admin, Manager];
/// Fields a rep may use on the rows they own.
const SALES: &[Who] = &[Admin, Manager, Rep];

/// One row: who may call `field` (`Query.account`, …) with these arguments. A string
/// `"@key"` stands for the caller's workspace's fixture `key`; keys of rep A's rows start
/// with `a.`, and `b.` names rep B's row of the same kind.
struct Case {
    field: &'static str,
    may: &'static [Who],
    args: Value,
}

fn case(field: &'static str, may: &'static [Who], args: Value) -> Case {
    Case { field, may, args }
}

/// The matrix's rows, mutations in the order they run (each may change what the next sees).
fn cases() -> Vec<Case> {
    let window = json!({ "from": "@from", "to": "@to", "segmentId": "@segment" });
    let mut velocity = window.clone();
    velocity["groupBy"] = json!("REP");
    vec![
        case("Query.me", SIGNED_IN, json!({})),
        case("Query.account", SIGNED_IN, json!({ "id": "@a.account1" })),
        case(
            "Query.accounts",
            SIGNED_IN,
            json!({ "filter": { "ownerId": "@a.rep" }, "segmentId": "@segment", "first": 20 }),
        ),
        case("Query.accounts", SIGNED_IN, json!({ "first": 20 })),
        case("Query.contact", SIGNED_IN, json!({ "id": "@a.contact1" })),
        case("Query.scoringModel", SIGNED_IN, json!({})),
        case("Query.workspaceSettings", MANAGEMENT, json!({})),
        case("Query.reps", MANAGEMENT, json!({})),
        case("Query.routingRules", MANAGEMENT, json!({})),
        case(
            "Query.assignments",
            SALES,
            json!({ "repId": "@a.rep", "first": 20 }),
        ),
        case("Query.assignments", SALES, json!({ "first": 20 })),
        case("Query.segments", SIGNED_IN, json!({})),
        case("Query.segment", SIGNED_IN, json!({ "id": "@segment" })),
        case("Query.funnel", MANAGEMENT, window.clone()),
        case("Query.pipelineVelocity", MANAGEMENT, velocity),
        case("Query.slaCompliance", MANAGEMENT, window),
        case(
            "Subscription.sqlPromotions",
            SIGNED_IN,
            json!({ "after": "@cursor0" }),
        ),
        case(
            "Subscription.sqlPromotions",
            SIGNED_IN,
            json!({ "segmentId": "@segment", "after": "@cursor0" }),
        ),
        case(
            "Subscription.assignmentUpdates",
            SALES,
            json!({ "repId": "@a.rep", "after": "@cursor0" }),
        ),
        case(
            "Subscription.assignmentUpdates",
            SALES,
            json!({ "after": "@cursor0" }),
        ),
        case(
            "Mutation.login",
            &EVERYONE,
            json!({ "email": "@admin.email", "password": PASSWORD }),
        ),
        case(
            "Mutation.createUser",
            &[Admin],
            json!({ "input": { "email": "newcomer@acme-matrix.example.com", "name": "Newcomer",
                "role": "REP", "password": "a long password" } }),
        ),
        case(
            "Mutation.upsertAccounts",
            MARKETING,
            json!({ "input": [{ "name": "Newco", "domain": "newco-acme.com", "country": "US" }] }),
        ),
        case(
            "Mutation.upsertContacts",
            MARKETING,
            json!({ "input": [{ "email": "sam@newco-acme.com", "name": "Sam" }] }),
        ),
        case(
            "Mutation.createBuyingCommittee",
            SIGNED_IN,
            json!({ "accountId": "@a.account1", "name": "Expansion" }),
        ),
        case(
            "Mutation.setCommitteeMember",
            SIGNED_IN,
            json!({ "committeeId": "@a.committee", "contactId": "@a.contact1b",
                "role": "ECONOMIC_BUYER" }),
        ),
        case(
            "Mutation.removeCommitteeMember",
            SIGNED_IN,
            json!({ "committeeId": "@a.committee", "contactId": "@a.contact1" }),
        ),
        case(
            "Mutation.ingestEngagements",
            MARKETING,
            json!({ "events": [{ "eventId": "matrix-1", "contactId": "@a.contact2",
                "kind": "WEB_VISIT", "occurredAt": "@now" }] }),
        ),
        case(
            "Mutation.publishScoringModel",
            MARKETING,
            json!({ "input": { "halfLifeDays": 20.0 } }),
        ),
        case(
            "Mutation.setStage",
            SIGNED_IN,
            json!({ "accountId": "@a.account2", "stage": "DISQUALIFIED", "reason": "matrix" }),
        ),
        case(
            "Mutation.updateWorkspaceSettings",
            MANAGEMENT,
            json!({ "input": { "reassignBreachedTier1": true } }),
        ),
        case(
            "Mutation.updateRep",
            MANAGEMENT,
            json!({ "id": "@a.rep", "input": { "capacity": 21 } }),
        ),
        case(
            "Mutation.setRoutingRules",
            MANAGEMENT,
            json!({ "rules": [{ "name": "Pool", "target": "POOL", "tiers": [1], "pool": ["@a.rep"] },
                { "name": "Territory", "target": "TERRITORY" }] }),
        ),
        case(
            "Mutation.acceptAssignment",
            &[Rep],
            json!({ "id": "@a.assignment1" }),
        ),
        case(
            "Mutation.recordFirstTouch",
            &[Rep],
            json!({ "assignmentId": "@a.assignment1", "channel": "call" }),
        ),
        case(
            "Mutation.recordBant",
            SALES,
            json!({ "accountId": "@a.account1", "input": { "budget": 50000.0, "need": "CRM" } }),
        ),
        case(
            "Mutation.createOpportunity",
            SALES,
            json!({ "accountId": "@a.account4", "amount": 5000.0 }),
        ),
        case(
            "Mutation.closeOpportunity",
            SALES,
            json!({ "id": "@a.opportunity", "won": true }),
        ),
        case(
            "Mutation.reassign",
            MANAGEMENT,
            json!({ "accountId": "@a.account4", "repId": "@b.rep", "reason": "matrix" }),
        ),
        case(
            "Mutation.createSegment",
            MARKETING,
            json!({ "input": { "name": "Matrix", "filter": { "countryIn": ["DE"] } } }),
        ),
        case(
            "Mutation.updateSegment",
            MARKETING,
            json!({ "id": "@segment", "input": { "name": "Renamed", "filter": { "countryIn": ["US"] } } }),
        ),
        case(
            "Mutation.deleteSegment",
            MARKETING,
            json!({ "id": "@segment2" }),
        ),
        case(
            "Mutation.recordMarketingSpend",
            MARKETING,
            json!({ "month": "2026-10", "amount": 1000.0, "segmentId": "@segment" }),
        ),
    ]
}

#[tokio::test]
async fn every_role_reaches_exactly_what_it_may_on_every_field_of_the_schema() {
    let app = spawn_app().await;
    let acme = World::build(&app, "acme").await;
    let globex = World::build(&app, "globex").await;
    let schema = Schema::read(&acme.admin).await;
    let cases = cases();
    let mut m = Matrix {
        app: &app,
        schema: &schema,
        acme: &acme,
        globex: &globex,
        violations: Vec::new(),
    };

    let listed: BTreeSet<&str> = cases.iter().map(|c| c.field).collect();
    for field in schema.root_fields() {
        assert!(
            listed.contains(field.as_str()),
            "{field} has no row in the authorization matrix (tests/api/authz.rs): say who may \
             call it and with which arguments"
        );
    }

    // Refusals and foreign ids first: none of them may change anything.
    let before = (m.fingerprint(&acme).await, m.fingerprint(&globex).await);
    for c in &cases {
        m.refusals_and_foreign_ids(c).await;
    }
    let after = (m.fingerprint(&acme).await, m.fingerprint(&globex).await);
    let changed = differences(&before.0, &after.0);
    if !changed.is_empty() {
        m.violate(format!(
            "refused or foreign-id calls changed acme: {changed:?}"
        ));
    }
    let changed = differences(&before.1, &after.1);
    assert!(
        changed.is_empty(),
        "calls from acme changed globex: {changed:?}"
    );

    // Then each row's own call, for every role that may make it.
    for c in &cases {
        m.own_calls(c).await;
    }
    let changed = differences(&before.1, &m.fingerprint(&globex).await);
    assert!(
        changed.is_empty(),
        "acme's own calls changed globex: {changed:?}"
    );

    let unselected = schema.unselected();
    assert!(
        unselected.is_empty(),
        "fields no call of the matrix selected: {unselected:?}"
    );
    assert!(
        m.violations.is_empty(),
        "{} violations:\n{}",
        m.violations.len(),
        m.violations.join("\n")
    );
}

/// A workspace with two reps (A in the US, B in Germany), each owning four SQL accounts with
/// an assignment, a committee and an open deal; two segments.
struct World {
    name: &'static str,
    admin: Client,
    marketer: Client,
    manager: Client,
    /// Rep A.
    rep: Client,
    ids: BTreeMap<String, String>,
    /// Fixture values that are not ids: nothing to swap.
    values: BTreeMap<String, String>,
}

impl World {
    async fn build(app: &TestApp, name: &'static str) -> Self {
        let admin = app.user(name, Role::Admin).await;
        let marketer = app.user(name, Role::Marketer).await;
        let manager = app.user(name, Role::Manager).await;
        let rep_a = app.user(name, Role::Rep).await;
        let rep_b = app.user(name, Role::Rep).await;
        marketer.publish_one_event_sql_model().await;
        let mut ids = BTreeMap::new();
        let now = Utc::now();
        let mut events = Vec::new();
        for (r, rep, country) in [("a", &rep_a, "US"), ("b", &rep_b, "DE")] {
            ids.insert(format!("{r}.rep"), rep.id.clone());
            ok(&manager
                .gql(
                    "mutation($id: ID!, $i: RepInput!) { updateRep(id: $id, input: $i) { id } }",
                    json!({ "id": rep.id, "i": { "countries": [country], "capacity": 20 } }),
                )
                .await);
            for i in 1..=4 {
                let domain = format!("{r}{i}-{name}.com");
                let res = marketer
                    .gql(
                        "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
                        json!({ "i": [{ "name": domain, "domain": domain, "country": country }] }),
                    )
                    .await;
                ids.insert(
                    format!("{r}.account{i}"),
                    string(&res["data"]["upsertAccounts"][0]["id"]),
                );
                let contact = marketer.upsert_contact(&format!("jane@{domain}")).await;
                ids.insert(format!("{r}.contact{i}"), contact);
                events.push(json!({ "eventId": format!("{name}-{r}{i}"),
                    "contactEmail": format!("jane@{domain}"), "kind": "DEMO_REQUEST",
                    "occurredAt": (now - chrono::Duration::minutes(5)).to_rfc3339() }));
            }
            let bob = marketer
                .upsert_contact(&format!("bob@{r}1-{name}.com"))
                .await;
            ids.insert(format!("{r}.contact1b"), bob);
        }
        let res = marketer
            .gql(
                "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) { accepted } }",
                json!({ "e": events }),
            )
            .await;
        assert_eq!(res["data"]["ingestEngagements"]["accepted"], 8, "{res}");
        for (r, rep) in [("a", &rep_a), ("b", &rep_b)] {
            for i in 1..=4 {
                let res = admin
                    .gql(
                        "query($id: ID!) { account(id: $id) { assignment { id rep { id } } } }",
                        json!({ "id": ids[&format!("{r}.account{i}")] }),
                    )
                    .await;
                let a = &res["data"]["account"]["assignment"];
                assert_eq!(a["rep"]["id"], rep.id.as_str(), "{res}");
                ids.insert(format!("{r}.assignment{i}"), string(&a["id"]));
            }
            let res = manager
                .gql(
                    "mutation($a: ID!) { createBuyingCommittee(accountId: $a, name: \"CRM\") { id } }",
                    json!({ "a": ids[&format!("{r}.account1")] }),
                )
                .await;
            let committee = string(&res["data"]["createBuyingCommittee"]["id"]);
            ok(&manager
                .gql(
                    "mutation($c: ID!, $p: ID!) { setCommitteeMember(committeeId: $c, contactId: $p, role: CHAMPION) { id } }",
                    json!({ "c": committee, "p": ids[&format!("{r}.contact1")] }),
                )
                .await);
            ids.insert(format!("{r}.committee"), committee);
            let res = manager
                .gql(
                    "mutation($a: ID!) { createOpportunity(accountId: $a, amount: 1000) { id } }",
                    json!({ "a": ids[&format!("{r}.account3")] }),
                )
                .await;
            ids.insert(
                format!("{r}.opportunity"),
                string(&res["data"]["createOpportunity"]["id"]),
            );
        }
        for (key, name) in [("segment", "North America"), ("segment2", "Spare")] {
            let res = marketer
                .gql(
                    "mutation($i: SegmentInput!) { createSegment(input: $i) { id } }",
                    json!({ "i": { "name": name, "filter": { "countryIn": ["US"] } } }),
                )
                .await;
            ids.insert(key.to_owned(), string(&res["data"]["createSegment"]["id"]));
        }
        let values = BTreeMap::from(
            [
                ("from", (now - chrono::Duration::days(30)).to_rfc3339()),
                ("to", (now + chrono::Duration::days(1)).to_rfc3339()),
                ("now", (now - chrono::Duration::minutes(1)).to_rfc3339()),
                ("admin.email", admin.email.clone()),
                ("cursor0", quorum_api::bus::encode_cursor(0)),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        World {
            name,
            admin,
            marketer,
            manager,
            rep: rep_a,
            ids,
            values,
        }
    }

    fn client(&self, app: &TestApp, who: Who) -> Client {
        match who {
            Admin => self.admin.clone(),
            Marketer => self.marketer.clone(),
            Manager => self.manager.clone(),
            Rep => self.rep.clone(),
            Nobody => app.anonymous(),
        }
    }

    /// `args` with every `"@key"` replaced by this world's value, except `swap`'s key, which
    /// takes `swap`'s value.
    fn fill(&self, args: &Value, swap: Option<(&str, &str)>) -> Value {
        match args {
            Value::String(s) => match s.strip_prefix('@') {
                Some(key) => match swap {
                    Some((k, v)) if k == key => json!(v),
                    _ => json!(
                        self.ids
                            .get(key)
                            .or_else(|| self.values.get(key))
                            .unwrap_or_else(|| panic!("no fixture {key}"))
                    ),
                },
                None => args.clone(),
            },
            Value::Array(items) => items.iter().map(|v| self.fill(v, swap)).collect(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), self.fill(v, swap)))
                .collect(),
            _ => args.clone(),
        }
    }
}

/// The id keys `args` names.
fn id_keys(args: &Value, world: &World, out: &mut BTreeSet<String>) {
    match args {
        Value::String(s) => {
            if let Some(key) = s.strip_prefix('@').filter(|k| world.ids.contains_key(*k)) {
                out.insert(key.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| id_keys(v, world, out)),
        Value::Object(map) => map.values().for_each(|v| id_keys(v, world, out)),
        _ => {}
    }
}

fn ok(res: &Value) {
    assert!(res["errors"].is_null(), "{res}");
}

fn string(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_owned()
}

/// The schema as the server describes it, and which of its fields the matrix selected.
struct Schema {
    types: BTreeMap<String, Value>,
    /// `Query`, `Mutation`, `Subscription` → the root type's name.
    roots: BTreeMap<&'static str, String>,
    selected: Mutex<BTreeSet<String>>,
}

const INTROSPECTION: &str = "query { __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { kind name fields { name args { name defaultValue type { ...T } } type { ...T } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// How deep a generated selection goes below its root field (the server allows 12 levels).
const DEPTH: usize = 10;

impl Schema {
    async fn read(admin: &Client) -> Self {
        let res = admin.gql(INTROSPECTION, json!({})).await;
        let s = &res["data"]["__schema"];
        let types = s["types"]
            .as_array()
            .unwrap_or_else(|| panic!("{res}"))
            .iter()
            .map(|t| (string(&t["name"]), t.clone()))
            .collect();
        let roots = [
            ("Query", "queryType"),
            ("Mutation", "mutationType"),
            ("Subscription", "subscriptionType"),
        ]
        .map(|(op, key)| (op, string(&s[key]["name"])))
        .into();
        Schema {
            types,
            roots,
            selected: Mutex::new(BTreeSet::new()),
        }
    }

    /// `Query.me`, `Mutation.login`, … for every root field.
    fn root_fields(&self) -> Vec<String> {
        self.roots
            .iter()
            .flat_map(|(op, ty)| {
                self.fields(ty)
                    .iter()
                    .map(move |f| format!("{op}.{}", string(&f["name"])))
            })
            .collect()
    }

    fn fields(&self, ty: &str) -> &[Value] {
        self.types[ty]["fields"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn field(&self, path: &str) -> (&'static str, &Value) {
        let (op, name) = path.split_once('.').expect("Type.field");
        let (op, ty) = self
            .roots
            .get_key_value(op)
            .unwrap_or_else(|| panic!("no root {op}"));
        let field = self
            .fields(ty)
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{path} is not in the schema: drop its row"));
        (*op, field)
    }

    /// The operation calling root field `path` with a variable per argument in `args`,
    /// selecting everything below it.
    fn operation(&self, path: &str, args: &Value) -> String {
        let (op, field) = self.field(path);
        let name = string(&field["name"]);
        let mut decls = Vec::new();
        let mut pass = Vec::new();
        for a in field["args"].as_array().into_iter().flatten() {
            let arg = string(&a["name"]);
            if args.get(&arg).is_some() {
                decls.push(format!("${arg}: {}", decl(&a["type"])));
                pass.push(format!("{arg}: ${arg}"));
            } else {
                assert!(
                    !required(a),
                    "{path}: the matrix gives no value for its required argument {arg}"
                );
            }
        }
        for key in args.as_object().into_iter().flat_map(|m| m.keys()) {
            assert!(
                field["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a["name"] == *key),
                "{path} has no argument {key}"
            );
        }
        let (decls, pass) = (parenthesized(&decls), parenthesized(&pass));
        let target = named(&field["type"]);
        let below = match target["kind"].as_str() {
            Some("OBJECT") => {
                format!(
                    " {{ {} }}",
                    self.selection(&string(&target["name"]), DEPTH, &mut Vec::new())
                )
            }
            _ => String::new(),
        };
        format!("{} {decls} {{ {name}{pass}{below} }}", op.to_lowercase())
    }

    /// Every field of `ty`, objects expanded down to `depth` levels, each type at most once
    /// on a path (`Account.assignment.account` would add nothing new) but for a type that
    /// nests itself.
    fn selection(&self, ty: &str, depth: usize, path: &mut Vec<String>) -> String {
        path.push(ty.to_owned());
        let mut parts = Vec::new();
        for f in self.fields(ty) {
            let name = string(&f["name"]);
            let mut args = Vec::new();
            for a in f["args"].as_array().into_iter().flatten() {
                if a["name"] == "first" {
                    args.push("first: 3");
                } else {
                    assert!(
                        !required(a),
                        "{ty}.{name} takes a required argument {}: teach the matrix a value",
                        a["name"]
                    );
                }
            }
            let args = parenthesized(&args);
            let target = named(&f["type"]);
            let part = match target["kind"].as_str() {
                Some("SCALAR" | "ENUM") => Some(format!("{name}{args}")),
                Some("OBJECT") => {
                    let sub = string(&target["name"]);
                    // A type nests itself once (`SegmentFilter.and`), others not at all.
                    let on_path = path.iter().filter(|t| **t == sub).count();
                    let fresh = on_path == 0 || (sub == ty && on_path == 1);
                    (depth > 1 && fresh)
                        .then(|| self.selection(&sub, depth - 1, path))
                        .filter(|s| !s.is_empty())
                        .map(|s| format!("{name}{args} {{ {s} }}"))
                }
                other => panic!("{ty}.{name} is a {other:?}: teach the matrix to select it"),
            };
            if let Some(part) = part {
                self.selected
                    .lock()
                    .expect("selected")
                    .insert(format!("{ty}.{name}"));
                parts.push(part);
            }
        }
        path.pop();
        parts.join(" ")
    }

    /// Fields of the schema's own object types (not the root types, which the rows list)
    /// that no generated selection reached.
    fn unselected(&self) -> Vec<String> {
        let selected = self.selected.lock().expect("selected");
        let roots: BTreeSet<&String> = self.roots.values().collect();
        self.types
            .iter()
            .filter(|(name, t)| {
                t["kind"] == "OBJECT" && !name.starts_with("__") && !roots.contains(name)
            })
            .flat_map(|(name, _)| {
                self.fields(name)
                    .iter()
                    .map(move |f| format!("{name}.{}", string(&f["name"])))
            })
            .filter(|f| !selected.contains(f))
            .collect()
    }
}

/// `(a, b)`, or nothing for no items.
fn parenthesized(items: &[impl AsRef<str>]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("({})", items.join(", "))
}

fn named(t: &Value) -> &Value {
    if t["ofType"].is_object() {
        named(&t["ofType"])
    } else {
        t
    }
}

/// The type as a variable declaration writes it: `[ID!]!`.
fn decl(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", decl(&t["ofType"])),
        Some("LIST") => format!("[{}]", decl(&t["ofType"])),
        _ => string(&t["name"]),
    }
}

fn required(arg: &Value) -> bool {
    arg["type"]["kind"] == "NON_NULL" && arg["defaultValue"].is_null()
}

struct Matrix<'a> {
    app: &'a TestApp,
    schema: &'a Schema,
    acme: &'a World,
    globex: &'a World,
    violations: Vec<String>,
}

impl Matrix<'_> {
    fn violate(&mut self, v: String) {
        self.violations.push(v);
    }

    /// Runs `field` as `who` of acme with `vars`. A query or mutation answers its JSON
    /// response; a subscription `{ "events": [data…] }`, `{ "errors": … }` or
    /// `{ "closed": code }`.
    async fn call(&self, who: Who, c: &Case, vars: &Value) -> Value {
        let query = self.schema.operation(c.field, vars);
        let client = self.acme.client(self.app, who);
        if !c.field.starts_with("Subscription.") {
            return client.gql(&query, vars.clone()).await;
        }
        let mut ws = Ws::connect(&self.app.base, MODERN).await;
        let payload = match who {
            Nobody => json!({}),
            _ => json!({ "Authorization": format!("Bearer {}", client.token) }),
        };
        match ws.init_with(payload).await {
            Incoming::Json(m) if m["type"] == "connection_ack" => {}
            Incoming::Closed(code) => return json!({ "closed": code }),
            other => panic!("unexpected answer to connection_init: {other:?}"),
        }
        ws.start("m", &query, vars.clone()).await;
        let mut events = Vec::new();
        // A replay comes at once; a quiet half second after the last event ends the feed.
        while let Some(m) = ws.recv_for(Some("m"), Duration::from_millis(500)).await {
            match m {
                Incoming::Json(m) if m["type"] == "next" => {
                    if !m["payload"]["errors"].is_null() {
                        return json!({ "errors": m["payload"]["errors"], "events": events });
                    }
                    events.push(m["payload"]["data"].clone());
                }
                Incoming::Json(m) if m["type"] == "error" => {
                    return json!({ "errors": m["payload"], "events": events });
                }
                Incoming::Json(m) if m["type"] == "complete" => break,
                other => panic!("unexpected message for {}: {other:?}", c.field),
            }
        }
        ws.close().await;
        json!({ "events": events })
    }

    /// Whether `res` is a refusal with one of `codes` and no data for the field.
    fn refused(c: &Case, res: &Value, codes: &[&str]) -> bool {
        let name = c.field.split_once('.').map(|(_, n)| n).unwrap_or_default();
        if res.get("closed").is_some() {
            return matches!(res["closed"].as_u64(), Some(4401 | 4403));
        }
        let code = res["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default();
        let no_data = res["data"].is_null() || res["data"][name].is_null();
        let no_events = res["events"].as_array().is_none_or(Vec::is_empty);
        codes.contains(&code) && no_data && no_events
    }

    /// Another workspace's rows in `res`'s data, or (to a rep) another rep's assignments.
    async fn scan(&mut self, who: Who, c: &Case, label: &str, res: &Value) {
        let mut foreign: BTreeSet<String> = self.globex.ids.values().cloned().collect();
        if who == Rep {
            foreign.extend(self.assignments_of_rep_b().await);
        }
        let mut found = Vec::new();
        let data = if res.get("events").is_some() {
            &res["events"]
        } else {
            &res["data"]
        };
        strings(data, &mut |s| {
            if foreign.contains(s) || s.contains(self.globex.name) {
                found.push(s.to_owned());
            }
        });
        if !found.is_empty() {
            self.violate(format!(
                "{} as {who:?} ({label}) shows what is not theirs: {found:?}",
                c.field
            ));
        }
    }

    async fn assignments_of_rep_b(&self) -> Vec<String> {
        let res = self
            .acme
            .admin
            .gql(
                "query($r: ID) { assignments(repId: $r, first: 100) { edges { node { id } } } }",
                json!({ "r": self.acme.ids["b.rep"] }),
            )
            .await;
        let mut ids = Vec::new();
        strings(&res["data"], &mut |s| ids.push(s.to_owned()));
        assert!(!ids.is_empty(), "{res}");
        ids
    }

    /// Refused roles, foreign and made-up ids, and (for a rep) rep B's ids: nothing here may
    /// succeed in changing anything.
    async fn refusals_and_foreign_ids(&mut self, c: &Case) {
        let (acme, globex) = (self.acme, self.globex);
        let mutation = c.field.starts_with("Mutation.");
        let mut keys = BTreeSet::new();
        id_keys(&c.args, acme, &mut keys);
        for who in EVERYONE {
            if !c.may.contains(&who) {
                let res = self.call(who, c, &self.acme.fill(&c.args, None)).await;
                let codes: &[&str] = if who == Nobody {
                    &["UNAUTHENTICATED"]
                } else {
                    &["FORBIDDEN", "NOT_FOUND"]
                };
                if !Self::refused(c, &res, codes) {
                    self.violate(format!(
                        "{} as {who:?} was not refused ({codes:?}): {res}",
                        c.field
                    ));
                }
                self.scan(who, c, "refused", &res).await;
            }
            if who == Nobody {
                continue;
            }
            for key in &keys {
                let theirs = &globex.ids[key];
                let made_up = uuid::Uuid::new_v4().to_string();
                let other = self
                    .call(who, c, &self.acme.fill(&c.args, Some((key, theirs))))
                    .await;
                let none = self
                    .call(who, c, &self.acme.fill(&c.args, Some((key, &made_up))))
                    .await;
                let (o, n) = (
                    other.to_string().replace(theirs.as_str(), "<id>"),
                    none.to_string().replace(&made_up, "<id>"),
                );
                if o != n {
                    self.violate(format!(
                        "{} as {who:?}: globex's {key} answers unlike an id that does not \
                         exist:\n  theirs: {o}\n  none:   {n}",
                        c.field
                    ));
                }
                self.scan(who, c, &format!("globex's {key}"), &other).await;
                if who == Rep
                    && let Some(kind) = key.strip_prefix("a.")
                {
                    let bs = &acme.ids[&format!("b.{kind}")];
                    let res = self
                        .call(who, c, &self.acme.fill(&c.args, Some((key, bs))))
                        .await;
                    if mutation && res["errors"].is_null() {
                        self.violate(format!(
                            "{} as rep A succeeded on rep B's {kind}: {res}",
                            c.field
                        ));
                    }
                    self.scan(who, c, &format!("rep B's {kind}"), &res).await;
                }
            }
        }
    }

    /// The row's own call for every role that may make it: never refused, never showing what
    /// is not theirs, and fully successful for at least one role.
    async fn own_calls(&mut self, c: &Case) {
        let mut succeeded = false;
        let mut answers = Vec::new();
        for who in c.may.iter().copied() {
            let res = self.call(who, c, &self.acme.fill(&c.args, None)).await;
            let code = res["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or_default();
            if matches!(code, "FORBIDDEN" | "UNAUTHENTICATED") || res.get("closed").is_some() {
                self.violate(format!("{} as {who:?} was refused: {res}", c.field));
            }
            let has_events = res["events"].as_array().is_some_and(|e| !e.is_empty());
            let is_subscription = res.get("events").is_some();
            if res["errors"].is_null() && (has_events || !is_subscription) {
                succeeded = true;
            }
            self.scan(who, c, "own", &res).await;
            answers.push(format!("{who:?}: {res}"));
        }
        if !succeeded {
            self.violate(format!(
                "{} {}: no role in its row succeeded with its own ids: {answers:?}",
                c.field, c.args
            ));
        }
    }

    /// What a workspace's admin reads of it: any write shows here.
    async fn fingerprint(&self, w: &World) -> Value {
        let mut all = serde_json::Map::new();
        for root in [
            "accounts",
            "assignments",
            "segments",
            "reps",
            "routingRules",
            "scoringModel",
            "workspaceSettings",
        ] {
            let path = format!("Query.{root}");
            let (_, field) = self.schema.field(&path);
            let takes_first = field["args"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["name"] == "first");
            let vars = if takes_first {
                json!({ "first": 20 })
            } else {
                json!({})
            };
            let res = w
                .admin
                .gql(&self.schema.operation(&path, &vars), vars)
                .await;
            ok(&res);
            let mut data = res["data"][root].clone();
            // Decays with every read's clock, not with writes.
            drop_keys(&mut data, "engagementScore");
            all.insert(root.to_owned(), data);
        }
        Value::Object(all)
    }
}

/// Calls `f` on every string in `v`.
fn strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|i| strings(i, f)),
        Value::Object(map) => map.values().for_each(|i| strings(i, f)),
        _ => {}
    }
}

/// Where `a` and `b` differ: each path with both values.
fn differences(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
                for (k, v) in x {
                    walk(v, &y[k], &format!("{path}.{k}"), out);
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    walk(v, w, &format!("{path}[{i}]"), out);
                }
            }
            _ if a != b => out.push(format!("{path}: {a} → {b}")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(a, b, "", &mut out);
    out
}

fn drop_keys(v: &mut Value, key: &str) {
    match v {
        Value::Object(map) => {
            map.remove(key);
            map.values_mut().for_each(|v| drop_keys(v, key));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| drop_keys(v, key)),
        _ => {}
    }
}
