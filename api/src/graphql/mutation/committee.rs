use async_graphql::{Context, ID, Object};
use quorum_domain::value::{CommitteeId, ContactId, Role, non_empty};
use sea_orm::ConnectionTrait;

use crate::auth::{Viewer, viewer};
use crate::error::{AppError, AppResult, At, IntoGql};
use crate::graphql::object::{BuyingCommittee, BuyingRole, account_id, parse_id};
use crate::graphql::state;
use crate::scoring;
use crate::store::{self, entity::account};

#[derive(Default)]
pub struct CommitteeMutation;

/// Marketers, managers and admins edit any committee; a rep only those of accounts they own.
fn may_edit(v: &Viewer, account: &account::Model) -> AppResult<()> {
    match v.role {
        Role::Admin | Role::Marketer | Role::Manager => Ok(()),
        Role::Rep if account.owner_id == Some(v.user_id.get()) => Ok(()),
        Role::Rep => Err(AppError::Forbidden),
    }
}

/// The committee and its account, if the viewer may edit it.
async fn editable(
    v: &Viewer,
    db: &impl ConnectionTrait,
    id: &ID,
) -> AppResult<store::entity::buying_committee::Model> {
    let committee = match parse_id(id) {
        Some(id) => store::committee::find(v.workspace_id, db, CommitteeId::from(id)).await?,
        None => None,
    }
    .ok_or(AppError::NotFound("buying committee"))?;
    let account = store::account::find(v.workspace_id, db, committee.account_id.into())
        .await?
        .ok_or(AppError::NotFound("account"))?;
    may_edit(v, &account)?;
    Ok(committee)
}

#[Object]
impl CommitteeMutation {
    /// A new, empty committee for one buying initiative on an account.
    async fn create_buying_committee(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        name: String,
    ) -> async_graphql::Result<BuyingCommittee> {
        let run = async {
            let v = viewer(ctx)?;
            let db = &state(ctx)?.db;
            let id = self::account_id(&account_id, "account")?;
            let name = non_empty(&name, 200).at(|| "name".into())?;
            let account = store::account::find(v.workspace_id, db, id)
                .await?
                .ok_or(AppError::NotFound("account"))?;
            may_edit(&v, &account)?;
            Ok(BuyingCommittee(
                store::committee::insert(v.workspace_id, db, id, name).await?,
            ))
        };
        run.await.gql()
    }

    /// Adds a contact of the committee's account with `role`, or changes its role.
    async fn set_committee_member(
        &self,
        ctx: &Context<'_>,
        committee_id: ID,
        contact_id: ID,
        role: BuyingRole,
    ) -> async_graphql::Result<BuyingCommittee> {
        let run = async {
            let v = viewer(ctx)?;
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let committee = editable(&v, &txn, &committee_id).await?;
            let contact = match parse_id(&contact_id).map(ContactId::from) {
                Some(id) => store::contact::find(v.workspace_id, &txn, id).await?,
                None => None,
            }
            .ok_or(AppError::NotFound("contact"))?;
            if contact.account_id != Some(committee.account_id) {
                return Err(AppError::bad_input(
                    "contactId",
                    "the contact does not belong to the committee's account",
                ));
            }
            store::committee::set_member(
                v.workspace_id,
                &txn,
                committee.id.into(),
                contact.id.into(),
                role.into(),
            )
            .await?;
            // Coverage feeds the score.
            scoring::rescore_changed(v.workspace_id, &txn, &[committee.account_id.into()]).await?;
            txn.commit().await?;
            Ok(BuyingCommittee(committee))
        };
        run.await.gql()
    }

    /// Takes a contact off the committee; `NOT_FOUND` if it was not on it.
    async fn remove_committee_member(
        &self,
        ctx: &Context<'_>,
        committee_id: ID,
        contact_id: ID,
    ) -> async_graphql::Result<BuyingCommittee> {
        let run = async {
            let v = viewer(ctx)?;
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let committee = editable(&v, &txn, &committee_id).await?;
            let contact = parse_id(&contact_id)
                .map(ContactId::from)
                .ok_or(AppError::NotFound("committee member"))?;
            if !store::committee::remove_member(v.workspace_id, &txn, committee.id.into(), contact)
                .await?
            {
                return Err(AppError::NotFound("committee member"));
            }
            scoring::rescore_changed(v.workspace_id, &txn, &[committee.account_id.into()]).await?;
            txn.commit().await?;
            Ok(BuyingCommittee(committee))
        };
        run.await.gql()
    }
}
