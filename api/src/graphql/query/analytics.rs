//! Funnel, pipeline velocity and SLA compliance, for managers and admins. Definitions are in
//! the README ("Pipeline analytics"), beside the query that returns each figure.

use std::collections::BTreeMap;

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use quorum_domain::filter::AccountFilter;
use quorum_domain::metrics::{Durations, ratio, velocity};
use quorum_domain::value::{Role, WorkspaceId};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::auth::{RoleGuard, viewer};
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::object::{Stage, parse_id};
use crate::graphql::state;
use crate::store;
use crate::store::analytics::{Deal, Queue, Scope, Step, Window};
use crate::store::entity::segment;

const SECONDS_PER_HOUR: f64 = 3_600.0;
const SECONDS_PER_DAY: f64 = 86_400.0;
/// The longest window a report reads: enough for multi-year trends, bounded so one request
/// cannot scan a workspace's whole history many times over.
const MAX_WINDOW_DAYS: i64 = 3 * 366;

#[derive(Default)]
pub struct AnalyticsQuery;

/// How long a step took, over the accounts that took it. Hours; null without data.
#[derive(SimpleObject)]
pub struct DurationStats {
    pub count: i64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

impl DurationStats {
    fn of(d: Durations) -> Self {
        Self {
            count: d.count as i64,
            median_hours: d.median.map(|s| s / SECONDS_PER_HOUR),
            p90_hours: d.p90.map(|s| s / SECONDS_PER_HOUR),
        }
    }
}

/// One step of the funnel.
#[derive(SimpleObject)]
pub struct FunnelStage {
    pub stage: Stage,
    /// Accounts that entered the stage in the window (each once).
    pub entered: i64,
    /// The stage this one converts to; null for the last.
    pub next: Option<Stage>,
    /// Of those, how many entered `next` afterwards (by now).
    pub converted: Option<i64>,
    /// `converted / entered`; null when none entered.
    pub conversion_rate: Option<f64>,
    /// From entering this stage to entering `next`, over those converted.
    pub time_to_next: Option<DurationStats>,
}

#[derive(SimpleObject)]
pub struct Funnel {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub stages: Vec<FunnelStage>,
    /// From an account's first engagement to its entering SQL, over accounts that entered SQL
    /// in the window after engaging.
    pub time_to_sql: DurationStats,
    /// From an account's last entry into SQL to its entering WON, over accounts won in the
    /// window that had been SQLs.
    pub sql_to_won: DurationStats,
    /// Won opportunities closed in the window whose account was an SQL before the
    /// opportunity opened: their total amount.
    pub sql_sourced_revenue: f64,
    /// Marketing spend recorded for the months that start in the window (the segment's own
    /// with `segmentId`); null when none was recorded.
    pub spend: Option<f64>,
    /// `spend / SQLs entered in the window`; null without spend or without SQLs.
    pub cost_per_sql: Option<f64>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum PipelineGroup {
    None,
    Segment,
    Tier,
    Rep,
    Month,
}

/// Pipeline velocity of one group of opportunities opened in the window.
#[derive(SimpleObject)]
pub struct VelocityRow {
    /// `all`; a segment id; a tier (`1`–`3`, `none`); a rep's user id (`none`: no owner);
    /// a month (`YYYY-MM`).
    pub key: String,
    /// A readable name for `key` (the segment's or rep's name).
    pub label: String,
    pub opportunities: i64,
    pub won: i64,
    pub lost: i64,
    pub open: i64,
    /// `won / (won + lost)`; null while none is closed.
    pub win_rate: Option<f64>,
    /// Average amount of the won ones; null when none is won.
    pub average_deal_size: Option<f64>,
    /// Average days from opening to winning, over the won ones; null when none is won.
    pub average_cycle_days: Option<f64>,
    /// `opportunities × winRate × averageDealSize ÷ averageCycleDays`: value per day; null
    /// when a factor is null or the cycle is zero days.
    pub velocity: Option<f64>,
}

/// How one rep met the first-touch SLA on assignments made in the window.
#[derive(SimpleObject)]
pub struct RepSla {
    pub rep_id: ID,
    pub rep_name: String,
    pub assignments: i64,
    /// First-touched by `dueAt`.
    pub within_sla: i64,
    /// `withinSla / assignments`.
    pub within_sla_rate: Option<f64>,
    /// Over the first-touched ones, in minutes.
    pub median_minutes_to_first_touch: Option<f64>,
}

fn window(from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<Window> {
    if to <= from {
        return Err(AppError::bad_input("to", "must be after `from`"));
    }
    if (to - from).num_days() > MAX_WINDOW_DAYS {
        return Err(AppError::bad_input(
            "to",
            format!("a window may span at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok(Window { from, to })
}

/// What every report starts from: the caller's workspace, the checked window, and the
/// segment (its row and filter) when one is named.
struct Report {
    ws: WorkspaceId,
    window: Window,
    segment: Option<(segment::Model, AccountFilter)>,
}

impl Report {
    async fn new(
        ctx: &Context<'_>,
        db: &impl sea_orm::ConnectionTrait,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        segment_id: Option<&ID>,
    ) -> AppResult<Self> {
        let v = viewer(ctx)?;
        let window = window(from, to)?;
        let segment = segment_of(v.workspace_id, db, segment_id).await?;
        Ok(Self {
            ws: v.workspace_id,
            window,
            segment,
        })
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            ws: self.ws,
            segment: self.segment.as_ref().map(|(_, f)| f),
        }
    }
}

async fn segment_of(
    ws: WorkspaceId,
    db: &impl sea_orm::ConnectionTrait,
    id: Option<&ID>,
) -> AppResult<Option<(segment::Model, AccountFilter)>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let row = match parse_id(id) {
        Some(id) => store::segment::get(ws, db, id).await?,
        None => None,
    };
    let row = row.ok_or(AppError::NotFound("segment"))?;
    let filter = crate::segment::filter_of(&row)?;
    Ok(Some((row, filter)))
}

/// One statement of the funnel report.
enum Part {
    /// `STEPS[i]`.
    Step(usize),
    SqlToWon,
    Revenue,
    Spend,
}

/// What a [`Part`] measured.
enum Got {
    Step(Step),
    Took(Durations),
    Revenue(f64),
    Spend(Option<f64>),
}

/// What every part of one funnel report reads over.
struct Env<'a> {
    scope: Scope<'a>,
    w: Window,
    ws: WorkspaceId,
    segment_id: Option<uuid::Uuid>,
}

/// Measures parts from `queue` on `db` until none is left.
async fn drain(
    db: &DatabaseTransaction,
    queue: &Queue<Part>,
    env: &Env<'_>,
) -> AppResult<Vec<(usize, Got)>> {
    let (scope, w) = (env.scope, env.w);
    let mut done = Vec::new();
    while let Some((i, part)) = queue.next()? {
        let got = match part {
            Part::Step(i) => {
                let since = STEPS[i].0 == Stage::Sql;
                Got::Step(store::analytics::step(db, scope, w, STEP_NAMES[i], since).await?)
            }
            Part::SqlToWon => {
                Got::Took(store::analytics::durations(db, scope, w, "WON", "SQL").await?)
            }
            Part::Revenue => {
                Got::Revenue(store::analytics::sql_sourced_revenue(db, scope, w).await?)
            }
            Part::Spend => {
                Got::Spend(store::analytics::spend(env.ws, db, w, env.segment_id).await?)
            }
        };
        done.push((i, got));
    }
    Ok(done)
}

/// `STEPS`' stages as stored: `store::analytics::FUNNEL`.
const STEP_NAMES: [&str; 5] = store::analytics::FUNNEL;

/// The funnel's steps, each converting to the next: `store::analytics::FUNNEL`'s order, by
/// which transitions are linked to their next stage as they are written.
const STEPS: [(Stage, Option<Stage>); 5] = [
    (Stage::Engaged, Some(Stage::Mql)),
    (Stage::Mql, Some(Stage::Sql)),
    (Stage::Sql, Some(Stage::Opportunity)),
    (Stage::Opportunity, Some(Stage::Won)),
    (Stage::Won, None),
];

#[Object]
impl AnalyticsQuery {
    /// Stage conversion, time to SQL, SQL-sourced revenue and cost per SQL over `[from, to)`,
    /// for the workspace or a segment's current members.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn funnel(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        segment_id: Option<ID>,
    ) -> async_graphql::Result<Funnel> {
        let run = async {
            let reads = store::analytics::Reads::begin(&state(ctx)?.db).await?;
            let r = Report::new(ctx, reads.main(), from, to, segment_id.as_ref()).await?;
            let (w, scope, segment) = (r.window, r.scope(), &r.segment);
            // One statement per figure, spread over the report's connections; the steps
            // with the most entries first.
            let mut parts: Vec<Part> = (0..STEPS.len()).map(Part::Step).collect();
            parts.extend([Part::Revenue, Part::SqlToWon, Part::Spend]);
            let env = Env {
                scope,
                w,
                ws: r.ws,
                segment_id: segment.as_ref().map(|(s, _)| s.id),
            };
            let queue = Queue::new(parts);
            let mut got = match reads.connections() {
                (main, Some(side)) => {
                    let (mut a, b) =
                        tokio::try_join!(drain(main, &queue, &env), drain(side, &queue, &env))?;
                    a.extend(b);
                    a
                }
                (main, None) => drain(main, &queue, &env).await?,
            };
            got.sort_by_key(|(i, _)| *i);
            let got = got.into_iter().map(|(_, g)| g);
            let mut figures: Vec<Step> = Vec::new();
            let (mut to_won, mut revenue, mut spend) = (Durations::of(&[]), 0.0, None);
            for g in got {
                match g {
                    Got::Step(s) => figures.push(s),
                    Got::Took(d) => to_won = d,
                    Got::Revenue(r) => revenue = r,
                    Got::Spend(s) => spend = s,
                }
            }
            let sql_step = STEPS
                .iter()
                .zip(&figures)
                .find(|((s, _), _)| *s == Stage::Sql)
                .map(|(_, f)| *f);
            let to_sql = sql_step.map_or(Durations::of(&[]), |f| f.since_engaged);
            let sqls = sql_step.map_or(0, |f| f.entered);
            let stages = STEPS
                .iter()
                .zip(&figures)
                .map(|((stage, next), f)| FunnelStage {
                    stage: *stage,
                    entered: f.entered,
                    next: *next,
                    converted: next.map(|_| f.next.count as i64),
                    conversion_rate: next
                        .and_then(|_| ratio(f.next.count as f64, f.entered as f64)),
                    time_to_next: next.map(|_| DurationStats::of(f.next)),
                })
                .collect();
            AppResult::Ok(Funnel {
                from,
                to,
                stages,
                time_to_sql: DurationStats::of(to_sql),
                sql_to_won: DurationStats::of(to_won),
                sql_sourced_revenue: revenue,
                spend,
                cost_per_sql: spend.and_then(|s| ratio(s, sqls as f64)),
            })
        };
        run.await.gql()
    }

    /// Opportunities opened in `[from, to)`, grouped, with win rate, deal size, cycle and
    /// velocity. Groups without opportunities are left out.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn pipeline_velocity(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        segment_id: Option<ID>,
        group_by: Option<PipelineGroup>,
    ) -> async_graphql::Result<Vec<VelocityRow>> {
        let run = async {
            let db = &state(ctx)?.db;
            let r = Report::new(ctx, db, from, to, segment_id.as_ref()).await?;
            let (w, scope, segment) = (r.window, r.scope(), &r.segment);
            let group = group_by.unwrap_or(PipelineGroup::None);
            let mut rows = Vec::new();
            if group == PipelineGroup::Segment {
                // Each segment's members, within the `segmentId` one when given.
                for s in store::segment::list(r.ws, db).await? {
                    let mut filter = crate::segment::filter_of(&s)?;
                    if let Some((_, outer)) = segment {
                        filter = AccountFilter::And(vec![outer.clone(), filter]);
                    }
                    let scope = Scope {
                        ws: r.ws,
                        segment: Some(&filter),
                    };
                    let deals = store::analytics::deals(db, scope, w).await?;
                    if !deals.is_empty() {
                        let refs: Vec<&Deal> = deals.iter().collect();
                        rows.push(velocity_row(s.id.to_string(), s.name.clone(), &refs));
                    }
                }
                return AppResult::Ok(rows);
            }
            let deals = store::analytics::deals(db, scope, w).await?;
            let mut groups: BTreeMap<String, Vec<&Deal>> = BTreeMap::new();
            for d in &deals {
                let key = match group {
                    PipelineGroup::None | PipelineGroup::Segment => "all".to_owned(),
                    PipelineGroup::Tier => d.tier.map_or("none".to_owned(), |t| t.to_string()),
                    PipelineGroup::Rep => d.owner_id.map_or("none".to_owned(), |u| u.to_string()),
                    PipelineGroup::Month => d.created_at.format("%Y-%m").to_string(),
                };
                groups.entry(key).or_default().push(d);
            }
            let names = if group == PipelineGroup::Rep {
                rep_names(r.ws, db).await?
            } else {
                BTreeMap::new()
            };
            for (key, deals) in groups {
                let label = match group {
                    PipelineGroup::Tier if key != "none" => format!("Tier {key}"),
                    PipelineGroup::Rep => names
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| "No owner".into()),
                    PipelineGroup::None => "All opportunities".to_owned(),
                    _ => key.clone(),
                };
                rows.push(velocity_row(key, label, &deals));
            }
            AppResult::Ok(rows)
        };
        run.await.gql()
    }

