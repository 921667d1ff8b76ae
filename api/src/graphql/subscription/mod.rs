//! Live feeds over WebSocket: promotions to SQL and assignment changes, read from the outbox
//! (see `bus`), resumable with `after: cursor`.

use std::sync::Arc;

use async_graphql::{
    Context, Enum, ErrorExtensions as _, ID, Object, Subscription as GqlSubscription,
};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};
use quorum_domain::value::{AccountId, Role, WorkspaceId};
use sea_orm::DatabaseConnection;

use crate::auth::{rep_scope, viewer};
use crate::bus::{Event, Tail, Topic, decode_cursor};
use crate::error::{AppError, AppResult, IntoGql, retrying};
use crate::graphql::loader::{RequestLoaders, request_loaders, unshare};
use crate::graphql::object::{Account, AccountScore, Assignment, parse_id};
use crate::graphql::state;
use crate::metrics::{Metrics, Stage};
use crate::qualification::{
    ASSIGNMENT_ACCEPTED, ASSIGNMENT_CLOSED, ASSIGNMENT_CREATED, ASSIGNMENT_REASSIGNED, FIRST_TOUCH,
    SLA_BREACHED,
};
use crate::store;
use crate::ws::RunLink;

#[derive(Default)]
pub struct Subscription;

#[GqlSubscription]
impl Subscription {
    /// Every account promoted to SQL in the workspace, with its score and assignment. With
    /// `segmentId`, only accounts that match the segment's filter (as it was when the
    /// subscription started) when the event is delivered. With `after`, every later promotion
    /// is replayed first.
    async fn sql_promotions(
        &self,
        ctx: &Context<'_>,
        segment_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SqlPromotion>> + use<>>
    {
        let open = async {
            let v = viewer(ctx)?;
            let segment = match segment_id {
                None => None,
                Some(id) => {
                    let db = &state(ctx)?.live_db;
                    let row = match parse_id(&id) {
                        Some(id) => store::segment::get(v.workspace_id, db, id).await?,
                        None => None,
                    };
                    let row = row.ok_or(AppError::NotFound("segment"))?;
                    Some(Arc::new(crate::segment::filter_of(&row)?))
                }
            };
            // A segment's filter is read when the subscription starts: a later socket could
            // see a different one, so segment subscriptions run alone.
            let shareable = segment.is_none();
            let topic = Topic::Promotions;
            let live = open_live(ctx, v.workspace_id, topic, after.as_deref(), shareable).await?;
            AppResult::Ok((live, segment))
        };
        let (
            Live {
                tail,
                db,
                ws,
                loaders,
                timing,
            },
            segment,
        ) = open.await.gql()?;
        Ok(events(tail).filter_map(move |item| {
            let db = db.clone();
            let loaders = loaders.clone();
            let segment = segment.clone();
            let timing = timing.clone();
            // Boxed (here and below): inline, the largest future a stage may hold would be
            // reserved in every idle subscription's stream.
            Box::pin(async move {
                let e = match item {
                    Ok(e) => e,
                    Err(e) => return Some(Err(e.extend())),
                };
                timing.taken(&e);
                let shared = loaders.for_event(&e);
                loaders.switch(shared.clone());
                let load = async {
                    let Some(p) = SqlPromotion::load(ws, &db, e).await? else {
                        return Ok(None);
                    };
                    if let Some(filter) = &segment {
                        // Through the event's shared loaders: read once per event, not per socket.
                        let techs = shared
                            .technologies
                            .load_one(AccountId::from(p.account.id))
                            .await
                            .map_err(unshare)?
                            .unwrap_or_default();
                        let member = crate::segment::facts(&p.account, &techs)
                            .is_some_and(|f| filter.matches(&f));
                        if !member {
                            return Ok(None);
                        }
                    }
                    timing.loaded(&p.event);
                    AppResult::Ok(Some(p))
                };
                load.await.map_err(|e| e.extend()).transpose()
            })
        }))
    }

    /// Changes to assignments: a rep's own (a rep asking for another's is `FORBIDDEN`);
    /// managers and admins any rep's, or every rep's without `repId`.
    async fn assignment_updates(
        &self,
        ctx: &Context<'_>,
        rep_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<AssignmentEvent>> + use<>>
    {
        let open = async {
            let v = viewer(ctx)?;
            let rep = rep_scope(&v, rep_id.as_ref())?;
            let topic = Topic::Assignments(rep.map(|r| r.get()));
            open_live(ctx, v.workspace_id, topic, after.as_deref(), true).await
        };
        let Live {
            tail,
            db,
            ws,
            loaders,
            timing,
        } = open.await.gql()?;
        Ok(events(tail).filter_map(move |item| {
            let db = db.clone();
            let loaders = loaders.clone();
            let timing = timing.clone();
            Box::pin(async move {
                let e = match item {
                    Ok(e) => e,
                    Err(e) => return Some(Err(e.extend())),
                };
                // The tail hands out only this topic's events: the rep's own, when scoped.
                let kind = AssignmentEventKind::of(&e.kind)?;
                timing.taken(&e);
                loaders.switch(loaders.for_event(&e));
                let loaded = AssignmentEvent::load(ws, &db, kind, e).await;
                if let Ok(Some(a)) = &loaded {
                    timing.loaded(&a.event);
                }
                loaded.map_err(|e| e.extend()).transpose()
            })
        }))
    }
}

/// What a subscription's stream needs: its tail on `topic`, the live pool, the workspace, the
/// request's loaders to switch per event, and what times its deliveries.
struct Live {
    tail: Tail,
    db: DatabaseConnection,
    ws: WorkspaceId,
    loaders: Arc<RequestLoaders>,
    timing: Timing,
}

/// Records each live event's progress in `/metrics`, and tells the WebSocket side (through the
/// request's [`RunLink`], when it runs over one) which event its next result is.
#[derive(Clone)]
struct Timing {
    metrics: Arc<Metrics>,
    link: Option<RunLink>,
}

impl Timing {
    fn taken(&self, e: &Event) {
        if let Some(at) = e.dispatched.get() {
            self.metrics.delivery(Stage::Taken, *at);
        }
    }

    /// Loaded, and the stream's next result: an event the stream skips (not in the segment,
    /// its account gone) or an error never leaves its instant for another frame's timing.
    fn loaded(&self, e: &Event) {
        let at = e.dispatched.get().copied();
        if let Some(at) = at {
            self.metrics.delivery(Stage::Loaded, at);
        }
        if let Some(link) = &self.link {
            link.loaded(e.seq, at);
        }
    }
}

/// `shareable`: apart from `after`, the stream's results do not depend on when it started, so
/// identical operations over WebSocket may share its execution (see `ws::Runs`). A resumed
/// stream never is: it replays from its own cursor.
async fn open_live(
    ctx: &Context<'_>,
    ws: WorkspaceId,
    topic: Topic,
    after: Option<&str>,
    shareable: bool,
) -> AppResult<Live> {
    let after = match after {
        None => None,
        Some(c) => {
            Some(decode_cursor(c).ok_or_else(|| AppError::bad_input("after", "not a cursor"))?)
        }
    };
    let state = state(ctx)?;
    let shareable = shareable && after.is_none();
    let tail = state.bus.hub.tail(ws, topic, after).await?;
    let link = ctx.data_opt::<RunLink>().cloned();
    if let Some(link) = &link {
        link.started(tail.position(), shareable);
    }
    state
        .metrics
        .subscriptions_listening
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Live {
        tail,
        db: state.live_db.clone(),
        ws,
        loaders: request_loaders(ctx)?,
        timing: Timing {
            metrics: state.metrics.clone(),
            link,
        },
    })
}

fn events(tail: Tail) -> impl Stream<Item = AppResult<Arc<Event>>> {
    futures_util::stream::unfold(tail, |mut t| async move { t.next().await.map(|e| (e, t)) })
}

/// The event's account, read once per event for all of this instance's subscribers (the hub
/// reads a live page's accounts before it dispatches them; replays read them here).
async fn shared_account(
    ws: WorkspaceId,
    db: &DatabaseConnection,
    event: &Event,
) -> AppResult<Option<store::entity::account::Model>> {
    let load = || async {
        match event.id_of("accountId") {
            Some(id) => store::account::find(ws, db, AccountId::from(id)).await,
            None => Ok(None),
        }
    };
    let read = || retrying("a live event's account", load);
    Ok(event.account.get_or_try_init(read).await?.clone())
}

/// The event's assignment, read once per event for all of this instance's subscribers.
async fn shared_assignment(
    ws: WorkspaceId,
    db: &DatabaseConnection,
    event: &Event,
) -> AppResult<Option<store::entity::assignment::Model>> {
    let load = || async {
        match event.id_of("assignmentId") {
            Some(id) => store::routing::get_assignment(ws, db, id).await,
            None => Ok(None),
        }
    };
    let read = || retrying("a live event's assignment", load);
    Ok(event.assignment.get_or_try_init(read).await?.clone())
}

/// An account that just became an SQL.
pub struct SqlPromotion {
    event: Arc<Event>,
    account: store::entity::account::Model,
    assignment: Option<store::entity::assignment::Model>,
}

impl SqlPromotion {
    /// `None` when the account has since been deleted.
    async fn load(
        ws: WorkspaceId,
        db: &DatabaseConnection,
        event: Arc<Event>,
    ) -> AppResult<Option<Self>> {
        let Some(account) = shared_account(ws, db, &event).await? else {
            return Ok(None);
        };
        let assignment = shared_assignment(ws, db, &event).await?;
        Ok(Some(Self {
            event,
            account,
            assignment,
        }))
    }
}

#[Object]
impl SqlPromotion {
    /// Pass as `after` to resume right after this event.
    async fn cursor(&self) -> String {
        self.event.cursor()
    }

