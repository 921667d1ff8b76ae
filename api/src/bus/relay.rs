//! The relay: one instance at a time (by lease) announces committed outbox rows on the bus,
//! in `seq` order per workspace, and prunes rows past the retention window.

use std::time::Duration;

use quorum_domain::value::WorkspaceId;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use super::Bus;
use crate::error::AppError;
use crate::store;

pub struct Settings {
    pub poll: Duration,
    pub lease: Duration,
    pub retention: Duration,
}

/// The relay's row in `relay_lease`.
const LEASE: &str = "outbox";

/// How often the lease holder prunes.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub async fn run(bus: Bus, db: DatabaseConnection, s: Settings, mut stop: watch::Receiver<bool>) {
    let mut holding = false;
    let mut last_prune = tokio::time::Instant::now() - PRUNE_EVERY;
    loop {
        tokio::select! {
            _ = bus.wake_relay.notified() => {}
            _ = tokio::time::sleep(s.poll) => {}
            _ = stop.changed() => break,
        }
        let now = store::now();
        let until =
            now + chrono::Duration::from_std(s.lease).unwrap_or(chrono::Duration::seconds(5));
        match store::outbox::hold_lease(&db, LEASE, bus.instance, now, until).await {
            Ok(true) => {
                if !holding {
                    tracing::info!(instance = %bus.instance, "this instance relays the outbox");
                }
                holding = true;
            }
            Ok(false) => {
                holding = false;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "relay lease check failed");
                holding = false;
                continue;
            }
        }
        if let Err(e) = announce(&bus, &db).await {
            // Unannounced rows stay marked so; the next pass retries them.
            tracing::warn!(error = %e, "relay could not announce; retrying");
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            let before =
                now - chrono::Duration::from_std(s.retention).unwrap_or(chrono::Duration::days(7));
            match store::outbox::prune(&db, before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned delivered outbox rows"),
                Err(e) => tracing::warn!(error = %e, "outbox pruning failed"),
            }
            // Batch replies live as long: a retry within the window is answered alike.
            if let Err(e) = store::engagement::prune_batches(&db, before).await {
                tracing::warn!(error = %e, "pruning batch replies failed");
            }
        }
    }
    if holding && let Err(e) = store::outbox::release_lease(&db, LEASE, bus.instance).await {
        tracing::warn!(error = %e, "could not release the relay lease; it expires");
    }
}

/// Rings once per workspace with its highest waiting `seq` (readers fetch every row up to it),
/// then marks those rows announced. A ring that fails leaves them waiting.
async fn announce(bus: &Bus, db: &DatabaseConnection) -> Result<(), AppError> {
    for w in store::outbox::waiting(db).await? {
        bus.ring(WorkspaceId::from(w.workspace_id), w.last).await?;
        store::outbox::mark_published(db, w.workspace_id, w.last, store::now()).await?;
    }
    Ok(())
}
