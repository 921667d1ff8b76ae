use async_graphql::{Context, Object};
use quorum_domain::value::{Email, non_empty};

use crate::auth::{RoleGuard, hash_password, viewer};
use crate::error::{AppError, At, IntoGql};
use crate::graphql::input::UserInput;
use crate::graphql::object::User;
use crate::graphql::state;
use crate::store::{self, user::NewUser};
use quorum_domain::value::Role;

#[derive(Default)]
pub struct UserMutation;

pub const MIN_PASSWORD: usize = 10;

#[Object]
impl UserMutation {
    /// A new user in the caller's workspace (admins only).
    #[graphql(guard = "RoleGuard::new(&[Role::Admin])")]
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> async_graphql::Result<User> {
        let run = async {
            let v = viewer(ctx)?;
            let email = Email::parse(&input.email).at(|| "input.email".into())?;
            let name = non_empty(&input.name, 200).at(|| "input.name".into())?;
            if input.password.chars().count() < MIN_PASSWORD {
                return Err(AppError::bad_input(
                    "input.password",
                    format!("must be at least {MIN_PASSWORD} characters"),
                ));
            }
            let password_hash = hash_password(input.password).await?;
            let new = NewUser {
                email,
                name,
                role: input.role.into(),
                password_hash,
            };
            Ok(User(
                store::user::insert(v.workspace_id, &state(ctx)?.db, new).await?,
            ))
        };
        run.await.gql()
    }
}
