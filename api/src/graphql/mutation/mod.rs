//! Root mutations, one object per noun, merged.

mod account;
mod analytics;
mod committee;
mod contact;
mod engagement;
mod model;
mod pipeline;
mod routing;
mod segment;
mod session;
mod stage;
mod user;

pub use engagement::EngagementInput;
pub use user::MIN_PASSWORD;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    session::SessionMutation,
    user::UserMutation,
    account::AccountMutation,
    contact::ContactMutation,
    committee::CommitteeMutation,
    engagement::EngagementMutation,
    model::ModelMutation,
    stage::StageMutation,
    routing::RoutingMutation,
    pipeline::PipelineMutation,
    segment::SegmentMutation,
    analytics::AnalyticsMutation,
);
