use quorum_domain::value::{AccountId, BuyingRole, CommitteeId, ContactId, WorkspaceId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::IN_CHUNK;
use super::entity::{buying_committee, committee_member};
use crate::error::AppError;

pub async fn find(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    id: CommitteeId,
) -> Result<Option<buying_committee::Model>, AppError> {
    Ok(buying_committee::Entity::find_by_id((ws.get(), id.get()))
        .one(db)
        .await?)
}

pub async fn insert(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    account: AccountId,
    name: String,
) -> Result<buying_committee::Model, AppError> {
    let model = buying_committee::Model {
        id: CommitteeId::new().get(),
        workspace_id: ws.get(),
        account_id: account.get(),
        name,
        created_at: super::now(),
    };
    buying_committee::Entity::insert(super::all_set::<_, buying_committee::ActiveModel>(
        model.clone(),
    ))
    .exec_without_returning(db)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict(format!(
            "this account already has a committee named {}",
            model.name
        )),
        other => other,
    })?;
    Ok(model)
}

/// Committees of each account, by name.
pub async fn of_accounts(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[AccountId],
) -> Result<Vec<buying_committee::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            buying_committee::Entity::find()
                .filter(buying_committee::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    buying_committee::Column::AccountId,
                    chunk.iter().map(|i| i.get()),
                ))
                .order_by_asc(buying_committee::Column::Name)
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Members of each committee, in the order they joined.
pub async fn members_of(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: &[CommitteeId],
) -> Result<Vec<committee_member::Model>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            committee_member::Entity::find()
                .filter(committee_member::Column::WorkspaceId.eq(ws.get()))
                .filter(super::one_of(
                    db,
                    committee_member::Column::CommitteeId,
                    chunk.iter().map(|i| i.get()),
                ))
                .order_by_asc(committee_member::Column::CreatedAt)
                .order_by_asc(committee_member::Column::ContactId)
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Adds the contact, or changes its role if it is already a member.
pub async fn set_member(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    committee: CommitteeId,
    contact: ContactId,
    role: BuyingRole,
) -> Result<(), AppError> {
    committee_member::Entity::insert(committee_member::ActiveModel {
        committee_id: Set(committee.get()),
        contact_id: Set(contact.get()),
        workspace_id: Set(ws.get()),
        role: Set(role.as_str().to_owned()),
        created_at: Set(super::now()),
    })
    .on_conflict(
        OnConflict::columns([
            committee_member::Column::WorkspaceId,
            committee_member::Column::CommitteeId,
            committee_member::Column::ContactId,
        ])
        .update_column(committee_member::Column::Role)
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Removes the contact; true when it was a member.
pub async fn remove_member(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    committee: CommitteeId,
    contact: ContactId,
) -> Result<bool, AppError> {
    let res = committee_member::Entity::delete_many()
        .filter(committee_member::Column::WorkspaceId.eq(ws.get()))
        .filter(committee_member::Column::CommitteeId.eq(committee.get()))
        .filter(committee_member::Column::ContactId.eq(contact.get()))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}
