//! Identical live operations run once per instance.
//!
//! A rep with the board open on three screens, or every manager's dashboard, asks the same
//! subscription with the same credentials. Run separately, each socket would resolve and
//! serialise every event on its own and keep its own copy of the parsed document and of the
//! executor's state: with thousands of sockets that is most of the memory an idle subscription
//! costs and most of the time a burst of events takes. A [`Run`] executes the operation once;
//! each response is serialised once and handed to every member, which wraps it in its own
//! operation id.
//!
//! Only a run that its subscription field declares shareable ([`RunLink::started`]) takes
//! members: one that follows the live feed from "now". A resumed one (`after`) replays from its
//! own cursor, which a later joiner would not share, so it runs alone. A member that joins a
//! live run receives every event the run emits after the join, which covers every event
//! committed after the member subscribed (the run emits in `seq` order and cannot have emitted
//! an event not yet committed); it may also see a few committed just before, which is within
//! at-least-once delivery.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Instant;

use async_graphql::{Request, Response};
use futures_util::StreamExt as _;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::auth::Viewer;
use crate::graphql::QuorumSchema;

/// What makes two operations the same: who asks (a role sees what its role may), and the
/// request itself.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    viewer: Viewer,
    query: String,
    operation: Option<String>,
    /// Serialised: `Variables` is an ordered map, so equal variables serialise equally.
    variables: String,
}

impl Key {
    pub fn of(viewer: Viewer, request: &Request) -> Self {
        Self {
            viewer,
            query: request.query.clone(),
            operation: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
        }
    }
}

/// One response of a run, serialised once for all its members.
pub struct Frame {
    /// The whole response (`{"data": …, "errors": …}`).
    pub payload: Box<str>,
    /// The operation was refused before it produced anything (forbidden, bad cursor): its
    /// errors alone, which `graphql-transport-ws` sends as an `error` message.
    pub refused: Option<Box<str>>,
    /// The event this response carries, and when the hub dispatched it (live events only).
    pub seq: Option<i64>,
    pub dispatched: Option<Instant>,
}

pub enum Message {
    Frame(Frame),
    /// The operation's stream ended.
    End,
}

/// The operations running on this instance that take members.
pub struct Runs {
    open: Mutex<HashMap<Key, Weak<Run>>>,
    capacity: usize,
    /// Runs executing, shared or not.
    running: AtomicI64,
}

impl Runs {
    /// `capacity`: responses a member may fall behind by before it is dropped as slow.
    pub fn new(capacity: usize) -> Self {
        Self {
            open: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            running: AtomicI64::new(0),
        }
    }

    fn open(&self) -> MutexGuard<'_, HashMap<Key, Weak<Run>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Operations executing for this instance's subscriptions (shared or not).
    pub fn running(&self) -> i64 {
        self.running.load(Ordering::Relaxed)
    }

    /// A member of the live run of `key`, if one takes members; otherwise of a new run of
    /// `request`, which is started here. `prepare` adds the request's data and is only called
    /// for a new run.
    pub fn join(
        self: &Arc<Self>,
        key: Key,
        schema: Arc<QuorumSchema>,
        prepare: impl FnOnce(RunLink) -> Request,
    ) -> Member {
        {
            let open = self.open();
            if let Some(run) = open.get(&key).and_then(Weak::upgrade) {
                // Under the lock: a run withdraws under it before it sends its last message,
                // so a member that finds it here receives that message.
                let rx = run.tx.subscribe();
                // Read after subscribing: a run stores its position before it sends the
                // frame, so whatever the member misses is at or below what it reads.
                let last = Some(run.last.load(Ordering::Acquire));
                return Member {
                    run,
                    rx,
                    last,
                    joined: true,
                };
            }
        }
        self.running.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = broadcast::channel(self.capacity);
        let run = Arc::new(Run {
            key,
            runs: self.clone(),
            tx,
            last: AtomicI64::new(0),
            start: OnceLock::new(),
            task: OnceLock::new(),
        });
        let link = RunLink {
            run: Arc::downgrade(&run),
            mark: Arc::new(Mutex::new(None)),
        };
        let request = prepare(link.clone());
        let task = tokio::spawn(drive(link, schema, request));
        let _ = run.task.set(task);
        Member {
            run,
            rx,
            last: None,
            joined: false,
        }
    }
}

/// One execution of an operation and the members it serves. It stops when its last member
/// goes.
pub struct Run {
    key: Key,
    runs: Arc<Runs>,
    tx: broadcast::Sender<Arc<Message>>,
    /// The `seq` of the last event the run emitted (or where it started).
    last: AtomicI64,
    /// Where the run's feed started: the cursor a member that has seen nothing resumes from.
    start: OnceLock<i64>,
    task: OnceLock<JoinHandle<()>>,
}

