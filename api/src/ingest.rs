//! Engagement ingestion: validate per item, deduplicate on the client's event id, attribute
//! each event to a contact and account (creating them when the e-mail names a company),
//! update the decayed aggregates and rescore the touched accounts — all in one transaction.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use quorum_domain::score::ContactActivity;
use quorum_domain::value::{
    AccountId, ContactId, Domain, Email, EngagementKind, WorkspaceId, is_free_mail,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::error::AppError;
use crate::scoring::{self, activity_of, activity_row, intent_of, timestamp};
use crate::store::entity::{account, engagement_event, stage_transition};
use crate::store::{self, Patch, account::AccountUpsert, contact::ContactUpsert};

/// Most events one call takes.
pub const MAX_EVENTS: usize = 10_000;
/// How far in the future an `occurredAt` may be: clocks disagree a little, not more.
const FUTURE_SKEW_SECS: i64 = 300;
const MAX_EVENT_ID: usize = 200;
const MAX_METADATA_BYTES: usize = 4_096;

/// One event as the client sent it.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub event_id: String,
    pub contact_id: Option<String>,
    pub contact_email: Option<String>,
    pub account_domain: Option<String>,
    pub kind: String,
    pub occurred_at: String,
    pub metadata: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rejected {
    pub index: usize,
    pub event_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    pub rescored_accounts: usize,
    /// Stage changes the batch caused.
    pub transitions: Vec<stage_transition::Model>,
}

/// Who an event is about, before lookups.
enum Target {
    ContactId(Uuid),
    Email(Email),
    Domain(Domain),
}

struct Parsed {
    index: usize,
    event_id: String,
    kind: EngagementKind,
    at: DateTime<Utc>,
    metadata: Option<String>,
    target: Target,
}

fn parse(index: usize, raw: RawEvent, now: DateTime<Utc>) -> Result<Parsed, Rejected> {
    let event_id = raw.event_id.trim().to_owned();
    let reject = |reason: String| Rejected {
        index,
        event_id: event_id.clone(),
        reason,
    };
    if event_id.is_empty() || event_id.chars().count() > MAX_EVENT_ID {
        return Err(reject(format!(
            "eventId must be 1 to {MAX_EVENT_ID} characters"
        )));
    }
    let kind = EngagementKind::parse(raw.kind.trim())
        .map_err(|_| reject(format!("unknown kind `{}`", raw.kind)))?;
    let at = DateTime::parse_from_rfc3339(raw.occurred_at.trim())
        .map_err(|_| reject("occurredAt is not an RFC 3339 date-time".into()))?
        .with_timezone(&Utc);
    if at > now + chrono::Duration::seconds(FUTURE_SKEW_SECS) {
        return Err(reject("occurredAt is in the future".into()));
    }
    let metadata = match raw.metadata {
        None | Some(serde_json::Value::Null) => None,
        Some(v @ serde_json::Value::Object(_)) => {
            let text = v.to_string();
            if text.len() > MAX_METADATA_BYTES {
                return Err(reject(format!(
                    "metadata is over {MAX_METADATA_BYTES} bytes"
                )));
            }
            Some(text)
        }
        Some(_) => return Err(reject("metadata must be an object".into())),
    };
    let target = if let Some(id) = raw.contact_id.filter(|s| !s.trim().is_empty()) {
        // An id that cannot exist is as unknown as one that does not.
        Target::ContactId(Uuid::parse_str(id.trim()).unwrap_or(Uuid::nil()))
    } else if let Some(email) = raw.contact_email.filter(|s| !s.trim().is_empty()) {
        Target::Email(
            Email::parse(&email).map_err(|e| reject(format!("contactEmail: {}", e.message())))?,
        )
    } else if let Some(domain) = raw.account_domain.filter(|s| !s.trim().is_empty()) {
        if !kind.is_account_level() {
            return Err(reject(format!(
                "{} needs contactId or contactEmail",
                kind.as_str()
            )));
        }
        Target::Domain(
            Domain::parse(&domain)
                .map_err(|e| reject(format!("accountDomain: {}", e.message())))?,
        )
    } else {
        return Err(reject(
            "name the contact (contactId or contactEmail) or, for INTENT_SURGE, the accountDomain"
                .into(),
        ));
    };
    Ok(Parsed {
        index,
        event_id,
        kind,
        at,
        metadata,
        target,
    })
}

/// Whether `parse` would take `raw` (`Ok`) or reject it, and why: the pure half of ingestion,
/// which the fuzz targets (`fuzz/`) feed hostile input.
#[doc(hidden)]
pub fn check(raw: RawEvent, now: DateTime<Utc>) -> Result<(), Rejected> {
    parse(0, raw, now).map(drop)
}

/// A client's id for a batch, and what its events hash to.
struct BatchKey {
    id: String,
    fingerprint: String,
}

const MAX_BATCH_ID: usize = 200;

/// FNV-1a (64 bits) of every field of every event, in order: the same batch sent again hashes
/// the same on any instance and any release, which a std `Hasher` does not promise.
pub fn fingerprint(batch: &[RawEvent]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator no UTF-8 text contains, so fields cannot run into each other.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    for e in batch {
        let metadata = e.metadata.as_ref().map(serde_json::Value::to_string);
        for field in [
            Some(&e.event_id),
            e.contact_id.as_ref(),
            e.contact_email.as_ref(),
            e.account_domain.as_ref(),
            Some(&e.kind),
            Some(&e.occurred_at),
            metadata.as_ref(),
        ] {
            match field {
                Some(text) => eat(text.as_bytes()),
                None => eat(&[0xfe]),
            }
        }
    }
    format!("{h:016x}")
}

/// `ingest`, answering a batch sent again under the same `batch_id` with the first call's
/// reply (a client retrying after a lost answer learns what its batch did, not that its
/// events were duplicates). The same id with other events is `BAD_USER_INPUT`.
pub async fn ingest_once(
    ws: WorkspaceId,
    db: &DatabaseConnection,
    batch_id: &str,
    batch: Vec<RawEvent>,
    now: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    let id = batch_id.trim();
    if id.is_empty() || id.chars().count() > MAX_BATCH_ID {
        return Err(AppError::bad_input(
            "batchId",
            format!("must be 1 to {MAX_BATCH_ID} characters"),
        ));
    }
    let key = BatchKey {
        id: id.to_owned(),
        fingerprint: fingerprint(&batch),
    };
    if let Some(reply) = kept_reply(ws, db, &key).await? {
        return Ok(reply);
    }
    match run(ws, db, batch, now, Some(&key)).await {
        // The same batch, sent again while the first call was still running, committed
        // first: its reply is the answer.
        Err(AppError::Conflict(e)) => kept_reply(ws, db, &key).await?.ok_or(AppError::Conflict(e)),
        other => other,
    }
}

async fn kept_reply(
    ws: WorkspaceId,
    db: &DatabaseConnection,
    key: &BatchKey,
) -> Result<Option<Outcome>, AppError> {
    let Some(row) = store::engagement::find_batch(ws, db, &key.id).await? else {
        return Ok(None);
    };
    if row.fingerprint != key.fingerprint {
        return Err(AppError::bad_input(
            "batchId",
            format!("`{}` was used for a batch with other events", key.id),
        ));
    }
    serde_json::from_str(&row.reply)
        .map(Some)
        .map_err(AppError::internal)
}

/// Commits the batch's transaction, keeping its reply when the client named the batch.
async fn finish(
    ws: WorkspaceId,
    txn: sea_orm::DatabaseTransaction,
    key: Option<&BatchKey>,
    out: &Outcome,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if let Some(key) = key {
        let row = crate::store::entity::ingest_batch::Model {
            workspace_id: ws.get(),
            batch_id: key.id.clone(),
            fingerprint: key.fingerprint.clone(),
            reply: serde_json::to_string(out).map_err(AppError::internal)?,
            created_at: now,
        };
        store::engagement::insert_batch(&txn, row).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Ingests one batch. Per-item problems are `rejected`; anything else fails the whole batch
/// and writes nothing.
pub async fn ingest(
    ws: WorkspaceId,
    db: &DatabaseConnection,
    batch: Vec<RawEvent>,
    now: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    run(ws, db, batch, now, None).await
}

async fn run(
    ws: WorkspaceId,
    db: &DatabaseConnection,
    batch: Vec<RawEvent>,
    now: DateTime<Utc>,
    key: Option<&BatchKey>,
) -> Result<Outcome, AppError> {
    if batch.is_empty() || batch.len() > MAX_EVENTS {
        return Err(AppError::bad_input(
            "events",
            format!(
                "send 1 to {MAX_EVENTS} events per call, not {}",
                batch.len()
            ),
        ));
    }
    let mut out = Outcome::default();
    let mut parsed = Vec::with_capacity(batch.len());
    let mut seen: HashSet<String> = HashSet::new();
    for (i, raw) in batch.into_iter().enumerate() {
        match parse(i, raw, now) {
            Err(r) => out.rejected.push(r),
            // A second copy in the same batch is a duplicate, like a re-sent one.
            Ok(p) if !seen.insert(p.event_id.clone()) => out.duplicates += 1,
            Ok(p) => parsed.push(p),
        }
    }

    let txn = crate::store::write_txn(db).await?;
    let ids: Vec<&str> = parsed.iter().map(|p| p.event_id.as_str()).collect();
    let known = store::engagement::known_event_ids(ws, &txn, &ids).await?;
    let before = parsed.len();
    parsed.retain(|p| !known.contains(&p.event_id));
    out.duplicates += before - parsed.len();

    let targets = resolve(ws, &txn, &parsed).await?;
    let mut events = Vec::with_capacity(parsed.len());
    for p in parsed {
        match targets.get(&p.index) {
            Some(Ok((account, contact))) => events.push((p, *account, *contact)),
            Some(Err(reason)) => out.rejected.push(Rejected {
                index: p.index,
                event_id: p.event_id,
                reason: reason.clone(),
            }),
            None => out.rejected.push(Rejected {
                index: p.index,
                event_id: p.event_id,
                reason: "no contact or account".into(),
            }),
        }
    }
    out.rejected.sort_by_key(|r| r.index);
    if events.is_empty() {
        finish(ws, txn, key, &out, now).await?;
        return Ok(out);
    }

    let accounts: Vec<AccountId> = events
        .iter()
        .map(|(_, a, _)| *a)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let first_engaged = lock_accounts(ws, &txn, &accounts).await?;
    let model = store::scoring_model::current(ws, &txn).await?;

    // Contact aggregates: stored (or rebuilt) ones, plus this batch's events.
    let contacts: Vec<ContactId> = events
        .iter()
        .filter_map(|(_, _, c)| *c)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut activities: HashMap<ContactId, ContactActivity> = HashMap::new();
    for row in store::engagement::activities_of_contacts(ws, &txn, &contacts).await? {
        activities.insert(
            ContactId::from(row.contact_id),
            activity_of(ws, &txn, &row, &model).await?,
        );
    }
    let mut contact_account: HashMap<ContactId, AccountId> = HashMap::new();
    let mut intents: HashMap<AccountId, Vec<DateTime<Utc>>> = HashMap::new();
    for (p, account, contact) in &events {
        match contact {
            Some(c) if !p.kind.is_account_level() => {
                activities.entry(*c).or_default().record(
                    p.kind,
                    timestamp(p.at),
                    model.half_life_days,
                );
                contact_account.insert(*c, *account);
            }
            _ => intents.entry(*account).or_default().push(p.at),
        }
    }
    let rows = activities
        .into_iter()
        .filter_map(|(c, a)| {
            contact_account
                .get(&c)
                .map(|acc| activity_row(c, Some(*acc), a, &model))
        })
        .collect();
    store::engagement::upsert_activities(ws, &txn, rows).await?;

    // Account intent aggregates live on the account row.
    if !intents.is_empty() {
        let ids: Vec<AccountId> = intents.keys().copied().collect();
        let mut rows = Vec::with_capacity(ids.len());
        for a in store::account::of_ids(ws, &txn, &ids).await? {
            let mut intent = intent_of(&a)?;
            for at in intents.get(&AccountId::from(a.id)).into_iter().flatten() {
                intent.add(timestamp(*at), 1.0, model.half_life_days);
            }
            let json = serde_json::to_string(&intent).map_err(AppError::internal)?;
            rows.push((AccountId::from(a.id), json));
        }
        store::account::set_intents(ws, &txn, &rows).await?;
    }

    out.accepted = events.len();
    let rows = events
        .into_iter()
        .map(|(p, account, contact)| engagement_event::Model {
            id: Uuid::now_v7(),
            workspace_id: ws.get(),
            event_id: p.event_id,
            account_id: account.get(),
            contact_id: contact.map(ContactId::get),
            kind: p.kind.as_str().to_owned(),
            occurred_at: p.at,
            metadata: p.metadata,
            received_at: now,
        })
        .collect();
    store::engagement::insert_events(&txn, rows, &first_engaged).await?;
    let rescored = scoring::rescore(ws, &txn, &accounts, &model, now).await?;
    out.rescored_accounts = rescored.accounts;
    out.transitions = rescored.transitions;
    finish(ws, txn, key, &out, now).await?;
    Ok(out)
}

/// Serialises concurrent ingestions touching the same accounts on PostgreSQL, so aggregates
/// are read and written by one of them at a time (ids in order: no deadlocks); SQLite runs
/// one writer anyway. Answers each account's stored first engagement, which the lock keeps
/// current until the batch commits.
async fn lock_accounts(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<HashMap<Uuid, Option<DateTime<Utc>>>, AppError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(store::IN_CHUNK) {
        let q = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::FirstEngagedAt)
            .filter(account::Column::WorkspaceId.eq(ws.get()))
            .filter(store::one_of(
                db,
                account::Column::Id,
                chunk.iter().map(|a| a.get()),
            ))
            .order_by_asc(account::Column::Id);
        let rows: Vec<(Uuid, Option<DateTime<Utc>>)> =
            store::for_update(q, db).into_tuple().all(db).await?;
        out.extend(rows);
    }
    Ok(out)
}

type Resolved = Result<(AccountId, Option<ContactId>), String>;

/// Finds (or creates) the contact and account of every event, by input index.
async fn resolve(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    events: &[Parsed],
) -> Result<HashMap<usize, Resolved>, AppError> {
    let mut out = HashMap::new();

    // Contacts named by id.
    let by_id: Vec<ContactId> = events
        .iter()
        .filter_map(|p| match p.target {
            Target::ContactId(id) => Some(ContactId::from(id)),
            _ => None,
        })
        .collect();
    let known: HashMap<Uuid, Option<Uuid>> = store::contact::of_ids(ws, db, &by_id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.account_id))
        .collect();

    // Contacts named by e-mail: existing ones, then new ones at company domains.
    let emails: Vec<&Email> = events
        .iter()
        .filter_map(|p| match &p.target {
            Target::Email(e) => Some(e),
            _ => None,
        })
        .collect();
    let mut by_email: HashMap<String, (Uuid, Option<Uuid>)> = HashMap::new();
    let upserts: Vec<ContactUpsert> = {
        let mut unique: Vec<&Email> = emails.clone();
        unique.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        unique.dedup_by(|a, b| a.as_str() == b.as_str());
        let existing = store::contact::by_emails(
            ws,
            db,
            &unique.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        )
        .await?;
        for c in existing {
            by_email.insert(c.email.clone(), (c.id, c.account_id));
        }
        unique
            .into_iter()
            .filter(|e| !by_email.contains_key(e.as_str()) && !is_free_mail(e.domain()))
            .map(|e| ContactUpsert {
                email: e.clone(),
                name: Patch::Keep,
                title: Patch::Keep,
                seniority: Patch::Keep,
                department: Patch::Keep,
                account_domain: None,
            })
            .collect()
    };
    // New contacts whose company has no account yet get a TARGET account for their domain.
    let mut domains: BTreeSet<Domain> = upserts.iter().map(|u| u.email.domain().clone()).collect();
    domains.extend(events.iter().filter_map(|p| match &p.target {
        Target::Domain(d) => Some(d.clone()),
        _ => None,
    }));
    ensure_accounts(ws, db, domains).await?;
    for c in store::contact::upsert_many(ws, db, upserts).await?.rows {
        by_email.insert(c.email.clone(), (c.id, c.account_id));
    }
    let intent_domains: Vec<Domain> = events
        .iter()
        .filter_map(|p| match &p.target {
            Target::Domain(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    let accounts_by_domain: HashMap<String, Uuid> =
        store::account::of_domains(ws, db, &intent_domains)
            .await?
            .into_iter()
            .map(|a| (a.domain, a.id))
            .collect();

    for p in events {
        let resolved: Resolved = match &p.target {
            Target::ContactId(id) => match known.get(id) {
                None => Err("no contact has this contactId".into()),
                Some(None) => Err("the contact belongs to no account yet".into()),
                Some(Some(account)) => Ok((AccountId::from(*account), Some(ContactId::from(*id)))),
            },
            Target::Email(e) => match by_email.get(e.as_str()) {
                None => Err(format!(
                    "{} is a free-mail address of no known contact: its company is unknown",
                    e
                )),
                Some((_, None)) => Err("the contact belongs to no account yet".into()),
                Some((id, Some(account))) => {
                    Ok((AccountId::from(*account), Some(ContactId::from(*id))))
                }
            },
            Target::Domain(d) => match accounts_by_domain.get(d.as_str()) {
                Some(account) => Ok((AccountId::from(*account), None)),
                None => Err("no account for accountDomain".into()),
            },
        };
        out.insert(p.index, resolved);
    }
    Ok(out)
}

/// Creates a `TARGET` account, named after its domain, for each domain that neither has one
/// nor has a parent domain with one (`eu.acme.io` joins `acme.io`).
async fn ensure_accounts(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    domains: BTreeSet<Domain>,
) -> Result<(), AppError> {
    if domains.is_empty() {
        return Ok(());
    }
    let candidates: Vec<Domain> = domains.iter().flat_map(Domain::with_parents).collect();
    let existing: HashSet<String> = store::account::of_domains(ws, db, &candidates)
        .await?
        .into_iter()
        .map(|a| a.domain)
        .collect();
    let missing: Vec<AccountUpsert> = domains
        .into_iter()
        .filter(|d| {
            !d.with_parents()
                .iter()
                .any(|p| existing.contains(p.as_str()))
        })
        .map(|d| AccountUpsert {
            name: d.as_str().to_owned(),
            domain: d,
            industry: Patch::Keep,
            employee_count: Patch::Keep,
            annual_revenue: Patch::Keep,
            country: Patch::Keep,
            region: Patch::Keep,
            tier: Patch::Keep,
            technologies: None,
        })
        .collect();
    store::account::upsert_many(ws, db, missing).await?;
    Ok(())
}
