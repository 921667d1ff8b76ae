use async_graphql::{Context, ErrorExtensions, Guard};
use quorum_domain::value::Role;

use super::{Caller, Viewer};
use crate::error::AppError;

/// The caller, or `UNAUTHENTICATED`. Every resolver that touches data starts here.
pub fn viewer(ctx: &Context<'_>) -> Result<Viewer, AppError> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::Viewer(v)) => Ok(*v),
        _ => Err(AppError::Unauthenticated),
    }
}

/// Whose assignments `v` may follow when asking for `rep_id`: a rep only their own (another
/// rep's id is `FORBIDDEN`), managers and admins anyone's (`None`: everyone's), marketers none.
/// An unparseable id names nobody, like another workspace's rep.
pub fn rep_scope(
    v: &Viewer,
    rep_id: Option<&async_graphql::ID>,
) -> Result<Option<quorum_domain::value::UserId>, AppError> {
    use quorum_domain::value::UserId;
    let asked = rep_id.map(|id| crate::graphql::object::parse_id(id).unwrap_or_default());
    match v.role {
        Role::Rep => match asked {
            None => Ok(Some(v.user_id)),
            Some(id) if id == v.user_id.get() => Ok(Some(v.user_id)),
            Some(_) => Err(AppError::Forbidden),
        },
        Role::Admin | Role::Manager => Ok(asked.map(UserId::from)),
        Role::Marketer => Err(AppError::Forbidden),
    }
}

/// Lets a field through for the listed roles only.
pub struct RoleGuard(&'static [Role]);

impl RoleGuard {
    pub fn new(roles: &'static [Role]) -> Self {
        Self(roles)
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let v = viewer(ctx).map_err(|e| e.extend())?;
        if self.0.contains(&v.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden.extend())
        }
    }
}
