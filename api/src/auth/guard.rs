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
