use async_graphql::{Schema, SchemaBuilder};

use super::mutation::Mutation;
use super::query::Query;
use super::subscription::Subscription;
use crate::config::Config;
use crate::state::AppState;

pub type QuorumSchema = Schema<Query, Mutation, Subscription>;

/// What a single query may cost. async-graphql sets no limit by default.
#[derive(Debug, Clone)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 12,
            complexity: 20_000,
            introspection: true,
        }
    }
}

impl From<&Config> for Limits {
    fn from(c: &Config) -> Self {
        Self {
            depth: c.max_depth,
            complexity: c.max_complexity,
            introspection: c.introspection,
        }
    }
}

/// Most directives one field may carry.
pub const MAX_DIRECTIVES: usize = 8;

/// Types and limits; `quorum schema` prints its `.finish().sdl()`.
pub fn schema_builder(l: &Limits) -> SchemaBuilder<Query, Mutation, Subscription> {
    let b = Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(l.depth)
        .limit_complexity(l.complexity)
        // `@include` and `@skip` are the only directives a query can use; a field carrying
        // more than a few is an attack on the validator, not a query.
        .limit_directives(MAX_DIRECTIVES)
        // Suggestions ("did you mean …") map the schema for someone who may not see it.
        .disable_suggestions();
    if l.introspection {
        b
    } else {
        b.disable_introspection()
    }
}

/// `serve` and every test run this one.
pub fn build_schema(state: AppState, l: &Limits) -> QuorumSchema {
    schema_builder(l).data(state).finish()
}

/// The SDL front-ends code against; `api/schema.graphql` is kept equal to it by a test.
pub fn sdl() -> String {
    schema_builder(&Limits::default()).finish().sdl()
}
