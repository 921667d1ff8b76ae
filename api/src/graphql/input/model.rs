use async_graphql::InputObject;
use quorum_domain::score::{FitCondition, FitRule, ScoringModel};
use quorum_domain::value::{CountryCode, EngagementKind};

use crate::error::{AppError, At};
use crate::graphql::object::BuyingRole;

/// A new scoring model. Every field is optional: what is left out is taken from the model in
/// force, so a change of weights is one field. Lists (fit rules, engagement points, required
/// roles) replace the whole list when given.
#[derive(InputObject, Default)]
pub struct ScoringModelInput {
    pub fit_rules: Option<Vec<FitRuleInput>>,
    pub engagement_points: Option<Vec<KindPointsInput>>,
    pub half_life_days: Option<f64>,
    pub contact_cap: Option<f64>,
    pub seniority_multipliers: Option<SeniorityMultipliersInput>,
    pub rollup_ratio: Option<f64>,
    pub engagement_scale: Option<f64>,
    pub intent_points: Option<f64>,
    pub intent_scale: Option<f64>,
    pub required_roles: Option<Vec<BuyingRole>>,
    pub engaged_window_days: Option<f64>,
    pub coverage_bonus: Option<f64>,
    pub weights: Option<WeightsInput>,
    pub thresholds: Option<ThresholdsInput>,
}

/// A fit rule: set exactly one condition (`industryIn`, an employee count range, a revenue
/// range, `countryIn`, `regionIn`, `usesTechnology` or `usesCompetitor`).
#[derive(InputObject)]
pub struct FitRuleInput {
    pub name: String,
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

#[derive(InputObject)]
pub struct KindPointsInput {
    /// An engagement kind other than `INTENT_SURGE` (see `intentPoints`).
    pub kind: String,
    pub points: f64,
}

#[derive(InputObject)]
pub struct SeniorityMultipliersInput {
    pub c_level: f64,
    pub vp: f64,
    pub director: f64,
    pub manager: f64,
    pub individual_contributor: f64,
    pub unknown: f64,
}

#[derive(InputObject)]
pub struct WeightsInput {
    pub fit: f64,
    pub engagement: f64,
    pub intent: f64,
}

#[derive(InputObject)]
pub struct ThresholdsInput {
    pub mql: f64,
    pub sql: f64,
    pub sql_min_fit: f64,
    pub sql_min_coverage: f64,
    pub demotion_margin: f64,
    pub high_intent_window_days: f64,
}

impl FitRuleInput {
    fn parse(self, at: &str) -> Result<FitRule, AppError> {
        let mut conditions = Vec::new();
        if let Some(v) = self.industry_in {
            conditions.push(FitCondition::IndustryIn(v));
        }
        if self.employee_count_min.is_some() || self.employee_count_max.is_some() {
            conditions.push(FitCondition::EmployeeCount {
                min: self.employee_count_min,
                max: self.employee_count_max,
            });
        }
        if self.annual_revenue_min.is_some() || self.annual_revenue_max.is_some() {
            conditions.push(FitCondition::AnnualRevenue {
                min: self.annual_revenue_min,
                max: self.annual_revenue_max,
            });
        }
        if let Some(v) = self.country_in {
            let codes = v
                .iter()
                .enumerate()
                .map(|(i, c)| CountryCode::parse(c).at(|| format!("{at}.countryIn[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            conditions.push(FitCondition::CountryIn(codes));
        }
        if let Some(v) = self.region_in {
            conditions.push(FitCondition::RegionIn(v));
        }
        if let Some(v) = self.uses_technology {
            conditions.push(FitCondition::UsesTechnology(v));
        }
        if let Some(v) = self.uses_competitor {
            conditions.push(FitCondition::UsesCompetitor(v));
        }
        if conditions.len() != 1 {
            return Err(AppError::bad_input(at, "set exactly one condition"));
        }
        let when = conditions.remove(0);
        Ok(FitRule {
            name: self.name,
            when,
            points: self.points,
        })
    }
}

impl ScoringModelInput {
    /// `base` with this input's changes, as the next version, validated.
    pub fn apply(self, base: &ScoringModel) -> Result<ScoringModel, AppError> {
        let mut m = base.clone();
        m.version = base.version.saturating_add(1);
        if let Some(rules) = self.fit_rules {
            m.fit_rules = rules
                .into_iter()
                .enumerate()
                .map(|(i, r)| r.parse(&format!("input.fitRules[{i}]")))
                .collect::<Result<_, _>>()?;
        }
        if let Some(points) = self.engagement_points {
            m.engagement_points.clear();
            for (i, p) in points.into_iter().enumerate() {
                let kind = EngagementKind::parse(p.kind.trim())
                    .at(|| format!("input.engagementPoints[{i}].kind"))?;
                if m.engagement_points.insert(kind, p.points).is_some() {
                    return Err(AppError::bad_input(
                        format!("input.engagementPoints[{i}].kind"),
                        "listed twice",
                    ));
                }
            }
        }
        let set = |target: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *target = v;
            }
        };
        set(&mut m.half_life_days, self.half_life_days);
        set(&mut m.contact_cap, self.contact_cap);
        set(&mut m.rollup_ratio, self.rollup_ratio);
        set(&mut m.engagement_scale, self.engagement_scale);
        set(&mut m.intent_points, self.intent_points);
        set(&mut m.intent_scale, self.intent_scale);
        set(&mut m.engaged_window_days, self.engaged_window_days);
        set(&mut m.coverage_bonus, self.coverage_bonus);
        if let Some(s) = self.seniority_multipliers {
            let t = &mut m.seniority_multipliers;
            (
                t.c_level,
                t.vp,
                t.director,
                t.manager,
                t.individual_contributor,
                t.unknown,
            ) = (
                s.c_level,
                s.vp,
                s.director,
                s.manager,
                s.individual_contributor,
                s.unknown,
            );
        }
        if let Some(roles) = self.required_roles {
            m.required_roles = roles.into_iter().map(Into::into).collect();
        }
        if let Some(w) = self.weights {
            (m.weights.fit, m.weights.engagement, m.weights.intent) =
                (w.fit, w.engagement, w.intent);
        }
        if let Some(t) = self.thresholds {
            let x = &mut m.thresholds;
            (
                x.mql,
                x.sql,
                x.sql_min_fit,
                x.sql_min_coverage,
                x.demotion_margin,
                x.high_intent_window_days,
            ) = (
                t.mql,
                t.sql,
                t.sql_min_fit,
                t.sql_min_coverage,
                t.demotion_margin,
                t.high_intent_window_days,
            );
        }
        m.validate()
            .map_err(|(path, e)| AppError::bad_input(format!("input.{path}"), e.message()))?;
        Ok(m)
    }
}
