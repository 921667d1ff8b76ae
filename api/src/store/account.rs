use std::collections::HashMap;

use chrono::{DateTime, Utc};
use quorum_domain::filter::{AccountFilter, Condition, text_key};
use quorum_domain::value::{AccountId, CountryCode, Domain, Stage, Tier, WorkspaceId};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition as Cond, ConnectionTrait, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity::{account, account_technology};
use super::{IN_CHUNK, Patch};
use crate::error::AppError;

/// One parsed item of `upsertAccounts`, keyed on its domain.
#[derive(Debug, Clone)]
pub struct AccountUpsert {
    pub name: String,
    pub domain: Domain,
    pub industry: Patch<String>,
    pub employee_count: Patch<i64>,
    pub annual_revenue: Patch<f64>,
    pub country: Patch<CountryCode>,
    pub region: Patch<String>,
    pub tier: Patch<Tier>,
    /// `Some` replaces the whole set.
    pub technologies: Option<Vec<String>>,
}

pub async fn find(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: AccountId,
) -> Result<Option<account::Model>, AppError> {
    Ok(account::Entity::find_by_id((ws.get(), id.get()))
        .one(db)
        .await?)
}

/// `find`, locking the row until the transaction ends (see [`super::for_update`]).
pub async fn find_for_update(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: AccountId,
) -> Result<Option<account::Model>, AppError> {
    let q = account::Entity::find_by_id((ws.get(), id.get()));
    Ok(super::for_update(q, db).one(db).await?)
}

pub async fn of_ids(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<account::Model>, AppError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            account::Entity::find()
                .filter(account::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    account::Column::Id,
                    chunk.iter().map(|i| i.get()),
                ))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Accounts whose domain is one of `domains`.
