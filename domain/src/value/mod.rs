//! Values parsed at the edge: once constructed, they are valid (a `Domain` is a domain name).

mod country;
mod domain;
mod email;
mod enums;
mod ids;
mod tier;
mod timestamp;

pub use country::CountryCode;
pub use domain::{Domain, is_free_mail};
pub use email::Email;
pub use enums::{BuyingRole, EngagementKind, Role, Seniority, Stage};
pub use ids::{AccountId, CommitteeId, ContactId, UserId, WorkspaceId};
pub use tier::Tier;
pub use timestamp::{MILLIS_PER_DAY, Timestamp};

/// Why a raw value was refused; the caller adds which field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

/// Trims `raw` and refuses it when empty or longer than `max` characters.
pub fn non_empty(raw: &str, max: usize) -> Result<String, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        Err(Invalid::new("must not be empty"))
    } else if s.chars().count() > max {
        Err(Invalid::new(format!("must be at most {max} characters")))
    } else {
        Ok(s.to_owned())
    }
}
