//! The bus over Redis pub/sub: doorbells and relay nudges between instances. Nothing here
//! carries an event; see the module above for why.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use quorum_domain::value::WorkspaceId;
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use tokio::sync::{Mutex, Notify, watch};
use uuid::Uuid;

use super::Hub;
use crate::error::AppError;

const DOORBELL: &str = "quorum:outbox:doorbell";
const NUDGE: &str = "quorum:outbox:nudge";
/// A Redis that does not answer within this is treated as down; the outbox keeps the events.
const TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Link {
    client: redis::Client,
    conn: Arc<Mutex<Option<MultiplexedConnection>>>,
}

impl Link {
    /// Connects lazily: a Redis that is down at start only delays live delivery.
    pub fn start(
        url: &str,
        hub: Arc<Hub>,
        wake_relay: Arc<Notify>,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        tokio::spawn(listen(client.clone(), hub, wake_relay, stop));
        Ok(Self {
            client,
            conn: Arc::new(Mutex::new(None)),
        })
    }

    async fn publish(&self, channel: &str, message: String) -> redis::RedisResult<()> {
        let mut slot = self.conn.lock().await;
        let mut conn = match slot.as_ref() {
            Some(c) => c.clone(),
            None => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT));
                let c = self
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?;
                *slot = Some(c.clone());
                c
            }
        };
        drop(slot);
        let res: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(message)
            .query_async(&mut conn)
            .await;
        if res.is_err() {
            // Reconnect on the next call rather than reuse a broken connection.
            *self.conn.lock().await = None;
        }
        res.map(|_| ())
    }

    pub async fn ring(&self, ws: WorkspaceId, seq: i64) -> Result<(), AppError> {
        self.publish(DOORBELL, format!("{ws} {seq}"))
            .await
            .map_err(|e| AppError::Unavailable(anyhow::anyhow!("redis: {e}")))
    }

    pub fn nudge(&self) {
        let link = self.clone();
        tokio::spawn(async move {
            if let Err(e) = link.publish(NUDGE, String::new()).await {
                tracing::debug!(error = %e, "relay nudge not sent; it polls");
            }
        });
    }
}

/// Hears doorbells and nudges until `stop`; reconnects with backoff, and after every
/// (re)connection has every feed catch up, since doorbells rung meanwhile were lost.
async fn listen(
    client: redis::Client,
    hub: Arc<Hub>,
    wake_relay: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&[DOORBELL, NUDGE]).await?;
            redis::RedisResult::Ok(pubsub)
        };
        let pubsub = tokio::select! {
            r = tokio::time::timeout(TIMEOUT * 2, connected) => r,
            _ = stop.changed() => return,
        };
        match pubsub {
            Ok(Ok(pubsub)) => {
                tracing::info!("listening to the bus on redis");
                backoff = Duration::from_millis(100);
                hub.catch_up_all();
                wake_relay.notify_one();
                let mut messages = pubsub.into_on_message();
                loop {
                    let msg = tokio::select! {
                        m = messages.next() => m,
                        _ = stop.changed() => return,
                    };
                    let Some(msg) = msg else { break };
                    if msg.get_channel_name() == NUDGE {
                        wake_relay.notify_one();
                        continue;
                    }
                    let payload: String = msg.get_payload().unwrap_or_default();
                    if let Some((ws, seq)) = payload.split_once(' ')
                        && let (Ok(ws), Ok(seq)) = (Uuid::parse_str(ws), seq.parse::<i64>())
                    {
                        hub.doorbell(WorkspaceId::from(ws), seq);
                    }
                }
                tracing::warn!("lost the redis bus; reconnecting");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "redis bus unreachable; retrying"),
            Err(_) => tracing::warn!("redis bus timed out; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}
