//! Output types: each wraps a store model and lists its fields by hand.

mod account;
mod assignment;
mod committee;
mod connection;
mod contact;
mod enums;
mod model;
mod pipeline;
mod segment;
mod transition;
mod user;

pub use account::{Account, AccountScore, ScoreContribution, ScorePoint, account_id};
pub use assignment::{Assignment, AssignmentStatus, RepProfile};
pub use committee::{BuyingCommittee, CommitteeMember};
pub use connection::{Cursor, TotalCount, list_cost, page_size};
pub use contact::Contact;
pub use enums::{BuyingRole, Role, Seniority, SortDirection, Stage};
pub use model::ScoringModelObject;
pub use pipeline::{Bant, Opportunity};
pub use segment::{Segment, StageCount};
pub use transition::StageTransition;
pub use user::{Session, User};

/// A GraphQL `ID` as a uuid; anything else names nothing, like an unknown id.
pub fn parse_id(id: &async_graphql::ID) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(id.as_str()).ok()
}
