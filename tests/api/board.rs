//! The pipeline board at `/` and the offline GraphiQL: served from the binary, every file they
//! reference served with its type, nothing loaded from another host.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{Client, PASSWORD, TestApp, spawn_app};
use crate::webdriver::Browser;

/// A page's and its scripts' references to our own files, followed to the end: each one is
/// fetched, checked for its content type and scanned for references of its own. Returns
/// every path served and its body.
async fn crawl(app: &TestApp, page: &str) -> Vec<(String, String)> {
    let mut queue = vec![page.to_owned()];
    let mut seen = BTreeSet::new();
    let mut served = Vec::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let res = app
            .get(&path)
            .header("accept", "text/html,*/*")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path} (referenced) is served");
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let expected = if path == page {
            "text/html"
        } else {
            expected_type(&path)
        };
        assert!(
            ct.starts_with(expected),
            "{path} is served as {ct:?}, not {expected}"
        );
        let body = res.text().await.unwrap();
        for r in references(&body) {
            queue.push(resolve(&path, &r));
        }
        served.push((path, body));
    }
    served
}

fn expected_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        Some("txt") => "text/plain",
        Some("html") => "text/html",
        _ => panic!("no expected type for {path}"),
    }
}

/// `./x.js` relative to `/assets/board/board.js` is `/assets/board/x.js`.
fn resolve(from: &str, reference: &str) -> String {
    match reference.strip_prefix("./") {
        Some(rest) => {
            let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
            format!("{dir}/{rest}")
        }
        None => reference.to_owned(),
    }
}

/// What our pages and scripts load from this server: `src`/`href` attributes, module imports
/// (`from './x.js'`) and quoted `/assets/…` paths (fetched by script).
fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in [
        "src=\"",
        "href=\"",
        "from '",
        "from \"",
        "'/assets/",
        "\"/assets/",
    ] {
        for (i, _) in text.match_indices(marker) {
            let quote = if marker.contains('\'') { '\'' } else { '"' };
            let start = i + marker.rfind(quote).unwrap() + 1;
            let value: String = text[start..].chars().take_while(|c| *c != quote).collect();
            let local = value.starts_with("/assets/") || value.starts_with("./");
            // Links to other pages (`/graphql`) are not assets of this one.
            if local && !value.contains(['{', '$', ' ']) {
                out.push(value);
            }
        }
    }
    out
}

