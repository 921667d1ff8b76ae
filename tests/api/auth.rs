use jsonwebtoken::{Algorithm, EncodingKey, Header};
use quorum_domain::value::Role;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, code, field, spawn_app, spawn_app_with};

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token expiresAt user { email role } } }";
const ME: &str = "{ me { id email role } }";
const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.anonymous()
        .gql(LOGIN, json!({ "e": email, "p": password }))
        .await
}

#[tokio::test]
async fn login_returns_a_token_that_identifies_the_user() {
    let app = spawn_app().await;
    app.user_with("acme", Role::Manager, "maria@acme.io").await;
    let res = login(&app, "Maria@ACME.io", PASSWORD).await;
    let token = res["data"]["login"]["token"].as_str().expect("token");
    assert_eq!(res["data"]["login"]["user"]["role"], "MANAGER");
    let me = app.anonymous().with_token(token).gql(ME, json!({})).await;
    assert_eq!(me["data"]["me"]["email"], "maria@acme.io");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_error() {
    let app = spawn_app().await;
    app.user_with("acme", Role::Rep, "rita@acme.io").await;
    let wrong_password = login(&app, "rita@acme.io", "not-the-password").await;
    let unknown_email = login(&app, "nobody@acme.io", PASSWORD).await;
    assert_eq!(code(&wrong_password), "UNAUTHENTICATED");
    assert_eq!(
        wrong_password["errors"][0]["message"],
        unknown_email["errors"][0]["message"]
    );
    assert_eq!(
        wrong_password["errors"][0]["extensions"],
        unknown_email["errors"][0]["extensions"]
    );
    assert_eq!(wrong_password["data"], Value::Null);
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_down() {
    let app = spawn_app_with(|c| c.login_backoff_ms = 1000).await;
    app.user_with("acme", Role::Rep, "rob@acme.io").await;
    for _ in 0..3 {
        login(&app, "rob@acme.io", "guess-guess-guess").await;
    }
    // The fourth attempt waits the base delay, even with the right password.
    let started = std::time::Instant::now();
    let res = login(&app, "rob@acme.io", PASSWORD).await;
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1000),
        "took {:?}",
        started.elapsed()
    );
    assert!(res["data"]["login"]["token"].is_string(), "{res}");
    // Success resets the count.
    let started = std::time::Instant::now();
    login(&app, "rob@acme.io", PASSWORD).await;
    assert!(started.elapsed() < std::time::Duration::from_millis(1000));
}

/// Behind a load balancer, guesses spread over instances: each must count them all, or N
/// instances would allow N times the guesses.
#[tokio::test]
async fn failed_logins_on_one_instance_slow_down_every_instance() {
    let a = spawn_app_with(|c| c.login_backoff_ms = 1000).await;
    let b = a.sibling(|c| c.login_backoff_ms = 1000).await;
    a.user_with("acme", Role::Rep, "rob@acme.io").await;
    login(&a, "rob@acme.io", "guess-guess-guess").await;
    login(&b, "rob@acme.io", "guess-guess-guess").await;
    login(&a, "Rob@Acme.io ", "guess-guess-guess").await;
    // The fourth failure in all, on either instance, waits the base delay.
    for app in [&b, &a] {
        let started = std::time::Instant::now();
        let res = login(app, "rob@acme.io", "guess-guess-guess").await;
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(1000),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(code(&res), "UNAUTHENTICATED", "{res}");
    }
    // A success on one instance resets the count for both.
    login(&b, "rob@acme.io", PASSWORD).await;
    let started = std::time::Instant::now();
    let res = login(&a, "rob@acme.io", PASSWORD).await;
    assert!(started.elapsed() < std::time::Duration::from_millis(1000));
    assert!(res["data"]["login"]["token"].is_string(), "{res}");
}

fn claims(app_user: &str, ws: &str, exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": app_user, "ws": ws, "role": "ADMIN", "iat": now, "nbf": now, "exp": now + exp_offset, "iss": "quorum", "aud": "quorum-api" })
}

