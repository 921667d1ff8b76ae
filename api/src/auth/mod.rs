//! Who is calling: JWTs in, a `Viewer` (user, workspace, role) out.

mod guard;
mod password;
mod throttle;
mod token;

pub use guard::{RoleGuard, rep_scope, viewer};
pub use password::{hash_password, verify_password};
pub use throttle::{LOGIN_WINDOW, LoginThrottle};
pub use token::{Claims, JwtKeys};

use quorum_domain::value::{Role, UserId, WorkspaceId};

/// The authenticated caller. Every store call takes `workspace_id` from here, never from input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Viewer {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub role: Role,
}

/// What the request's credentials amount to. A bad token is not the same as none: `login`
/// works without a token, but a request that sent a bad one is told so on every guarded field.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    Anonymous,
    BadToken,
    Viewer(Viewer),
}