/// Where `text` loads something from another host: an `http(s)://` URL right after `src=`,
/// `href=`, `url(`, `import`, `from`, `fetch(`, `new WebSocket(`…, and not in a comment.
/// (Vendored bundles quote URLs in comments, error messages and XML namespaces; none of
/// those loads anything.)
fn external_references(text: &str) -> Vec<String> {
    const SINKS: &[&str] = &[
        "src=",
        "href=",
        "srcset=",
        "action=",
        "url",
        "import",
        "from",
        "fetch",
        "WebSocket",
        "EventSource",
        "Worker",
        "importScripts",
        "sendBeacon",
    ];
    let mut out = Vec::new();
    for (i, _) in text.match_indices("http") {
        let rest = &text[i..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let before = text[..i].trim_end_matches(|c: char| c.is_whitespace() || "\"'`(".contains(c));
        if !SINKS.iter().any(|s| before.ends_with(s)) || in_comment(&text[..i]) {
            continue;
        }
        let from = before.len().saturating_sub(30);
        let from = (0..=from)
            .rev()
            .find(|&n| text.is_char_boundary(n))
            .unwrap_or(0);
        let to = rest.char_indices().nth(60).map_or(rest.len(), |(n, _)| n);
        out.push(format!("{}{}", &text[from..i], &rest[..to]));
    }
    out
}

/// Whether the end of `before` is inside a `//` line comment, a `/* */` block or an HTML
/// comment. Heuristic, but errs towards "not a comment": a URL it misses as code is flagged.
fn in_comment(before: &str) -> bool {
    let line = before.rsplit('\n').next().unwrap_or(before);
    let t = line.trim_start();
    t.starts_with("//")
        || t.starts_with("/*")
        || t.starts_with('*')
        || line.contains("// ")
        || before.rfind("/*") > before.rfind("*/")
        || before.rfind("<!--") > before.rfind("-->")
}

#[test]
fn the_external_reference_scan_finds_loads_and_ignores_comments() {
    for bad in [
        r#"<script src="https://cdn.example.com/react.js"></script>"#,
        r#"<link rel="stylesheet" href='http://cdn.example.com/x.css'>"#,
        "@import url(https://fonts.example.com/css);",
        r#"import { x } from "https://esm.example.com/x.js";"#,
        "const r = await fetch(`https://api.example.com/graphql`);",
        "new WebSocket('wss://x'); new WebSocket( 'https://x')",
    ] {
        assert_eq!(external_references(bad).len(), 1, "{bad}");
    }
    for fine in [
        "// Adapted from https://github.com/example/he",
        "/* see\n * https://example.com/spec */ const a = 1;",
        "<!-- from https://example.com -->",
        r#"return "http://www.w3.org/2000/svg";"#,
        "throw new Error('see https://reactjs.org/link/x');",
        r#"<script src="/assets/board/board.js"></script>"#,
    ] {
        assert_eq!(external_references(fine), Vec::<String>::new(), "{fine}");
    }
}

/// Our own files name no other host at all, not even in a comment: a reviewer reading them
/// sees at once that they load nothing from elsewhere.
fn assert_no_urls(path: &str, body: &str) {
    for scheme in ["http://", "https://", "ws://", "wss://"] {
        assert!(
            !body.contains(scheme),
            "{path} mentions a {scheme} URL; the board must work offline"
        );
    }
    let ext = external_references(body);
    assert!(ext.is_empty(), "{path} loads from another host: {ext:?}");
}

#[tokio::test]
async fn the_board_is_served_at_the_root_with_every_asset_it_references() {
    let app = spawn_app().await;
    let res = app.get("/").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp:?}");
    let served = crawl(&app, "/").await;
    let paths: Vec<&str> = served.iter().map(|(p, _)| p.as_str()).collect();
    for expected in [
        "/assets/board/board.css",
        "/assets/board/board.js",
        "/assets/board/operations.js",
        "/assets/board/live.js",
    ] {
        assert!(paths.contains(&expected), "{expected} in {paths:?}");
    }
    for (path, body) in &served {
        // The GraphiQL files are checked with GraphiQL; the board only probes one of them.
        if !path.starts_with("/assets/graphiql/") {
            assert_no_urls(path, body);
        }
    }
    let page = &served[0].1;
    assert!(page.contains("<form id=\"login-form\""), "{page}");
    // Every operation the board sends is named, so it can be told apart in logs.
    let ops = &served
        .iter()
        .find(|(p, _)| p == "/assets/board/operations.js")
        .unwrap()
        .1;
    for name in [
        "mutation BoardLogin(",
        "query BoardTopAccounts(",
        "mutation BoardAcceptAssignment(",
        "mutation BoardRecordFirstTouch(",
        "subscription BoardSqlPromotions(",
        "subscription BoardAssignmentUpdates(",
    ] {
        assert!(ops.contains(name), "operations.js has {name}");
    }
}

#[tokio::test]
async fn board_files_are_revalidated_and_unknown_ones_are_missing() {
    let app = spawn_app().await;
    let res = app.get("/assets/board/board.js").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .get("/assets/board/board.js")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    for missing in ["/assets/board/nope.js", "/assets/board/../Cargo.toml"] {
        let res = app.get(missing).send().await.unwrap();
        assert_eq!(res.status(), 404, "{missing}");
    }
}

/// GraphiQL's vendored files, which the page references, and their licences, which it does not.
const GRAPHIQL_FILES: &[&str] = &[
    "/assets/graphiql/start.js",
    "/assets/graphiql/graphiql-3.8.3.min.js",
    "/assets/graphiql/graphiql-3.8.3.min.css",
    "/assets/graphiql/react-18.3.1.production.min.js",
    "/assets/graphiql/react-dom-18.3.1.production.min.js",
    "/assets/graphiql/LICENSE.graphiql.txt",
    "/assets/graphiql/LICENSE.react.txt",
    "/assets/graphiql/LICENSE.react-dom.txt",
];

