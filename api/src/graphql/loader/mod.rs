//! One DataLoader per relation, built per request for the viewer's workspace, so that a
//! batch never mixes tenants and nothing is cached across requests. A subscription resolves
//! each event through loaders the event carries, shared by every socket receiving it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
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

/// One set of loaders: a request's, or an event's (see `RequestLoaders`).
pub struct Loaders {
    ws: WorkspaceId,
    db: DatabaseConnection,
    /// The scoring model in force, read once per request when a field needs it.
    model: tokio::sync::OnceCell<ScoringModel>,
    pub activity: DataLoader<ActivityByContact, HashMapCache>,
    pub account: DataLoader<AccountById, HashMapCache>,
    pub user: DataLoader<UserById, HashMapCache>,
    pub contact: DataLoader<ContactById, HashMapCache>,
    pub contacts: DataLoader<ContactsByAccount, HashMapCache>,
    pub committees: DataLoader<CommitteesByAccount, HashMapCache>,
    pub members: DataLoader<MembersByCommittee, HashMapCache>,
    pub technologies: DataLoader<TechnologiesByAccount, HashMapCache>,
    pub breakdown: DataLoader<BreakdownByScore, HashMapCache>,
    pub transitions: DataLoader<TransitionsByAccount, HashMapCache>,
    pub assignments: DataLoader<AssignmentsByAccount, HashMapCache>,
    pub opportunities: DataLoader<OpportunitiesByAccount, HashMapCache>,
    pub bant: DataLoader<BantByAccount, HashMapCache>,
}

impl Loaders {
    /// `window` is how long a loader collects keys before it queries: longer batches better
    /// when workers are starved for CPU, at that much latency per level of nesting. `cache`
    /// keeps what was loaded: right for an event's loaders, whose readers all want the rows
    /// as of the event, but not for a request, which may read a row again after changing it.
    pub fn new(db: DatabaseConnection, ws: WorkspaceId, window: Duration, cache: bool) -> Self {
        let make = Make { window, cache };
        let conn = db.clone();
        let db = || db.clone();
        Self {
            ws,
            db: conn,
            model: tokio::sync::OnceCell::new(),
            activity: make.one(ActivityByContact { ws, db: db() }),
            account: make.one(AccountById { ws, db: db() }),
            user: make.one(UserById { ws, db: db() }),
            contact: make.one(ContactById { ws, db: db() }),
            contacts: make.one(ContactsByAccount { ws, db: db() }),
            committees: make.one(CommitteesByAccount { ws, db: db() }),
            members: make.one(MembersByCommittee { ws, db: db() }),
            technologies: make.one(TechnologiesByAccount { ws, db: db() }),
            breakdown: make.one(BreakdownByScore { ws, db: db() }),
            transitions: make.one(TransitionsByAccount { ws, db: db() }),
            assignments: make.one(AssignmentsByAccount { ws, db: db() }),
            opportunities: make.one(OpportunitiesByAccount { ws, db: db() }),
            bant: make.one(BantByAccount { ws, db: db() }),
        }
    }
}

struct Make {
    window: Duration,
    cache: bool,
}

impl Make {
    fn one<T: Send + Sync + 'static>(&self, loader: T) -> DataLoader<T, HashMapCache> {
        let l = DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
            .delay(self.window);
        l.enable_all_cache(self.cache);
        l
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

/// What a request's resolvers load through: its own loaders, made on first use, or, while a
/// subscription resolves an event, the event's shared ones.
pub struct RequestLoaders {
    db: DatabaseConnection,
    ws: WorkspaceId,
    window: Duration,
    current: Mutex<Option<Arc<Loaders>>>,
}

impl RequestLoaders {
    pub fn new(db: DatabaseConnection, ws: WorkspaceId, window: Duration) -> Self {
        Self {
            db,
            ws,
            window,
            current: Mutex::new(None),
        }
    }

    fn current(&self) -> Arc<Loaders> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| {
                Arc::new(Loaders::new(self.db.clone(), self.ws, self.window, false))
            })
            .clone()
    }

    /// `event`'s loaders, made by the first reader, cached for all of them.
    pub fn for_event(&self, event: &crate::bus::Event) -> Arc<Loaders> {
        event
            .loaders
            .get_or_init(|| Arc::new(Loaders::new(self.db.clone(), self.ws, self.window, true)))
            .clone()
    }

    /// From now on resolvers load through `loaders`. A subscription switches before each of
    /// its events is resolved; async-graphql resolves one event fully before the next.
    pub fn switch(&self, loaders: Arc<Loaders>) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(loaders);
    }
}

/// The loaders of this request, or `UNAUTHENTICATED` when there is no viewer (they are only
/// attached for one).
pub fn loaders(ctx: &async_graphql::Context<'_>) -> Result<Arc<Loaders>, AppError> {
    ctx.data_opt::<Arc<RequestLoaders>>()
        .map(|l| l.current())
        .ok_or(AppError::Unauthenticated)
}

/// The request's loader handle, for a subscription to switch per event.
pub fn request_loaders(ctx: &async_graphql::Context<'_>) -> Result<Arc<RequestLoaders>, AppError> {
    ctx.data_opt::<Arc<RequestLoaders>>()
        .cloned()
        .ok_or(AppError::Unauthenticated)
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
