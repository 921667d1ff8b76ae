//! Live events: the outbox is the ledger; the bus only rings doorbells.
//!
//! A change writes its events to the outbox in its own transaction. One relay across all
//! instances (holding a lease) notices committed rows and rings the bus with "workspace W's
//! outbox reached `seq` n". Every instance that has subscribers in W then reads the rows
//! itself from the database and fans them out to them ([`hub`]). The bus is in-process by
//! default and Redis pub/sub with `REDIS_URL`.
//!
//! Why a doorbell and not the events themselves on Redis: pub/sub drops whatever is published
//! while a listener is disconnected, and Redis here keeps nothing on disk. Rows in the database
//! survive both; a lost doorbell only delays delivery until the next one or until the
//! listener reconnects, when every instance reads everything after what it last delivered.
//! A Redis Stream would hold the events, but it would be a second copy of the ledger to keep
//! in step and to lose on a Redis restart.
//!
//! Delivery is at least once: an instance may read a row twice across a reconnect, and a
//! client that resumes with `after` may see the event at its cursor's seam again only if it
//! kept an older cursor. Each event carries its `cursor` (the workspace's outbox `seq`), so a
//! client that drops events at or below the last cursor it saw gets each exactly once.

mod hub;
mod redis;
mod relay;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use quorum_domain::value::WorkspaceId;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use uuid::Uuid;

pub use hub::{Hub, Tail};

/// What a subscriber follows. The hub keeps a channel per topic so an event wakes only the
/// subscribers it concerns.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Topic {
    /// Promotions to SQL.
    Promotions,
    /// Assignment changes: every rep's (`None`), or one rep's.
    Assignments(Option<Uuid>),
}

use crate::config::Config;
use crate::error::AppError;
use crate::store::entity::outbox;

/// One outbox row, as subscribers see it.
pub struct Event {
    pub seq: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// The rep an assignment event is for.
    pub rep: Option<Uuid>,
    /// The rows the event names, read once for every subscriber on this instance that
    /// receives it, rather than once per socket.
    pub account: tokio::sync::OnceCell<Option<crate::store::entity::account::Model>>,
    pub assignment: tokio::sync::OnceCell<Option<crate::store::entity::assignment::Model>>,
    /// The loaders the GraphQL layer resolves this event's nested fields through, shared (with
    /// their cache) by every subscriber on this instance that receives the event.
    pub loaders: std::sync::OnceLock<Arc<crate::graphql::loader::Loaders>>,
    /// When this instance's hub handed it to its subscribers' channels (not for replays):
    /// delivery is timed from here (`quorum_live_delivery_seconds`).
    pub dispatched: std::sync::OnceLock<std::time::Instant>,
}

impl From<outbox::Model> for Event {
    fn from(m: outbox::Model) -> Self {
        let payload: serde_json::Value =
            serde_json::from_str(&m.payload).unwrap_or(serde_json::Value::Null);
        let rep = payload
            .get("repId")
            .and_then(|r| r.as_str())
            .and_then(|r| Uuid::parse_str(r).ok());
        Self {
            seq: m.seq,
            kind: m.kind,
            payload,
            created_at: m.created_at,
            rep,
            account: tokio::sync::OnceCell::new(),
            assignment: tokio::sync::OnceCell::new(),
            loaders: std::sync::OnceLock::new(),
            dispatched: std::sync::OnceLock::new(),
        }
    }
}

impl Event {
    /// The topics this event belongs to.
    pub fn topics(&self) -> impl Iterator<Item = Topic> + use<> {
        let (a, b) = if self.kind == crate::qualification::SQL_PROMOTED {
            (Some(Topic::Promotions), None)
        } else if crate::qualification::is_assignment_event(&self.kind) {
            (
                Some(Topic::Assignments(None)),
                self.rep.map(|r| Topic::Assignments(Some(r))),
            )
        } else {
            (None, None)
        };
        a.into_iter().chain(b)
    }

    /// A row id the payload names under `key` (`accountId`, `assignmentId`).
    pub fn id_of(&self, key: &str) -> Option<Uuid> {
        self.payload
            .get(key)
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    pub fn concerns(&self, topic: Topic) -> bool {
        self.topics().any(|t| t == topic)
    }

    pub fn cursor(&self) -> String {
        encode_cursor(self.seq)
    }
}

const CURSOR_PREFIX: &str = "outbox:";

/// Opaque to clients, so the numbering may change without breaking them.
pub fn encode_cursor(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    s.strip_prefix(CURSOR_PREFIX)?
        .parse()
        .ok()
        .filter(|n| *n >= 0)
}

/// The process's side of the bus: where the relay rings, and what wakes it.
#[derive(Clone)]
pub struct Bus {
    pub hub: Arc<Hub>,
    wake_relay: Arc<Notify>,
    redis: Option<redis::Link>,
    /// This instance, as the relay lease knows it.
    pub instance: Uuid,
}

impl Bus {
    /// Starts the bus's background work: the relay (if it wins the lease) and, with Redis,
    /// the listener. They stop when `stop` fires.
    pub fn start(
        config: &Config,
        db: DatabaseConnection,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let hub = Arc::new(Hub::new(db.clone(), config.ws_buffer));
        let wake_relay = Arc::new(Notify::new());
        let redis = match &config.redis_url {
            Some(url) => Some(redis::Link::start(
                url,
                hub.clone(),
                wake_relay.clone(),
                stop.clone(),
            )?),
            None => None,
        };
        let bus = Self {
            hub,
            wake_relay,
            redis,
            instance: Uuid::new_v4(),
        };
        tokio::spawn(relay::run(
            bus.clone(),
            db,
            relay::Settings {
                poll: Duration::from_millis(config.relay_poll_ms.max(1)),
                lease: Duration::from_secs(config.relay_lease_secs.max(1)),
                retention: Duration::from_secs(config.outbox_retention_secs),
            },
            stop,
        ));
        Ok(bus)
    }

    /// Call after committing a transaction that appended to the outbox: the relay, wherever
    /// it runs, looks at once instead of at its next poll. Best effort; the poll is the floor.
    pub fn nudge(&self) {
        self.wake_relay.notify_one();
        if let Some(r) = &self.redis {
            r.nudge();
        }
    }

    /// The relay's announcement that `ws`'s outbox holds committed rows up to `seq`.
    async fn ring(&self, ws: WorkspaceId, seq: i64) -> Result<(), AppError> {
        match &self.redis {
            Some(r) => r.ring(ws, seq).await,
            None => {
                self.hub.doorbell(ws, seq);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        for seq in [0, 1, 42, i64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(seq)), Some(seq));
        }
        assert_eq!(decode_cursor("42"), None);
        assert_eq!(decode_cursor(""), None);
        assert_eq!(
            decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("outbox:-1")),
            None
        );
    }
}