pub async fn of_domains(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    domains: &[Domain],
) -> Result<Vec<account::Model>, AppError> {
    let mut out = Vec::with_capacity(domains.len());
    for chunk in domains.chunks(IN_CHUNK) {
        out.extend(
            account::Entity::find()
                .filter(account::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    account::Column::Domain,
                    chunk.iter().map(|d| d.as_str().to_owned()),
                ))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Technologies of each account, in name order.
pub async fn technologies_of(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<account_technology::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            account_technology::Entity::find()
                .filter(account_technology::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    account_technology::Column::AccountId,
                    chunk.iter().map(|i| i.get()),
                ))
                .order_by_asc(account_technology::Column::Technology)
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// What `upsert_many` wrote.
pub struct Upserted {
    /// In input order.
    pub rows: Vec<account::Model>,
    /// Items that matched the stored account exactly, so nothing was written for them.
    pub unchanged: usize,
}

/// Creates or updates every item (the caller runs this in a transaction and has refused
/// duplicate domains). An item that changes nothing writes nothing, not even `updated_at`, so
/// re-sending the same data (a re-run import) is a no-op.
pub async fn upsert_many(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    items: Vec<AccountUpsert>,
) -> Result<Upserted, AppError> {
    let domains: Vec<Domain> = items.iter().map(|i| i.domain.clone()).collect();
    let mut existing: HashMap<String, account::Model> = of_domains(ws, db, &domains)
        .await?
        .into_iter()
        .map(|a| (a.domain.clone(), a))
        .collect();
    // Stored technologies of the existing accounts whose set an item replaces, to tell a real
    // change from the same set sent again.
    let replacing: Vec<AccountId> = items
        .iter()
        .filter(|i| i.technologies.is_some())
        .filter_map(|i| existing.get(i.domain.as_str()))
        .map(|a| AccountId::from(a.id))
        .collect();
    let mut stored_techs: HashMap<Uuid, Vec<String>> = HashMap::new();
    for t in technologies_of(ws, db, &replacing).await? {
        stored_techs
            .entry(t.account_id)
            .or_default()
            .push(t.technology);
    }
    let now = super::now();
    let mut out = Vec::with_capacity(items.len());
    let mut unchanged = 0;
    let mut inserts = Vec::new();
    let mut tech_replaced: Vec<Uuid> = Vec::new();
    let mut tech_rows = Vec::new();
    for item in items {
        let current = existing.remove(item.domain.as_str());
        let is_new = current.is_none();
        let base = current.unwrap_or_else(|| account::Model {
            id: AccountId::new().get(),
            workspace_id: ws.get(),
            name: String::new(),
            domain: item.domain.as_str().to_owned(),
            industry: None,
            employee_count: None,
            annual_revenue: None,
            country: None,
            region: None,
            tier: None,
            stage: Stage::Target.as_str().to_owned(),
            owner_id: None,
            score_total: 0.0,
            score_fit: 0.0,
            score_engagement: 0.0,
            score_intent: 0.0,
            score_coverage: 0.0,
            score_model_version: 0,
            score_computed_at: None,
            intent_activity: None,
            stage_manual: false,
            stage_changed_at: Some(now),
            created_at: now,
            updated_at: now,
            name_key: String::new(),
            industry_key: None,
            region_key: None,
            base_tier: None,
            first_engaged_at: None,
        });
        let industry = item.industry.apply(base.industry.clone());
        let region = item.region.apply(base.region.clone());
        let base_tier = item.tier.map(|t| i16::from(t.get())).apply(base.base_tier);
        let mut model = account::Model {
            name_key: text_key(&item.name),
            industry_key: industry.as_deref().map(text_key),
            region_key: region.as_deref().map(text_key),
            name: item.name,
            industry,
            employee_count: item.employee_count.apply(base.employee_count),
            annual_revenue: item.annual_revenue.apply(base.annual_revenue),
            country: item
                .country
                .map(|c| c.as_str().to_owned())
                .apply(base.country.clone()),
            region,
            // A tier-setting segment may override it: the caller refreshes segment tiers.
            tier: if base_tier == base.base_tier {
                base.tier
            } else {
                base_tier
            },
            base_tier,
            ..base.clone()
        };
        let techs = item.technologies.filter(|techs| {
            let mut stored = stored_techs.remove(&model.id).unwrap_or_default();
            let mut given = techs.clone();
            stored.sort();
            given.sort();
            is_new || stored != given
        });
        if is_new {
            inserts.push(active(&model));
        } else if model != base || techs.is_some() {
            model.updated_at = now;
            account::Entity::update(upserted(&model, &base))
                .exec(db)
                .await?;
        } else {
            unchanged += 1;
        }
        if let Some(techs) = techs {
            tech_replaced.push(model.id);
            tech_rows.extend(techs.into_iter().map(|t| account_technology::ActiveModel {
                account_id: Set(model.id),
                technology_key: Set(text_key(&t)),
                technology: Set(t),
                workspace_id: Set(ws.get()),
            }));
        }
        out.push(model);
    }
    // 29 columns × 500 rows.
    super::insert_chunked(db, inserts, 500).await?;
    for chunk in tech_replaced.chunks(IN_CHUNK) {
        account_technology::Entity::delete_many()
            .filter(account_technology::Column::WorkspaceId.eq(ws.get()))
            .filter(super::one_of(
                db,
                account_technology::Column::AccountId,
                chunk.iter().copied(),
            ))
            .exec(db)
            .await?;
    }
    super::insert_chunked(db, tech_rows, 2_000).await?;
    Ok(Upserted {
        rows: out,
        unchanged,
    })
}

fn active(m: &account::Model) -> account::ActiveModel {
    super::all_set(m.clone())
}

/// The update an upsert makes to an existing account: only the columns it owns. Scores,
/// stage, owner and first engagement belong to other writers whose transactions this one
/// does not lock against, and writing back the values it read would undo theirs.
fn upserted(m: &account::Model, before: &account::Model) -> account::ActiveModel {
    use sea_orm::ActiveValue::{NotSet, Unchanged};
    account::ActiveModel {
        workspace_id: Unchanged(m.workspace_id),
        id: Unchanged(m.id),
        name: Set(m.name.clone()),
        name_key: Set(m.name_key.clone()),
        industry: Set(m.industry.clone()),
        industry_key: Set(m.industry_key.clone()),
        employee_count: Set(m.employee_count),
        annual_revenue: Set(m.annual_revenue),
        country: Set(m.country.clone()),
        region: Set(m.region.clone()),
        region_key: Set(m.region_key.clone()),
        // Segment tiering writes `tier` too; an upsert only moves it with the base tier.
        tier: if m.tier == before.tier {
            NotSet
        } else {
            Set(m.tier)
        },
        base_tier: Set(m.base_tier),
        updated_at: Set(m.updated_at),
        ..Default::default()
    }
}

pub(crate) fn chunked<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut it = items.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(size).collect());
    }
    out
}

