use async_graphql::{Context, Object};
use quorum_domain::value::{Email, Role, UserId, WorkspaceId};

use crate::auth::{Viewer, verify_password};
use crate::error::{AppError, IntoGql};
use crate::graphql::object::{Session, User};
use crate::graphql::state;
use crate::store;

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// A token for `email` and `password`. A wrong e-mail and a wrong password get the same
    /// answer, and repeated failures for one e-mail are answered more and more slowly.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<Session> {
        let run = async {
            let st = state(ctx)?;
            let key = email.trim().to_lowercase();
            let failures = store::login::recent_failures(&st.db, &key, store::now()).await?;
            let delay = st.throttle.delay(failures);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let user = match Email::parse(&email) {
                Ok(e) => store::user::find_by_email(&st.db, &e).await?,
                Err(_) => None,
            };
            let ok =
                verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
            let (Some(user), true) = (user, ok) else {
                store::login::record_failure(&st.db, &key, store::now()).await?;
                return Err(AppError::LoginFailed);
            };
            if failures > 0 {
                store::login::clear(&st.db, &key).await?;
            }
            let role = Role::parse(&user.role)
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored role: {e}")))?;
            let v = Viewer {
                user_id: UserId::from(user.id),
                workspace_id: WorkspaceId::from(user.workspace_id),
                role,
            };
            let (token, expires_at) = st.keys.issue(&v, st.config.token_ttl_secs)?;
            Ok(Session {
                token,
                expires_at,
                user: User(user),
            })
        };
        run.await.gql()
    }
}
