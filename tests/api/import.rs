//! `quorum import`: header mapping, per-row rejects with their lines, idempotent re-runs, and
//! nothing written for a malformed file.

use std::path::{Path, PathBuf};

use quorum_api::import::{self, Format, ImportError, Kind, Options, Summary};
use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, spawn_app};

fn options(kind: Kind, file: &Path) -> Options {
    Options::new(kind, file.to_owned(), "acme")
}

async fn run(app: &TestApp, opts: Options) -> Summary {
    import::run(&app.state.db, opts)
        .await
        .unwrap_or_else(|e| panic!("import failed: {e}"))
}

fn write(app: &TestApp, name: &str, text: &str) -> PathBuf {
    let path = app.db.dir().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// (rows, accepted, duplicates, rejected)
fn counts(s: &Summary) -> (usize, usize, usize, usize) {
    (s.rows, s.accepted, s.duplicates, s.rejected)
}

/// The rejects file's header, and its rows as (line, reason) pairs.
fn rejects_csv(path: &Path) -> (String, Vec<(String, String)>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().collect::<Vec<_>>().join(",");
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[0].to_owned(), rec[1].to_owned())
        })
        .collect();
    (header, rows)
}

async fn accounts(m: &Client) -> Vec<Value> {
    let res = m
        .gql(
            "{ accounts(first: 100, orderBy: {field: NAME, direction: ASC}) { nodes {
                name domain industry employeeCount annualRevenue country technologies tier
                score { total engagement }
                contacts { nodes { email name seniority } } } } }",
            json!({}),
        )
        .await;
    res["data"]["accounts"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{res}"))
        .clone()
}

