use async_graphql::{Context, ID, Object};
use quorum_domain::qualify::{self, StageError};
use quorum_domain::value::Role;

use crate::auth::viewer;
use crate::error::{AppError, IntoGql};
use crate::graphql::object::{Account, Stage, account_id};
use crate::graphql::state;
use crate::qualification;
use crate::scoring::timestamp;
use crate::store;

#[derive(Default)]
pub struct StageMutation;

fn refused(e: StageError) -> AppError {
    match e {
        StageError::Note(invalid) => AppError::bad_input("reason", invalid.message()),
        other => AppError::Conflict(other.to_string()),
    }
}

#[Object]
impl StageMutation {
    /// Qualifies, recycles or disqualifies an account by hand, with the reason on record. A
    /// stage set by a person is never lowered by automation (a higher score may still promote
    /// it); `DISQUALIFIED` sticks until a person sets another stage. `OPPORTUNITY`, `WON` and
    /// `LOST` follow opportunities instead. A rep may change only accounts they own.
    async fn set_stage(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        stage: Stage,
        reason: String,
    ) -> async_graphql::Result<Account> {
        let run = async {
            let v = viewer(ctx)?;
            let id = self::account_id(&account_id, "account")?;
            let txn = crate::store::write_txn(&state(ctx)?.db).await?;
            let account = store::account::find_for_update(v.workspace_id, &txn, id)
                .await?
                .ok_or(AppError::NotFound("account"))?;
            if v.role == Role::Rep && account.owner_id != Some(v.user_id.get()) {
                return Err(AppError::Forbidden);
            }
            let from = quorum_domain::value::Stage::parse(&account.stage)
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored stage: {e}")))?;
            let now = store::now();
            let t = qualify::manual(from, stage.into(), v.user_id, &reason, timestamp(now))
                .map_err(refused)?;
            qualification::record(v.workspace_id, &txn, &[(&account, t)], None, now).await?;
            let account = store::account::find(v.workspace_id, &txn, id)
                .await?
                .ok_or(AppError::NotFound("account"))?;
            txn.commit().await?;
            Ok(Account(account))
        };
        run.await.gql()
    }
}
