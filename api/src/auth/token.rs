use std::path::Path;

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use quorum_domain::value::{Role, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Viewer;
use crate::config::Config;
use crate::error::AppError;

/// What our tokens say. An identity provider's RS256 tokens must carry the same claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The user's workspace id.
    pub ws: String,
    pub role: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Signing and checking keys, and the one algorithm we accept.
pub struct JwtKeys {
    algorithm: Algorithm,
    /// Absent when an identity provider issues the tokens and we only hold its public key.
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Clock skew we forgive between issuer and server.
const LEEWAY_SECS: u64 = 30;
const SECRET_FILE: &str = "jwt_secret";

impl JwtKeys {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let (algorithm, encoding, decoding) = match &config.jwt_public_key_file {
            Some(public) => {
                let pem = std::fs::read(public)
                    .with_context(|| format!("reading JWT_PUBLIC_KEY_FILE {}", public.display()))?;
                let decoding = DecodingKey::from_rsa_pem(&pem)
                    .context("JWT_PUBLIC_KEY_FILE is not an RSA public key")?;
                let encoding = match &config.jwt_private_key_file {
                    Some(private) => {
                        let pem = std::fs::read(private).with_context(|| {
                            format!("reading JWT_PRIVATE_KEY_FILE {}", private.display())
                        })?;
                        Some(
                            EncodingKey::from_rsa_pem(&pem)
                                .context("JWT_PRIVATE_KEY_FILE is not an RSA private key")?,
                        )
                    }
                    None => None,
                };
                (Algorithm::RS256, encoding, decoding)
            }
            None => {
                // An empty JWT_SECRET (as compose passes when unset) means "not set".
                let secret = match config.jwt_secret.as_deref().filter(|s| !s.is_empty()) {
                    Some(s) if s.len() >= 32 => s.as_bytes().to_vec(),
                    Some(_) => anyhow::bail!("JWT_SECRET must be at least 32 bytes"),
                    None => load_or_create_secret(&config.data_dir)?,
                };
                (
                    Algorithm::HS256,
                    Some(EncodingKey::from_secret(&secret)),
                    DecodingKey::from_secret(&secret),
                )
            }
        };
        // Pinning one algorithm is what defeats `alg: none` and RS256/HS256 confusion.
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Ok(Self {
            algorithm,
            encoding,
            decoding,
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
        })
    }

    /// A token for `viewer`, valid from now for `ttl_secs`; also returns its expiry.
    pub fn issue(
        &self,
        viewer: &Viewer,
        ttl_secs: u64,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), AppError> {
        let Some(key) = &self.encoding else {
            return Err(AppError::Forbidden);
        };
        let now = chrono::Utc::now();
        let exp = now
            + chrono::Duration::seconds(
                i64::try_from(ttl_secs)
                    .unwrap_or(i64::MAX / 2)
                    .min(10 * 365 * 86_400),
            );
        let claims = Claims {
            sub: viewer.user_id.to_string(),
            ws: viewer.workspace_id.to_string(),
            role: viewer.role.as_str().to_owned(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: exp.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let token = jsonwebtoken::encode(&Header::new(self.algorithm), &claims, key)
            .map_err(AppError::internal)?;
        Ok((token, exp))
    }

    /// The viewer a token names; any fault at all is `Unauthenticated`, with no detail.
    pub fn verify(&self, token: &str) -> Result<Viewer, AppError> {
        self.verify_until(token).map(|(v, _)| v)
    }

    /// The viewer and the moment the token stops being valid (long-lived sockets end then).
    pub fn verify_until(
        &self,
        token: &str,
    ) -> Result<(Viewer, chrono::DateTime<chrono::Utc>), AppError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                tracing::debug!(error = %e, "token refused");
                AppError::Unauthenticated
            })?;
        let c = data.claims;
        let user_id = Uuid::parse_str(&c.sub).map_err(|_| AppError::Unauthenticated)?;
        let ws = Uuid::parse_str(&c.ws).map_err(|_| AppError::Unauthenticated)?;
        let role = Role::parse(&c.role).map_err(|_| AppError::Unauthenticated)?;
        let until =
            chrono::DateTime::from_timestamp(c.exp.saturating_add(LEEWAY_SECS.cast_signed()), 0)
                .ok_or(AppError::Unauthenticated)?;
        let viewer = Viewer {
            user_id: UserId::from(user_id),
            workspace_id: WorkspaceId::from(ws),
            role,
        };
        Ok((viewer, until))
    }
}

/// The secret in `<data dir>/jwt_secret`, made (mode 0600) on first use so that tokens survive
/// restarts without any setup.
fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    let path = data_dir.join(SECRET_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let mut bytes = [0u8; 48];
    rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
    let secret = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
    write_private(&path, &secret)?;
    Ok(secret.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    // create_new: two processes starting at once must not overwrite each other's secret.
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    f.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("creating {}", path.display()))
}
