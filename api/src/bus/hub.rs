//! This instance's subscribers, per workspace: one feed reads the workspace's new outbox rows
//! from the database when a doorbell rings and hands each one to the subscribers it concerns.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use quorum_domain::value::{AccountId, WorkspaceId};
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use super::{Event, Topic};
use crate::error::{AppError, retrying};
use crate::store;

/// Rows read per query, both by feeds and by subscribers replaying.
const PAGE: u64 = 500;
/// How often an idle feed checks whether anyone still listens.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// An event on one topic's channel, with the `seq` of the event the channel carried before
/// it: a subscriber that has everything up to that `seq` has missed nothing in between.
#[derive(Clone)]
struct Delivery {
    event: Arc<Event>,
    prev: i64,
}

struct Channel {
    tx: broadcast::Sender<Delivery>,
    /// The last `seq` sent on this channel (or, before any, the feed's position when the
    /// channel opened: nothing earlier was ever sent on it).
    prev: i64,
}

/// One channel per topic, so an event wakes only the subscribers it concerns: with ten
/// thousand reps' sockets in one workspace, a per-workspace channel would wake them all for
/// every event.
struct Topics {
    channels: HashMap<Topic, Channel>,
    /// The last `seq` this feed dispatched; moves under the same lock as the channels, so a
    /// channel opened between two events starts exactly between them.
    last: i64,
}

struct Feed {
    topics: Mutex<Topics>,
    wake: Notify,
    /// `topics.last`, readable without the lock (doorbells compare against it).
    last: AtomicI64,
}

impl Feed {
    fn topics(&self) -> MutexGuard<'_, Topics> {
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn dispatch(&self, event: Arc<Event>) {
        let _ = event.dispatched.set(std::time::Instant::now());
        let seq = event.seq;
        let mut t = self.topics();
        for topic in event.topics() {
            let Some(ch) = t.channels.get_mut(&topic) else {
                continue;
            };
            let delivery = Delivery {
                event: event.clone(),
                prev: ch.prev,
            };
            ch.prev = seq;
            if ch.tx.send(delivery).is_err() {
                // Its last subscriber left; a new one opens a fresh channel.
                t.channels.remove(&topic);
            }
        }
        t.last = seq;
        self.last.store(seq, Ordering::Release);
    }
}

/// Fans a workspace's events out to this instance's subscribers.
pub struct Hub {
    db: DatabaseConnection,
    capacity: usize,
    feeds: Mutex<HashMap<Uuid, Arc<Feed>>>,
}

impl Hub {
    pub fn new(db: DatabaseConnection, capacity: usize) -> Self {
        Self {
            db,
            capacity: capacity.max(1),
            feeds: Mutex::new(HashMap::new()),
        }
    }

