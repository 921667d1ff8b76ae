//! The one error type a client can see, and how it maps to `extensions.code`.

use async_graphql::ErrorExtensions;
use quorum_domain::value::Invalid;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Every failure a client can see. `Display` is the only text that leaves the server.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing, expired or forged token: one answer for all.
    #[error("authentication required")]
    Unauthenticated,
    /// `login` with a wrong e-mail or a wrong password: one answer for both.
    #[error("wrong e-mail or password")]
    LoginFailed,
    #[error("not allowed")]
    Forbidden,
    /// Absent, or in another workspace: the two must look alike.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// `field` is a path such as `input[3].domain`.
    #[error("{field}: {message}")]
    BadUserInput { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// The database is down or every pooled connection is busy: safe to retry shortly.
    #[error("service temporarily unavailable, retry shortly")]
    Unavailable(#[source] anyhow::Error),
    /// A subscription's `after` cursor names events already pruned from the outbox.
    #[error("the cursor is older than the events kept; subscribe again without `after`")]
    CursorExpired,
    /// A subscriber fell further behind than its buffer; it resumes from `cursor`.
    #[error("the subscriber fell too far behind; resume with `after: \"{cursor}\"`")]
    SlowConsumer { cursor: String },
    /// Logged with its cause; the client sees the code only.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated | Self::LoginFailed => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::CursorExpired => "CURSOR_EXPIRED",
            Self::SlowConsumer { .. } => "SLOW_CONSUMER",
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }
}

/// Names the field a parse failure came from: `invalid.at("input[3].domain")`.
pub trait At<T> {
    fn at(self, field: impl FnOnce() -> String) -> Result<T, AppError>;
}

impl<T> At<T> for Result<T, Invalid> {
    fn at(self, field: impl FnOnce() -> String) -> Result<T, AppError> {
        self.map_err(|e| AppError::bad_input(field(), e.message()))
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            Self::Internal(e) => tracing::error!(error = ?e, "internal error"),
            Self::Unavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            _ => {}
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::BadUserInput { field, .. } => ext.set("field", field.clone()),
                Self::Unavailable(_) => ext.set("retryable", true),
                Self::SlowConsumer { cursor } => ext.set("cursor", cursor.clone()),
                _ => {}
            }
        })
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(_)) = e.sql_err() {
            return Self::Conflict("already exists".into());
        }
        if is_unavailable(&e) {
            Self::Unavailable(e.into())
        } else {
            Self::Internal(e.into())
        }
    }
}

/// Failures a retry can cure: no free connection in time, or the server went away (restart,
/// `pg_terminate_backend`, network). Everything else is a bug or a broken schema.
fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx = match e {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(s))
        | DbErr::Exec(RuntimeErr::SqlxError(s))
        | DbErr::Query(RuntimeErr::SqlxError(s)) => s,
        _ => return false,
    };
    match sqlx.as_ref() {
        Sqlx::Io(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed
        | Sqlx::Tls(_) => true,
        // SQLSTATE class 08 is "connection exception", 57P0x "operator intervention"
        // (admin shutdown, crash shutdown, cannot connect now).
        Sqlx::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Resolvers end with `.gql()`: `?` on an `AppError` would otherwise go through
/// async-graphql's blanket `From<Display>` and lose the code.
pub trait IntoGql<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> IntoGql<T> for AppResult<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

/// How many times `retrying` tries again, waiting 50 ms, then twice as long each time (3.1 s
/// in all): a pool that stays exhausted or a database that stays away longer is an outage.
const RETRIES: u32 = 6;

/// Runs `read` again while it fails for a reason a retry can cure (`Unavailable`: no pooled
/// connection in time, a restart). For reads whose failure would cost a subscriber an event,
/// where waiting a moment is better than an error in the event's place.
pub async fn retrying<T, Fut>(what: &str, read: impl FnMut() -> Fut) -> AppResult<T>
where
    Fut: std::future::Future<Output = AppResult<T>>,
{
    retry(what, std::time::Duration::from_millis(50), read).await
}

async fn retry<T, Fut>(
    what: &str,
    first_wait: std::time::Duration,
    mut read: impl FnMut() -> Fut,
) -> AppResult<T>
where
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let mut wait = first_wait;
    for _ in 0..RETRIES {
        match read().await {
            Err(AppError::Unavailable(e)) => {
                tracing::debug!(error = %e, ?wait, what, "database unavailable; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            done => return done,
        }
    }
    read().await
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    const MS: std::time::Duration = std::time::Duration::from_millis(1);

    fn unavailable() -> AppError {
        AppError::Unavailable(anyhow::anyhow!("pool timed out"))
    }

    #[tokio::test]
    async fn retrying_cures_a_passing_outage_and_gives_up_on_a_lasting_one() {
        let calls = Cell::new(0);
        let passing = retry("test", MS, || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err(unavailable()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(passing.ok(), Some(3));

        calls.set(0);
        let lasting: AppResult<()> = retry("test", MS, || {
            calls.set(calls.get() + 1);
            async { Err(unavailable()) }
        })
        .await;
        assert!(matches!(lasting, Err(AppError::Unavailable(_))));
        assert_eq!(calls.get(), RETRIES + 1);
    }

    #[tokio::test]
    async fn retrying_returns_other_failures_at_once() {
        let calls = Cell::new(0);
        let failed: AppResult<()> = retry("test", MS, || {
            calls.set(calls.get() + 1);
            async { Err(AppError::Forbidden) }
        })
        .await;
        assert!(matches!(failed, Err(AppError::Forbidden)));
        assert_eq!(calls.get(), 1);
    }
}