/// What `accounts` may be ordered by. Ties are broken by id, so every order is total and a
/// keyset cursor never skips or repeats a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortKey {
    Name,
    Created,
    Score,
    Fit,
    Engagement,
    StageChanged,
}

impl SortKey {
    fn column(self) -> account::Column {
        match self {
            Self::Name => account::Column::Name,
            Self::Created => account::Column::CreatedAt,
            Self::Score => account::Column::ScoreTotal,
            Self::Fit => account::Column::ScoreFit,
            Self::Engagement => account::Column::ScoreEngagement,
            Self::StageChanged => account::Column::StageChangedAt,
        }
    }

    /// The row's value of this key, as a cursor carries it.
    pub fn value_of(self, a: &account::Model) -> KeyValue {
        match self {
            Self::Name => KeyValue::Text(a.name.clone()),
            Self::Created => KeyValue::Time(a.created_at),
            Self::Score => KeyValue::Number(a.score_total),
            Self::Fit => KeyValue::Number(a.score_fit),
            Self::Engagement => KeyValue::Number(a.score_engagement),
            // Never null: set when the account is created (older rows by the migration).
            Self::StageChanged => KeyValue::Time(a.stage_changed_at.unwrap_or(a.created_at)),
        }
    }
}

/// A sort key's value at the cursor.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum KeyValue {
    Text(String),
    Time(DateTime<Utc>),
    Number(f64),
}

impl KeyValue {
    fn expr(&self) -> SimpleExpr {
        match self {
            Self::Text(s) => Expr::value(s.clone()),
            Self::Time(t) => Expr::value(*t),
            Self::Number(n) => Expr::value(*n),
        }
    }
}

/// Where a page starts: after the row with this key value and id, in this order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct After {
    pub sort: SortKey,
    pub descending: bool,
    pub key: KeyValue,
    pub id: Uuid,
}

/// One page of accounts, in order, with whether more follow and (when asked) how many match
/// in all.
pub struct Page {
    pub rows: Vec<account::Model>,
    pub has_next: bool,
    pub total: Option<u64>,
}

/// The sort key and whether it descends come as one pair.
pub async fn page(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    filter: &AccountFilter,
    (sort, descending): (SortKey, bool),
    first: u64,
    after: Option<After>,
    count: bool,
) -> Result<Page, AppError> {
    let base = account::Entity::find()
        .filter(account::Column::WorkspaceId.eq(ws.get()))
        .filter(compile(ws, filter));
    // Counting every match costs as much as the page itself on a large workspace: only when
    // the client asked for `totalCount`.
    let total = if count {
        Some(base.clone().count(db).await?)
    } else {
        None
    };
    let col = sort.column();
    let mut q = base;
    if let Some(after) = after {
        let (v, id) = (after.key.expr(), after.id);
        let (past, id_past) = if descending {
            (Expr::col(col).lt(v.clone()), account::Column::Id.lt(id))
        } else {
            (Expr::col(col).gt(v.clone()), account::Column::Id.gt(id))
        };
        q = q.filter(
            Cond::any()
                .add(past)
                .add(Cond::all().add(Expr::col(col).eq(v)).add(id_past)),
        );
    }
    let order = if descending { Order::Desc } else { Order::Asc };
    let mut rows = q
        .order_by(col, order.clone())
        .order_by(account::Column::Id, order)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok(Page {
        rows,
        has_next,
        total,
    })
}

/// The filter as one SQL condition. Technology tests are `EXISTS` subqueries on
/// `account_technology`, which both backends plan well with its (workspace, technology) index.
/// Public for the fuzz targets (`fuzz/`).
#[doc(hidden)]
pub fn compile(ws: WorkspaceId, f: &AccountFilter) -> Cond {
    match f {
        AccountFilter::And(children) => children
            .iter()
            .fold(Cond::all(), |c, child| c.add(compile(ws, child))),
        AccountFilter::Or(children) => children
            .iter()
            .fold(Cond::any(), |c, child| c.add(compile(ws, child))),
        AccountFilter::Not(inner) => compile(ws, inner).not(),
        AccountFilter::Is(cond) => condition(ws, cond),
    }
}

fn keys(values: &[String]) -> Vec<String> {
    values.iter().map(|v| text_key(v)).collect()
}