    /// The feeds; a panic elsewhere while holding them leaves the map itself consistent.
    fn feeds(&self) -> MutexGuard<'_, HashMap<Uuid, Arc<Feed>>> {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn feed(&self, ws: WorkspaceId) -> Option<Arc<Feed>> {
        self.feeds().get(&ws.get()).cloned()
    }

    /// `ws`'s outbox holds committed rows up to `seq`.
    pub fn doorbell(&self, ws: WorkspaceId, seq: i64) {
        if let Some(f) = self.feed(ws)
            && seq > f.last.load(Ordering::Acquire)
        {
            f.wake.notify_one();
        }
    }

    /// Doorbells may have been missed (the bus was down): every feed reads what is there.
    pub fn catch_up_all(&self) {
        let feeds: Vec<Arc<Feed>> = self.feeds().values().cloned().collect();
        for f in feeds {
            f.wake.notify_one();
        }
    }

    /// A subscriber's live receiver on `topic`. The feed, when this creates it, starts at a
    /// `seq` already committed before the caller reads its own starting point, so nothing
    /// committed after that point can slip past both.
    async fn listen(
        self: &Arc<Self>,
        ws: WorkspaceId,
        topic: Topic,
    ) -> Result<broadcast::Receiver<Delivery>, AppError> {
        loop {
            let feed = match self.feed(ws) {
                Some(f) => f,
                None => {
                    let (head, _) = store::outbox::bounds(ws, &self.db).await?;
                    self.feeds()
                        .entry(ws.get())
                        .or_insert_with(|| {
                            let feed = Arc::new(Feed {
                                topics: Mutex::new(Topics {
                                    channels: HashMap::new(),
                                    last: head,
                                }),
                                wake: Notify::new(),
                                last: AtomicI64::new(head),
                            });
                            tokio::spawn(self.clone().run_feed(ws, feed.clone()));
                            feed
                        })
                        .clone()
                }
            };
            let rx = {
                let mut t = feed.topics();
                let last = t.last;
                t.channels
                    .entry(topic)
                    .or_insert_with(|| Channel {
                        tx: broadcast::channel(self.capacity).0,
                        prev: last,
                    })
                    .tx
                    .subscribe()
            };
            // The feed stops when it finds no subscribers; if it did so between our lookup and
            // the subscribe, this receiver would never hear anything: start over.
            if self
                .feeds()
                .get(&ws.get())
                .is_some_and(|f| Arc::ptr_eq(f, &feed))
            {
                return Ok(rx);
            }
        }
    }

    async fn run_feed(self: Arc<Self>, ws: WorkspaceId, feed: Arc<Feed>) {
        loop {
            let _ = tokio::time::timeout(IDLE_CHECK, feed.wake.notified()).await;
            {
                let mut feeds = self.feeds();
                let mut t = feed.topics();
                t.channels.retain(|_, ch| ch.tx.receiver_count() > 0);
                if t.channels.is_empty() {
                    if feeds.get(&ws.get()).is_some_and(|f| Arc::ptr_eq(f, &feed)) {
                        feeds.remove(&ws.get());
                    }
                    return;
                }
            }
            if let Err(e) = self.pump(ws, &feed).await {
                // The rows stay in the outbox; the next doorbell or reconnect reads them.
                tracing::warn!(error = %e, workspace = %ws, "reading the outbox failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                feed.wake.notify_one();
            }
        }
    }

    async fn pump(&self, ws: WorkspaceId, feed: &Feed) -> Result<(), AppError> {
        loop {
            let last = feed.last.load(Ordering::Acquire);
            let rows = store::qualification::events_after(ws, &self.db, last, PAGE).await?;
            let n = rows.len();
            let events: Vec<Arc<Event>> =
                rows.into_iter().map(|r| Arc::new(Event::from(r))).collect();
            self.preload(ws, &events).await;
            for e in events {
                feed.dispatch(e);
            }
            if (n as u64) < PAGE {
                return Ok(());
            }
        }
    }

    /// Reads the accounts and assignments a page of events names, two queries for the page,
    /// before any subscriber wants them: otherwise each event's rows are read on first
    /// demand, one event after another, by whichever subscription resolves it first, and a
    /// stream that follows every event of a busy workspace falls behind waiting on them.
    /// A failed read is left to the subscribers, which read on demand.
    async fn preload(&self, ws: WorkspaceId, events: &[Arc<Event>]) {
        let wanted = |key: &str| -> Vec<Uuid> {
            let mut ids: Vec<Uuid> = events.iter().filter_map(|e| e.id_of(key)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let (accounts, assignments) = (wanted("accountId"), wanted("assignmentId"));
        let account_ids: Vec<AccountId> = accounts.iter().copied().map(AccountId::from).collect();
        let read = async {
            let a = store::account::of_ids(ws, &self.db, &account_ids).await?;
            let s = store::routing::assignments_of_ids(ws, &self.db, &assignments).await?;
            Ok::<_, AppError>((a, s))
        };
        let (accounts, assignments) = match read.await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, workspace = %ws, "reading a page's rows ahead failed");
                return;
            }
        };
        let accounts: HashMap<Uuid, _> = accounts.into_iter().map(|a| (a.id, a)).collect();
        let assignments: HashMap<Uuid, _> = assignments.into_iter().map(|a| (a.id, a)).collect();
        for e in events {
            // Only ids the page named were read: an id not found is a row since deleted.
            if let Some(id) = e.id_of("accountId") {
                let _ = e.account.set(accounts.get(&id).cloned());
            }
            if let Some(id) = e.id_of("assignmentId") {
                let _ = e.assignment.set(assignments.get(&id).cloned());
            }
        }
    }

    /// A subscriber's stream of `ws`'s events on `topic` after `after` (replayed from the
    /// database), or from now on when `after` is `None`.
    pub async fn tail(
        self: &Arc<Self>,
        ws: WorkspaceId,
        topic: Topic,
        after: Option<i64>,
    ) -> Result<Tail, AppError> {
        let live = self.listen(ws, topic).await?;
        let (head, pruned) = store::outbox::bounds(ws, &self.db).await?;
        let last = match after {
            None => head,
            Some(c) if c < pruned => return Err(AppError::CursorExpired),
            Some(c) if c > head => {
                return Err(AppError::bad_input(
                    "after",
                    "the cursor is not one of this workspace's events",
                ));
            }
            Some(c) => c,
        };
        Ok(Tail {
            db: self.db.clone(),
            ws,
            topic,
            last,
            replaying: after.is_some(),
            backlog: VecDeque::new(),
            live,
            done: false,
        })
    }
}

