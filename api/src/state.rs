//! What every request shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::{JwtKeys, LoginThrottle};
use crate::bus::Bus;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::ws::{Runs, TokenLimits};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Live delivery's own pool (the relay, the hub, subscriptions): see `startup::connect_live`.
    pub live_db: DatabaseConnection,
    pub keys: Arc<JwtKeys>,
    pub throttle: Arc<LoginThrottle>,
    pub config: Arc<Config>,
    pub bus: Bus,
    pub metrics: Arc<Metrics>,
    pub token_limits: Arc<TokenLimits>,
    /// Identical live operations, run once for all their sockets.
    pub runs: Arc<Runs>,
    /// Turns `true` when the server begins to shut down: sockets say goodbye.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}
