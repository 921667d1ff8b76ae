use std::collections::{BTreeMap, BTreeSet, HashMap};

use quorum_domain::value::{
    AccountId, ContactId, Domain, Email, Seniority, WorkspaceId, is_free_mail,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::{contact, contact_activity};
use super::{IN_CHUNK, Patch, account};
use crate::error::AppError;

/// One parsed item of `upsertContacts`, keyed on its e-mail.
#[derive(Debug, Clone)]
pub struct ContactUpsert {
    pub email: Email,
    pub name: Patch<String>,
    pub title: Patch<String>,
    pub seniority: Patch<Seniority>,
    pub department: Patch<String>,
    /// The account to attach to. `None`: keep the current account, or match one by the
    /// e-mail's domain if there is none.
    pub account_domain: Option<Domain>,
}

pub async fn find(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: ContactId,
) -> Result<Option<contact::Model>, AppError> {
    Ok(contact::Entity::find_by_id((ws.get(), id.get()))
        .one(db)
        .await?)
}

pub async fn of_ids(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[ContactId],
) -> Result<Vec<contact::Model>, AppError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            contact::Entity::find()
                .filter(contact::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    contact::Column::Id,
                    chunk.iter().map(|i| i.get()),
                ))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Contacts of each account, by e-mail.
pub async fn of_accounts(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<contact::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            contact::Entity::find()
                .filter(contact::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    contact::Column::AccountId,
                    chunk.iter().map(|i| i.get()),
                ))
                .order_by_asc(contact::Column::Email)
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// What scoring needs of a contact: who it is, its seniority and its stored aggregates.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct ScoringRow {
    pub id: uuid::Uuid,
    pub account_id: uuid::Uuid,
    pub email: String,
    pub seniority: Option<String>,
    /// JSON aggregates and their half-life; `None` before the contact's first event.
    pub activity: Option<String>,
    pub half_life_days: Option<f64>,
}

/// Every contact of these accounts with its aggregates, in one query (a rescore of an ingest
/// batch reads thousands of them).
pub async fn scoring_rows(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<ScoringRow>, AppError> {
    use sea_orm::sea_query::{Cond, ExprTrait, Query};
    use sea_orm::{FromQueryResult, StatementBuilder};

    use super::entity::contact_activity as ca;
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let query = Query::select()
            .column((contact::Entity, contact::Column::Id))
            .column((contact::Entity, contact::Column::AccountId))
            .column((contact::Entity, contact::Column::Email))
            .column((contact::Entity, contact::Column::Seniority))
            .column((ca::Entity, ca::Column::Activity))
            .column((ca::Entity, ca::Column::HalfLifeDays))
            .from(contact::Entity)
            .left_join(
                ca::Entity,
                Cond::all()
                    .add(
                        Expr::col((ca::Entity, ca::Column::WorkspaceId))
                            .equals((contact::Entity, contact::Column::WorkspaceId)),
                    )
                    .add(
                        Expr::col((ca::Entity, ca::Column::ContactId))
                            .equals((contact::Entity, contact::Column::Id)),
                    )
                    // Implied by the contact's account (the aggregates move with it), but
                    // it lets PostgreSQL read the aggregates of these accounts in one index
                    // scan and hash-join them instead of probing once per contact
                    // (~9,500 probes for an ingestion batch: BENCHMARKS.md, issue 4).
                    .add(super::one_of(
                        db,
                        ca::Column::AccountId,
                        chunk.iter().map(|i| i.get()),
                    )),
            )
            .and_where(Expr::col((contact::Entity, contact::Column::WorkspaceId)).eq(ws.get()))
            .and_where(super::one_of(
                db,
                contact::Column::AccountId,
                chunk.iter().map(|i| i.get()),
            ))
            .to_owned();
        let stmt = StatementBuilder::build(&query, &db.get_database_backend());
        out.extend(ScoringRow::find_by_statement(stmt).all(db).await?);
    }
    Ok(out)
}

