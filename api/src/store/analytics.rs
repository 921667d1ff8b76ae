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
use super::entity::{
    account, assignment, engagement_event, marketing_spend, opportunity, stage_transition as st,
};
use crate::error::AppError;

/// A read-only transaction for one report. On PostgreSQL it gets the memory to hash and sort
/// a year of transitions without spilling to disk, and no JIT compilation, which costs more
/// than it saves on queries of this size (both measured: BENCHMARKS.md, analytics).
pub async fn report_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, AppError> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
            .await?;
    }
    Ok(txn)
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

/// What to pair each entry with (the funnel's next steps come from `steps`).
pub enum Then<'a> {
    /// The last entry into this stage at or before it.
    LastStage(&'a str),
    /// The account's first engagement at or before it.
    FirstEngagement,
}

/// Seconds from each account's entry into `stage` in the window to the instant `then` names,
/// over the accounts that have one.
pub async fn durations(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    window: Window,
    stage: &str,
    then: Then<'_>,
) -> Result<Durations, AppError> {
    let pairs = entries(scope, window, stage, then);
    match db.get_database_backend() {
        // Percentiles in the database: shipping every pair to the server and parsing its
        // timestamps costs more than the query itself on a large workspace.
        DatabaseBackend::Postgres => {
            let p = Alias::new("p");
            // The other instant is after the entry or before it, depending on `then`.
            let secs = Expr::cust_with_exprs(
                "ABS(EXTRACT(EPOCH FROM ($1 - $2)))::double precision",
                [
                    Expr::col((p.clone(), Alias::new("other"))),
                    Expr::col((p.clone(), Alias::new("entered"))),
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
/// step, and in how many seconds.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub entered: i64,
    pub next: Durations,
}

/// The funnel's steps (`stages[i]` converting to `stages[i + 1]`) in two passes over the
/// transitions, however many steps: each account's first entry into each stage in the
/// window, then its first entry into the next stage at or after that.
pub async fn steps(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    window: Window,
    stages: &[&str],
) -> Result<Vec<Step>, AppError> {
    let (e, t, n) = (Alias::new("e"), Alias::new("t"), Alias::new("n"));
    let s_ = |i: usize| Alias::new(format!("s{i}"));
    let n_ = |i: usize| Alias::new(format!("n{i}"));
    let first_of = |table: &Alias, stage: &str, extra: Option<Expr>| {
        let mut when = Cond::all().add(Expr::col((table.clone(), st::Column::ToStage)).eq(stage));
        if let Some(x) = extra {
            when = when.add(x);
        }
        Func::min(
            Expr::case(when, Expr::col((table.clone(), st::Column::At))).finally(Expr::null()),
        )
    };
    let mut entered = Query::select();
    entered
        .column((e.clone(), st::Column::AccountId))
        .from_as(st::Entity, e.clone())
        .and_where(Expr::col((e.clone(), st::Column::WorkspaceId)).eq(scope.ws.get()))
        .and_where(Expr::col((e.clone(), st::Column::ToStage)).is_in(stages.iter().copied()))
        .and_where(Expr::col((e.clone(), st::Column::At)).gte(window.from))
        .and_where(Expr::col((e.clone(), st::Column::At)).lt(window.to))
        .cond_where(scope.holds(Expr::col((e.clone(), st::Column::AccountId))))
        .group_by_col((e.clone(), st::Column::AccountId));
    for (i, stage) in stages.iter().enumerate() {
        entered.expr_as(first_of(&e, stage, None), s_(i));
    }
    let mut next = Query::select();
    next.from_subquery(entered, e.clone()).join_as(
        JoinType::LeftJoin,
        st::Entity,
        t.clone(),
        Cond::all()
            .add(Expr::col((t.clone(), st::Column::WorkspaceId)).eq(scope.ws.get()))
            .add(
                Expr::col((t.clone(), st::Column::AccountId))
                    .equals((e.clone(), st::Column::AccountId)),
            )
            .add(Expr::col((t.clone(), st::Column::At)).gte(window.from))
            .add(Expr::col((t.clone(), st::Column::ToStage)).is_in(stages.iter().skip(1).copied())),
    );
    next.group_by_col((e.clone(), st::Column::AccountId));
    for i in 0..stages.len() {
        next.expr_as(Expr::col((e.clone(), s_(i))), s_(i))
            .group_by_col((e.clone(), s_(i)));
    }
    for i in 0..stages.len().saturating_sub(1) {
        let after = Expr::col((t.clone(), st::Column::At)).gte(Expr::col((e.clone(), s_(i))));
        next.expr_as(first_of(&t, stages[i + 1], Some(after)), n_(i));
    }
    let last = stages.len().saturating_sub(1);
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let mut q = Query::select();
            q.from_subquery(next, n.clone());
            for i in 0..stages.len() {
                q.expr_as(
                    Func::count(Expr::col((n.clone(), s_(i)))),
                    Alias::new(format!("e{i}")),
                );
                if i < last {
                    let secs = Expr::cust_with_exprs(
                        "EXTRACT(EPOCH FROM ($1 - $2))::double precision",
                        [Expr::col((n.clone(), n_(i))), Expr::col((n.clone(), s_(i)))],
                    );
                    q.expr_as(
                        Func::count(Expr::col((n.clone(), n_(i)))),
                        Alias::new(format!("c{i}")),
                    )
                    .expr_as(percentile(0.5, secs.clone()), Alias::new(format!("m{i}")))
                    .expr_as(percentile(0.9, secs), Alias::new(format!("p{i}")));
                }
            }
            let stmt = StatementBuilder::build(&q, &db.get_database_backend());
            let row = db.query_one_raw(stmt).await?.ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("an aggregate query returned no row"))
            })?;
            (0..stages.len())
                .map(|i| {
                    let entered: i64 = row.try_get("", &format!("e{i}"))?;
                    let next = if i < last {
                        Durations {
                            count: usize::try_from(row.try_get::<i64>("", &format!("c{i}"))?)
                                .unwrap_or(0),
                            median: row.try_get("", &format!("m{i}"))?,
                            p90: row.try_get("", &format!("p{i}"))?,
                        }
                    } else {
                        Durations::of(&[])
                    };
                    Ok(Step { entered, next })
                })
                .collect()
        }
        _ => {
            let stmt = StatementBuilder::build(&next, &db.get_database_backend());
            let rows = db.query_all_raw(stmt).await?;
            let mut entered = vec![0_i64; stages.len()];
            let mut took: Vec<Vec<f64>> = vec![Vec::new(); stages.len()];
            for row in rows {
                for (i, count) in entered.iter_mut().enumerate() {
                    let Some(s) = row.try_get::<Option<DateTime<Utc>>>("", &format!("s{i}"))?
                    else {
                        continue;
                    };
                    *count += 1;
                    if i < last
                        && let Some(n) =
                            row.try_get::<Option<DateTime<Utc>>>("", &format!("n{i}"))?
                    {
                        took[i].push((n - s).num_milliseconds() as f64 / 1_000.0);
                    }
                }
            }
            Ok((0..stages.len())
                .map(|i| Step {
                    entered: entered[i],
                    next: if i < last {
                        Durations::of(&took[i])
                    } else {
                        Durations::of(&[])
                    },
                })
                .collect())
        }
    }
}

