//! Account and contact upserts with the rescoring they cause, each batch one transaction: what
//! the `upsertAccounts` and `upsertContacts` mutations run, and `quorum import` with them.

use std::collections::HashMap;

use quorum_domain::value::{AccountId, WorkspaceId};
use sea_orm::DatabaseConnection;

use crate::error::AppError;
use crate::scoring;
use crate::store::entity::{account, contact};
use crate::store::{self, account::AccountUpsert, contact::ContactUpsert};

/// What one batch stored.
pub struct Written<T> {
    /// In input order, as stored after rescoring.
    pub rows: Vec<T>,
    /// Items that were already stored exactly so: nothing was written for them.
    pub unchanged: usize,
}

/// Creates or updates `items` (distinct domains) and rescores them.
pub async fn accounts(
    ws: WorkspaceId,
    db: &DatabaseConnection,
    items: Vec<AccountUpsert>,
) -> Result<Written<account::Model>, AppError> {
    let txn = store::write_txn(db).await?;
    let done = store::account::upsert_many(ws, &txn, items).await?;
    // Fit depends on firmographics: the new facts are scored in the same transaction.
    let ids: Vec<AccountId> = done.rows.iter().map(|a| AccountId::from(a.id)).collect();
    scoring::rescore_changed(ws, &txn, &ids).await?;
    let rows = store::account::of_ids(ws, &txn, &ids).await?;
    txn.commit().await?;
    let mut by_id: HashMap<uuid::Uuid, account::Model> =
        rows.into_iter().map(|a| (a.id, a)).collect();
    Ok(Written {
        rows: ids
            .iter()
            .filter_map(|id| by_id.remove(&id.get()))
            .collect(),
        unchanged: done.unchanged,
    })
}

/// Creates or updates `items` (distinct e-mails), matching each to its account, and rescores
/// the accounts they leave and join.
pub async fn contacts(
    ws: WorkspaceId,
    db: &DatabaseConnection,
    items: Vec<ContactUpsert>,
) -> Result<Written<contact::Model>, AppError> {
    let txn = store::write_txn(db).await?;
    let done = store::contact::upsert_many(ws, &txn, items).await?;
    // Seniority and the account a contact belongs to move engagement.
    let touched: Vec<AccountId> = done.accounts.into_iter().collect();
    scoring::rescore_changed(ws, &txn, &touched).await?;
    txn.commit().await?;
    Ok(Written {
        rows: done.rows,
        unchanged: done.unchanged,
    })
}
