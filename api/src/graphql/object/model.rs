use async_graphql::{Object, SimpleObject};
use chrono::{DateTime, Utc};
use quorum_domain::score::{FitCondition, FitRule, ScoringModel};

use super::BuyingRole;

/// The scoring model in force: every number the score is made of.
pub struct ScoringModelObject {
    pub model: ScoringModel,
    /// When it was published; `None` for the built-in default.
    pub published_at: Option<DateTime<Utc>>,
}

#[Object(name = "ScoringModel")]
impl ScoringModelObject {
    /// 1 is the built-in default; each publish adds one.
    async fn version(&self) -> i32 {
        self.model.version
    }

    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.published_at
    }

    /// Firmographic and technographic rules; fit is the sum of matching rules' points,
    /// clamped to 0–100.
    async fn fit_rules(&self) -> Vec<FitRuleObject> {
        self.model
            .fit_rules
            .iter()
            .map(FitRuleObject::from)
            .collect()
    }

    /// Points per event of each kind before decay (kinds not listed are worth 0).
    async fn engagement_points(&self) -> Vec<KindPoints> {
        self.model
            .engagement_points
            .iter()
            .map(|(k, p)| KindPoints {
                kind: k.as_str().to_owned(),
                points: *p,
            })
            .collect()
    }

    /// An event counts half after this many days.
    async fn half_life_days(&self) -> f64 {
        self.model.half_life_days
    }

    /// Most points one contact contributes before the seniority multiplier.
    async fn contact_cap(&self) -> f64 {
        self.model.contact_cap
    }

    async fn seniority_multipliers(&self) -> SeniorityMultipliers {
        let m = &self.model.seniority_multipliers;
        SeniorityMultipliers {
            c_level: m.c_level,
            vp: m.vp,
            director: m.director,
            manager: m.manager,
            individual_contributor: m.individual_contributor,
            unknown: m.unknown,
        }
    }

    /// The k-th most engaged contact counts rollupRatio^k: diminishing returns.
    async fn rollup_ratio(&self) -> f64 {
        self.model.rollup_ratio
    }

    /// Engagement = 100·(1 − e^(−points/engagementScale)).
    async fn engagement_scale(&self) -> f64 {
        self.model.engagement_scale
    }

    /// Points per INTENT_SURGE, decayed like engagement.
    async fn intent_points(&self) -> f64 {
        self.model.intent_points
    }

    /// Intent = 100·(1 − e^(−points/intentScale)).
    async fn intent_scale(&self) -> f64 {
        self.model.intent_scale
    }

    /// Roles a buying committee needs.
    async fn required_roles(&self) -> Vec<BuyingRole> {
        self.model
            .required_roles
            .iter()
            .map(|r| BuyingRole::from(*r))
            .collect()
    }

    /// A member counts toward coverage only if they engaged within this many days.
    async fn engaged_window_days(&self) -> f64 {
        self.model.engaged_window_days
    }

    /// Points added to the total at full committee coverage.
    async fn coverage_bonus(&self) -> f64 {
        self.model.coverage_bonus
    }

    async fn weights(&self) -> Weights {
        let w = &self.model.weights;
        Weights {
            fit: w.fit,
            engagement: w.engagement,
            intent: w.intent,
        }
    }

    async fn thresholds(&self) -> Thresholds {
        let t = &self.model.thresholds;
        Thresholds {
            mql: t.mql,
            sql: t.sql,
            sql_min_fit: t.sql_min_fit,
            sql_min_coverage: t.sql_min_coverage,
            demotion_margin: t.demotion_margin,
            high_intent_window_days: t.high_intent_window_days,
        }
    }
}

/// A fit rule: exactly one of the condition fields is set.
#[derive(SimpleObject)]
#[graphql(name = "FitRule")]
pub struct FitRuleObject {
    pub name: String,
    /// Added to fit when the account matches; negative to penalise.
    pub points: f64,
    pub industry_in: Option<Vec<String>>,
    pub employee_count_min: Option<i64>,
    pub employee_count_max: Option<i64>,
    pub annual_revenue_min: Option<f64>,
    pub annual_revenue_max: Option<f64>,
    pub country_in: Option<Vec<String>>,
    pub region_in: Option<Vec<String>>,
    pub uses_technology: Option<Vec<String>>,
    pub uses_competitor: Option<Vec<String>>,
}

impl From<&FitRule> for FitRuleObject {
    fn from(r: &FitRule) -> Self {
        let mut o = Self {
            name: r.name.clone(),
            points: r.points,
            industry_in: None,
            employee_count_min: None,
            employee_count_max: None,
            annual_revenue_min: None,
            annual_revenue_max: None,
            country_in: None,
            region_in: None,
            uses_technology: None,
            uses_competitor: None,
        };
        match &r.when {
            FitCondition::IndustryIn(v) => o.industry_in = Some(v.clone()),
            FitCondition::EmployeeCount { min, max } => {
                (o.employee_count_min, o.employee_count_max) = (*min, *max)
            }
            FitCondition::AnnualRevenue { min, max } => {
                (o.annual_revenue_min, o.annual_revenue_max) = (*min, *max)
            }
            FitCondition::CountryIn(v) => {
                o.country_in = Some(v.iter().map(|c| c.as_str().to_owned()).collect())
            }
            FitCondition::RegionIn(v) => o.region_in = Some(v.clone()),
            FitCondition::UsesTechnology(v) => o.uses_technology = Some(v.clone()),
            FitCondition::UsesCompetitor(v) => o.uses_competitor = Some(v.clone()),
        }
        o
    }
}

#[derive(SimpleObject)]
pub struct KindPoints {
    /// An engagement kind, e.g. `DEMO_REQUEST`.
    pub kind: String,
    pub points: f64,
}

#[derive(SimpleObject)]
pub struct SeniorityMultipliers {
    pub c_level: f64,
    pub vp: f64,
    pub director: f64,
    pub manager: f64,
    pub individual_contributor: f64,
    /// For contacts of unknown seniority.
    pub unknown: f64,
}

/// Weights of the components in the total; they sum to 1.
#[derive(SimpleObject)]
pub struct Weights {
    pub fit: f64,
    pub engagement: f64,
    pub intent: f64,
}

/// Where the funnel's lines are (used by qualification).
#[derive(SimpleObject)]
pub struct Thresholds {
    pub mql: f64,
    pub sql: f64,
    pub sql_min_fit: f64,
    pub sql_min_coverage: f64,
    pub demotion_margin: f64,
    pub high_intent_window_days: f64,
}
