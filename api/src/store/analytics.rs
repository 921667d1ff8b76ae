//! Reads behind the funnel, velocity and SLA reports. The joins, filters and sums run in SQL;
//! durations come back as pairs of instants so that no date arithmetic differs between
//! SQLite and PostgreSQL, and `quorum_domain::metrics` turns them into percentiles.

use chrono::{DateTime, Utc};
use quorum_domain::filter::AccountFilter;
use quorum_domain::metrics::Durations;
use quorum_domain::value::WorkspaceId;
use sea_orm::sea_query::{
    Alias, Cond, Expr, ExprTrait, Func, JoinType, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter, StatementBuilder,
    TransactionTrait as _,
};
use uuid::Uuid;

use super::account::compile;
use super::entity::{account, assignment, funnel_entry as fe, marketing_spend, opportunity};
pub use super::qualification::FUNNEL;
use crate::error::AppError;

/// The reads of one report: one snapshot of the database. On PostgreSQL, when a spare
/// connection is at hand, two transactions share it (`pg_export_snapshot`, as `pg_dump -j`
/// does), so that the report's independent statements run side by side on two cores and
/// still see the same instant. Each gets the memory to hash and sort a year of transitions
/// without spilling to disk, and no JIT compilation, which costs more than it saves on
/// queries of this size (both measured: BENCHMARKS.md, analytics).
pub struct Reads {
    main: DatabaseTransaction,
    side: Option<(DatabaseTransaction, tokio::sync::SemaphorePermit<'static>)>,
}

/// Second connections reports may hold at once, so that reports never take more than a few
/// of the pool's connections from the rest of the application.
static SIDE_READERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

impl Reads {
    pub async fn begin(db: &DatabaseConnection) -> Result<Self, AppError> {
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(Self {
                main: db.begin().await?,
                side: None,
            });
        }
        let main = Self::pg_txn(db, None).await?;
        let snapshot = main
            .query_one_raw(sea_orm::Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT pg_export_snapshot() AS id",
            ))
            .await?
            .map(|r| r.try_get::<String>("", "id"))
            .transpose()?;
        // Without a permit, or if the second connection cannot be had, the report reads
        // everything through the first: slower, never wrong.
        // A busy pool would make the report wait its whole acquire timeout for a connection
        // that only saves it a few hundred milliseconds: it waits this long at most.
        const SIDE_WAIT: std::time::Duration = std::time::Duration::from_millis(200);
        let side = match (snapshot, SIDE_READERS.try_acquire()) {
            (Some(id), Ok(permit)) => {
                // Begun in a task of its own, which a timeout does not cancel: a `BEGIN`
                // cancelled halfway put its connection back in the pool inside a transaction,
                // and a later report's `SET TRANSACTION ISOLATION LEVEL` on it failed (seen
                // under the mixed load run, BENCHMARKS.md, session 11).
                let (db, id) = (db.clone(), id.clone());
                let mut begun = tokio::spawn(async move { Self::pg_txn(&db, Some(&id)).await });
                match tokio::time::timeout(SIDE_WAIT, &mut begun).await {
                    Ok(Ok(Ok(txn))) => Some((txn, permit)),
                    Ok(Ok(Err(e))) => {
                        tracing::debug!(error = %e, "report reads on one connection");
                        None
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "beginning a report's second read failed");
                        None
                    }
                    Err(_) => {
                        // Too late for this report: let it finish and end it cleanly.
                        tokio::spawn(async move {
                            if let Ok(Ok(txn)) = begun.await {
                                let _ = txn.rollback().await;
                            }
                        });
                        None
                    }
                }
            }
            _ => None,
        };
        Ok(Self { main, side })
    }

    async fn pg_txn(
        db: &DatabaseConnection,
        snapshot: Option<&str>,
    ) -> Result<DatabaseTransaction, AppError> {
        let txn = db
            .begin_with_config(
                Some(sea_orm::IsolationLevel::RepeatableRead),
                Some(sea_orm::AccessMode::ReadOnly),
            )
            .await?;
        if let Some(id) = snapshot {
            // The id comes from PostgreSQL itself (hex digits and dashes); checked anyway,
            // since SET TRANSACTION SNAPSHOT takes no parameters.
            if !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                return Err(AppError::internal(anyhow::anyhow!("odd snapshot id {id}")));
            }
            txn.execute_unprepared(&format!("SET TRANSACTION SNAPSHOT '{id}'"))
                .await?;
        }
        txn.execute_unprepared("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
            .await?;
        Ok(txn)
    }

    /// The first transaction.
    pub fn main(&self) -> &DatabaseTransaction {
        &self.main
    }

    /// The report's connections: the first, and the second when there is one.
    pub fn connections(&self) -> (&DatabaseTransaction, Option<&DatabaseTransaction>) {
        (&self.main, self.side.as_ref().map(|(t, _)| t))
    }
}