pub async fn by_emails(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    emails: &[&str],
) -> Result<Vec<contact::Model>, AppError> {
    let mut out = Vec::with_capacity(emails.len());
    for chunk in emails.chunks(IN_CHUNK) {
        out.extend(
            contact::Entity::find()
                .filter(contact::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    contact::Column::Email,
                    chunk.iter().map(|e| (*e).to_owned()),
                ))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// What `upsert_many` wrote.
pub struct Upserted {
    /// In input order.
    pub rows: Vec<contact::Model>,
    /// Accounts the contacts belonged to before or belong to now: their engagement may have
    /// moved.
    pub accounts: BTreeSet<AccountId>,
    /// Items that matched the stored contact exactly, so nothing was written for them.
    pub unchanged: usize,
}

/// Creates or updates every item (in the caller's transaction; duplicates already refused).
/// An `account_domain` that names no account is an error at `input[i].accountDomain`, raised
/// before anything is written. An item that changes nothing writes nothing.
pub async fn upsert_many(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    items: Vec<ContactUpsert>,
) -> Result<Upserted, AppError> {
    let emails: Vec<&str> = items.iter().map(|i| i.email.as_str()).collect();
    let mut existing: HashMap<String, contact::Model> = by_emails(ws, db, &emails)
        .await?
        .into_iter()
        .map(|c| (c.email.clone(), c))
        .collect();

    // Every domain any item could attach to, looked up in one go.
    let mut wanted: Vec<Domain> = Vec::new();
    for item in &items {
        match &item.account_domain {
            Some(d) => wanted.push(d.clone()),
            None if !is_free_mail(item.email.domain()) => {
                wanted.extend(item.email.domain().with_parents())
            }
            None => {}
        }
    }
    wanted.sort();
    wanted.dedup();
    let accounts: HashMap<String, uuid::Uuid> = account::of_domains(ws, db, &wanted)
        .await?
        .into_iter()
        .map(|a| (a.domain, a.id))
        .collect();

    let mut resolved = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let current = existing.get(item.email.as_str()).and_then(|c| c.account_id);
        let account_id = match &item.account_domain {
            Some(d) => Some(*accounts.get(d.as_str()).ok_or_else(|| {
                AppError::bad_input(
                    format!("input[{i}].accountDomain"),
                    format!("no account has the domain {d}"),
                )
            })?),
            None if current.is_some() => current,
            None if is_free_mail(item.email.domain()) => None,
            None => item
                .email
                .domain()
                .with_parents()
                .iter()
                .find_map(|d| accounts.get(d.as_str()).copied()),
        };
        resolved.push(account_id);
    }

    let now = super::now();
    let mut out = Vec::with_capacity(items.len());
    let mut accounts = BTreeSet::new();
    let mut inserts = Vec::new();
    let mut unchanged = 0;
    // Contacts now at another account, by that account.
    let mut moved: BTreeMap<uuid::Uuid, Vec<uuid::Uuid>> = BTreeMap::new();
    for (item, account_id) in items.into_iter().zip(resolved) {
        let current = existing.remove(item.email.as_str());
        accounts.extend(
            current
                .iter()
                .filter_map(|c| c.account_id)
                .chain(account_id)
                .map(AccountId::from),
        );
        let is_new = current.is_none();
        let base = current.unwrap_or_else(|| contact::Model {
            id: ContactId::new().get(),
            workspace_id: ws.get(),
            account_id: None,
            email: item.email.as_str().to_owned(),
            name: None,
            title: None,
            seniority: None,
            department: None,
            created_at: now,
            updated_at: now,
        });
        let mut model = contact::Model {
            account_id,
            name: item.name.apply(base.name.clone()),
            title: item.title.apply(base.title.clone()),
            seniority: item
                .seniority
                .map(|s| s.as_str().to_owned())
                .apply(base.seniority.clone()),
            department: item.department.apply(base.department.clone()),
            ..base.clone()
        };
        if is_new {
            inserts.push(active(&model));
        } else if model != base {
            model.updated_at = now;
            contact::Entity::update(active(&model)).exec(db).await?;
            if model.account_id != base.account_id
                && let Some(to) = model.account_id
            {
                moved.entry(to).or_default().push(model.id);
            }
        } else {
            unchanged += 1;
        }
        out.push(model);
    }
    super::insert_chunked(db, inserts, 1_000).await?;
    // The aggregates carry their contact's account so that rescoring reads them by account
    // (`scoring_rows`): they move with it. A contact never leaves its account for none.
    for (to, ids) in moved {
        for chunk in ids.chunks(IN_CHUNK) {
            contact_activity::Entity::update_many()
                .col_expr(contact_activity::Column::AccountId, Expr::value(to))
                .filter(contact_activity::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    contact_activity::Column::ContactId,
                    chunk.iter().copied(),
                ))
                .exec(db)
                .await?;
        }
    }
    Ok(Upserted {
        rows: out,
        accounts,
        unchanged,
    })
}

fn active(m: &contact::Model) -> contact::ActiveModel {
    super::all_set(m.clone())
}
