//! Background passes that one instance at a time runs: the decay rescore and the SLA watch.
//! Both are idempotent, so two instances running one at once stay correct, but N instances
//! did the work N times. An instance runs a pass only while it holds the pass's lease (a row
//! of `relay_lease`, like the relay's). A lease lasts two intervals: the holder renews it at
//! every pass, another instance takes over within two intervals of the holder dying, and at
//! its next pass when the holder shuts down cleanly (the lease is handed back).

use std::future::Future;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use uuid::Uuid;

use crate::store;

/// What a periodic pass is, and how it is shared among instances.
pub struct Periodic {
    /// Its lease's name in `relay_lease`.
    pub lease: &'static str,
    pub every: Duration,
    /// The first pass comes at once (else after one interval).
    pub at_start: bool,
    /// This instance, as the lease's holder.
    pub instance: Uuid,
}

/// Runs `pass` every `p.every` while this instance holds the lease, until `stop` changes.
pub async fn run<F, Fut>(
    db: DatabaseConnection,
    p: Periodic,
    mut stop: watch::Receiver<bool>,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let first = if p.at_start {
        tokio::time::Instant::now()
    } else {
        tokio::time::Instant::now() + p.every
    };
    let mut tick = tokio::time::interval_at(first, p.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ttl =
        chrono::Duration::from_std(p.every.saturating_mul(2)).unwrap_or(chrono::Duration::hours(2));
    let mut holding = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        let now = store::now();
        match store::outbox::hold_lease(&db, p.lease, p.instance, now, now + ttl).await {
            Ok(true) => {
                if !holding {
                    tracing::info!(lease = p.lease, instance = %p.instance, "this instance runs the pass");
                }
                holding = true;
                pass().await;
            }
            Ok(false) => holding = false,
            Err(e) => {
                tracing::warn!(lease = p.lease, error = %e, "lease check failed; next tick retries");
                holding = false;
            }
        }
    }
    if holding && let Err(e) = store::outbox::release_lease(&db, p.lease, p.instance).await {
        tracing::warn!(lease = p.lease, error = %e, "could not hand the lease back; it expires");
    }
}
