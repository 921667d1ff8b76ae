//! The scoring model: every number the engine uses, with the defaults a new workspace gets.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::committee::DEFAULT_REQUIRED_ROLES;
use crate::value::{BuyingRole, CountryCode, EngagementKind, Invalid, Seniority};

/// Most fit rules a model may have: more than any real ICP needs, few enough that scoring an
/// account stays cheap.
pub const MAX_FIT_RULES: usize = 200;
/// Longest fit rule name, in characters; it is shown as `rule:<name>` in breakdowns.
pub const MAX_RULE_NAME: usize = 100;
/// Largest magnitude of any points value (fit rule or event kind): fit is clamped to 100
/// anyway, and a bound keeps sums far from overflow.
pub const MAX_POINTS: f64 = 100.0;

/// A versioned scoring model. Stored as JSON by the API (field names are the GraphQL ones,
/// camelCase); [`ScoringModel::validate`] must pass before it is used, the engine assumes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoringModel {
    /// Publishing a model gives it the next version; scores record which one made them.
    pub version: i32,
    /// Firmographic and technographic rules; fit is the sum of matching rules' points,
    /// clamped to 0–100.
    pub fit_rules: Vec<FitRule>,
    /// Points per event of each kind, before decay. A kind missing here is worth 0;
    /// `INTENT_SURGE` belongs to [`ScoringModel::intent_points`] and is refused here.
    pub engagement_points: BTreeMap<EngagementKind, f64>,
    /// An event counts half after this many days, a quarter after twice as many.
    /// Changing it requires re-aggregating raw events (see [`super::DecayedCount`]).
    pub half_life_days: f64,
    /// Most engagement points one contact can contribute before the seniority multiplier,
    /// so a single hyperactive contact cannot carry an account.
    pub contact_cap: f64,
    /// Applied to a contact's capped engagement.
    pub seniority_multipliers: SeniorityMultipliers,
    /// The k-th most engaged contact (from 0) counts `rollup_ratio^k`: diminishing returns.
    /// In (0, 1]; 1 means a plain sum.
    pub rollup_ratio: f64,
    /// Account engagement = 100·(1 − e^(−x/engagement_scale)) of the rolled-up points x.
    pub engagement_scale: f64,
    /// Points per `INTENT_SURGE`, decayed with the same half-life.
    pub intent_points: f64,
    /// Intent = 100·(1 − e^(−x/intent_scale)) of the decayed intent points x.
    pub intent_scale: f64,
    /// Roles a buying committee needs; coverage is the share held by engaged members.
    pub required_roles: Vec<BuyingRole>,
    /// A member counts toward coverage only if they engaged (an event of a kind worth
    /// positive points) within this many days.
    pub engaged_window_days: f64,
    /// Points added to the total at full coverage, proportionally below.
    pub coverage_bonus: f64,
    /// How fit, engagement and intent blend into the total.
    pub weights: Weights,
    /// Where qualification draws the stage lines.
    pub thresholds: Thresholds,
}

/// One fit rule: when the account matches `when`, add `points` (negative to penalise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitRule {
    /// Shown in breakdowns as `rule:<name>`; unique within a model.
    pub name: String,
    /// What the account must match.
    pub when: FitCondition,
    /// Added to fit on a match; −100 to 100.
    pub points: f64,
}

/// A test on an account's firmographics or technographics. Text comparisons ignore case;
/// an account missing the attribute never matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FitCondition {
    /// Industry is one of these.
    IndustryIn(Vec<String>),
    /// Inclusive bounds; `None` is unbounded.
    EmployeeCount {
        /// At least this many employees.
        min: Option<i64>,
        /// At most this many employees.
        max: Option<i64>,
    },
    /// Inclusive bounds; `None` is unbounded.
    AnnualRevenue {
        /// At least this revenue.
        min: Option<f64>,
        /// At most this revenue.
        max: Option<f64>,
    },
    /// Country is one of these.
    CountryIn(Vec<CountryCode>),
    /// Region is one of these.
    RegionIn(Vec<String>),
    /// Uses at least one of these technologies.
    UsesTechnology(Vec<String>),
    /// Uses at least one competitor's technology; such a rule must be worth ≤ 0 points.
    UsesCompetitor(Vec<String>),
}

