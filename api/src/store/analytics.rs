//! Reads behind the funnel, velocity and SLA reports. The joins, filters and sums run in SQL;
//! durations come back as pairs of instants so that no date arithmetic differs between
//! SQLite and PostgreSQL, and `quorum_domain::metrics` turns them into percentiles.

use chrono::{DateTime, Utc};
use quorum_domain::filter::AccountFilter;
use quorum_domain::value::WorkspaceId;
use sea_orm::sea_query::{
    Alias, Cond, Expr, ExprTrait, Func, JoinType, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    StatementBuilder,
};
use uuid::Uuid;

use super::account::compile;
use super::entity::{
    account, assignment, engagement_event, marketing_spend, opportunity, stage_transition as st,
};
use crate::error::AppError;

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

/// What to pair each entry with.
pub enum Then<'a> {
    /// The first entry into this stage at or after it.
    NextStage(&'a str),
    /// The last entry into this stage at or before it.
    LastStage(&'a str),
    /// The account's first engagement at or before it.
    FirstEngagement,
}

/// Each account in scope that entered `stage` in the window (its first entry there), paired
/// as `then` says.
pub async fn entries(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    window: Window,
    stage: &str,
    then: Then<'_>,
) -> Result<Vec<Pair>, AppError> {
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
        Then::NextStage(s) | Then::LastStage(s) => {
            let at = Expr::col((n.clone(), st::Column::At));
            let (pick, order) = match then {
                Then::NextStage(_) => (Func::min(at.clone()), at.gte(x_entered)),
                _ => (Func::max(at.clone()), at.lte(x_entered)),
            };
            q.expr_as(pick, Alias::new("other")).join_as(
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
                    .add(order),
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
    run(db, &q).await
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
