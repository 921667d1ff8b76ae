//! Account filters: the boolean tree behind `accounts(filter:)` and saved segments.
//!
//! Storage compiles a filter to one SQL query; this module only says what a valid filter is.

use crate::value::{CountryCode, Invalid, Stage, Tier, UserId};

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

impl Condition {
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

    #[test]
    fn node_count_counts_connectives_and_conditions() {
        let f = AccountFilter::And(vec![
            AccountFilter::Is(Condition::ScoreMin(1.0)),
            AccountFilter::Not(Box::new(AccountFilter::Is(Condition::Unassigned(true)))),
        ]);
        assert_eq!(f.node_count(), 4);
    }
}