/// Engagement multipliers by seniority: an executive's attention says more about a deal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeniorityMultipliers {
    /// `C_LEVEL`.
    pub c_level: f64,
    /// `VP`.
    pub vp: f64,
    /// `DIRECTOR`.
    pub director: f64,
    /// `MANAGER`.
    pub manager: f64,
    /// `INDIVIDUAL_CONTRIBUTOR`.
    pub individual_contributor: f64,
    /// For contacts whose seniority is not known.
    pub unknown: f64,
}

impl SeniorityMultipliers {
    /// The multiplier for a contact of this seniority (`None`: unknown).
    pub fn get(&self, seniority: Option<Seniority>) -> f64 {
        match seniority {
            Some(Seniority::CLevel) => self.c_level,
            Some(Seniority::Vp) => self.vp,
            Some(Seniority::Director) => self.director,
            Some(Seniority::Manager) => self.manager,
            Some(Seniority::IndividualContributor) => self.individual_contributor,
            None => self.unknown,
        }
    }
}

/// Weights of the components in the total; non-negative, summing to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Weight of fit.
    pub fit: f64,
    /// Weight of engagement.
    pub engagement: f64,
    /// Weight of intent.
    pub intent: f64,
}

/// Stage thresholds, applied by qualification (kept here so one published model versions
/// both how accounts are scored and where the lines are).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thresholds {
    /// Total at which an account becomes an MQL.
    pub mql: f64,
    /// Total at which an account can become an SQL (with the gates below); > `mql`, ≤ 100.
    pub sql: f64,
    /// Least fit for SQL.
    pub sql_min_fit: f64,
    /// Least committee coverage (0–1) for SQL.
    pub sql_min_coverage: f64,
    /// Demote only when the total falls this far below the threshold (hysteresis).
    pub demotion_margin: f64,
    /// SQL needs a high-intent action (demo request, contact sales, pricing page) this recent.
    pub high_intent_window_days: f64,
}

impl Default for ScoringModel {
    /// Version 1: a generic B2B SaaS ideal customer profile (mid-market and enterprise
    /// software, finance, healthcare and manufacturing companies in North America, the UK and
    /// Germany that run a CRM), the engagement points of DESIGN.md and a 30-day half-life.
    fn default() -> Self {
        use EngagementKind::*;
        let countries = ["US", "CA", "GB", "DE"]
            .iter()
            .filter_map(|c| CountryCode::parse(c).ok())
            .collect();
        let words = |ws: &[&str]| ws.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        let rule = |name: &str, when, points| FitRule {
            name: name.to_owned(),
            when,
            points,
        };
        Self {
            version: 1,
            fit_rules: vec![
                rule(
                    "target-industry",
                    FitCondition::IndustryIn(words(&[
                        "Software",
                        "Internet",
                        "Financial Services",
                        "Healthcare",
                        "Manufacturing",
                    ])),
                    25.0,
                ),
                rule(
                    "mid-market-or-enterprise",
                    FitCondition::EmployeeCount {
                        min: Some(200),
                        max: Some(10_000),
                    },
                    25.0,
                ),
                rule(
                    "revenue-band",
                    FitCondition::AnnualRevenue {
                        min: Some(20_000_000.0),
                        max: Some(2_000_000_000.0),
                    },
                    15.0,
                ),
                rule("core-market", FitCondition::CountryIn(countries), 15.0),
                rule(
                    "uses-crm",
                    FitCondition::UsesTechnology(words(&[
                        "Salesforce",
                        "HubSpot CRM",
                        "Microsoft Dynamics 365",
                    ])),
                    20.0,
                ),
                rule(
                    "uses-competitor",
                    FitCondition::UsesCompetitor(words(&["6sense", "Demandbase"])),
                    -20.0,
                ),
            ],
            engagement_points: BTreeMap::from([
                (EmailOpen, 1.0),
                (EmailClick, 3.0),
                (WebVisit, 2.0),
                (PricingPageView, 10.0),
                (ContentDownload, 5.0),
                (WebinarAttended, 8.0),
                (DemoRequest, 25.0),
                (ContactSales, 25.0),
                (FormSubmit, 6.0),
                (Unsubscribe, -10.0),
                (EmailBounce, -5.0),
            ]),
            half_life_days: 30.0,
            contact_cap: 40.0,
            seniority_multipliers: SeniorityMultipliers {
                c_level: 1.5,
                vp: 1.3,
                director: 1.1,
                manager: 1.0,
                individual_contributor: 0.5,
                unknown: 0.8,
            },
            rollup_ratio: 0.5,
            engagement_scale: 40.0,
            intent_points: 10.0,
            intent_scale: 30.0,
            required_roles: DEFAULT_REQUIRED_ROLES.to_vec(),
            engaged_window_days: 90.0,
            coverage_bonus: 10.0,
            weights: Weights {
                fit: 0.4,
                engagement: 0.45,
                intent: 0.15,
            },
            thresholds: Thresholds {
                mql: 50.0,
                sql: 80.0,
                sql_min_fit: 40.0,
                sql_min_coverage: 0.5,
                demotion_margin: 10.0,
                high_intent_window_days: 30.0,
            },
        }
    }
}

