use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub domain: String,
    pub industry: Option<String>,
    pub employee_count: Option<i64>,
    pub annual_revenue: Option<f64>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub tier: Option<i16>,
    pub stage: String,
    pub owner_id: Option<Uuid>,
    pub score_total: f64,
    pub score_fit: f64,
    pub score_engagement: f64,
    pub score_intent: f64,
    pub score_coverage: f64,
    pub score_model_version: i32,
    pub score_computed_at: Option<DateTimeUtc>,
    /// JSON `quorum_domain::score::DecayedCount` of INTENT_SURGE signals; null before any.
    pub intent_activity: Option<String>,
    /// Whether a person set the current stage (automation then never demotes it).
    pub stage_manual: bool,
    pub stage_changed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// `filter::text_key` of the name, industry and region: what filters compare.
    pub name_key: String,
    pub industry_key: Option<String>,
    pub region_key: Option<String>,
    /// The tier `upsertAccounts` set; `tier` is this unless a tier-setting segment selects
    /// the account.
    pub base_tier: Option<i16>,
    /// The earliest engagement event's `occurred_at` (events are never removed, so ingestion
    /// keeps it with a running minimum).
    pub first_engaged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
