//! Rescoring accounts: gather what the pure engine needs, score, write scores and history.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use quorum_domain::qualify::{self, Origin, Signals};
use quorum_domain::score::{
    self, AccountFacts, ContactActivity, ContactEngagement, DecayedCount, ScoringModel,
};
use quorum_domain::value::{
    AccountId, BuyingRole, CommitteeId, ContactId, CountryCode, EngagementKind, Seniority, Stage,
    Timestamp, WorkspaceId,
};
use sea_orm::ConnectionTrait;

use crate::error::AppError;
use crate::store::entity::{
    account, contact_activity, engagement_event, score_history, stage_transition,
};
use crate::store::{self, engagement::ActivityRow};

pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp::from_millis(t.timestamp_millis())
}

pub fn datetime(t: Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t.millis())
}

/// The account-level intent aggregate stored on the account row.
pub fn intent_of(a: &account::Model) -> Result<DecayedCount, AppError> {
    match &a.intent_activity {
        None => Ok(DecayedCount::default()),
        Some(json) => serde_json::from_str(json).map_err(AppError::internal),
    }
}

/// A contact's stored aggregates, rebuilt from its raw events when they were built with
/// another half-life (decayed counts cannot be converted between half-lives).
pub async fn activity_of(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    row: &contact_activity::Model,
    model: &ScoringModel,
) -> Result<ContactActivity, AppError> {
    stored_activity(
        ws,
        db,
        row.contact_id,
        &row.activity,
        row.half_life_days,
        model,
    )
    .await
}

async fn stored_activity(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    contact: uuid::Uuid,
    json: &str,
    half_life_days: f64,
    model: &ScoringModel,
) -> Result<ContactActivity, AppError> {
    if half_life_days.to_bits() == model.half_life_days.to_bits() {
        return serde_json::from_str(json).map_err(AppError::internal);
    }
    let events = store::engagement::events_of_contact(ws, db, ContactId::from(contact)).await?;
    Ok(rebuild(&events, model.half_life_days))
}

/// A contact's aggregates from its raw events.
pub fn rebuild(events: &[engagement_event::Model], half_life_days: f64) -> ContactActivity {
    let mut activity = ContactActivity::default();
    for e in events {
        if let Ok(kind) = EngagementKind::parse(&e.kind) {
            activity.record(kind, timestamp(e.occurred_at), half_life_days);
        }
    }
    activity
}

/// The stored form of a contact's aggregates.
pub fn activity_row(
    contact: ContactId,
    account: Option<AccountId>,
    activity: ContactActivity,
    model: &ScoringModel,
) -> ActivityRow {
    let last_engaged_at = activity.last_engaged_at.and_then(datetime);
    ActivityRow {
        contact,
        account,
        activity,
        half_life_days: model.half_life_days,
        last_engaged_at,
    }
}

/// A history point is kept whenever the total moves by at least this much (or the model
/// changes), so the chart shows movement without a row per event.
const HISTORY_STEP: f64 = 1.0;

/// What the engine needs about one account besides the model and the time.
pub struct Inputs {
    pub facts: AccountFacts,
    pub people: Vec<ContactEngagement>,
    pub intent: DecayedCount,
    pub roles: Vec<(ContactId, BuyingRole)>,
}

impl Inputs {
    fn score(&self, model: &ScoringModel, at: Timestamp, explain: bool) -> score::AccountScore {
        let scorer = if explain {
            score::score
        } else {
            score::score_summary
        };
        scorer(
            &self.facts,
            &self.people,
            &self.intent,
            &self.roles,
            model,
            at,
        )
    }
}