/// A validation failure: the field path (GraphQL camelCase) and why.
type Fault = (String, Invalid);

fn fault(path: impl Into<String>, message: impl Into<String>) -> Fault {
    (path.into(), Invalid::new(message))
}

fn finite(path: &str, v: f64) -> Result<(), Fault> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(fault(path, "must be a finite number"))
    }
}

fn positive(path: &str, v: f64) -> Result<(), Fault> {
    finite(path, v)?;
    if v > 0.0 {
        Ok(())
    } else {
        Err(fault(path, "must be > 0"))
    }
}

fn non_negative(path: &str, v: f64) -> Result<(), Fault> {
    finite(path, v)?;
    if v >= 0.0 {
        Ok(())
    } else {
        Err(fault(path, "must be ≥ 0"))
    }
}

fn within(path: &str, v: f64, lo: f64, hi: f64) -> Result<(), Fault> {
    finite(path, v)?;
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(fault(path, format!("must be between {lo} and {hi}")))
    }
}

fn words(path: &str, list: &[String]) -> Result<(), Fault> {
    if list.is_empty() {
        return Err(fault(path, "must list at least one value"));
    }
    match list.iter().position(|w| w.trim().is_empty()) {
        Some(i) => Err(fault(format!("{path}[{i}]"), "must not be empty")),
        None => Ok(()),
    }
}

