//! Segments: saved account filters. Membership is never stored; it is the filter evaluated on
//! the accounts as they are. A segment may set its members' tier, and that tier is kept
//! current by whoever changes what a filter reads (scores, stage, owner, attributes): each
//! such write calls `refresh` for the accounts it touched, in its own transaction.

use quorum_domain::filter::{AccountFacts, AccountFilter};
use quorum_domain::value::{AccountId, Stage, UserId, WorkspaceId};
use sea_orm::ConnectionTrait;

use crate::error::{AppError, AppResult};
use crate::graphql::input::AccountFilterInput;
use crate::store;
use crate::store::entity::{account, segment};

/// The stored filter, in the input's JSON shape, parsed as the API parses it.
pub fn filter_of(row: &segment::Model) -> AppResult<AccountFilter> {
    stored_input(row)?.parse("filter").map_err(|e| {
        AppError::internal(anyhow::anyhow!(
            "segment {} holds an invalid filter: {e}",
            row.id
        ))
    })
}

pub fn stored_input(row: &segment::Model) -> AppResult<AccountFilterInput> {
    serde_json::from_str(&row.filter).map_err(|e| {
        AppError::internal(anyhow::anyhow!("segment {} filter unreadable: {e}", row.id))
    })
}

/// Re-applies tier-setting segments to `ids` (the whole workspace with `None`).
pub async fn refresh(
    ws: WorkspaceId,
    db: &impl ConnectionTrait,
    ids: Option<&[AccountId]>,
) -> AppResult<()> {
    if ids.is_some_and(<[AccountId]>::is_empty) {
        return Ok(());
    }
    let tiers = store::segment::tiering(ws, db)
        .await?
        .iter()
        .filter_map(|s| s.tier.map(|t| (s, t)))
        .map(|(s, t)| Ok((filter_of(s)?, t)))
        .collect::<AppResult<Vec<_>>>()?;
    store::segment::apply_tiers(ws, db, &tiers, ids).await
}

/// What a filter reads of a stored account; `None` for a stage this version does not know.
pub fn facts<'a>(a: &'a account::Model, technologies: &'a [String]) -> Option<AccountFacts<'a>> {
    Some(AccountFacts {
        name: &a.name,
        industry: a.industry.as_deref(),
        country: a.country.as_deref(),
        region: a.region.as_deref(),
        employee_count: a.employee_count,
        annual_revenue: a.annual_revenue,
        technologies,
        tier: a.tier.and_then(|t| u8::try_from(t).ok()),
        stage: Stage::parse(&a.stage).ok()?,
        score: a.score_total,
        fit: a.score_fit,
        engagement: a.score_engagement,
        owner: a.owner_id.map(UserId::from),
    })
}