/// Gathers the inputs of `accounts` (in their order) with a handful of queries for the lot;
/// `model` decides which half-life the contacts' aggregates must have.
pub async fn gather(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    accounts: &[account::Model],
    model: &ScoringModel,
) -> Result<Vec<Inputs>, AppError> {
    let ids: Vec<AccountId> = accounts.iter().map(|a| AccountId::from(a.id)).collect();
    let mut technologies: HashMap<uuid::Uuid, Vec<String>> = HashMap::new();
    for t in store::account::technologies_of(ws, db, &ids).await? {
        technologies
            .entry(t.account_id)
            .or_default()
            .push(t.technology);
    }
    let mut contacts: HashMap<uuid::Uuid, Vec<ContactEngagement>> = HashMap::new();
    for c in store::contact::scoring_rows(ws, db, &ids).await? {
        let activity = match (&c.activity, c.half_life_days) {
            (Some(json), Some(half_life)) => {
                stored_activity(ws, db, c.id, json, half_life, model).await?
            }
            _ => ContactActivity::default(),
        };
        contacts
            .entry(c.account_id)
            .or_default()
            .push(ContactEngagement {
                id: ContactId::from(c.id),
                seniority: c
                    .seniority
                    .as_deref()
                    .and_then(|s| Seniority::parse(s).ok()),
                activity,
                label: c.email,
            });
    }
    let committees = store::committee::of_accounts(ws, db, &ids).await?;
    let committee_account: HashMap<uuid::Uuid, uuid::Uuid> =
        committees.iter().map(|c| (c.id, c.account_id)).collect();
    let committee_ids: Vec<CommitteeId> =
        committees.iter().map(|c| CommitteeId::from(c.id)).collect();
    let mut members: HashMap<uuid::Uuid, Vec<(ContactId, BuyingRole)>> = HashMap::new();
    for m in store::committee::members_of(ws, db, &committee_ids).await? {
        let (Some(account), Ok(role)) = (
            committee_account.get(&m.committee_id),
            BuyingRole::parse(&m.role),
        ) else {
            continue;
        };
        members
            .entry(*account)
            .or_default()
            .push((ContactId::from(m.contact_id), role));
    }
    accounts
        .iter()
        .map(|a| {
            Ok(Inputs {
                facts: AccountFacts {
                    industry: a.industry.clone(),
                    employee_count: a.employee_count,
                    annual_revenue: a.annual_revenue,
                    country: a
                        .country
                        .as_deref()
                        .and_then(|c| CountryCode::parse(c).ok()),
                    region: a.region.clone(),
                    technologies: technologies.remove(&a.id).unwrap_or_default(),
                },
                people: contacts.remove(&a.id).unwrap_or_default(),
                intent: intent_of(a)?,
                roles: members.remove(&a.id).unwrap_or_default(),
            })
        })
        .collect()
}

/// What a rescore did.
#[derive(Debug, Default)]
pub struct Rescored {
    pub accounts: usize,
    /// Stage changes the new scores caused, stored with the scores.
    pub transitions: Vec<stage_transition::Model>,
}

/// Rescores `ids` under `model` as of `now`, in the caller's transaction, and applies the
/// stage changes the new scores call for (qualification). Stores the numbers only:
/// [`explain`] rebuilds the breakdown of a stored score when someone reads it.
pub async fn rescore(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
    model: &ScoringModel,
    now: DateTime<Utc>,
) -> Result<Rescored, AppError> {
    if ids.is_empty() {
        return Ok(Rescored::default());
    }
    let accounts = store::account::of_ids(ws, db, ids).await?;
    let inputs = gather(ws, db, &accounts, model).await?;
    let at = timestamp(now);
    let mut history = Vec::new();
    let mut scores = Vec::with_capacity(accounts.len());
    let mut changes = Vec::new();
    for (a, inputs) in accounts.iter().zip(&inputs) {
        let s = inputs.score(model, at, false);
        let signals = Signals::new(
            &s,
            qualify::latest_high_intent(inputs.people.iter().map(|p| &p.activity)),
        );
        let origin = if a.stage_manual {
            Origin::Manual
        } else {
            Origin::Automatic
        };
        // A stage this version does not know is left alone.
        if let Ok(stage) = Stage::parse(&a.stage)
            && let Some(t) = qualify::evaluate(stage, origin, &signals, &model.thresholds, at)
        {
            changes.push((s.total, (a, t)));
        }
        scores.push(store::account::ScoreRow {
            id: AccountId::from(a.id),
            total: s.total,
            fit: s.fit,
            engagement: s.engagement,
            intent: s.intent,
            coverage: s.committee_coverage,
            model_version: model.version,
            computed_at: now,
        });
        let moved = a.score_computed_at.is_none()
            || a.score_model_version != model.version
            || (s.total - a.score_total).abs() >= HISTORY_STEP;
        if moved {
            history.push(score_history::Model {
                id: store::engagement::history_id(),
                workspace_id: ws.get(),
                account_id: a.id,
                at: now,
                total: s.total,
                fit: s.fit,
                engagement: s.engagement,
                intent: s.intent,
                coverage: s.committee_coverage,
                model_version: model.version,
            });
        }
    }
    store::account::set_scores(ws, db, &scores).await?;
    store::engagement::insert_history(db, history).await?;
    // Scores move segment membership; `record` refreshes again the accounts it promotes and
    // routes, whose stage and owner change after this.
    crate::segment::refresh(ws, db, Some(ids)).await?;
    // The best-scored account is promoted and routed first (rep capacity goes to it first),
    // and the order never depends on how the database returned the rows.
    changes.sort_by(|(x, (a, _)), (y, (b, _))| y.total_cmp(x).then(a.domain.cmp(&b.domain)));
    let changes: Vec<_> = changes.into_iter().map(|(_, c)| c).collect();
    let transitions =
        crate::qualification::record(ws, db, &changes, Some(model.version), now).await?;
    Ok(Rescored {
        accounts: accounts.len(),
        transitions,
    })
}