fn uses_technology(ws: WorkspaceId, techs: Vec<String>) -> SimpleExpr {
    let sub = Query::select()
        .expr(Expr::val(1))
        .from(account_technology::Entity)
        .and_where(
            Expr::col((
                account_technology::Entity,
                account_technology::Column::WorkspaceId,
            ))
            .eq(ws.get()),
        )
        .and_where(
            Expr::col((
                account_technology::Entity,
                account_technology::Column::AccountId,
            ))
            .equals((account::Entity, account::Column::Id)),
        )
        .and_where(
            Expr::col((
                account_technology::Entity,
                account_technology::Column::TechnologyKey,
            ))
            .is_in(techs),
        )
        .to_owned();
    Expr::exists(sub)
}

/// Each condition is false, never NULL, for an account without the attribute, so that `not`
/// keeps the meaning a person expects: an account with no industry is "not in fintech".
fn condition(ws: WorkspaceId, c: &Condition) -> Cond {
    let one = |e: SimpleExpr| Cond::all().add(e);
    let present = |col: account::Column, e: SimpleExpr| Cond::all().add(col.is_not_null()).add(e);
    match c {
        Condition::IndustryIn(v) => present(
            account::Column::IndustryKey,
            account::Column::IndustryKey.is_in(keys(v)),
        ),
        Condition::RegionIn(v) => present(
            account::Column::RegionKey,
            account::Column::RegionKey.is_in(keys(v)),
        ),
        Condition::CountryIn(v) => present(
            account::Column::Country,
            account::Column::Country.is_in(v.iter().map(|c| c.as_str().to_owned())),
        ),
        Condition::EmployeeCount { min, max } => {
            let mut c = Cond::all().add(account::Column::EmployeeCount.is_not_null());
            if let Some(lo) = min {
                c = c.add(account::Column::EmployeeCount.gte(*lo));
            }
            if let Some(hi) = max {
                c = c.add(account::Column::EmployeeCount.lte(*hi));
            }
            c
        }
        Condition::AnnualRevenue { min, max } => {
            let mut c = Cond::all().add(account::Column::AnnualRevenue.is_not_null());
            if let Some(lo) = min {
                c = c.add(account::Column::AnnualRevenue.gte(*lo));
            }
            if let Some(hi) = max {
                c = c.add(account::Column::AnnualRevenue.lte(*hi));
            }
            c
        }
        Condition::TechnologiesAny(v) => one(uses_technology(ws, keys(v))),
        Condition::TechnologiesAll(v) => keys(v)
            .into_iter()
            .fold(Cond::all(), |c, t| c.add(uses_technology(ws, vec![t]))),
        Condition::TechnologiesNone(v) => Cond::all().add(uses_technology(ws, keys(v))).not(),
        Condition::TierIn(v) => present(
            account::Column::Tier,
            account::Column::Tier.is_in(v.iter().map(|t| i16::from(t.get()))),
        ),
        Condition::StageIn(v) => one(account::Column::Stage.is_in(v.iter().map(|s| s.as_str()))),
        Condition::ScoreMin(m) => one(account::Column::ScoreTotal.gte(*m)),
        Condition::FitMin(m) => one(account::Column::ScoreFit.gte(*m)),
        Condition::EngagementMin(m) => one(account::Column::ScoreEngagement.gte(*m)),
        Condition::OwnerIs(u) => present(
            account::Column::OwnerId,
            account::Column::OwnerId.eq(u.get()),
        ),
        Condition::Unassigned(true) => one(account::Column::OwnerId.is_null()),
        Condition::Unassigned(false) => one(account::Column::OwnerId.is_not_null()),
        Condition::NameContains(s) => {
            let escaped: String = text_key(s).chars().fold(String::new(), |mut acc, ch| {
                if matches!(ch, '%' | '_' | '\\') {
                    acc.push('\\');
                }
                acc.push(ch);
                acc
            });
            one(account::Column::NameKey.like(LikeExpr::new(format!("%{escaped}%")).escape('\\')))
        }
    }
}

/// Up to `limit` account ids after `after`, in id order. With `stale_for`, only accounts
/// whose score decays with time (engagement or intent above 0) or was made by another model
/// version.
pub async fn ids_page(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    after: Option<AccountId>,
    limit: u64,
    stale_for: Option<i32>,
) -> Result<Vec<AccountId>, AppError> {
    let mut q = account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .filter(account::Column::WorkspaceId.eq(ws.get()));
    if let Some(a) = after {
        q = q.filter(account::Column::Id.gt(a.get()));
    }
    if let Some(version) = stale_for {
        q = q.filter(
            Cond::any()
                .add(account::Column::ScoreEngagement.gt(0.0))
                .add(account::Column::ScoreIntent.gt(0.0))
                .add(account::Column::ScoreModelVersion.ne(version)),
        );
    }
    let ids: Vec<Uuid> = q
        .order_by_asc(account::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(AccountId::from).collect())
}

