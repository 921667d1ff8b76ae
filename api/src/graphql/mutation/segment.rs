use async_graphql::{Context, ID, InputObject, Object};
use quorum_domain::value::{Role, Tier, non_empty};

use crate::auth::{RoleGuard, viewer};
use crate::error::{AppError, AppResult, At, IntoGql};
use crate::graphql::input::AccountFilterInput;
use crate::graphql::object::{Segment, parse_id};
use crate::graphql::state;
use crate::store;
use crate::store::entity::segment;

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 2_000;

#[derive(Default)]
pub struct SegmentMutation;

/// A segment's definition; `updateSegment` replaces the whole of it.
#[derive(InputObject)]
pub struct SegmentInput {
    /// Unique in the workspace.
    pub name: String,
    pub description: Option<String>,
    pub filter: AccountFilterInput,
    /// 1–3: every member takes this tier (the most important tier wins when several tiering
    /// segments select an account). Such a segment may not select by tier itself.
    pub tier: Option<i32>,
}

/// A checked input: what is stored.
struct Checked {
    name: String,
    description: Option<String>,
    filter: String,
    tier: Option<i16>,
}

impl SegmentInput {
    fn check(self) -> AppResult<Checked> {
        let name = non_empty(&self.name, MAX_NAME).at(|| "input.name".into())?;
        let description = match self.description.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(d) => Some(non_empty(d, MAX_DESCRIPTION).at(|| "input.description".into())?),
        };
        let tier = self
            .tier
            .map(|t| Tier::parse(i64::from(t)).at(|| "input.tier".into()))
            .transpose()?;
        let filter = self.filter.clone().parse("input.filter")?;
        if tier.is_some() && filter.uses_tier() {
            return Err(AppError::bad_input(
                "input.filter",
                "a segment that sets a tier cannot select accounts by tier",
            ));
        }
        Ok(Checked {
            name,
            description,
            filter: serde_json::to_string(&self.filter).map_err(AppError::internal)?,
            tier: tier.map(|t| i16::from(t.get())),
        })
    }
}

fn name_taken(e: AppError) -> AppError {
    match e {
        AppError::Conflict(_) => {
            AppError::Conflict("a segment with this name already exists".into())
        }
        e => e,
    }
}

#[Object]
impl SegmentMutation {
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Marketer])")]
    async fn create_segment(
        &self,
        ctx: &Context<'_>,
        input: SegmentInput,
    ) -> async_graphql::Result<Segment> {
        let run = async {
            let v = viewer(ctx)?;
            let c = input.check()?;
            let now = store::now();
            let row = segment::Model {
                id: uuid::Uuid::now_v7(),
                workspace_id: v.workspace_id.get(),
                name: c.name,
                description: c.description,
                filter: c.filter,
                tier: c.tier,
                created_by: v.user_id.get(),
                created_at: now,
                updated_at: now,
            };
            let txn = store::write_txn(&state(ctx)?.db).await?;
            store::segment::insert(&txn, row.clone())
                .await
                .map_err(name_taken)?;
            if row.tier.is_some() {
                crate::segment::refresh(v.workspace_id, &txn, None).await?;
            }
            txn.commit().await?;
            AppResult::Ok(Segment(row))
        };
        run.await.gql()
    }

    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Marketer])")]
    async fn update_segment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SegmentInput,
    ) -> async_graphql::Result<Segment> {
        let run = async {
            let v = viewer(ctx)?;
            let c = input.check()?;
            let txn = store::write_txn(&state(ctx)?.db).await?;
            let found = match parse_id(&id) {
                Some(id) => store::segment::get(v.workspace_id, &txn, id).await?,
                None => None,
            };
            let old = found.ok_or(AppError::NotFound("segment"))?;
            let row = segment::Model {
                name: c.name,
                description: c.description,
                filter: c.filter,
                tier: c.tier,
                updated_at: store::now(),
                ..old.clone()
            };
            store::segment::update(&txn, row.clone())
                .await
                .map_err(name_taken)?;
            if old.tier.is_some() || row.tier.is_some() {
                crate::segment::refresh(v.workspace_id, &txn, None).await?;
            }
            txn.commit().await?;
            AppResult::Ok(Segment(row))
        };
        run.await.gql()
    }

    /// Deletes the segment; the accounts it tiered go back to their own tier. `false` when
    /// there was no such segment.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Marketer])")]
    async fn delete_segment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let run = async {
            let v = viewer(ctx)?;
            let Some(id) = parse_id(&id) else {
                return Ok(false);
            };
            let txn = store::write_txn(&state(ctx)?.db).await?;
            let Some(old) = store::segment::get(v.workspace_id, &txn, id).await? else {
                return Ok(false);
            };
            store::segment::delete(v.workspace_id, &txn, id).await?;
            if old.tier.is_some() {
                crate::segment::refresh(v.workspace_id, &txn, None).await?;
            }
            txn.commit().await?;
            AppResult::Ok(true)
        };
        run.await.gql()
    }
}
