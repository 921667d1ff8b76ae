use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use quorum_domain::value::Role;

use crate::auth::{RoleGuard, viewer};
use crate::error::IntoGql;
use crate::graphql::object::StageTransition;
use crate::graphql::state;
use crate::ingest::{self, RawEvent};

/// One engagement event. Name the contact by `contactId` or `contactEmail` (an unknown
/// e-mail at a company domain creates the contact, and its account if needed); an
/// `INTENT_SURGE` may name the company by `accountDomain` instead.
#[derive(InputObject)]
pub struct EngagementInput {
    /// Your id for the event: sending it again is harmless (it counts as a duplicate).
    pub event_id: String,
    pub contact_id: Option<ID>,
    pub contact_email: Option<String>,
    pub account_domain: Option<String>,
    /// `EMAIL_OPEN`, `EMAIL_CLICK`, `WEB_VISIT`, `PRICING_PAGE_VIEW`, `CONTENT_DOWNLOAD`,
    /// `WEBINAR_ATTENDED`, `DEMO_REQUEST`, `CONTACT_SALES`, `FORM_SUBMIT`, `UNSUBSCRIBE`,
    /// `EMAIL_BOUNCE` or `INTENT_SURGE`. A string, so that one unknown kind rejects that event
    /// only, not the batch.
    pub kind: String,
    /// RFC 3339; at most 5 minutes in the future.
    pub occurred_at: String,
    /// Free JSON object (url, topic, campaign, …), at most 4 KiB.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl From<EngagementInput> for RawEvent {
    fn from(e: EngagementInput) -> Self {
        Self {
            event_id: e.event_id,
            contact_id: e.contact_id.map(|id| id.0),
            contact_email: e.contact_email,
            account_domain: e.account_domain,
            kind: e.kind,
            occurred_at: e.occurred_at,
            metadata: e.metadata.map(|j| j.0),
        }
    }
}

/// An event that was not stored, and why.
#[derive(SimpleObject)]
pub struct RejectedEvent {
    /// Its position in `events`.
    pub index: i32,
    pub event_id: String,
    pub reason: String,
}

/// What one `ingestEngagements` call did.
#[derive(SimpleObject)]
pub struct IngestResult {
    /// Events stored and scored.
    pub accepted: i32,
    /// Events already stored (or repeated in the batch): not scored again.
    pub duplicates: i32,
    pub rejected: Vec<RejectedEvent>,
    /// Accounts whose score was recomputed.
    pub rescored_accounts: i32,
    /// Accounts the batch moved up the funnel (to `ENGAGED`, `MQL` or `SQL`), in the same
    /// transaction as the events.
    pub promotions: Vec<StageTransition>,
}

#[derive(Default)]
pub struct EngagementMutation;

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[Object]
impl EngagementMutation {
    /// Stores up to 10,000 events and rescores the accounts they touch, in one transaction.
    /// Bad items are rejected one by one; the rest are kept. Name the batch with `batchId` to
    /// make retries safe to answer: the same batch sent again under the same id gets the
    /// first call's reply (for as long as delivered events are kept, 7 days by default).
    #[graphql(guard = "RoleGuard::new(&[Role::Admin, Role::Marketer])")]
    async fn ingest_engagements(
        &self,
        ctx: &Context<'_>,
        events: Vec<EngagementInput>,
        batch_id: Option<String>,
    ) -> async_graphql::Result<IngestResult> {
        let run = async {
            let v = viewer(ctx)?;
            let raw = events.into_iter().map(RawEvent::from).collect();
            let (ws, db, now) = (v.workspace_id, &state(ctx)?.db, crate::store::now());
            let out = match batch_id {
                Some(id) => ingest::ingest_once(ws, db, &id, raw, now).await?,
                None => ingest::ingest(ws, db, raw, now).await?,
            };
            Ok(IngestResult {
                accepted: count(out.accepted),
                duplicates: count(out.duplicates),
                rejected: out
                    .rejected
                    .into_iter()
                    .map(|r| RejectedEvent {
                        index: count(r.index),
                        event_id: r.event_id,
                        reason: r.reason,
                    })
                    .collect(),
                rescored_accounts: count(out.rescored_accounts),
                promotions: out
                    .transitions
                    .into_iter()
                    .filter(|t| {
                        let rank = |s: &str| quorum_domain::value::Stage::parse(s).ok();
                        rank(&t.to_stage) > rank(&t.from_stage)
                    })
                    .map(StageTransition)
                    .collect(),
            })
        };
        run.await.gql()
    }
}