#[tokio::test]
async fn graphiql_is_served_offline_from_vendored_files() {
    let app = spawn_app().await;
    let served = crawl(&app, "/graphql").await;
    let paths: BTreeSet<&str> = served.iter().map(|(p, _)| p.as_str()).collect();
    for (path, body) in &served {
        if path == "/graphql" || path.ends_with("/start.js") {
            assert_no_urls(path, body);
        } else {
            let ext = external_references(body);
            assert!(ext.is_empty(), "{path} loads from another host: {ext:?}");
        }
    }
    for file in GRAPHIQL_FILES {
        if file.contains("LICENSE") {
            let res = app.get(file).send().await.unwrap();
            assert_eq!(res.status(), 200, "{file}");
            assert!(res.text().await.unwrap().contains("MIT License"), "{file}");
        } else {
            assert!(paths.contains(file), "the page loads {file}: {paths:?}");
        }
    }
    // Versioned names: a browser keeps them; our own start script is revalidated.
    let res = app
        .get("/assets/graphiql/graphiql-3.8.3.min.js")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let res = app.get("/assets/graphiql/start.js").send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "no-cache");
    // Subscriptions go to this server's /graphql, with the board's saved token.
    let start = &served
        .iter()
        .find(|(p, _)| p.ends_with("/start.js"))
        .unwrap()
        .1;
    assert!(start.contains("subscriptionUrl"), "{start}");
    assert!(start.contains("sessionStorage.getItem('quorum.token')"));
}

#[tokio::test]
async fn with_graphiql_off_its_page_and_files_are_missing_and_the_board_stays() {
    let app = crate::helpers::spawn_app_with(|c| c.graphiql = false).await;
    let page = app
        .get("/graphql")
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    for file in GRAPHIQL_FILES {
        let res = app.get(file).send().await.unwrap();
        assert_eq!(res.status(), 404, "{file}");
    }
    // An API client without a query still hears what is missing.
    let res = app.get("/graphql").send().await.unwrap();
    assert_eq!(res.status(), 400);
    let served = crawl(&app, "/").await;
    assert!(served.len() > 1, "{served:?}");
}

/// Where a browser test saves a picture of the board: `docs/` (the README shows
/// `docs/board.png`, taken on the demo) when `QUORUM_UPDATE_SCREENSHOTS` is set, else the temp
/// dir, so that a test run leaves the work tree as it was.
pub fn screenshot_path(name: &str) -> std::path::PathBuf {
    if std::env::var_os("QUORUM_UPDATE_SCREENSHOTS").is_some() {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs")
            .join(name)
    } else {
        std::env::temp_dir().join(format!("quorum-{name}"))
    }
}

/// Logs in through the board's form at `base` and waits for the board and its live feed.
pub async fn log_in(browser: &Browser, base: &str, email: &str, password: &str) {
    browser.goto(&format!("{base}/")).await;
    browser
        .wait_for("#login:not([hidden]) #login-form", "the login form")
        .await;
    browser.type_into("#email", email).await;
    browser.type_into("#password", password).await;
    browser.click("#login-form button[type=submit]").await;
    browser
        .wait_for("#board:not([hidden])", "the board after logging in")
        .await;
    browser
        .wait_for("#live-status[data-status=live]", "the live feed")
        .await;
}