/// A report's statements, handed out one at a time to whichever connection is free (list
/// the longest first), each with its place in the list.
pub struct Queue<J>(std::sync::Mutex<std::iter::Enumerate<std::vec::IntoIter<J>>>);

impl<J> Queue<J> {
    pub fn new(jobs: Vec<J>) -> Self {
        Self(std::sync::Mutex::new(jobs.into_iter().enumerate()))
    }

    pub fn next(&self) -> Result<Option<(usize, J)>, AppError> {
        let mut jobs = self
            .0
            .lock()
            .map_err(|_| AppError::internal(anyhow::anyhow!("report queue poisoned")))?;
        Ok(jobs.next())
    }
}

/// `[from, to)`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Which accounts a report covers: the workspace's, or a segment's members now.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub ws: WorkspaceId,
    pub segment: Option<&'a AccountFilter>,
}

impl Scope<'_> {
    /// `col` (an account id) names an account in scope.
    fn holds(&self, col: SimpleExpr) -> Cond {
        let mut c = Cond::all();
        if let Some(f) = self.segment {
            let members = Query::select()
                .column((account::Entity, account::Column::Id))
                .from(account::Entity)
                .and_where(
                    Expr::col((account::Entity, account::Column::WorkspaceId)).eq(self.ws.get()),
                )
                .cond_where(compile(self.ws, f))
                .to_owned();
            c = c.add(col.in_subquery(members));
        }
        c
    }
}

/// An account's entry into a stage and the instant of another fact about it.
#[derive(Debug, FromQueryResult)]
pub struct Pair {
    pub entered: DateTime<Utc>,
    pub other: Option<DateTime<Utc>>,
}

