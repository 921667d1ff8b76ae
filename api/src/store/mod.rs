//! Storage. Every function takes the workspace first and filters by it, so a resolver cannot
//! forget tenancy: an id from another workspace finds nothing, exactly like a missing one.
//! The exceptions come before any workspace is known or serve them all: logins (`login`,
//! `user::find_by_email`) and the relay (`outbox`'s lease, waiting rows and pruning).

pub mod account;
pub mod analytics;
mod bulk;
pub mod committee;
pub mod contact;
pub mod engagement;
pub mod entity;
pub mod login;
pub mod outbox;
pub mod pipeline;
pub mod qualification;
pub mod routing;
pub mod scoring_model;
pub mod segment;
pub mod user;
pub mod workspace;

use chrono::{DateTime, SubsecRound, Utc};

/// Now, to the microsecond: PostgreSQL keeps no more, and a value must read back equal to what
/// was written for keyset cursors to work.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A transaction that will write. On SQLite it takes the write lock at `BEGIN` (waiting out
/// the busy timeout): a deferred one that read first and then writes fails at once with
/// `SQLITE_BUSY_SNAPSHOT` if another process wrote meanwhile (two instances on one file, or
/// `quorum` commands beside a server). PostgreSQL ignores the mode.
pub async fn write_txn(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::TransactionTrait as _;
    db.begin_with_options(sea_orm::TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
    })
    .await
}

/// `q` locking the rows it reads until the transaction ends, on PostgreSQL; SQLite runs one
/// writer at a time and has no row locks. `FOR NO KEY UPDATE`: it does not conflict with the
/// key-share locks that inserts referencing the row take.
pub(crate) fn for_update<E: sea_orm::EntityTrait>(
    q: sea_orm::Select<E>,
    db: &impl sea_orm::ConnectionTrait,
) -> sea_orm::Select<E> {
    use sea_orm::QuerySelect;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q.lock(sea_orm::sea_query::LockType::NoKeyUpdate)
    } else {
        q
    }
}

/// `m` with every column set: what inserts and whole-row updates write.
pub(crate) fn all_set<M, A>(m: M) -> A
where
    M: sea_orm::IntoActiveModel<A>,
    A: sea_orm::ActiveModelTrait,
{
    m.into_active_model().reset_all()
}

/// Inserts `rows` in statements of at most `per` rows each: SQLite caps the bound parameters
/// of one statement (32,766), so `per` × the table's columns must stay under that.
pub(crate) async fn insert_chunked<A>(
    db: &impl sea_orm::ConnectionTrait,
    rows: Vec<A>,
    per: usize,
) -> Result<(), crate::error::AppError>
where
    A: sea_orm::ActiveModelTrait + Send,
{
    use sea_orm::EntityTrait as _;
    for chunk in account::chunked(rows, per) {
        A::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// An optional field of an upsert: left out keeps the stored value, `null` clears it.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch<T> {
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// The value to store, given the one stored now.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Clear => None,
            Self::Set(v) => Some(v),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Self::Keep => Patch::Keep,
            Self::Clear => Patch::Clear,
            Self::Set(v) => Patch::Set(f(v)),
        }
    }
}

/// Splits `ids` into chunks small enough for one `IN (…)` on every backend (SQLite allows
/// 32,766 bound parameters, PostgreSQL 65,535).
pub(crate) const IN_CHUNK: usize = 5_000;

/// `column IN (values)`. On PostgreSQL the values travel as one array parameter
/// (`= ANY($1)`), so the statement's text is the same for any number of them and sqlx
/// prepares it once per connection; a placeholder per value makes a new statement, parsed and
/// planned again, for every length a batch happens to have. SQLite binds each value.
pub(crate) fn one_of<C, V>(
    db: &impl sea_orm::ConnectionTrait,
    column: C,
    values: impl IntoIterator<Item = V>,
) -> sea_orm::sea_query::SimpleExpr
where
    C: sea_orm::ColumnTrait,
    V: Into<sea_orm::Value> + sea_orm::sea_query::postgres_array::NotU8,
{
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        column.eq_any(values)
    } else {
        column.is_in(values)
    }
}