    async fn account(&self) -> Account {
        Account(self.account.clone())
    }

    /// The account's score now, with its breakdown.
    async fn score(&self) -> AccountScore {
        AccountScore::of(&self.account)
    }

    /// The assignment routing made at the promotion (`null` if the account was already being
    /// worked and kept its rep). A rep sees only assignments of their own, as on `Account`.
    async fn assignment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Assignment>> {
        let v = viewer(ctx).map_err(|e| e.extend())?;
        Ok(self
            .assignment
            .clone()
            .filter(|a| v.role != Role::Rep || a.rep_id == Some(v.user_id.get()))
            .map(Assignment))
    }

    async fn at(&self) -> DateTime<Utc> {
        self.event.created_at
    }
}

/// What happened to an assignment.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum AssignmentEventKind {
    Assigned,
    Accepted,
    Reassigned,
    SlaBreached,
    FirstTouch,
    Closed,
}

impl AssignmentEventKind {
    fn of(outbox_kind: &str) -> Option<Self> {
        Some(match outbox_kind {
            ASSIGNMENT_CREATED => Self::Assigned,
            ASSIGNMENT_ACCEPTED => Self::Accepted,
            ASSIGNMENT_REASSIGNED => Self::Reassigned,
            SLA_BREACHED => Self::SlaBreached,
            FIRST_TOUCH => Self::FirstTouch,
            ASSIGNMENT_CLOSED => Self::Closed,
            _ => return None,
        })
    }
}

/// A change to one assignment. `REASSIGNED` reaches the rep who lost it; the rep who gains
/// it gets `ASSIGNED`.
pub struct AssignmentEvent {
    event: Arc<Event>,
    kind: AssignmentEventKind,
    assignment: store::entity::assignment::Model,
}

impl AssignmentEvent {
    async fn load(
        ws: WorkspaceId,
        db: &DatabaseConnection,
        kind: AssignmentEventKind,
        event: Arc<Event>,
    ) -> AppResult<Option<Self>> {
        let Some(assignment) = shared_assignment(ws, db, &event).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            event,
            kind,
            assignment,
        }))
    }
}

#[Object]
impl AssignmentEvent {
    /// Pass as `after` to resume right after this event.
    async fn cursor(&self) -> String {
        self.event.cursor()
    }

    async fn kind(&self) -> AssignmentEventKind {
        self.kind
    }

    /// The assignment as it stands now.
    async fn assignment(&self) -> Assignment {
        Assignment(self.assignment.clone())
    }

    async fn at(&self) -> DateTime<Utc> {
        self.event.created_at
    }
}
