//! This instance's subscribers, per workspace: one feed reads the workspace's new outbox rows
//! from the database when a doorbell rings and broadcasts them to every subscriber here.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorum_domain::value::WorkspaceId;
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use super::Event;
use crate::error::AppError;
use crate::store;

/// Rows read per query, both by feeds and by subscribers replaying.
const PAGE: u64 = 500;
/// How often an idle feed checks whether anyone still listens.
const IDLE_CHECK: Duration = Duration::from_secs(30);

struct Feed {
    events: broadcast::Sender<Arc<Event>>,
    wake: Notify,
    /// The last `seq` this feed broadcast.
    last: AtomicI64,
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
    fn feeds(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Feed>>> {
        self.feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

    /// Subscribers connected to this instance, per workspace feed.
    pub fn subscribers(&self) -> usize {
        self.feeds()
            .values()
            .map(|f| f.events.receiver_count())
            .sum()
    }

    /// A subscriber's live receiver. The feed, when this creates it, starts at a `seq` already
    /// committed before the caller reads its own starting point, so nothing committed after
    /// that point can slip past both.
    async fn listen(
        self: &Arc<Self>,
        ws: WorkspaceId,
    ) -> Result<broadcast::Receiver<Arc<Event>>, AppError> {
        // Under the lock: a feed whose last subscriber left is removed under it too, so a
        // receiver never attaches to a feed that has stopped.
        if let Some(f) = self.feeds().get(&ws.get()) {
            return Ok(f.events.subscribe());
        }
        let (head, _) = store::outbox::bounds(ws, &self.db).await?;
        let mut feeds = self.feeds();
        let feed = feeds.entry(ws.get()).or_insert_with(|| {
            let feed = Arc::new(Feed {
                events: broadcast::channel(self.capacity).0,
                wake: Notify::new(),
                last: AtomicI64::new(head),
            });
            tokio::spawn(self.clone().run_feed(ws, feed.clone()));
            feed
        });
        Ok(feed.events.subscribe())
    }

    async fn run_feed(self: Arc<Self>, ws: WorkspaceId, feed: Arc<Feed>) {
        loop {
            let _ = tokio::time::timeout(IDLE_CHECK, feed.wake.notified()).await;
            {
                let mut feeds = self.feeds();
                if feed.events.receiver_count() == 0 {
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
            for row in rows {
                let seq = row.seq;
                // No receivers is not an error: they may all have just left.
                let _ = feed.events.send(Arc::new(Event::from(row)));
                feed.last.store(seq, Ordering::Release);
            }
            if (n as u64) < PAGE {
                return Ok(());
            }
        }
    }

    /// A subscriber's stream of `ws`'s events after `after` (replayed from the database), or
    /// from now on when `after` is `None`.
    pub async fn tail(
        self: &Arc<Self>,
        ws: WorkspaceId,
        after: Option<i64>,
    ) -> Result<Tail, AppError> {
        let live = self.listen(ws).await?;
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
            last,
            replaying: after.is_some(),
            backlog: VecDeque::new(),
            live,
            done: false,
        })
    }
}

/// One subscriber's ordered, gap-free stream: database rows until it has caught up, then the
/// live feed; whenever the live feed skips ahead, the gap is read from the database.
pub struct Tail {
    db: DatabaseConnection,
    ws: WorkspaceId,
    /// The last `seq` handed out (or skipped as already seen).
    last: i64,
    replaying: bool,
    backlog: VecDeque<Arc<Event>>,
    live: broadcast::Receiver<Arc<Event>>,
    done: bool,
}

impl Tail {
    /// The next event, in `seq` order. An error ends the stream: `SlowConsumer` names the
    /// cursor to resume from.
    pub async fn next(&mut self) -> Option<Result<Arc<Event>, AppError>> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                if e.seq <= self.last {
                    continue;
                }
                self.last = e.seq;
                return Some(Ok(e));
            }
            if self.done {
                return None;
            }
            if self.replaying {
                let rows =
                    match store::qualification::events_after(self.ws, &self.db, self.last, PAGE)
                        .await
                    {
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
                Ok(e) if e.seq <= self.last => {}
                Ok(e) if e.seq == self.last + 1 => self.backlog.push_back(e),
                // The feed started ahead of this subscriber, or skipped: read the gap.
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