/// The breakdown of each account's stored score (in the order given), rebuilt from the
/// stored inputs under the model version and at the time that score was computed, so it adds
/// up to the stored numbers: every change to an input rescored the account in the same
/// transaction. An account never scored has an empty breakdown.
pub async fn explain(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    accounts: &[account::Model],
) -> Result<Vec<Vec<score::Contribution>>, AppError> {
    let mut out = vec![Vec::new(); accounts.len()];
    let mut by_version: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, a) in accounts.iter().enumerate() {
        if a.score_computed_at.is_some() {
            by_version.entry(a.score_model_version).or_default().push(i);
        }
    }
    for (version, indexes) in by_version {
        let Some(model) = store::scoring_model::of_version(ws, db, version).await? else {
            return Err(AppError::internal(anyhow::anyhow!(
                "scoring model version {version} is missing"
            )));
        };
        let group: Vec<account::Model> = indexes.iter().map(|i| accounts[*i].clone()).collect();
        let inputs = gather(ws, db, &group, &model).await?;
        for ((i, a), inputs) in indexes.iter().zip(&group).zip(&inputs) {
            let at = a
                .score_computed_at
                .map_or(Timestamp::from_millis(0), timestamp);
            out[*i] = inputs.score(&model, at, true).breakdown;
        }
    }
    Ok(out)
}

/// Accounts rescored per transaction when many are: short transactions keep reads and
/// ingestion flowing while a whole workspace is rescored.
pub const BATCH: u64 = 500;

/// Which accounts a pass rescores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every account (a new model was published).
    All,
    /// Accounts whose score can have changed by itself: engagement or intent decaying with
    /// time, or scored under another model version.
    Stale,
}

/// Rescores a workspace in batches of [`BATCH`], each in its own transaction; returns how
/// many accounts were scored.
pub async fn rescore_workspace(
    ws: WorkspaceId,
    db: &sea_orm::DatabaseConnection,
    model: &ScoringModel,
    scope: Scope,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut after = None;
    let mut done = 0;
    loop {
        let stale_version = (scope == Scope::Stale).then_some(model.version);
        let ids = store::account::ids_page(ws, db, after, BATCH, stale_version).await?;
        let Some(last) = ids.last() else {
            return Ok(done);
        };
        after = Some(*last);
        let txn = crate::store::write_txn(db).await?;
        done += rescore(ws, &txn, &ids, model, now).await?.accounts;
        txn.commit().await?;
    }
}

/// One pass over every workspace with [`Scope::Stale`]: what the periodic re-evaluation and
/// `quorum rescore` run, so decay lowers idle accounts' scores.
pub async fn rescore_stale_everywhere(
    db: &sea_orm::DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut done = 0;
    for ws in store::workspace::all_ids(db).await? {
        let model = store::scoring_model::current(ws, db).await?;
        done += rescore_workspace(ws, db, &model, Scope::Stale, now).await?;
    }
    Ok(done)
}

/// Rescores `ids` under the model in force, in the caller's transaction: for changes that move
/// scores (firmographics, seniority, committee membership).
pub async fn rescore_changed(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<usize, AppError> {
    let model = store::scoring_model::current(ws, db).await?;
    Ok(rescore(ws, db, ids, &model, store::now()).await?.accounts)
}
