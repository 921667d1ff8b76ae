//! Account filters: the boolean tree behind `accounts(filter:)` and saved segments.
//!
//! Storage compiles a filter to one SQL query; this module says what a valid filter is and
//! what it means (`AccountFilter::matches`), which the SQL must agree with on every backend.

use crate::value::{CountryCode, Invalid, Stage, Tier, UserId};

/// How text is compared: trimmed and lower-cased. Storage keeps this key of every text it
/// filters on, written by the application, so that SQLite (whose `lower()` folds only ASCII)
/// and PostgreSQL agree with each other and with [`AccountFilter::matches`].
pub fn text_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// What a filter looks at in one account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountFacts<'a> {
    pub name: &'a str,
    pub industry: Option<&'a str>,
    pub country: Option<&'a str>,
    pub region: Option<&'a str>,
    pub employee_count: Option<i64>,
    pub annual_revenue: Option<f64>,
    pub technologies: &'a [String],
    pub tier: Option<u8>,
    pub stage: Stage,
    pub score: f64,
    pub fit: f64,
    pub engagement: f64,
    pub owner: Option<UserId>,
}

/// A filter over accounts. `And(vec![])` matches everything; the API refuses a client's empty
/// filter before building one.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountFilter {
    And(Vec<AccountFilter>),
    Or(Vec<AccountFilter>),
    Not(Box<AccountFilter>),
    Is(Condition),
}

/// One test on an account's own attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Case-insensitive.
    IndustryIn(Vec<String>),
    CountryIn(Vec<CountryCode>),
    /// Case-insensitive.
    RegionIn(Vec<String>),
    /// Inclusive; an account with no employee count never matches.
    EmployeeCount {
        min: Option<i64>,
        max: Option<i64>,
    },
    /// Inclusive; an account with no revenue never matches.
    AnnualRevenue {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// Uses at least one of these technologies (case-insensitive).
    TechnologiesAny(Vec<String>),
    /// Uses every one of them.
    TechnologiesAll(Vec<String>),
    /// Uses none of them.
    TechnologiesNone(Vec<String>),
    TierIn(Vec<Tier>),
    StageIn(Vec<Stage>),
    ScoreMin(f64),
    FitMin(f64),
    EngagementMin(f64),
    OwnerIs(UserId),
    /// `true`: no owner; `false`: some owner.
    Unassigned(bool),
    /// Case-insensitive substring of the name.
    NameContains(String),
}

/// Most nodes a filter may have: enough for any real segment, small enough that the SQL it
/// compiles to stays cheap to plan.
pub const MAX_NODES: usize = 200;
/// Deepest nesting of `and` / `or` / `not`.
pub const MAX_DEPTH: usize = 8;

impl AccountFilter {
    /// Conditions and connectives in the tree.
    pub fn node_count(&self) -> usize {
        match self {
            Self::And(c) | Self::Or(c) => 1 + c.iter().map(Self::node_count).sum::<usize>(),
            Self::Not(inner) => 1 + inner.node_count(),
            Self::Is(_) => 1,
        }
    }
}

impl AccountFilter {
    /// Whether `a` is one of the accounts this filter selects. Every condition is false, never
    /// unknown, for an account without the attribute, so `not` means what a person expects:
    /// an account with no industry is "not in fintech".
    pub fn matches(&self, a: &AccountFacts<'_>) -> bool {
        match self {
            Self::And(c) => c.iter().all(|f| f.matches(a)),
            Self::Or(c) => c.iter().any(|f| f.matches(a)),
            Self::Not(inner) => !inner.matches(a),
            Self::Is(c) => c.matches(a),
        }
    }

    /// Whether any condition in the tree is `TierIn`: a segment that sets its members' tier
    /// must not select them by tier, or membership would depend on itself.
    pub fn uses_tier(&self) -> bool {
        match self {
            Self::And(c) | Self::Or(c) => c.iter().any(Self::uses_tier),
            Self::Not(inner) => inner.uses_tier(),
            Self::Is(c) => matches!(c, Condition::TierIn(_)),
        }
    }
}