/// Waits for assignment `id` to arrive live, clicks Accept, waits for the board to show it
/// accepted, and checks through the API, as `rep`, that it is.
pub async fn accept(browser: &Browser, rep: &Client, id: &str) {
    let item = format!("#assignments [data-assignment-id=\"{id}\"]");
    browser
        .wait_for(
            &format!("{item} button[data-action=accept]"),
            "the assignment, live",
        )
        .await;
    browser
        .click(&format!("{item} button[data-action=accept]"))
        .await;
    browser
        .wait_for(
            &format!("{item}[data-status=ACCEPTED]"),
            "the assignment shown as accepted",
        )
        .await;
    let res = rep
        .gql(
            "{ assignments(first: 100) { nodes { id status acceptedAt } } }",
            json!({}),
        )
        .await;
    let accepted = res["data"]["assignments"]["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["id"] == id))
        .unwrap_or_else(|| panic!("{res}"));
    assert_eq!(accepted["status"], "ACCEPTED", "{res}");
    assert!(accepted["acceptedAt"].is_string(), "{res}");
}

/// Accounts for the board to rank: engaged to different degrees, none an SQL yet (no
/// high-intent action), one outside the US. Returns the id of a segment of the US ones.
async fn seed(m: &Client) -> String {
    let accounts = json!([
        { "name": "Acme Corp", "domain": "acme.io", "country": "US", "industry": "Software", "employeeCount": 1200, "tier": 1 },
        { "name": "Globex", "domain": "globex.com", "country": "US", "industry": "Manufacturing", "employeeCount": 5400, "tier": 2 },
        { "name": "Umbrella Health", "domain": "umbrella.health", "country": "US", "industry": "Healthcare", "employeeCount": 800 },
        { "name": "Hooli", "domain": "hooli.xyz", "country": "US", "industry": "Internet", "employeeCount": 9000, "tier": 1 },
        { "name": "Soylent", "domain": "soylent.com", "country": "US", "industry": "Food", "employeeCount": 300, "tier": 3 },
        { "name": "Stark Industrie", "domain": "stark.de", "country": "DE", "industry": "Manufacturing", "employeeCount": 2000 },
    ]);
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
            json!({ "i": accounts }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let contacts = json!([
        { "email": "ana@acme.io", "name": "Ana Ruiz", "title": "CFO", "seniority": "C_LEVEL" },
        { "email": "raj@acme.io", "name": "Raj Patel", "title": "VP Marketing", "seniority": "VP" },
        { "email": "li@globex.com", "name": "Li Wei", "title": "Director IT", "seniority": "DIRECTOR" },
        { "email": "sam@umbrella.health", "name": "Sam Cole", "title": "Analyst", "seniority": "INDIVIDUAL_CONTRIBUTOR" },
        { "email": "kim@hooli.xyz", "name": "Kim Park", "title": "VP Sales", "seniority": "VP" },
        { "email": "joe@soylent.com", "name": "Joe Bell", "title": "Manager", "seniority": "MANAGER" },
        { "email": "eva@stark.de", "name": "Eva Stark", "title": "CEO", "seniority": "C_LEVEL" },
    ]);
    let res = m
        .gql(
            "mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }",
            json!({ "i": contacts }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let events: Vec<Value> = [
        ("ana@acme.io", "WEBINAR_ATTENDED", 2),
        ("ana@acme.io", "CONTENT_DOWNLOAD", 5),
        ("raj@acme.io", "EMAIL_CLICK", 1),
        ("li@globex.com", "CONTENT_DOWNLOAD", 3),
        ("li@globex.com", "WEB_VISIT", 10),
        ("sam@umbrella.health", "EMAIL_OPEN", 4),
        ("kim@hooli.xyz", "WEBINAR_ATTENDED", 20),
        ("joe@soylent.com", "EMAIL_OPEN", 30),
        ("eva@stark.de", "FORM_SUBMIT", 1),
    ]
    .iter()
    .enumerate()
    .map(|(n, (email, kind, days))| {
        json!({ "eventId": format!("seed-{n}"), "contactEmail": email, "kind": kind,
            "occurredAt": (Utc::now() - chrono::Duration::days(*days)).to_rfc3339() })
    })
    .collect();
    let res = m.gql(INGEST, json!({ "e": events })).await;
    assert_eq!(res["data"]["ingestEngagements"]["accepted"], 9, "{res}");
    let res = m
        .gql(
            "mutation($i: SegmentInput!) { createSegment(input: $i) { id } }",
            json!({ "i": { "name": "United States", "filter": { "countryIn": ["US"] } } }),
        )
        .await;
    res["data"]["createSegment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{res}"))
        .to_owned()
}

const INGEST: &str = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) {
    accepted promotions { accountId to } } }";

/// What `promote` made.
struct Promoted {
    account: String,
    assignment: String,
    rep: String,
}

/// A new account (`input`, an `AccountInput`) made an SQL by its CEO's demo request.
async fn promote(m: &Client, manager: &Client, input: Value) -> Promoted {
    let res = m
        .gql(
            "mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id domain } }",
            json!({ "i": [input] }),
        )
        .await;
    let made = &res["data"]["upsertAccounts"][0];
    let account = made["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{res}"))
        .to_owned();
    let ceo = format!("ceo@{}", made["domain"].as_str().unwrap_or_default());
    m.upsert_contact(&ceo).await;
    let at = (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let res = m
        .gql(
            INGEST,
            json!({ "e": [{ "eventId": format!("demo-{ceo}"), "contactEmail": ceo,
                "kind": "DEMO_REQUEST", "occurredAt": at }] }),
        )
        .await;
    assert_eq!(
        res["data"]["ingestEngagements"]["promotions"][0]["to"], "SQL",
        "{res}"
    );
    let res = manager
        .gql(
            "query($id: ID!) { account(id: $id) { assignment { id rep { id } } } }",
            json!({ "id": account }),
        )
        .await;
    let a = &res["data"]["account"]["assignment"];
    Promoted {
        account,
        assignment: a["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{res}"))
            .to_owned(),
        rep: a["rep"]["id"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Subscriptions that reached their live feed on `app` so far.
async fn listening(app: &TestApp) -> u64 {
    const NAME: &str = "quorum_subscriptions_listening_total ";
    let text = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(NAME))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {NAME}in /metrics"))
}

#[tokio::test]
async fn a_rep_logs_in_on_the_board_sees_an_assignment_arrive_live_accepts_and_works_it() {
    let app = spawn_app().await;
    let marketer = app.user("acme", Role::Marketer).await;
    marketer.publish_one_event_sql_model().await;
    let manager = app.user("acme", Role::Manager).await;
    // A readable name for the screenshot (the helpers' users are named after random e-mails).
    let email = "dana.lee@acme.example.com";
    app.user_with("acme", Role::Rep, email).await;
    let res = app
        .anonymous()
        .gql(
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }",
            json!({ "e": email, "p": PASSWORD }),
        )
        .await;
    let rep = Client {
        token: res["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{res}"))
            .to_owned(),
        id: res["data"]["login"]["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        email: email.to_owned(),
        ..app.anonymous()
    };
    let res = manager
        .gql(
            "mutation($id: ID!, $i: RepInput!) { updateRep(id: $id, input: $i) { id } }",
            json!({ "id": rep.id, "i": { "countries": ["US"], "capacity": 10 } }),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let segment = seed(&marketer).await;

    let browser = Browser::start().await;
    // Keeps the page's sockets within the test's reach, to cut the board's connection later.
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": "window.__sockets = []; const Native = window.WebSocket;
                window.WebSocket = class extends Native {
                    constructor(...args) { super(...args); window.__sockets.push(this); } };" }),
        )
        .await;
    log_in(&browser, &app.base, &rep.email, PASSWORD).await;
    // The board subscribes to promotions and to the rep's assignments; what commits once
    // both listen reaches them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while listening(&app).await < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the board's two subscriptions did not reach their live feed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let option = format!("#segment option[value=\"{segment}\"]");
    browser.wait_for(&option, "the segment in the picker").await;
    browser.click(&option).await;
    browser
        .wait_until(
            "document.getElementById('accounts-status').textContent === 'Top 5 of 5 by score.'",
            "the US segment's five accounts",
        )
        .await;
    let listed = browser
        .script(
            "return [...document.querySelectorAll('#accounts .name strong')].map(e => e.textContent)",
            json!([]),
        )
        .await;
    assert!(!listed.to_string().contains("Stark"), "{listed}");

    // A demo request makes Initech an SQL, routed to the US rep.
    let initech = promote(
        &marketer,
        &manager,
        json!({ "name": "Initech", "domain": "initech.com", "country": "US",
            "industry": "Software", "employeeCount": 2500, "tier": 1 }),
    )
    .await;
    assert_eq!(initech.rep, rep.id, "routed to the US rep");
    let (account, id) = (initech.account, initech.assignment);

    let item = format!("#assignments [data-assignment-id=\"{id}\"]");
    browser
        .wait_until(
            "document.getElementById('promotions').textContent.includes('Initech')",
            "the promotion in the live feed",
        )
        .await;
    accept(&browser, &rep, &id).await;
    // Then the first touch, by e-mail.
    browser
        .click(&format!("{item} select option[value=email]"))
        .await;
    browser
        .click(&format!("{item} button[data-action=first-touch]"))
        .await;
    browser
        .wait_for(
            &format!("#assignments [data-assignment-id=\"{id}\"][data-status=WORKING]"),
            "the assignment shown as worked",
        )
        .await;
    let res = rep
        .gql(
            "{ assignments { nodes { id status firstTouchAt firstTouchChannel } } }",
            json!({}),
        )
        .await;
    let touched = res["data"]["assignments"]["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("{res}"));
    assert_eq!(touched["status"], "WORKING", "{res}");
    assert_eq!(touched["firstTouchChannel"], "email", "{res}");

    // The connection drops; while the board cannot reconnect, another account becomes an
    // SQL. Back online, the board resumes after the last cursor it saw: the missed promotion
    // and assignment arrive, once each.
    browser.offline(true).await;
    browser
        .script("window.__sockets.forEach(s => s.close())", json!([]))
        .await;
    browser
        .wait_for(
            "#live-status[data-status=reconnecting]",
            "the board noticing the lost connection",
        )
        .await;
    let missed = promote(
        &marketer,
        &manager,
        json!({ "name": "Vandelay", "domain": "vandelay.com", "country": "US", "tier": 2 }),
    )
    .await;
    assert_eq!(missed.rep, rep.id, "routed to the rep");
    browser.offline(false).await;
    browser
        .wait_for(
            &format!(
                "#assignments [data-assignment-id=\"{}\"]",
                missed.assignment
            ),
            "the assignment made while offline",
        )
        .await;
    browser
        .wait_until(
            "document.getElementById('promotions').textContent.includes('Vandelay')",
            "the promotion made while offline",
        )
        .await;
    let cursors = browser
        .script(
            "return [...document.querySelectorAll('#promotions li')].map(li => li.dataset.cursor)",
            json!([]),
        )
        .await;
    let cursors: Vec<&str> = cursors
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(cursors.len(), 2, "two promotions, each once: {cursors:?}");
    assert_ne!(cursors[0], cursors[1]);

    // The promotion reloads the ranking; open the top account's breakdown for the picture.
    browser
        .wait_until(
            &format!("document.querySelector('#accounts [data-account-id=\"{account}\"]')"),
            "Initech among the top accounts",
        )
        .await;
    browser.click("#accounts li details summary").await;
    browser
        .wait_for("#accounts li details[open] table", "the score breakdown")
        .await;
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = screenshot_path("board-test.png");
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));

    // GraphiQL, in the same tab, starts with the board's token and runs queries offline.
    browser.goto(&format!("{}/graphql", app.base)).await;
    browser
        .wait_for(".graphiql-container .graphiql-execute-button", "GraphiQL")
        .await;
    browser
        .wait_until(
            "document.body.innerText.includes('Bearer ')",
            "the token in GraphiQL's headers editor",
        )
        .await;
    graphiql_answers_as(&browser, &rep.email).await;
}

/// Runs GraphiQL's opening query (`me`) and waits for `email`, the user its token names, in
/// the result.
pub async fn graphiql_answers_as(browser: &Browser, email: &str) {
    browser.click(".graphiql-execute-button").await;
    browser
        .wait_until(
            &format!("document.body.innerText.includes({})", json!(email)),
            "the token's own user in GraphiQL's result",
        )
        .await;
}