/// Each account in scope that entered `stage` in the window (its first entry there), paired
/// as `then` says: the query.
fn entries(scope: Scope<'_>, window: Window, stage: &str, then: Then<'_>) -> SelectStatement {
    let (e, x, n) = (Alias::new("e"), Alias::new("x"), Alias::new("n"));
    let entered = Query::select()
        .column((e.clone(), st::Column::AccountId))
        .expr_as(
            Func::min(Expr::col((e.clone(), st::Column::At))),
            Alias::new("entered"),
        )
        .from_as(st::Entity, e.clone())
        .and_where(Expr::col((e.clone(), st::Column::WorkspaceId)).eq(scope.ws.get()))
        .and_where(Expr::col((e.clone(), st::Column::ToStage)).eq(stage))
        .and_where(Expr::col((e.clone(), st::Column::At)).gte(window.from))
        .and_where(Expr::col((e.clone(), st::Column::At)).lt(window.to))
        .cond_where(scope.holds(Expr::col((e.clone(), st::Column::AccountId))))
        .group_by_col((e, st::Column::AccountId))
        .to_owned();
    let x_entered = Expr::col((x.clone(), Alias::new("entered")));
    let mut q = Query::select();
    q.expr_as(x_entered.clone(), Alias::new("entered"))
        .from_subquery(entered, x.clone());
    match then {
        Then::LastStage(s) => {
            let at = Expr::col((n.clone(), st::Column::At));
            q.expr_as(Func::max(at.clone()), Alias::new("other"))
                .join_as(
                    JoinType::LeftJoin,
                    st::Entity,
                    n.clone(),
                    Cond::all()
                        .add(Expr::col((n.clone(), st::Column::WorkspaceId)).eq(scope.ws.get()))
                        .add(
                            Expr::col((n.clone(), st::Column::AccountId))
                                .equals((x.clone(), st::Column::AccountId)),
                        )
                        .add(Expr::col((n.clone(), st::Column::ToStage)).eq(s))
                        .add(at.lte(x_entered)),
                );
        }
        Then::FirstEngagement => {
            let at = Expr::col((n.clone(), engagement_event::Column::OccurredAt));
            q.expr_as(Func::min(at.clone()), Alias::new("other"))
                .join_as(
                    JoinType::LeftJoin,
                    engagement_event::Entity,
                    n.clone(),
                    Cond::all()
                        .add(
                            Expr::col((n.clone(), engagement_event::Column::WorkspaceId))
                                .eq(scope.ws.get()),
                        )
                        .add(
                            Expr::col((n.clone(), engagement_event::Column::AccountId))
                                .equals((x.clone(), st::Column::AccountId)),
                        )
                        .add(at.lte(x_entered)),
                );
        }
    }
    q.group_by_col((x.clone(), st::Column::AccountId))
        .group_by_col((x, Alias::new("entered")));
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
        .from(st::Entity)
        .and_where(Expr::col((st::Entity, st::Column::WorkspaceId)).eq(scope.ws.get()))
        .and_where(
            Expr::col((st::Entity, st::Column::AccountId))
                .equals((o, opportunity::Column::AccountId)),
        )
        .and_where(Expr::col((st::Entity, st::Column::ToStage)).eq("SQL"))
        .and_where(
            Expr::col((st::Entity, st::Column::At))
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
            Expr::col((a, account::Column::Id)).equals((o, opportunity::Column::AccountId)),
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