impl FitCondition {
    /// `path` is the condition's own path, e.g. `fitRules[2].when`.
    fn validate(&self, path: &str) -> Result<(), Fault> {
        match self {
            Self::IndustryIn(v) => words(&format!("{path}.industryIn"), v),
            Self::RegionIn(v) => words(&format!("{path}.regionIn"), v),
            Self::UsesTechnology(v) => words(&format!("{path}.usesTechnology"), v),
            Self::UsesCompetitor(v) => words(&format!("{path}.usesCompetitor"), v),
            Self::CountryIn(v) if v.is_empty() => Err(fault(
                format!("{path}.countryIn"),
                "must list at least one value",
            )),
            Self::CountryIn(_) => Ok(()),
            Self::EmployeeCount { min, max } => {
                let p = format!("{path}.employeeCount");
                for (name, bound) in [("min", min), ("max", max)] {
                    if bound.is_some_and(|b| b < 0) {
                        return Err(fault(format!("{p}.{name}"), "must be ≥ 0"));
                    }
                }
                match (min, max) {
                    (Some(lo), Some(hi)) if lo > hi => {
                        Err(fault(format!("{p}.max"), "must be ≥ min"))
                    }
                    _ => Ok(()),
                }
            }
            Self::AnnualRevenue { min, max } => {
                let p = format!("{path}.annualRevenue");
                for (name, bound) in [("min", min), ("max", max)] {
                    if let Some(b) = bound {
                        non_negative(&format!("{p}.{name}"), *b)?;
                    }
                }
                match (min, max) {
                    (Some(lo), Some(hi)) if lo > hi => {
                        Err(fault(format!("{p}.max"), "must be ≥ min"))
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

impl ScoringModel {
    /// Engagement points of one event of `kind` (0 for a kind the model does not list).
    pub fn points(&self, kind: EngagementKind) -> f64 {
        self.engagement_points.get(&kind).copied().unwrap_or(0.0)
    }

    /// Refuses a model the engine could not score sensibly, naming the first field at fault
    /// by its GraphQL path (`weights.fit`, `fitRules[2].points`, `halfLifeDays`).
    pub fn validate(&self) -> Result<(), (String, Invalid)> {
        if self.version < 1 {
            return Err(fault("version", "must be ≥ 1"));
        }
        self.validate_fit_rules()?;
        for (kind, points) in &self.engagement_points {
            let path = format!("engagementPoints.{kind}");
            if kind.is_account_level() {
                return Err(fault(path, "is scored as intent: set intentPoints instead"));
            }
            within(&path, *points, -MAX_POINTS, MAX_POINTS)?;
        }
        positive("halfLifeDays", self.half_life_days)?;
        positive("contactCap", self.contact_cap)?;
        let m = &self.seniority_multipliers;
        for (name, v) in [
            ("cLevel", m.c_level),
            ("vp", m.vp),
            ("director", m.director),
            ("manager", m.manager),
            ("individualContributor", m.individual_contributor),
            ("unknown", m.unknown),
        ] {
            non_negative(&format!("seniorityMultipliers.{name}"), v)?;
        }
        finite("rollupRatio", self.rollup_ratio)?;
        if !(self.rollup_ratio > 0.0 && self.rollup_ratio <= 1.0) {
            return Err(fault("rollupRatio", "must be > 0 and ≤ 1"));
        }
        positive("engagementScale", self.engagement_scale)?;
        within("intentPoints", self.intent_points, 0.0, MAX_POINTS)?;
        positive("intentScale", self.intent_scale)?;
        let mut seen = BTreeSet::new();
        for (i, role) in self.required_roles.iter().enumerate() {
            if !seen.insert(*role) {
                return Err(fault(format!("requiredRoles[{i}]"), "is listed twice"));
            }
        }
        positive("engagedWindowDays", self.engaged_window_days)?;
        within("coverageBonus", self.coverage_bonus, 0.0, 100.0)?;
        let w = &self.weights;
        non_negative("weights.fit", w.fit)?;
        non_negative("weights.engagement", w.engagement)?;
        non_negative("weights.intent", w.intent)?;
        if (w.fit + w.engagement + w.intent - 1.0).abs() > 1e-9 {
            return Err(fault("weights", "must sum to 1"));
        }
        self.validate_thresholds()
    }

    fn validate_fit_rules(&self) -> Result<(), Fault> {
        if self.fit_rules.len() > MAX_FIT_RULES {
            return Err(fault(
                "fitRules",
                format!("must have at most {MAX_FIT_RULES} rules"),
            ));
        }
        let mut names = BTreeSet::new();
        for (i, rule) in self.fit_rules.iter().enumerate() {
            let path = format!("fitRules[{i}]");
            let name = rule.name.trim();
            if name.is_empty() {
                return Err(fault(format!("{path}.name"), "must not be empty"));
            }
            if name.chars().count() > MAX_RULE_NAME {
                return Err(fault(
                    format!("{path}.name"),
                    format!("must be at most {MAX_RULE_NAME} characters"),
                ));
            }
            if !names.insert(name) {
                return Err(fault(format!("{path}.name"), "is used by another rule"));
            }
            rule.when.validate(&format!("{path}.when"))?;
            within(
                &format!("{path}.points"),
                rule.points,
                -MAX_POINTS,
                MAX_POINTS,
            )?;
            if matches!(rule.when, FitCondition::UsesCompetitor(_)) && rule.points > 0.0 {
                return Err(fault(
                    format!("{path}.points"),
                    "a competitor rule must be worth ≤ 0 points",
                ));
            }
        }
        Ok(())
    }

    fn validate_thresholds(&self) -> Result<(), Fault> {
        let t = &self.thresholds;
        within("thresholds.mql", t.mql, 0.0, 100.0)?;
        finite("thresholds.sql", t.sql)?;
        if !(t.sql > t.mql && t.sql <= 100.0) {
            return Err(fault("thresholds.sql", "must be > mql and ≤ 100"));
        }
        within("thresholds.sqlMinFit", t.sql_min_fit, 0.0, 100.0)?;
        within("thresholds.sqlMinCoverage", t.sql_min_coverage, 0.0, 1.0)?;
        within("thresholds.demotionMargin", t.demotion_margin, 0.0, 100.0)?;
        positive("thresholds.highIntentWindowDays", t.high_intent_window_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(m: &ScoringModel) -> Option<String> {
        m.validate().err().map(|(p, _)| p)
    }

    fn with(f: impl FnOnce(&mut ScoringModel)) -> ScoringModel {
        let mut m = ScoringModel::default();
        f(&mut m);
        m
    }

    #[test]
    fn the_default_model_is_valid_and_version_one() {
        let m = ScoringModel::default();
        assert_eq!(m.validate(), Ok(()));
        assert_eq!(m.version, 1);
        assert_eq!(m.required_roles, DEFAULT_REQUIRED_ROLES);
        assert!(
            matches!(&m.fit_rules[3].when, FitCondition::CountryIn(c) if c.len() == 4),
            "every default country parses"
        );
        let positive: f64 = m.fit_rules.iter().map(|r| r.points.max(0.0)).sum();
        assert_eq!(positive, 100.0, "a perfect fit scores exactly 100");
        assert_eq!(m.points(EngagementKind::IntentSurge), 0.0);
    }

    #[test]
    fn json_uses_graphql_names_and_round_trips() -> Result<(), serde_json::Error> {
        let m = ScoringModel::default();
        let json = serde_json::to_value(&m)?;
        assert_eq!(json["halfLifeDays"], 30.0);
        assert_eq!(json["weights"]["fit"], 0.4);
        assert_eq!(json["engagementPoints"]["DEMO_REQUEST"], 25.0);
        assert_eq!(json["seniorityMultipliers"]["cLevel"], 1.5);
        assert_eq!(json["fitRules"][1]["when"]["employeeCount"]["min"], 200);
        assert_eq!(json["fitRules"][3]["when"]["countryIn"][0], "US");
        assert_eq!(json["requiredRoles"][0], "DECISION_MAKER");
        assert_eq!(json["thresholds"]["sqlMinCoverage"], 0.5);
        let back: ScoringModel = serde_json::from_value(json)?;
        assert_eq!(back, m);
        Ok(())
    }

    #[test]
    fn weights_must_be_non_negative_and_sum_to_one() {
        let m = with(|m| m.weights.fit = -0.1);
        assert_eq!(path_of(&m).as_deref(), Some("weights.fit"));
        let m = with(|m| m.weights.intent = 0.2);
        assert_eq!(path_of(&m).as_deref(), Some("weights"));
        let m = with(|m| m.weights.engagement = f64::NAN);
        assert_eq!(path_of(&m).as_deref(), Some("weights.engagement"));
        let m = with(|m| {
            m.weights = Weights {
                fit: 0.1 + 0.2,
                engagement: 0.7 - 1e-12,
                intent: 0.0,
            }
        });
        assert_eq!(m.validate(), Ok(()), "rounding within 1e-9 is accepted");
    }

    #[test]
    fn fit_rule_faults_name_the_rule() {
        let m = with(|m| m.fit_rules[2].points = f64::NAN);
        assert_eq!(path_of(&m).as_deref(), Some("fitRules[2].points"));
        let m = with(|m| m.fit_rules[0].name = "  ".into());
        assert_eq!(path_of(&m).as_deref(), Some("fitRules[0].name"));
        let m = with(|m| m.fit_rules[4].name = m.fit_rules[1].name.clone());
        assert_eq!(path_of(&m).as_deref(), Some("fitRules[4].name"));
        let m = with(|m| m.fit_rules[5].points = 5.0);
        assert_eq!(path_of(&m).as_deref(), Some("fitRules[5].points"));
        let m = with(|m| m.fit_rules[1].points = 101.0);
        assert_eq!(path_of(&m).as_deref(), Some("fitRules[1].points"));
        let m = with(|m| {
            m.fit_rules[1].when = FitCondition::EmployeeCount {
                min: Some(500),
                max: Some(10),
            }
        });
        assert_eq!(
            path_of(&m).as_deref(),
            Some("fitRules[1].when.employeeCount.max")
        );
        let m = with(|m| {
            m.fit_rules[1].when = FitCondition::EmployeeCount {
                min: Some(-1),
                max: None,
            }
        });
        assert_eq!(
            path_of(&m).as_deref(),
            Some("fitRules[1].when.employeeCount.min")
        );
        let m = with(|m| {
            m.fit_rules[2].when = FitCondition::AnnualRevenue {
                min: None,
                max: Some(f64::NAN),
            }
        });
        assert_eq!(
            path_of(&m).as_deref(),
            Some("fitRules[2].when.annualRevenue.max")
        );
        let m = with(|m| {
            m.fit_rules[2].when = FitCondition::AnnualRevenue {
                min: Some(2.0),
                max: Some(1.0),
            }
        });
        assert_eq!(
            path_of(&m).as_deref(),
            Some("fitRules[2].when.annualRevenue.max")
        );
        let m = with(|m| m.fit_rules[0].when = FitCondition::IndustryIn(vec![]));
        assert_eq!(path_of(&m).as_deref(), Some("fitRules[0].when.industryIn"));
        let m =
            with(|m| m.fit_rules[0].when = FitCondition::RegionIn(vec!["EMEA".into(), " ".into()]));
        assert_eq!(path_of(&m).as_deref(), Some("fitRules[0].when.regionIn[1]"));
        let m = with(|m| m.fit_rules[3].when = FitCondition::CountryIn(vec![]));
        assert_eq!(path_of(&m).as_deref(), Some("fitRules[3].when.countryIn"));
    }

    #[test]
    fn too_many_rules_are_refused() {
        let m = with(|m| {
            m.fit_rules = (0..=MAX_FIT_RULES)
                .map(|i| FitRule {
                    name: format!("r{i}"),
                    when: FitCondition::RegionIn(vec!["EMEA".into()]),
                    points: 0.1,
                })
                .collect()
        });
        assert_eq!(path_of(&m).as_deref(), Some("fitRules"));
        let mut ok = m.clone();
        ok.fit_rules.pop();
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn decay_caps_multipliers_and_rollup_are_checked() {
        for (hl, ok) in [
            (0.0, false),
            (-1.0, false),
            (f64::INFINITY, false),
            (f64::NAN, false),
            (0.5, true),
        ] {
            let m = with(|m| m.half_life_days = hl);
            let expected = if ok { None } else { Some("halfLifeDays") };
            assert_eq!(path_of(&m).as_deref(), expected, "{hl}");
        }
        let m = with(|m| m.contact_cap = 0.0);
        assert_eq!(path_of(&m).as_deref(), Some("contactCap"));
        let m = with(|m| m.seniority_multipliers.vp = -0.1);
        assert_eq!(path_of(&m).as_deref(), Some("seniorityMultipliers.vp"));
        for ratio in [0.0, 1.01, f64::NAN] {
            let m = with(|m| m.rollup_ratio = ratio);
            assert_eq!(path_of(&m).as_deref(), Some("rollupRatio"), "{ratio}");
        }
        assert_eq!(with(|m| m.rollup_ratio = 1.0).validate(), Ok(()));
        let m = with(|m| m.engagement_scale = 0.0);
        assert_eq!(path_of(&m).as_deref(), Some("engagementScale"));
        let m = with(|m| m.intent_points = -1.0);
        assert_eq!(path_of(&m).as_deref(), Some("intentPoints"));
        let m = with(|m| {
            m.engagement_points.insert(EngagementKind::IntentSurge, 5.0);
        });
        assert_eq!(
            path_of(&m).as_deref(),
            Some("engagementPoints.INTENT_SURGE")
        );
        let m = with(|m| {
            m.engagement_points
                .insert(EngagementKind::EmailOpen, f64::NAN);
        });
        assert_eq!(path_of(&m).as_deref(), Some("engagementPoints.EMAIL_OPEN"));
        let m = with(|m| m.required_roles.push(BuyingRole::Champion));
        assert_eq!(path_of(&m).as_deref(), Some("requiredRoles[4]"));
        let m = with(|m| m.engaged_window_days = -3.0);
        assert_eq!(path_of(&m).as_deref(), Some("engagedWindowDays"));
        let m = with(|m| m.coverage_bonus = -1.0);
        assert_eq!(path_of(&m).as_deref(), Some("coverageBonus"));
        let m = with(|m| m.version = 0);
        assert_eq!(path_of(&m).as_deref(), Some("version"));
    }

    #[test]
    fn thresholds_must_be_ordered() {
        let m = with(|m| m.thresholds.sql = 50.0);
        assert_eq!(path_of(&m).as_deref(), Some("thresholds.sql"));
        let m = with(|m| m.thresholds.sql = 100.5);
        assert_eq!(path_of(&m).as_deref(), Some("thresholds.sql"));
        let m = with(|m| m.thresholds.mql = -1.0);
        assert_eq!(path_of(&m).as_deref(), Some("thresholds.mql"));
        let m = with(|m| m.thresholds.demotion_margin = -0.5);
        assert_eq!(path_of(&m).as_deref(), Some("thresholds.demotionMargin"));
        let m = with(|m| m.thresholds.sql_min_coverage = 1.5);
        assert_eq!(path_of(&m).as_deref(), Some("thresholds.sqlMinCoverage"));
        let m = with(|m| m.thresholds.sql_min_fit = f64::NAN);
        assert_eq!(path_of(&m).as_deref(), Some("thresholds.sqlMinFit"));
        let m = with(|m| m.thresholds.high_intent_window_days = 0.0);
        assert_eq!(
            path_of(&m).as_deref(),
            Some("thresholds.highIntentWindowDays")
        );
        assert_eq!(with(|m| m.thresholds.sql = 100.0).validate(), Ok(()));
    }
}
