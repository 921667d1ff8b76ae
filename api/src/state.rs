//! What every request shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::{JwtKeys, LoginThrottle};
use crate::config::Config;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub keys: Arc<JwtKeys>,
    pub throttle: Arc<LoginThrottle>,
    pub config: Arc<Config>,
}
