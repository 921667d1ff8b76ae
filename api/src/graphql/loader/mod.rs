//! One DataLoader per relation, built per request for the viewer's workspace, so that a
//! batch never mixes tenants and nothing is cached across requests.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use quorum_domain::value::{AccountId, CommitteeId, ContactId, UserId, WorkspaceId};
use sea_orm::DatabaseConnection;

use crate::error::AppError;
use crate::store;
use crate::store::entity::{
    account, app_user, assignment, bant, buying_committee, committee_member, contact,
    contact_activity, opportunity, stage_transition,
};
use quorum_domain::score::{Contribution, ScoringModel};

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<AppError>>;

macro_rules! loader {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name {
            ws: WorkspaceId,
            db: DatabaseConnection,
        }
    };
}

loader!(AccountById);
loader!(UserById);
loader!(ContactById);
loader!(
    /// All contacts of an account, by e-mail; `Account.contacts` pages through them.
    ContactsByAccount
);
loader!(CommitteesByAccount);
loader!(MembersByCommittee);
loader!(TechnologiesByAccount);
loader!(
    /// A contact's stored engagement aggregates.
    ActivityByContact
);
loader!(
    /// An account's stage transitions, oldest first.
    TransitionsByAccount
);
loader!(
    /// An account's assignments, newest first.
    AssignmentsByAccount
);
loader!(
    /// An account's opportunities, oldest first.
    OpportunitiesByAccount
);
loader!(BantByAccount);
loader!(
    /// The breakdown of a stored score, rebuilt on read (see `scoring::explain`).
    BreakdownByScore
);

/// Which stored score to explain: the version and time are the ones the reader saw, so the
/// lines match its numbers even if the account was rescored meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScoreKey {
    pub account: AccountId,
    pub version: i32,
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Groups rows under the key each one belongs to.
fn group<K: std::hash::Hash + Eq, V>(
    rows: Vec<V>,
    key: impl Fn(&V) -> Option<K>,
) -> HashMap<K, Vec<V>> {
    let mut out: HashMap<K, Vec<V>> = HashMap::new();
    for r in rows {
        if let Some(k) = key(&r) {
            out.entry(k).or_default().push(r);
        }
    }
    out
}

impl Loader<AccountId> for AccountById {
    type Value = account::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[AccountId]) -> LoadResult<AccountId, Self::Value> {
        let rows = store::account::of_ids(self.ws, &self.db, ids).await?;
        Ok(rows
            .into_iter()
            .map(|a| (AccountId::from(a.id), a))
            .collect())
    }
}

impl Loader<UserId> for UserById {
    type Value = app_user::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[UserId]) -> LoadResult<UserId, Self::Value> {
        let rows = store::user::of_ids(self.ws, &self.db, ids).await?;
        Ok(rows.into_iter().map(|u| (UserId::from(u.id), u)).collect())
    }
}

impl Loader<ContactId> for ContactById {
    type Value = contact::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[ContactId]) -> LoadResult<ContactId, Self::Value> {
        let rows = store::contact::of_ids(self.ws, &self.db, ids).await?;
        Ok(rows
            .into_iter()
            .map(|c| (ContactId::from(c.id), c))
            .collect())
    }
}

impl Loader<AccountId> for ContactsByAccount {
    type Value = Vec<contact::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[AccountId]) -> LoadResult<AccountId, Self::Value> {
        let rows = store::contact::of_accounts(self.ws, &self.db, ids).await?;
        Ok(group(rows, |c| c.account_id.map(AccountId::from)))
    }
}

impl Loader<AccountId> for CommitteesByAccount {
    type Value = Vec<buying_committee::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[AccountId]) -> LoadResult<AccountId, Self::Value> {
        let rows = store::committee::of_accounts(self.ws, &self.db, ids).await?;
        Ok(group(rows, |c| Some(AccountId::from(c.account_id))))
    }
}

impl Loader<CommitteeId> for MembersByCommittee {
    type Value = Vec<committee_member::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[CommitteeId]) -> LoadResult<CommitteeId, Self::Value> {
        let rows = store::committee::members_of(self.ws, &self.db, ids).await?;
        Ok(group(rows, |m| Some(CommitteeId::from(m.committee_id))))
    }
}

impl Loader<AccountId> for TechnologiesByAccount {
    type Value = Vec<String>;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[AccountId]) -> LoadResult<AccountId, Self::Value> {
        let rows = store::account::technologies_of(self.ws, &self.db, ids).await?;
        let grouped = group(rows, |t| Some(AccountId::from(t.account_id)));
        Ok(grouped
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().map(|t| t.technology).collect()))
            .collect())
    }
}

impl Loader<ContactId> for ActivityByContact {
    type Value = contact_activity::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[ContactId]) -> LoadResult<ContactId, Self::Value> {
        let rows = store::engagement::activities_of_contacts(self.ws, &self.db, ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| (ContactId::from(r.contact_id), r))
            .collect())
    }
}

impl Loader<ScoreKey> for BreakdownByScore {
    type Value = Vec<Contribution>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ScoreKey]) -> LoadResult<ScoreKey, Self::Value> {
        let ids: Vec<AccountId> = keys.iter().map(|k| k.account).collect();
        let rows: HashMap<AccountId, account::Model> =
            store::account::of_ids(self.ws, &self.db, &ids)
                .await?
                .into_iter()
                .map(|a| (AccountId::from(a.id), a))
                .collect();
        // As the reader saw them: two keys of one account (rescored between two reads) are
        // explained each at its own version and time.
        let (found, as_seen): (Vec<ScoreKey>, Vec<account::Model>) = keys
            .iter()
            .filter_map(|k| {
                let mut a = rows.get(&k.account)?.clone();
                a.score_model_version = k.version;
                a.score_computed_at = k.computed_at;
                Some((*k, a))
            })
            .unzip();
        let lines = crate::scoring::explain(self.ws, &self.db, &as_seen).await?;
        Ok(found.into_iter().zip(lines).collect())
    }
}

