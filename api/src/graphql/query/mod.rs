//! Root queries, one object per noun, merged.

mod account;
mod contact;
mod model;
mod user;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(
    user::UserQuery,
    account::AccountQuery,
    contact::ContactQuery,
    model::ModelQuery,
);