fn hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn every_bad_token_gets_the_same_unauthenticated_error() {
    use base64::Engine as _;
    let app = spawn_app().await;
    let admin = app.user("acme", Role::Admin).await;
    // The real token's claims, to forge variants of.
    let payload = admin.token.split('.').nth(1).unwrap();
    let real: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let (sub, ws) = (real["sub"].as_str().unwrap(), real["ws"].as_str().unwrap());
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());

    let alg_none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&claims(sub, ws, 600))
    );
    let wrong_signature = hs256(
        &claims(sub, ws, 600),
        "another-secret-another-secret-another-secret",
    );
    let expired = hs256(&claims(sub, ws, -120), SECRET);
    let mut wrong_audience = claims(sub, ws, 600);
    wrong_audience["aud"] = json!("someone-else");
    let mut wrong_issuer = claims(sub, ws, 600);
    wrong_issuer["iss"] = json!("evil");
    let mut no_sub = claims(sub, ws, 600);
    no_sub.as_object_mut().unwrap().remove("sub");
    let mut not_yet = claims(sub, ws, 600);
    not_yet["nbf"] = json!(chrono::Utc::now().timestamp() + 300);

    let mut answers = Vec::new();
    for token in [
        alg_none,
        wrong_signature,
        expired,
        hs256(&wrong_audience, SECRET),
        hs256(&wrong_issuer, SECRET),
        hs256(&no_sub, SECRET),
        hs256(&not_yet, SECRET),
        "garbage".to_owned(),
    ] {
        let res = admin.with_token(&token).gql(ME, json!({})).await;
        assert_eq!(code(&res), "UNAUTHENTICATED", "{token}: {res}");
        answers.push(res["errors"][0]["message"].clone());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    // Within the 30 s of clock skew we forgive, an expired token still works.
    let just_expired = hs256(&claims(sub, ws, -10), SECRET);
    assert_eq!(
        admin.with_token(&just_expired).gql(ME, json!({})).await["data"]["me"]["id"],
        sub
    );
}

#[tokio::test]
async fn no_token_is_unauthenticated_on_every_root_field() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    for q in [
        "{ me { id } }",
        "{ account(id: \"x\") { id } }",
        "{ accounts { totalCount } }",
        "{ contact(id: \"x\") { id } }",
        "mutation { createUser(input: {email: \"a@b.io\", name: \"A\", role: REP, password: \"0123456789\"}) { id } }",
        "mutation { upsertAccounts(input: [{name: \"A\", domain: \"a.io\"}]) { id } }",
        "mutation { upsertContacts(input: [{email: \"a@a.io\"}]) { id } }",
        "mutation { createBuyingCommittee(accountId: \"x\", name: \"n\") { id } }",
        "mutation { setCommitteeMember(committeeId: \"x\", contactId: \"y\", role: CHAMPION) { id } }",
        "mutation { removeCommitteeMember(committeeId: \"x\", contactId: \"y\") { id } }",
    ] {
        let res = anon.gql(q, json!({})).await;
        assert_eq!(code(&res), "UNAUTHENTICATED", "{q}: {res}");
    }
}

const CREATE_USER: &str = "mutation($i: UserInput!) { createUser(input: $i) { id email role } }";