/// One subscriber's ordered, gap-free stream of a topic: database rows until it has caught up,
/// then the live channel; whenever the channel shows a gap, the gap is read from the database.
pub struct Tail {
    db: DatabaseConnection,
    ws: WorkspaceId,
    topic: Topic,
    /// Every event of the topic up to this `seq` has been handed out (or was before the start).
    last: i64,
    replaying: bool,
    /// Rows read from the database, of any topic, in `seq` order.
    backlog: VecDeque<Arc<Event>>,
    live: broadcast::Receiver<Delivery>,
    done: bool,
}

impl Tail {
    /// Every event of the topic up to this `seq` has been handed out (or was before the start).
    pub fn position(&self) -> i64 {
        self.last
    }

    /// The next event, in `seq` order. An error ends the stream: `SlowConsumer` names the
    /// cursor to resume from.
    pub async fn next(&mut self) -> Option<Result<Arc<Event>, AppError>> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                if e.seq <= self.last {
                    continue;
                }
                self.last = e.seq;
                if e.concerns(self.topic) {
                    return Some(Ok(e));
                }
                continue;
            }
            if self.done {
                return None;
            }
            if self.replaying {
                // Boxed: a query's future is large, and inline it would sit in every idle
                // subscriber's stream.
                let (ws, db, last) = (self.ws, &self.db, self.last);
                let read = retrying("a subscriber's replay", || {
                    store::qualification::events_after(ws, db, last, PAGE)
                });
                let rows = match Box::pin(read).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                };
                if (rows.len() as u64) < PAGE {
                    self.replaying = false;
                }
                self.backlog
                    .extend(rows.into_iter().map(|r| Arc::new(Event::from(r))));
                continue;
            }
            match self.live.recv().await {
                Ok(d) if d.event.seq <= self.last => {}
                Ok(d) if d.prev <= self.last => self.backlog.push_back(d.event),
                // The channel carried events of this topic this subscriber has not seen (it
                // opened before the subscriber's start, or the subscriber fell behind): read
                // the gap from the database.
                Ok(_) => self.replaying = true,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.done = true;
                    return Some(Err(AppError::SlowConsumer {
                        cursor: super::encode_cursor(self.last),
                    }));
                }
                Err(broadcast::error::RecvError::Closed) => {
                    self.done = true;
                    return None;
                }
            }
        }
    }
}
