//! Root queries, one object per noun, merged.

mod account;
mod analytics;
mod contact;
mod model;
mod routing;
mod segment;
mod user;

use async_graphql::MergedObject;

pub use account::account_page;
pub use routing::{RoutingRule, WorkspaceSettings};

#[derive(MergedObject, Default)]
pub struct Query(
    user::UserQuery,
    account::AccountQuery,
    contact::ContactQuery,
    model::ModelQuery,
    routing::RoutingQuery,
    segment::SegmentQuery,
    analytics::AnalyticsQuery,
);