#[tokio::test]
async fn an_import_maps_columns_to_input_fields_rejects_bad_rows_by_line_and_reruns_idempotently() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;

    // Line 3's quoted name spans two lines, so the rows after it start a line later.
    let file = write(
        &app,
        "accounts.csv",
        "name, domain ,industry,employeeCount,annualRevenue,country,technologies,tier\n\
         Globex,globex.com,Fintech,1200,5e7,us,Salesforce; Snowflake,1\n\
         \"Initech,\nInc.\",initech.com,Software,lots,,US,,\n\
         Umbrella,umbrella.com,Biotech,300,,DE,,\n\
         Bad,not a domain,,,,,,\n\
         Hooli,hooli.com,,,,ZZ,,\n\
         Wayne,wayne.com,,,,,,7\n",
    );
    let s = run(&app, options(Kind::Accounts, &file)).await;
    assert_eq!(counts(&s), (6, 2, 0, 4));
    let rejects = s.rejects_file.clone().unwrap();
    assert_eq!(rejects, app.db.dir().join("accounts.csv.rejected.csv"));
    let (header, rows) = rejects_csv(&rejects);
    assert_eq!(
        header,
        "line,reason,name,domain,industry,employeeCount,annualRevenue,country,technologies,tier"
    );
    let lines: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(lines, ["3", "6", "7", "8"], "{rows:?}");
    assert!(rows[0].1.starts_with("employeeCount: `lots`"), "{rows:?}");
    assert!(rows[1].1.starts_with("domain:"), "{rows:?}");
    assert!(rows[2].1.starts_with("country:"), "{rows:?}");
    assert!(rows[3].1.starts_with("tier:"), "{rows:?}");

    let stored = accounts(&m).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[0]["name"], "Globex");
    assert_eq!(stored[0]["industry"], "Fintech");
    assert_eq!(stored[0]["employeeCount"], 1200);
    assert_eq!(stored[0]["annualRevenue"], 5e7);
    assert_eq!(stored[0]["country"], "US");
    assert_eq!(
        stored[0]["technologies"],
        json!(["Salesforce", "Snowflake"])
    );
    assert_eq!(stored[0]["tier"], 1);
    assert_eq!(stored[1]["domain"], "umbrella.com");
    assert_eq!(stored[1]["tier"], Value::Null);

    // The same file again changes nothing and says so.
    let again = run(&app, options(Kind::Accounts, &file)).await;
    assert_eq!(counts(&again), (6, 0, 2, 4));
    assert_eq!(accounts(&m).await, stored);

    // Contacts from NDJSON: an account that does not exist rejects that row alone, though the
    // write checks it batch-wide.
    let file = write(
        &app,
        "contacts.ndjson",
        r#"{"email": "ann@globex.com", "name": "Ann", "title": "CFO", "seniority": "C_LEVEL"}

{"email": "bob@example.org", "accountDomain": "nowhere.example"}
{"email": "not-an-email"}
{"email": "cy@umbrella.com", "seniority": "VP", "accountDomain": "umbrella.com"}
{"email": "dee@globex.com", "seniority": "intern"}
"#,
    );
    let s = run(&app, options(Kind::Contacts, &file)).await;
    assert_eq!(counts(&s), (5, 2, 0, 3));
    let text = std::fs::read_to_string(s.rejects_file.unwrap()).unwrap();
    let rejected: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines: Vec<&Value> = rejected.iter().map(|r| &r["line"]).collect();
    assert_eq!(lines, [&json!(3), &json!(4), &json!(6)], "{text}");
    assert_eq!(
        rejected[0]["reason"],
        "accountDomain: no account has the domain nowhere.example"
    );
    assert_eq!(rejected[0]["record"]["email"], "bob@example.org");
    assert!(
        rejected[2]["reason"].as_str().unwrap().contains("intern"),
        "{text}"
    );
    let again = run(&app, options(Kind::Contacts, &file)).await;
    assert_eq!(counts(&again), (5, 0, 2, 3));

    // Events: an unknown kind and a future date are rejected by line; the rest are scored.
    let day = |n: i64| (chrono::Utc::now() - chrono::Duration::days(n)).to_rfc3339();
    let (d1, d2, d3) = (day(3), day(2), day(1));
    let file = write(
        &app,
        "events.csv",
        &format!(
            "eventId,contactEmail,kind,occurredAt,metadata\n\
             e1,ann@globex.com,DEMO_REQUEST,{d1},\"{{\"\"page\"\": \"\"/demo\"\"}}\"\n\
             e2,ann@globex.com,TELEPATHY,{d1},\n\
             e3,cy@umbrella.com,PRICING_PAGE_VIEW,2999-01-01T00:00:00Z,\n\
             e4,cy@umbrella.com,PRICING_PAGE_VIEW,{d2},\n\
             e1,ann@globex.com,DEMO_REQUEST,{d1},\n\
             e5,new.person@globex.com,WEBINAR_ATTENDED,{d3},not json\n"
        ),
    );
    let mut opts = options(Kind::Engagements, &file);
    opts.rejects = Some(app.db.dir().join("bad-events.csv"));
    let s = run(&app, opts).await;
    assert_eq!(counts(&s), (6, 2, 1, 3));
    let (_, rows) = rejects_csv(&app.db.dir().join("bad-events.csv"));
    let lines: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(lines, ["3", "4", "7"], "{rows:?}");
    assert!(rows[0].1.contains("TELEPATHY"), "{rows:?}");
    assert!(rows[1].1.contains("future"), "{rows:?}");
    assert!(rows[2].1.starts_with("metadata:"), "{rows:?}");
    let scored = accounts(&m).await;
    assert!(
        scored
            .iter()
            .all(|a| a["score"]["engagement"].as_f64().unwrap() > 0.0),
        "{scored:?}"
    );
    // Re-sent events are duplicates and are not scored twice.
    let again = run(&app, options(Kind::Engagements, &file)).await;
    assert_eq!(counts(&again), (6, 0, 3, 3));
    assert_eq!(accounts(&m).await, scored);
}