    /// Per rep: assignments made in `[from, to)`, the share first-touched within the SLA, and
    /// the median time to the first touch.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Manager])")]
    async fn sla_compliance(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        segment_id: Option<ID>,
    ) -> async_graphql::Result<Vec<RepSla>> {
        let run = async {
            let db = &state(ctx)?.db;
            let r = Report::new(ctx, db, from, to, segment_id.as_ref()).await?;
            let (w, scope) = (r.window, r.scope());
            let touches = store::analytics::touches(db, scope, w).await?;
            let mut by_rep: BTreeMap<String, Vec<&store::analytics::Touch>> = BTreeMap::new();
            for t in &touches {
                by_rep.entry(t.rep_id.to_string()).or_default().push(t);
            }
            let names = rep_names(r.ws, db).await?;
            let rows = by_rep
                .into_iter()
                .map(|(rep, ts)| {
                    let within = ts
                        .iter()
                        .filter(|t| t.first_touch_at.is_some_and(|f| f <= t.due_at))
                        .count();
                    let minutes: Vec<f64> = ts
                        .iter()
                        .filter_map(|t| {
                            t.first_touch_at
                                .map(|f| (f - t.assigned_at).num_milliseconds() as f64 / 60_000.0)
                        })
                        .collect();
                    RepSla {
                        rep_name: names.get(&rep).cloned().unwrap_or_default(),
                        rep_id: ID(rep),
                        assignments: ts.len() as i64,
                        within_sla: within as i64,
                        within_sla_rate: ratio(within as f64, ts.len() as f64),
                        median_minutes_to_first_touch: Durations::of(&minutes).median,
                    }
                })
                .collect();
            AppResult::Ok(rows)
        };
        run.await.gql()
    }
}

async fn rep_names(
    ws: WorkspaceId,
    db: &DatabaseConnection,
) -> AppResult<BTreeMap<String, String>> {
    Ok(store::routing::reps(ws, db)
        .await?
        .into_iter()
        .map(|u| (u.id.to_string(), u.name))
        .collect())
}

fn velocity_row(key: String, label: String, deals: &[&Deal]) -> VelocityRow {
    let won: Vec<&&Deal> = deals.iter().filter(|d| d.status == "WON").collect();
    let lost = deals.iter().filter(|d| d.status == "LOST").count();
    let open = deals.len() - won.len() - lost;
    let win_rate = ratio(won.len() as f64, (won.len() + lost) as f64);
    let average_deal_size = ratio(won.iter().map(|d| d.amount).sum(), won.len() as f64);
    let average_cycle_days = ratio(
        won.iter()
            .filter_map(|d| {
                d.closed_at.map(|c| {
                    (c - d.created_at).num_milliseconds() as f64 / 1_000.0 / SECONDS_PER_DAY
                })
            })
            .sum(),
        won.len() as f64,
    );
    VelocityRow {
        key,
        label,
        opportunities: deals.len() as i64,
        won: won.len() as i64,
        lost: lost as i64,
        open: open as i64,
        win_rate,
        average_deal_size,
        average_cycle_days,
        velocity: velocity(
            deals.len() as u64,
            win_rate,
            average_deal_size,
            average_cycle_days,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_steps_are_the_stages_transitions_are_linked_by() {
        let reported: Vec<&str> = STEPS
            .iter()
            .map(|(s, _)| quorum_domain::value::Stage::from(*s).as_str())
            .collect();
        assert_eq!(reported, store::analytics::FUNNEL);
        for pair in STEPS.windows(2) {
            assert_eq!(pair[0].1, Some(pair[1].0));
        }
    }
}
