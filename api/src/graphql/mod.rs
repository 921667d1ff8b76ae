//! The GraphQL API: one schema, objects per noun, loaders per request.

pub mod input;
pub mod loader;
pub mod mutation;
pub mod object;
pub mod query;
pub mod schema;
pub mod subscription;

pub use schema::{Limits, QuorumSchema, build_schema, schema_builder, sdl};

use crate::error::AppError;
use crate::state::AppState;

/// The shared state; every schema is built with it.
pub fn state<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a AppState, AppError> {
    ctx.data::<AppState>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("schema built without AppState")))
}