/// Stores each account's decayed `INTENT_SURGE` aggregate (JSON).
pub async fn set_intents(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    rows: &[(AccountId, String)],
) -> Result<(), AppError> {
    if super::bulk::json_rows(db) {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|(id, intent)| serde_json::json!({ "id": id.get(), "intent": intent }))
            .collect();
        return super::bulk::exec(
            db,
            "UPDATE account SET intent_activity = v.intent \
             FROM json_to_recordset($1::json) AS v(id uuid, intent text) \
             WHERE account.id = v.id AND account.workspace_id = $2",
            &json,
            Some(ws.get().into()),
        )
        .await;
    }
    // SQLite runs in process: a statement per account costs microseconds.
    for (id, intent) in rows {
        account::Entity::update_many()
            .col_expr(account::Column::IntentActivity, Expr::value(intent.clone()))
            .filter(account::Column::WorkspaceId.eq(ws.get()))
            .filter(account::Column::Id.eq(id.get()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// A freshly computed score for one account.
pub struct ScoreRow {
    pub id: AccountId,
    pub total: f64,
    pub fit: f64,
    pub engagement: f64,
    pub intent: f64,
    pub coverage: f64,
    pub model_version: i32,
    pub computed_at: DateTime<Utc>,
}

/// Writes many scores with one `UPDATE … FROM` per chunk rather than one statement per
/// account: a rescore of a 1,000-event batch touches up to 1,000 accounts.
pub async fn set_scores(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    rows: &[ScoreRow],
) -> Result<(), AppError> {
    use sea_orm::{DatabaseBackend, Statement, Value};
    if super::bulk::json_rows(db) {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id.get(), "total": r.total, "fit": r.fit, "engagement": r.engagement,
                    "intent": r.intent, "coverage": r.coverage, "version": r.model_version,
                    "computed_at": r.computed_at,
                })
            })
            .collect();
        return super::bulk::exec(
            db,
            "UPDATE account SET score_total = v.total, score_fit = v.fit, \
             score_engagement = v.engagement, score_intent = v.intent, score_coverage = v.coverage, \
             score_model_version = v.version, score_computed_at = v.computed_at \
             FROM json_to_recordset($1::json) AS v(id uuid, total float8, fit float8, \
             engagement float8, intent float8, coverage float8, version int, computed_at timestamptz) \
             WHERE account.id = v.id AND account.workspace_id = $2",
            &json,
            Some(ws.get().into()),
        )
        .await;
    }
    let backend = db.get_database_backend();
    // 8 values a row; 500 rows stay under SQLite's 32,766 bound parameters.
    for chunk in rows.chunks(500) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 8 + 1);
        let mut tuples = Vec::with_capacity(chunk.len());
        let mut n = 0;
        let mut next = |values: &mut Vec<Value>, v: Value| {
            values.push(v);
            n += 1;
            if backend == DatabaseBackend::Postgres {
                format!("${n}")
            } else {
                "?".to_owned()
            }
        };
        for r in chunk {
            let p = [
                next(&mut values, r.id.get().into()),
                next(&mut values, r.total.into()),
                next(&mut values, r.fit.into()),
                next(&mut values, r.engagement.into()),
                next(&mut values, r.intent.into()),
                next(&mut values, r.coverage.into()),
                next(&mut values, r.model_version.into()),
                next(&mut values, r.computed_at.into()),
            ];
            tuples.push(format!("({})", p.join(", ")));
        }
        let ws_param = next(&mut values, ws.get().into());
        let sql = format!(
            "WITH v(id, total, fit, engagement, intent, coverage, version, computed_at) AS (VALUES {}) \
             UPDATE account SET score_total = v.total, score_fit = v.fit, score_engagement = v.engagement, \
             score_intent = v.intent, score_coverage = v.coverage, score_model_version = v.version, \
             score_computed_at = v.computed_at \
             FROM v WHERE account.id = v.id AND account.workspace_id = {ws_param}",
            tuples.join(", ")
        );
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}
