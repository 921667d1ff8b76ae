use async_graphql::InputObject;

use crate::graphql::object::Role;

/// A new user in the caller's workspace.
#[derive(InputObject)]
pub struct UserInput {
    /// Unique across the installation: it is how `login` finds the workspace.
    pub email: String,
    pub name: String,
    pub role: Role,
    /// At least 10 characters.
    pub password: String,
}
