//! The JWT extractor: the bearer value of an `Authorization` header (HTTP, and the WebSocket
//! upgrade), a `connection_init` payload's token (`ws::bearer`, `ws::init_token`), and
//! `JwtKeys::verify_until` with an HS256 key as `Config::for_tests` sets it.
//!
//! Three kinds of input (`arbitrary`): a free header value; a free `connection_init` payload
//! (JSON text); a token minted here from fuzzed claims, signed with our key, another key,
//! another HS algorithm or `alg: none`, optionally with one byte changed. Invariants: nothing
//! panics; whatever `verify_until` accepts carries an HS256 header and a signature that an
//! independent HMAC-SHA256 (the `hmac` crate) finds valid for our secret; a token not signed
//! with our key is refused; an untouched token with valid claims signed with our key is
//! accepted as the viewer it names.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use quorum_api::auth::{Claims, JwtKeys};
use quorum_api::config::Config;
use quorum_api::ws::{bearer, init_token};
use quorum_domain::value::Role;
use uuid::Uuid;

static CONFIG: LazyLock<Config> =
    LazyLock::new(|| Config::for_tests("sqlite::memory:".into(), std::env::temp_dir()));
static KEYS: LazyLock<Option<JwtKeys>> = LazyLock::new(|| JwtKeys::from_config(&CONFIG).ok());

fn secret() -> &'static [u8] {
    CONFIG.jwt_secret.as_deref().unwrap_or_default().as_bytes()
}

/// Whether `token` is `header.payload.signature` with an HS256 header and a valid HMAC of ours,
/// checked without jsonwebtoken.
fn signed_by_us(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return false;
    };
    let alg_ok = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .is_some_and(|h| h["alg"] == "HS256");
    let Ok(sig) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret()) else {
        return false;
    };
    mac.update(format!("{header}.{payload}").as_bytes());
    alg_ok && mac.verify_slice(&sig).is_ok()
}

/// Verifies `token`; an accepted one must be ours.
fn verify(token: &str) -> bool {
    let Some(keys) = KEYS.as_ref() else {
        return false;
    };
    let accepted = keys.verify_until(token).is_ok();
    assert!(
        !accepted || signed_by_us(token),
        "accepted a token we did not sign: {token:?}"
    );
    accepted
}

/// The HTTP handler's reading of the header (`http::caller`, which needs a request and the
/// app state, so it is restated here).
fn http_bearer(v: &str) -> Option<&str> {
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[derive(Debug, Arbitrary)]
enum Text {
    Free(String),
    Uuid(u128),
}

impl Text {
    fn get(&self) -> (String, bool) {
        match self {
            Self::Free(s) => (s.clone(), Uuid::parse_str(s).is_ok()),
            Self::Uuid(n) => (Uuid::from_u128(*n).to_string(), true),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Signer {
    Ours,
    OtherSecret(Vec<u8>),
    Hs384Ours,
    Hs512Ours,
    AlgNone,
}

#[derive(Debug, Arbitrary)]
struct Minted {
    sub: Text,
    ws: Text,
    role: Option<String>,
    iat: i64,
    nbf_ago: i32,
    exp_in: i32,
    iss: Option<String>,
    aud: Option<String>,
    signer: Signer,
    tamper: Option<(u16, u8)>,
    scheme: u8,
    spaces: u8,
}

#[derive(Debug, Arbitrary)]
enum Input {
    Header(String),
    InitPayload(String),
    Minted(Minted),
}

fn mint(m: &Minted) -> Option<String> {
    let now = chrono::Utc::now().timestamp();
    let (sub, sub_ok) = m.sub.get();
    let (ws, ws_ok) = m.ws.get();
    let claims = Claims {
        sub,
        ws,
        role: m.role.clone().unwrap_or_else(|| "REP".into()),
        iat: m.iat,
        nbf: now - i64::from(m.nbf_ago),
        exp: now + i64::from(m.exp_in),
        iss: m.iss.clone().unwrap_or_else(|| CONFIG.jwt_issuer.clone()),
        aud: m.aud.clone().unwrap_or_else(|| CONFIG.jwt_audience.clone()),
    };
    let sign = |alg, key: &[u8]| {
        jsonwebtoken::encode(&Header::new(alg), &claims, &EncodingKey::from_secret(key)).ok()
    };
    let token = match &m.signer {
        Signer::Ours => sign(Algorithm::HS256, secret())?,
        Signer::OtherSecret(k) if k.as_slice() == secret() => return None,
        Signer::OtherSecret(k) => sign(Algorithm::HS256, k)?,
        Signer::Hs384Ours => sign(Algorithm::HS384, secret())?,
        Signer::Hs512Ours => sign(Algorithm::HS512, secret())?,
        Signer::AlgNone => {
            let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).ok()?);
            format!("{head}.{body}.")
        }
    };
    let mut bytes = token.into_bytes();
    if let Some((at, b)) = m.tamper {
        let at = usize::from(at) % bytes.len().max(1);
        if let Some(slot) = bytes.get_mut(at) {
            *slot = b;
        }
    }
    let token = String::from_utf8(bytes).ok()?;
    let valid_claims = sub_ok
        && ws_ok
        && m.role.as_deref().is_none_or(|r| Role::parse(r).is_ok())
        && m.iss.as_deref().is_none_or(|i| i == CONFIG.jwt_issuer)
        && m.aud.as_deref().is_none_or(|a| a == CONFIG.jwt_audience)
        && m.nbf_ago >= 60
        // A `nbf` before 1970 is refused as malformed (jsonwebtoken reads NumericDates as u64).
        && claims.nbf >= 0
        && m.exp_in >= 60;

    let scheme = ["Bearer", "bearer", "BEARER", "Basic", "Token"][usize::from(m.scheme) % 5];
    let spaces = " ".repeat(usize::from(m.spaces % 4) + 1);
    let header = format!("{scheme}{spaces}{token}");
    let from_header = bearer(Some(&header));
    let from_http = http_bearer(&header).map(str::to_owned);
    assert_eq!(
        from_header, from_http,
        "the socket and HTTP read {header:?} differently"
    );

    let accepted = verify(&token);
    match &m.signer {
        Signer::Ours if m.tamper.is_none() && valid_claims => {
            assert!(accepted, "refused a valid token: {claims:?}");
            let viewer = KEYS.as_ref().and_then(|k| k.verify(&token).ok());
            let named = (Uuid::parse_str(&claims.sub), Uuid::parse_str(&claims.ws));
            assert_eq!(
                viewer.map(|v| (v.user_id.get(), v.workspace_id.get())),
                match named {
                    (Ok(user), Ok(ws)) => Some((user, ws)),
                    _ => None,
                }
            );
        }
        Signer::Ours => {}
        _ => assert!(!accepted, "accepted {:?}: {token}", m.signer),
    }
    for t in from_header.iter().chain(&from_http) {
        verify(t);
    }
    Some(token)
}

fuzz_target!(|input: Input| {
    match input {
        Input::Header(h) => {
            verify(&h);
            if let Some(t) = bearer(Some(&h)) {
                verify(&t);
            }
            if let Some(t) = http_bearer(&h) {
                verify(t);
            }
        }
        Input::InitPayload(p) => {
            let payload = serde_json::from_str::<serde_json::Value>(&p).ok();
            if let Some(t) = init_token(payload.as_ref()) {
                verify(&t);
            }
        }
        Input::Minted(m) => {
            let _ = mint(&m);
        }
    }
});