impl Loader<AccountId> for TransitionsByAccount {
    type Value = Vec<stage_transition::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[AccountId]) -> LoadResult<AccountId, Self::Value> {
        let rows = store::qualification::transitions_of(self.ws, &self.db, ids).await?;
        Ok(group(rows, |t| Some(AccountId::from(t.account_id))))
    }
}

impl Loader<AccountId> for AssignmentsByAccount {
    type Value = Vec<assignment::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[AccountId]) -> LoadResult<AccountId, Self::Value> {
        let rows = store::routing::of_accounts(self.ws, &self.db, ids).await?;
        Ok(group(rows, |a| Some(AccountId::from(a.account_id))))
    }
}

impl Loader<AccountId> for OpportunitiesByAccount {
    type Value = Vec<opportunity::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[AccountId]) -> LoadResult<AccountId, Self::Value> {
        let rows = store::pipeline::opportunities_of(self.ws, &self.db, ids).await?;
        Ok(group(rows, |o| Some(AccountId::from(o.account_id))))
    }
}

impl Loader<AccountId> for BantByAccount {
    type Value = bant::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[AccountId]) -> LoadResult<AccountId, Self::Value> {
        let rows = store::pipeline::bant_of(self.ws, &self.db, ids).await?;
        Ok(rows
            .into_iter()
            .map(|b| (AccountId::from(b.account_id), b))
            .collect())
    }
}

/// The request's loaders.
pub struct Loaders {
    ws: WorkspaceId,
    db: DatabaseConnection,
    /// The scoring model in force, read once per request when a field needs it.
    model: tokio::sync::OnceCell<ScoringModel>,
    pub activity: DataLoader<ActivityByContact>,
    pub account: DataLoader<AccountById>,
    pub user: DataLoader<UserById>,
    pub contact: DataLoader<ContactById>,
    pub contacts: DataLoader<ContactsByAccount>,
    pub committees: DataLoader<CommitteesByAccount>,
    pub members: DataLoader<MembersByCommittee>,
    pub technologies: DataLoader<TechnologiesByAccount>,
    pub breakdown: DataLoader<BreakdownByScore>,
    pub transitions: DataLoader<TransitionsByAccount>,
    pub assignments: DataLoader<AssignmentsByAccount>,
    pub opportunities: DataLoader<OpportunitiesByAccount>,
    pub bant: DataLoader<BantByAccount>,
}

impl Loaders {
    /// `window` is how long a loader collects keys before it queries: longer batches better
    /// when workers are starved for CPU, at that much latency per level of nesting.
    pub fn new(db: DatabaseConnection, ws: WorkspaceId, window: Duration) -> Self {
        fn make<T>(loader: T, window: Duration) -> DataLoader<T>
        where
            T: Send + Sync + 'static,
        {
            DataLoader::new(loader, tokio::spawn).delay(window)
        }
        let conn = db.clone();
        let db = || db.clone();
        Self {
            ws,
            db: conn,
            model: tokio::sync::OnceCell::new(),
            activity: make(ActivityByContact { ws, db: db() }, window),
            account: make(AccountById { ws, db: db() }, window),
            user: make(UserById { ws, db: db() }, window),
            contact: make(ContactById { ws, db: db() }, window),
            contacts: make(ContactsByAccount { ws, db: db() }, window),
            committees: make(CommitteesByAccount { ws, db: db() }, window),
            members: make(MembersByCommittee { ws, db: db() }, window),
            technologies: make(TechnologiesByAccount { ws, db: db() }, window),
            breakdown: make(BreakdownByScore { ws, db: db() }, window),
            transitions: make(TransitionsByAccount { ws, db: db() }, window),
            assignments: make(AssignmentsByAccount { ws, db: db() }, window),
            opportunities: make(OpportunitiesByAccount { ws, db: db() }, window),
            bant: make(BantByAccount { ws, db: db() }, window),
        }
    }
}

impl Loaders {
    /// The workspace's scoring model, loaded on first use.
    pub async fn model(&self) -> Result<&ScoringModel, AppError> {
        self.model
            .get_or_try_init(|| store::scoring_model::current(self.ws, &self.db))
            .await
    }
}

/// The loaders of this request, or `UNAUTHENTICATED` when there is no viewer (they are only
/// attached for one).
pub fn loaders<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a Loaders, AppError> {
    ctx.data_opt::<Loaders>().ok_or(AppError::Unauthenticated)
}

/// A loader's shared error back as an `AppError` for the client.
pub fn unshare(e: Arc<AppError>) -> AppError {
    match Arc::try_unwrap(e) {
        Ok(e) => e,
        Err(shared) => match shared.as_ref() {
            AppError::Unavailable(_) => AppError::Unavailable(anyhow::anyhow!("{shared}")),
            AppError::NotFound(what) => AppError::NotFound(what),
            AppError::Forbidden => AppError::Forbidden,
            AppError::Unauthenticated => AppError::Unauthenticated,
            other => AppError::Internal(anyhow::anyhow!("{other:?}")),
        },
    }
}