#[tokio::test]
async fn a_malformed_file_writes_nothing_and_names_the_line() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let bad = |s: Result<Summary, ImportError>| match s {
        Err(ImportError::BadFile(msg)) => msg,
        other => panic!("expected a bad file, got {other:?}"),
    };

    // Good rows first, then a record with too many fields: the good ones are not written.
    let file = write(
        &app,
        "accounts.csv",
        "name,domain\nA,a.com\nB,b.com\nC,c.com\nD,d.com,extra\nE,e.com\n",
    );
    let msg = bad(import::run(&app.state.db, options(Kind::Accounts, &file)).await);
    assert!(
        msg.starts_with("line 5:") && msg.contains("3 fields"),
        "{msg}"
    );

    let file = write(&app, "a.csv", "name,domain,colour\nA,a.com,red\n");
    let msg = bad(import::run(&app.state.db, options(Kind::Accounts, &file)).await);
    assert!(msg.contains("unknown column `colour`"), "{msg}");
    assert!(msg.contains("employeeCount"), "lists the columns: {msg}");

    let file = write(&app, "b.csv", "name,industry\nA,Fintech\n");
    let msg = bad(import::run(&app.state.db, options(Kind::Accounts, &file)).await);
    assert!(msg.contains("required column `domain`"), "{msg}");

    let file = write(
        &app,
        "c.ndjson",
        "{\"name\": \"A\", \"domain\": \"a.com\"}\n{\"name\": \"B\", \"domain\": \"b.com\"}\n{oops\n",
    );
    let msg = bad(import::run(&app.state.db, options(Kind::Accounts, &file)).await);
    assert!(msg.starts_with("line 3:"), "{msg}");

    for name in ["e.csv", "e.ndjson"] {
        let path = app.db.dir().join(name);
        let first: &[u8] = if name.ends_with("csv") {
            b"name,domain\nA,a.com\n"
        } else {
            b"{\"name\": \"A\", \"domain\": \"a.com\"}\n"
        };
        std::fs::write(&path, [first, b"B,\xff.com\n"].concat()).unwrap();
        let msg = bad(import::run(&app.state.db, options(Kind::Accounts, &path)).await);
        let line = if name.ends_with("csv") {
            "line 3"
        } else {
            "line 2"
        };
        assert_eq!(msg, format!("{line}: not valid UTF-8"), "{name}");
    }

    let file = write(&app, "d.txt", "name,domain\nA,a.com\n");
    let msg = bad(import::run(&app.state.db, options(Kind::Accounts, &file)).await);
    assert!(msg.contains("--format"), "{msg}");
    let mut opts = options(Kind::Accounts, &file);
    opts.workspace = "nobody".into();
    opts.format = Some(Format::Csv);
    let msg = bad(import::run(&app.state.db, opts).await);
    assert!(msg.contains("no workspace is called `nobody`"), "{msg}");

    assert_eq!(accounts(&m).await, Vec::<Value>::new());

    // The same file named as CSV imports into the right workspace only.
    let mut opts = options(Kind::Accounts, &file);
    opts.format = Some(Format::Csv);
    assert_eq!(counts(&run(&app, opts).await), (1, 1, 0, 0));
    let other = app.user("globex", Role::Marketer).await;
    assert_eq!(accounts(&other).await, Vec::<Value>::new());
    assert_eq!(accounts(&m).await.len(), 1);
}

#[tokio::test]
async fn a_generated_workspace_imports_whole_and_scores_its_hot_accounts_highest() {
    let app = spawn_app().await;
    let m = app.user("acme", Role::Marketer).await;
    let now = quorum_api::scoring::timestamp(chrono::Utc::now());
    let mut spec = quorum_domain::generate::Spec::new(40, 5, now);
    spec.events = 3_000;
    let files = quorum_api::generate::write(&spec, &app.db.dir().join("generated")).unwrap();
    let people = quorum_domain::generate::population(&spec);
    for (kind, file, rows) in [
        (Kind::Accounts, &files.accounts, people.accounts.len()),
        (Kind::Contacts, &files.contacts, people.contacts.len()),
        (Kind::Engagements, &files.engagements, 3_000),
    ] {
        let s = run(&app, options(kind, file)).await;
        assert_eq!(counts(&s), (rows, rows, 0, 0), "{kind:?}");
    }
    let again = run(&app, options(Kind::Engagements, &files.engagements)).await;
    assert_eq!(counts(&again), (3_000, 0, 3_000, 0));

    let stored = accounts(&m).await;
    assert_eq!(stored.len(), 40);
    let engagement = |domain: &str| {
        stored
            .iter()
            .find(|a| a["domain"] == domain)
            .map(|a| a["score"]["engagement"].as_f64().unwrap())
            .unwrap()
    };
    let hottest = people
        .accounts
        .iter()
        .max_by(|a, b| a.interest.total_cmp(&b.interest))
        .unwrap();
    let mut all: Vec<f64> = stored
        .iter()
        .map(|a| a["score"]["engagement"].as_f64().unwrap())
        .collect();
    all.sort_by(f64::total_cmp);
    assert!(
        engagement(&hottest.domain) > all[all.len() / 2],
        "{}: {} vs median {}",
        hottest.domain,
        engagement(&hottest.domain),
        all[all.len() / 2]
    );
}