impl Condition {
    pub fn matches(&self, a: &AccountFacts<'_>) -> bool {
        let text_in = |v: &[String], attr: Option<&str>| {
            attr.is_some_and(|x| {
                let k = text_key(x);
                v.iter().any(|w| text_key(w) == k)
            })
        };
        let uses = |t: &String| {
            let k = text_key(t);
            a.technologies.iter().any(|x| text_key(x) == k)
        };
        let within = |x: Option<f64>, min: Option<f64>, max: Option<f64>| {
            x.is_some_and(|x| min.is_none_or(|m| x >= m) && max.is_none_or(|m| x <= m))
        };
        match self {
            Self::IndustryIn(v) => text_in(v, a.industry),
            Self::RegionIn(v) => text_in(v, a.region),
            Self::CountryIn(v) => a.country.is_some_and(|c| v.iter().any(|w| w.as_str() == c)),
            Self::EmployeeCount { min, max } => a
                .employee_count
                .is_some_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)),
            Self::AnnualRevenue { min, max } => within(a.annual_revenue, *min, *max),
            Self::TechnologiesAny(v) => v.iter().any(uses),
            Self::TechnologiesAll(v) => v.iter().all(uses),
            Self::TechnologiesNone(v) => !v.iter().any(uses),
            Self::TierIn(v) => a.tier.is_some_and(|t| v.iter().any(|w| w.get() == t)),
            Self::StageIn(v) => v.contains(&a.stage),
            Self::ScoreMin(m) => a.score >= *m,
            Self::FitMin(m) => a.fit >= *m,
            Self::EngagementMin(m) => a.engagement >= *m,
            Self::OwnerIs(u) => a.owner == Some(*u),
            Self::Unassigned(none) => a.owner.is_none() == *none,
            Self::NameContains(s) => text_key(a.name).contains(&text_key(s)),
        }
    }

    /// Refuses empty lists, negative or non-finite numbers and inverted ranges, naming the
    /// input field at fault (`employeeCountMax`).
    pub fn check(&self) -> Result<(), (&'static str, Invalid)> {
        fn non_empty<T>(field: &'static str, v: &[T]) -> Result<(), (&'static str, Invalid)> {
            if v.is_empty() {
                Err((field, Invalid::new("must list at least one value")))
            } else {
                Ok(())
            }
        }
        fn finite_non_negative(field: &'static str, v: f64) -> Result<(), (&'static str, Invalid)> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err((field, Invalid::new("must be a number ≥ 0")))
            }
        }
        match self {
            Self::IndustryIn(v) => non_empty("industryIn", v),
            Self::CountryIn(v) => non_empty("countryIn", v),
            Self::RegionIn(v) => non_empty("regionIn", v),
            Self::TechnologiesAny(v) => non_empty("technologiesAny", v),
            Self::TechnologiesAll(v) => non_empty("technologiesAll", v),
            Self::TechnologiesNone(v) => non_empty("technologiesNone", v),
            Self::TierIn(v) => non_empty("tierIn", v),
            Self::StageIn(v) => non_empty("stageIn", v),
            Self::EmployeeCount { min, max } => {
                if min.is_some_and(|m| m < 0) {
                    return Err(("employeeCountMin", Invalid::new("must be ≥ 0")));
                }
                match (min, max) {
                    (Some(lo), Some(hi)) if lo > hi => Err((
                        "employeeCountMax",
                        Invalid::new("must be ≥ employeeCountMin"),
                    )),
                    _ => Ok(()),
                }
            }
            Self::AnnualRevenue { min, max } => {
                if let Some(m) = min {
                    finite_non_negative("annualRevenueMin", *m)?;
                }
                if let Some(m) = max {
                    finite_non_negative("annualRevenueMax", *m)?;
                }
                match (min, max) {
                    (Some(lo), Some(hi)) if lo > hi => Err((
                        "annualRevenueMax",
                        Invalid::new("must be ≥ annualRevenueMin"),
                    )),
                    _ => Ok(()),
                }
            }
            Self::ScoreMin(v) => finite_non_negative("scoreMin", *v),
            Self::FitMin(v) => finite_non_negative("fitMin", *v),
            Self::EngagementMin(v) => finite_non_negative("engagementMin", *v),
            Self::NameContains(s) if s.trim().is_empty() => {
                Err(("nameContains", Invalid::new("must not be empty")))
            }
            Self::NameContains(_) | Self::OwnerIs(_) | Self::Unassigned(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverted_ranges_name_the_upper_bound() {
        let c = Condition::EmployeeCount {
            min: Some(50),
            max: Some(10),
        };
        assert_eq!(c.check().err().map(|(f, _)| f), Some("employeeCountMax"));
        let r = Condition::AnnualRevenue {
            min: Some(5.0),
            max: Some(1.0),
        };
        assert_eq!(r.check().err().map(|(f, _)| f), Some("annualRevenueMax"));
    }

    #[test]
    fn empty_lists_and_bad_numbers_are_refused() {
        assert!(Condition::StageIn(vec![]).check().is_err());
        assert!(Condition::ScoreMin(f64::NAN).check().is_err());
        assert!(
            Condition::AnnualRevenue {
                min: Some(-1.0),
                max: None
            }
            .check()
            .is_err()
        );
        assert!(
            Condition::EmployeeCount {
                min: Some(-1),
                max: None
            }
            .check()
            .is_err()
        );
        assert!(Condition::NameContains("  ".into()).check().is_err());
        assert!(Condition::Unassigned(true).check().is_ok());
    }

    fn facts<'a>(techs: &'a [String]) -> AccountFacts<'a> {
        AccountFacts {
            name: "Ünited 100% Labs",
            industry: Some("Énergie "),
            country: Some("FR"),
            region: None,
            employee_count: Some(250),
            annual_revenue: None,
            technologies: techs,
            tier: Some(2),
            stage: Stage::Mql,
            score: 40.0,
            fit: 80.0,
            engagement: 0.0,
            owner: None,
        }
    }

    fn is(c: Condition) -> AccountFilter {
        AccountFilter::Is(c)
    }

    #[test]
    fn text_matches_case_and_accent_insensitively_by_the_same_key() {
        let techs = vec!["HubSpot".to_owned()];
        let a = facts(&techs);
        assert!(is(Condition::IndustryIn(vec!["ÉNERGIE".into()])).matches(&a));
        assert!(is(Condition::NameContains("ünited 100%".into())).matches(&a));
        assert!(!is(Condition::NameContains("united".into())).matches(&a));
        assert!(
            is(Condition::TechnologiesAll(vec![
                "hubspot".into(),
                " HUBSPOT".into()
            ]))
            .matches(&a)
        );
        assert!(is(Condition::TechnologiesNone(vec!["salesforce".into()])).matches(&a));
    }

    #[test]
    fn a_missing_attribute_fails_its_condition_and_not_inverts_that() {
        let techs = Vec::new();
        let a = facts(&techs);
        let region = is(Condition::RegionIn(vec!["emea".into()]));
        assert!(!region.matches(&a));
        assert!(AccountFilter::Not(Box::new(region)).matches(&a));
        let revenue = is(Condition::AnnualRevenue {
            min: None,
            max: Some(1e9),
        });
        assert!(!revenue.matches(&a));
        assert!(!is(Condition::TechnologiesAny(vec!["sap".into()])).matches(&a));
        assert!(is(Condition::Unassigned(true)).matches(&a));
        assert!(!is(Condition::OwnerIs(UserId::new())).matches(&a));
    }

    #[test]
    fn ranges_are_inclusive_and_connectives_combine() {
        let techs = Vec::new();
        let a = facts(&techs);
        let emp = |min, max| is(Condition::EmployeeCount { min, max });
        assert!(emp(Some(250), Some(250)).matches(&a));
        assert!(!emp(Some(251), None).matches(&a));
        let f = AccountFilter::And(vec![
            is(Condition::ScoreMin(40.0)),
            AccountFilter::Or(vec![
                is(Condition::StageIn(vec![Stage::Sql])),
                is(Condition::TierIn(Tier::parse(2).into_iter().collect())),
            ]),
        ]);
        assert!(f.matches(&a));
        assert!(
            AccountFilter::And(vec![]).matches(&a),
            "the empty AND selects all"
        );
        assert!(!AccountFilter::Or(vec![]).matches(&a));
        assert!(f.uses_tier());
        assert!(!is(Condition::ScoreMin(1.0)).uses_tier());
    }

    #[test]
    fn node_count_counts_connectives_and_conditions() {
        let f = AccountFilter::And(vec![
            AccountFilter::Is(Condition::ScoreMin(1.0)),
            AccountFilter::Not(Box::new(AccountFilter::Is(Condition::Unassigned(true)))),
        ]);
        assert_eq!(f.node_count(), 4);
    }
}