#[tokio::test]
async fn an_admin_creates_users_in_their_own_workspace() {
    let app = spawn_app().await;
    let admin = app.user("acme", Role::Admin).await;
    let res = admin
        .gql(CREATE_USER, json!({ "i": { "email": "New.Rep@acme.io", "name": "New Rep", "role": "REP", "password": "long-enough-pw" } }))
        .await;
    assert_eq!(
        res["data"]["createUser"]["email"], "new.rep@acme.io",
        "{res}"
    );
    let token = login(&app, "new.rep@acme.io", "long-enough-pw").await["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The new user lands in the admin's workspace: they see the admin's accounts.
    admin.upsert_account("acme.io").await;
    let seen = admin
        .with_token(&token)
        .gql("{ accounts { totalCount } }", json!({}))
        .await;
    assert_eq!(seen["data"]["accounts"]["totalCount"], 1);
}

#[tokio::test]
async fn create_user_refuses_other_roles_duplicates_and_weak_passwords() {
    let app = spawn_app().await;
    let admin = app.user("acme", Role::Admin).await;
    let input = |email: &str, pw: &str| json!({ "i": { "email": email, "name": "X", "role": "MARKETER", "password": pw } });
    for role in [Role::Marketer, Role::Manager, Role::Rep] {
        let res = app
            .user("acme", role)
            .await
            .gql(CREATE_USER, input("x@acme.io", "long-enough-pw"))
            .await;
        assert_eq!(code(&res), "FORBIDDEN", "{role}");
    }
    let res = admin
        .gql(CREATE_USER, input(&admin.email, "long-enough-pw"))
        .await;
    assert_eq!(code(&res), "CONFLICT", "{res}");
    let res = admin
        .gql(CREATE_USER, input("short@acme.io", "short"))
        .await;
    assert_eq!(
        (code(&res), field(&res)),
        ("BAD_USER_INPUT", "input.password")
    );
    let res = admin
        .gql(CREATE_USER, input("not-an-email", "long-enough-pw"))
        .await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT", "input.email"));
    let res = login(&app, "short@acme.io", "short").await;
    assert_eq!(code(&res), "UNAUTHENTICATED", "nothing was written");
}

#[tokio::test]
async fn cli_user_add_creates_the_workspace_and_token_signs_in() {
    let app = spawn_app().await;
    let config =
        quorum_api::config::Config::for_tests(app.db.url().to_owned(), app.db.dir().clone());
    quorum_api::cli::user_add(
        &config,
        "initech",
        "ops@initech.io",
        Role::Admin,
        "long-enough-pw",
        None,
    )
    .await
    .unwrap();
    let token = quorum_api::cli::token(&config, "ops@initech.io", Some(60))
        .await
        .unwrap();
    let me = app.anonymous().with_token(&token).gql(ME, json!({})).await;
    assert_eq!(me["data"]["me"]["email"], "ops@initech.io", "{me}");
    assert!(
        quorum_api::cli::user_add(
            &config,
            "initech",
            "ops@initech.io",
            Role::Rep,
            "long-enough-pw",
            None
        )
        .await
        .is_err()
    );
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

#[tokio::test]
async fn an_rs256_public_key_replaces_the_shared_secret() {
    let app = spawn_app_with(|c| {
        c.jwt_public_key_file = Some(fixture("rs256-public.pem"));
        c.jwt_private_key_file = Some(fixture("rs256-private.pem"));
    })
    .await;
    app.user_with("acme", Role::Admin, "idp@acme.io").await;
    let res = login(&app, "idp@acme.io", PASSWORD).await;
    let token = res["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{res}"));
    assert_eq!(
        jsonwebtoken::decode_header(token).unwrap().alg,
        Algorithm::RS256
    );
    let me = app.anonymous().with_token(token).gql(ME, json!({})).await;
    assert_eq!(me["data"]["me"]["email"], "idp@acme.io");

    // A token from another key, or an HS256 token made with the old secret, is refused.
    let (sub, ws) = {
        use base64::Engine as _;
        let payload = token.split('.').nth(1).unwrap();
        let c: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        (
            c["sub"].as_str().unwrap().to_owned(),
            c["ws"].as_str().unwrap().to_owned(),
        )
    };
    let other = std::fs::read(fixture("rs256-other-private.pem")).unwrap();
    let foreign = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims(&sub, &ws, 600),
        &EncodingKey::from_rsa_pem(&other).unwrap(),
    )
    .unwrap();
    for bad in [foreign, hs256(&claims(&sub, &ws, 600), SECRET)] {
        assert_eq!(
            code(&app.anonymous().with_token(&bad).gql(ME, json!({})).await),
            "UNAUTHENTICATED"
        );
    }
}
