//! Many rows in one statement on PostgreSQL: the rows travel as one JSON parameter that
//! `json_to_recordset` expands. The SQL text is the same for any row count, so it is prepared
//! once per connection and cached, where a `VALUES` list with a placeholder per cell would be
//! parsed and planned anew for every batch size (and bind thousands of parameters). SQLite,
//! in process, keeps the plain multi-row statements.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::error::AppError;

/// Whether `db` takes the JSON path.
pub(crate) fn json_rows(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DatabaseBackend::Postgres
}

/// Runs `sql`, in which `$1::json` is `rows` as a JSON array, and `$2` (if used) is `extra`.
pub(crate) async fn exec(
    db: &impl ConnectionTrait,
    sql: &str,
    rows: &[serde_json::Value],
    extra: Option<sea_orm::Value>,
) -> Result<(), AppError> {
    if rows.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(rows).map_err(AppError::internal)?;
    let mut values = vec![sea_orm::Value::from(json)];
    values.extend(extra);
    db.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        sql,
        values,
    ))
    .await?;
    Ok(())
}