impl Run {
    /// Takes no new members.
    fn withdraw(&self) {
        let mut open = self.runs.open();
        if open
            .get(&self.key)
            .is_some_and(|r| std::ptr::eq(r.as_ptr(), self))
        {
            open.remove(&self.key);
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(task) = self.task.get() {
            task.abort();
        }
        self.runs.running.fetch_sub(1, Ordering::Relaxed);
        let mut open = self.runs.open();
        // Another run of the same operation may have registered since: keep that one.
        if open.get(&self.key).is_some_and(|r| r.strong_count() == 0) {
            open.remove(&self.key);
        }
    }
}

/// A socket's place in a run.
pub struct Member {
    run: Arc<Run>,
    rx: broadcast::Receiver<Arc<Message>>,
    /// The last event this member was handed (or, when it joined a running run, where the
    /// run stood then).
    last: Option<i64>,
    /// It joined a run that was already serving others.
    pub joined: bool,
}

/// What a member gets next.
pub enum Next {
    Message(Arc<Message>),
    /// The member fell further behind the run than its buffer holds: resume after this
    /// cursor (`None` if the run never reached its feed).
    Behind(Option<i64>),
}

impl Member {
    pub async fn next(&mut self) -> Next {
        match self.rx.recv().await {
            Ok(m) => Next::Message(m),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                Next::Behind(self.last.or_else(|| self.run.start.get().copied()))
            }
            // The run holds the sender for as long as this member holds the run.
            Err(broadcast::error::RecvError::Closed) => Next::Message(Arc::new(Message::End)),
        }
    }

    /// The member has handed on the event at `seq`.
    pub fn passed(&mut self, seq: Option<i64>) {
        if seq.is_some() {
            self.last = seq;
        }
    }
}

/// The request's side of its run: the subscription field says where its feed starts and
/// whether others may join, and which event its next result is.
#[derive(Clone)]
pub struct RunLink {
    run: Weak<Run>,
    mark: Arc<Mutex<Option<Mark>>>,
}

#[derive(Clone, Copy)]
struct Mark {
    seq: i64,
    dispatched: Option<Instant>,
}

impl RunLink {
    /// The operation's feed is open at `seq`. `shareable`: its results do not depend on
    /// when a socket joined, so identical operations may join it from now on.
    pub fn started(&self, seq: i64, shareable: bool) {
        let Some(run) = self.run.upgrade() else {
            return;
        };
        let _ = run.start.set(seq);
        run.last.store(seq, Ordering::Release);
        if shareable {
            let mut open = run.runs.open();
            // `strong_count`, not `upgrade`: an upgraded `Arc` dropped here could be the last
            // one, and its `Drop` takes this lock.
            let taken = open.get(&run.key).is_some_and(|r| r.strong_count() > 0);
            if !taken {
                open.insert(run.key.clone(), Arc::downgrade(&run));
            }
        }
    }

    /// The operation's next result is the event at `seq`.
    pub fn loaded(&self, seq: i64, dispatched: Option<Instant>) {
        *self.mark.lock().unwrap_or_else(PoisonError::into_inner) = Some(Mark { seq, dispatched });
    }

    fn take(&self) -> Option<Mark> {
        self.mark
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Executes the operation and hands each response, serialised, to the run's members.
async fn drive(link: RunLink, schema: Arc<QuorumSchema>, request: Request) {
    let mut responses = schema.execute_stream(request);
    let mut first = true;
    while let Some(mut response) = responses.next().await {
        crate::http::label(&mut response);
        let refused =
            first && response.data == async_graphql::Value::Null && !response.errors.is_empty();
        first = false;
        let mark = link.take();
        let frame = Frame {
            payload: serialise(&response),
            refused: refused.then(|| serialise_errors(&response)),
            seq: mark.map(|m| m.seq),
            dispatched: mark.and_then(|m| m.dispatched),
        };
        let Some(run) = link.run.upgrade() else {
            return;
        };
        if let Some(m) = mark {
            run.last.store(m.seq, Ordering::Release);
        }
        if refused {
            run.withdraw();
        }
        let _ = run.tx.send(Arc::new(Message::Frame(frame)));
        if refused {
            return;
        }
    }
    if let Some(run) = link.run.upgrade() {
        // Withdrawn first: a member joining from now on starts a run of its own instead of
        // joining one that has ended.
        run.withdraw();
        let _ = run.tx.send(Arc::new(Message::End));
    }
}

fn serialise(r: &Response) -> Box<str> {
    serde_json::to_string(r).unwrap_or_default().into()
}

fn serialise_errors(r: &Response) -> Box<str> {
    serde_json::to_string(&r.errors).unwrap_or_default().into()
}

#[cfg(test)]
impl Runs {
    /// A run with nothing executing behind it, and its first member: the test emits.
    pub(super) fn detached(self: &Arc<Self>, start: i64) -> (Arc<Run>, Member) {
        use quorum_domain::value::{Role, UserId, WorkspaceId};
        let viewer = Viewer {
            user_id: UserId::new(),
            workspace_id: WorkspaceId::new(),
            role: Role::Manager,
        };
        let (tx, rx) = broadcast::channel(self.capacity);
        self.running.fetch_add(1, Ordering::Relaxed);
        let run = Arc::new(Run {
            key: Key::of(viewer, &Request::new("subscription { x }")),
            runs: self.clone(),
            tx,
            last: AtomicI64::new(start),
            start: OnceLock::from(start),
            task: OnceLock::new(),
        });
        let member = Member {
            run: run.clone(),
            rx,
            last: None,
            joined: false,
        };
        (run, member)
    }
}

#[cfg(test)]
impl Run {
    /// What `drive` sends for the event at `seq`.
    pub(super) fn emit(&self, seq: i64) {
        self.last.store(seq, Ordering::Release);
        let frame = Frame {
            payload: format!(r#"{{"data":{{"seq":{seq}}}}}"#).into(),
            refused: None,
            seq: Some(seq),
            dispatched: None,
        };
        let _ = self.tx.send(Arc::new(Message::Frame(frame)));
    }
}