/// Seconds from each account's last entry into `earlier` to its first entry into `stage` in
/// the window (at or after the former), over the accounts that have one.
pub async fn durations(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    window: Window,
    stage: &str,
    earlier: &str,
) -> Result<Durations, AppError> {
    let pairs = entries(scope, window, stage, earlier);
    match db.get_database_backend() {
        // Percentiles in the database: shipping every pair to the server and parsing its
        // timestamps costs more than the query itself on a large workspace.
        DatabaseBackend::Postgres => {
            let p = Alias::new("p");
            let secs = Expr::cust_with_exprs(
                "date_part('epoch', $1 - $2)",
                [
                    Expr::col((p.clone(), Alias::new("entered"))),
                    Expr::col((p.clone(), Alias::new("other"))),
                ],
            );
            let q = Query::select()
                .expr_as(
                    Func::count(Expr::col((p.clone(), Alias::new("other")))),
                    Alias::new("count"),
                )
                .expr_as(percentile(0.5, secs.clone()), Alias::new("median"))
                .expr_as(percentile(0.9, secs), Alias::new("p90"))
                .from_subquery(pairs, p)
                .to_owned();
            let rows: Vec<Stats> = run(db, &q).await?;
            Ok(rows
                .first()
                .map(|r| Durations {
                    count: usize::try_from(r.count).unwrap_or(0),
                    median: r.median,
                    p90: r.p90,
                })
                .unwrap_or(Durations::of(&[])))
        }
        _ => {
            let rows: Vec<Pair> = run(db, &pairs).await?;
            let secs: Vec<f64> = rows.iter().filter_map(Pair::seconds).collect();
            Ok(Durations::of(&secs))
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct Stats {
    count: i64,
    median: Option<f64>,
    p90: Option<f64>,
}

/// `percentile_cont` over `of`, seconds as `double precision`: callers compute them with
/// `date_part('epoch', …)` rather than `EXTRACT`, which yields `numeric`, whose sorts took
/// twice as long over a year of transitions.
fn percentile(p: f64, of: Expr) -> Expr {
    Expr::cust_with_exprs(
        format!("percentile_cont({p}) WITHIN GROUP (ORDER BY $1)"),
        [of],
    )
}

impl Pair {
    fn seconds(&self) -> Option<f64> {
        self.other
            .map(|o| (o - self.entered).num_milliseconds().abs() as f64 / 1_000.0)
    }
}

/// What one funnel step measured: accounts that entered it, how many went on to the next
/// step and in how many seconds, and (when asked) how long after their first engagement
/// they entered.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub entered: i64,
    pub next: Durations,
    pub since_engaged: Durations,
}

/// Narrows `q` (over funnel entries aliased `t`) to each account's first entry into `stage`
/// within the window, for the accounts in scope. No grouping is needed: that entry
/// is the one in the window whose previous entry into the same stage is absent or before
/// the window (`prev_entry_at`, kept as transitions are written).
fn first_entries(
    q: &mut SelectStatement,
    t: &Alias,
    scope: Scope<'_>,
    window: Window,
    stage: &str,
) {
    let col = |c: fe::Column| Expr::col((t.clone(), c));
    q.and_where(col(fe::Column::WorkspaceId).eq(scope.ws.get()))
        .and_where(col(fe::Column::Stage).eq(stage))
        .and_where(col(fe::Column::At).gte(window.from))
        .and_where(col(fe::Column::At).lt(window.to))
        .cond_where(
            Cond::any()
                .add(col(fe::Column::PrevEntryAt).is_null())
                .add(col(fe::Column::PrevEntryAt).lt(window.from)),
        )
        .cond_where(scope.holds(col(fe::Column::AccountId)));
}

/// One funnel step (`stage` converting to the one after it in `FUNNEL`) from the window's
/// entries into `stage` alone: each account's first entry into it in the window, its first
/// entry into the next stage at or after that (`next_stage_at`), and with `since_engaged`
/// its first engagement before it (`first_engaged_at`), all kept on the entry as it is
/// written. On PostgreSQL one stage is one range of a covering index, so the steps can run
/// on separate connections without reading each other's rows.
pub async fn step(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    window: Window,
    stage: &str,
    since_engaged: bool,
) -> Result<Step, AppError> {
    let t = Alias::new("t");
    let at = Expr::col((t.clone(), fe::Column::At));
    let next = Expr::col((t.clone(), fe::Column::NextStageAt));
    let engaged = Expr::col((t.clone(), fe::Column::FirstEngagedAt));
    let mut q = Query::select();
    q.from_as(fe::Entity, t.clone());
    first_entries(&mut q, &t, scope, window, stage);
    match db.get_database_backend() {
        // Each list of seconds comes back as one JSON array and the percentiles are taken
        // here, as since session 6 (the ordered-set `percentile_cont` was slower then), and
        // shipping the pairs row by row costs more than the scan (BENCHMARKS.md, analytics).
        DatabaseBackend::Postgres => {
            let secs = |later: &Expr, earlier: &Expr, when: &str| {
                Expr::cust_with_exprs(
                    format!("json_agg(date_part('epoch', $1 - $2)) FILTER (WHERE {when})"),
                    [later.clone(), earlier.clone()],
                )
            };
            q.expr_as(Func::count(Expr::val(1)), Alias::new("entered"))
                .expr_as(secs(&next, &at, "$1 IS NOT NULL"), Alias::new("next"));
            if since_engaged {
                q.expr_as(secs(&at, &engaged, "$2 <= $1"), Alias::new("engaged"));
            } else {
                q.expr_as(Expr::cust("NULL::json"), Alias::new("engaged"));
            }
            #[derive(FromQueryResult)]
            struct Row {
                entered: i64,
                next: Option<serde_json::Value>,
                engaged: Option<serde_json::Value>,
            }
            let seconds = |v: &Option<serde_json::Value>| -> Vec<f64> {
                v.as_ref()
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
                    .unwrap_or_default()
            };
            let row = run::<Row>(db, &q).await?.into_iter().next();
            Ok(row.map_or(
                Step {
                    entered: 0,
                    next: Durations::of(&[]),
                    since_engaged: Durations::of(&[]),
                },
                |r| Step {
                    entered: r.entered,
                    next: Durations::of(&seconds(&r.next)),
                    since_engaged: Durations::of(&seconds(&r.engaged)),
                },
            ))
        }
        // SQLite has no percentile aggregate: the instants come here.
        _ => {
            q.expr_as(at, Alias::new("entered"))
                .expr_as(next, Alias::new("next"))
                .expr_as(engaged, Alias::new("engaged"));
            #[derive(FromQueryResult)]
            struct Row {
                entered: DateTime<Utc>,
                next: Option<DateTime<Utc>>,
                engaged: Option<DateTime<Utc>>,
            }
            let rows = run::<Row>(db, &q).await?;
            let next: Vec<f64> = rows
                .iter()
                .filter_map(|r| {
                    Pair::seconds(&Pair {
                        entered: r.entered,
                        other: r.next,
                    })
                })
                .collect();
            let engaged: Vec<f64> = rows
                .iter()
                .filter(|r| since_engaged && r.engaged.is_some_and(|e| e <= r.entered))
                .filter_map(|r| {
                    Pair::seconds(&Pair {
                        entered: r.entered,
                        other: r.engaged,
                    })
                })
                .collect();
            Ok(Step {
                entered: i64::try_from(rows.len()).unwrap_or(i64::MAX),
                next: Durations::of(&next),
                since_engaged: Durations::of(&engaged),
            })
        }
    }
}

/// Each account in scope that entered `stage` in the window (its first entry there), paired
/// with its last entry into `earlier` at or before it: the query.
fn entries(scope: Scope<'_>, window: Window, stage: &str, earlier: &str) -> SelectStatement {
    let (e, n) = (Alias::new("e"), Alias::new("n"));
    let entered = Expr::col((e.clone(), fe::Column::At));
    let at = Expr::col((n.clone(), fe::Column::At));
    let mut q = Query::select();
    q.expr_as(entered.clone(), Alias::new("entered"))
        .from_as(fe::Entity, e.clone());
    first_entries(&mut q, &e, scope, window, stage);
    q.expr_as(Func::max(at.clone()), Alias::new("other"))
        .join_as(
            JoinType::LeftJoin,
            fe::Entity,
            n.clone(),
            Cond::all()
                .add(Expr::col((n.clone(), fe::Column::WorkspaceId)).eq(scope.ws.get()))
                .add(
                    Expr::col((n.clone(), fe::Column::AccountId))
                        .equals((e.clone(), fe::Column::AccountId)),
                )
                .add(Expr::col((n, fe::Column::Stage)).eq(earlier))
                .add(at.lte(entered)),
        )
        .group_by_col((e.clone(), fe::Column::Id))
        .group_by_col((e, fe::Column::At));
    q
}

async fn run<T: FromQueryResult>(
    db: &impl ConnectionTrait,
    q: &SelectStatement,
) -> Result<Vec<T>, AppError> {
    let stmt = StatementBuilder::build(q, &db.get_database_backend());
    Ok(T::find_by_statement(stmt).all(db).await?)
}

#[derive(Debug, FromQueryResult)]
struct Total {
    total: Option<f64>,
}

/// Revenue of won opportunities closed in the window whose account was an SQL before the
/// opportunity opened.
pub async fn sql_sourced_revenue(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    window: Window,
) -> Result<f64, AppError> {
    let o = opportunity::Entity;
    let sourced = Query::select()
        .expr(Expr::val(1))
        .from(fe::Entity)
        .and_where(Expr::col((fe::Entity, fe::Column::WorkspaceId)).eq(scope.ws.get()))
        .and_where(
            Expr::col((fe::Entity, fe::Column::AccountId))
                .equals((o, opportunity::Column::AccountId)),
        )
        .and_where(Expr::col((fe::Entity, fe::Column::Stage)).eq("SQL"))
        .and_where(
            Expr::col((fe::Entity, fe::Column::At))
                .lte(Expr::col((o, opportunity::Column::CreatedAt))),
        )
        .to_owned();
    let q = Query::select()
        .expr_as(
            Func::sum(Expr::col((o, opportunity::Column::Amount))),
            Alias::new("total"),
        )
        .from(o)
        .and_where(Expr::col((o, opportunity::Column::WorkspaceId)).eq(scope.ws.get()))
        .and_where(Expr::col((o, opportunity::Column::Status)).eq("WON"))
        .and_where(Expr::col((o, opportunity::Column::ClosedAt)).gte(window.from))
        .and_where(Expr::col((o, opportunity::Column::ClosedAt)).lt(window.to))
        .and_where(Expr::exists(sourced))
        .cond_where(scope.holds(Expr::col((o, opportunity::Column::AccountId))))
        .to_owned();
    let rows: Vec<Total> = run(db, &q).await?;
    Ok(rows.first().and_then(|r| r.total).unwrap_or(0.0))
}

/// Spend recorded for the months that start in the window: a segment's own, or with `None`
/// all of it. `None` when nothing was recorded.
pub async fn spend(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    window: Window,
    segment: Option<Uuid>,
) -> Result<Option<f64>, AppError> {
    let m = marketing_spend::Entity;
    let mut q = Query::select()
        .expr_as(
            Func::sum(Expr::col((m, marketing_spend::Column::Amount))),
            Alias::new("total"),
        )
        .from(m)
        .and_where(Expr::col((m, marketing_spend::Column::WorkspaceId)).eq(ws.get()))
        .and_where(Expr::col((m, marketing_spend::Column::MonthStart)).gte(window.from))
        .and_where(Expr::col((m, marketing_spend::Column::MonthStart)).lt(window.to))
        .to_owned();
    if let Some(s) = segment {
        q.and_where(Expr::col((m, marketing_spend::Column::SegmentId)).eq(s));
    }
    let rows: Vec<Total> = run(db, &q).await?;
    Ok(rows.first().and_then(|r| r.total))
}

/// Records (or replaces) the spend of one month, for the workspace or one segment.
pub async fn set_spend(
    db: &impl ConnectionTrait,
    row: marketing_spend::Model,
) -> Result<(), AppError> {
    marketing_spend::Entity::delete_many()
        .filter(marketing_spend::Column::WorkspaceId.eq(row.workspace_id))
        .filter(marketing_spend::Column::Month.eq(row.month.clone()))
        .filter(marketing_spend::Column::SegmentKey.eq(row.segment_key.clone()))
        .exec(db)
        .await?;
    marketing_spend::Entity::insert(marketing_spend::ActiveModel {
        id: Set(row.id),
        workspace_id: Set(row.workspace_id),
        month: Set(row.month),
        month_start: Set(row.month_start),
        segment_id: Set(row.segment_id),
        segment_key: Set(row.segment_key),
        amount: Set(row.amount),
        recorded_by: Set(row.recorded_by),
        recorded_at: Set(row.recorded_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// An opportunity opened in the window, with what velocity groups by.
#[derive(Debug, FromQueryResult)]
pub struct Deal {
    pub amount: f64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub tier: Option<i16>,
    pub owner_id: Option<Uuid>,
}

pub async fn deals(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    window: Window,
) -> Result<Vec<Deal>, AppError> {
    let (o, a) = (opportunity::Entity, account::Entity);
    let q = Query::select()
        .columns([
            (o, opportunity::Column::Amount),
            (o, opportunity::Column::Status),
            (o, opportunity::Column::CreatedAt),
            (o, opportunity::Column::ClosedAt),
        ])
        .column((a, account::Column::Tier))
        .column((a, account::Column::OwnerId))
        .from(o)
        .inner_join(
            a,
            Cond::all()
                .add(
                    Expr::col((a, account::Column::WorkspaceId))
                        .equals((o, opportunity::Column::WorkspaceId)),
                )
                .add(
                    Expr::col((a, account::Column::Id)).equals((o, opportunity::Column::AccountId)),
                ),
        )
        .and_where(Expr::col((o, opportunity::Column::WorkspaceId)).eq(scope.ws.get()))
        .and_where(Expr::col((o, opportunity::Column::CreatedAt)).gte(window.from))
        .and_where(Expr::col((o, opportunity::Column::CreatedAt)).lt(window.to))
        .cond_where(scope.holds(Expr::col((o, opportunity::Column::AccountId))))
        .to_owned();
    run(db, &q).await
}

/// An assignment made in the window, for the SLA report.
#[derive(Debug, FromQueryResult)]
pub struct Touch {
    pub rep_id: Uuid,
    pub assigned_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub first_touch_at: Option<DateTime<Utc>>,
}

pub async fn touches(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    window: Window,
) -> Result<Vec<Touch>, AppError> {
    let s = assignment::Entity;
    let q = Query::select()
        .columns([
            (s, assignment::Column::RepId),
            (s, assignment::Column::AssignedAt),
            (s, assignment::Column::DueAt),
            (s, assignment::Column::FirstTouchAt),
        ])
        .from(s)
        .and_where(Expr::col((s, assignment::Column::WorkspaceId)).eq(scope.ws.get()))
        .and_where(Expr::col((s, assignment::Column::RepId)).is_not_null())
        .and_where(Expr::col((s, assignment::Column::AssignedAt)).gte(window.from))
        .and_where(Expr::col((s, assignment::Column::AssignedAt)).lt(window.to))
        .cond_where(scope.holds(Expr::col((s, assignment::Column::AccountId))))
        .to_owned();
    run(db, &q).await
}
