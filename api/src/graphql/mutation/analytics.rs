use async_graphql::{Context, ID, Object};
use chrono::{NaiveDate, TimeZone as _, Utc};
use quorum_domain::value::Role;

use crate::auth::{RoleGuard, viewer};
use crate::error::{AppError, AppResult, IntoGql};
use crate::graphql::object::parse_id;
use crate::graphql::state;
use crate::store;
use crate::store::entity::marketing_spend;

#[derive(Default)]
pub struct AnalyticsMutation;

/// `YYYY-MM` to its first instant (UTC).
fn month_start(month: &str) -> Option<chrono::DateTime<Utc>> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

#[Object]
impl AnalyticsMutation {
    /// Sets what marketing spent in `month` (`YYYY-MM`), on the whole workspace or on one
    /// segment; recording the same month (and segment) again replaces the amount. Feeds
    /// `funnel { costPerSql }`.
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Marketer])")]
    async fn record_marketing_spend(
        &self,
        ctx: &Context<'_>,
        month: String,
        amount: f64,
        segment_id: Option<ID>,
    ) -> async_graphql::Result<bool> {
        let run = async {
            let v = viewer(ctx)?;
            let month = month.trim().to_owned();
            let start = month_start(&month)
                .ok_or_else(|| AppError::bad_input("month", "expected YYYY-MM, e.g. 2026-03"))?;
            if !amount.is_finite() || amount < 0.0 {
                return Err(AppError::bad_input("amount", "must be a number ≥ 0"));
            }
            let db = &state(ctx)?.db;
            let txn = store::write_txn(db).await?;
            let segment = match segment_id {
                None => None,
                Some(id) => {
                    let row = match parse_id(&id) {
                        Some(id) => store::segment::get(v.workspace_id, &txn, id).await?,
                        None => None,
                    };
                    Some(
                        row.ok_or_else(|| AppError::bad_input("segmentId", "no such segment"))?
                            .id,
                    )
                }
            };
            store::analytics::set_spend(
                &txn,
                marketing_spend::Model {
                    id: uuid::Uuid::now_v7(),
                    workspace_id: v.workspace_id.get(),
                    month,
                    month_start: start,
                    segment_id: segment,
                    segment_key: segment.map(|s| s.to_string()).unwrap_or_default(),
                    amount,
                    recorded_by: v.user_id.get(),
                    recorded_at: store::now(),
                },
            )
            .await?;
            txn.commit().await?;
            AppResult::Ok(true)
        };
        run.await.gql()
    }
}

#[cfg(test)]
mod tests {
    use super::month_start;

    #[test]
    fn months_parse_strictly() {
        assert!(month_start("2026-03").is_some());
        for bad in ["2026-13", "2026-3", "26-03", "2026/03", "", "2026-03-01"] {
            assert!(month_start(bad).is_none(), "{bad}");
        }
    }
}
