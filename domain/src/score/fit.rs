//! Fit rules against an account's firmographics and technographics.

use super::AccountFacts;
use super::model::FitCondition;

/// Case-insensitive equality of trimmed text; ASCII without allocating, the rest by
/// Unicode lower-casing (as the SQL filters do with `LOWER`).
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a.eq_ignore_ascii_case(b)
        || (!(a.is_ascii() && b.is_ascii()) && a.to_lowercase() == b.to_lowercase())
}

fn listed<'a>(value: &str, list: &'a [String]) -> Option<&'a str> {
    list.iter()
        .find(|w| same_text(value, w))
        .map(String::as_str)
}

fn range_text<T: std::fmt::Display>(min: Option<T>, max: Option<T>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
        (Some(lo), None) => format!("≥ {lo}"),
        (None, Some(hi)) => format!("≤ {hi}"),
        (None, None) => "any".to_owned(),
    }
}

impl FitCondition {
    /// Whether `account` matches, without allocating.
    pub fn matches(&self, account: &AccountFacts) -> bool {
        match self {
            Self::IndustryIn(list) => account
                .industry
                .as_deref()
                .is_some_and(|i| listed(i, list).is_some()),
            Self::RegionIn(list) => account
                .region
                .as_deref()
                .is_some_and(|r| listed(r, list).is_some()),
            Self::CountryIn(list) => account.country.is_some_and(|c| list.contains(&c)),
            Self::EmployeeCount { min, max } => account
                .employee_count
                .is_some_and(|n| min.is_none_or(|lo| n >= lo) && max.is_none_or(|hi| n <= hi)),
            Self::AnnualRevenue { min, max } => account
                .annual_revenue
                .is_some_and(|r| min.is_none_or(|lo| r >= lo) && max.is_none_or(|hi| r <= hi)),
            Self::UsesTechnology(list) | Self::UsesCompetitor(list) => account
                .technologies
                .iter()
                .any(|t| listed(t, list).is_some()),
        }
    }

    /// Why a matching account matches, for the breakdown's `detail`.
    pub(crate) fn evidence(&self, account: &AccountFacts) -> String {
        match self {
            Self::IndustryIn(_) => {
                format!("industry {}", account.industry.as_deref().unwrap_or("?"))
            }
            Self::RegionIn(_) => format!("region {}", account.region.as_deref().unwrap_or("?")),
            Self::CountryIn(_) => format!(
                "country {}",
                account.country.as_ref().map_or("?", |c| c.as_str())
            ),
            Self::EmployeeCount { min, max } => format!(
                "{} employees, in {}",
                account.employee_count.unwrap_or_default(),
                range_text(*min, *max)
            ),
            Self::AnnualRevenue { min, max } => format!(
                "annual revenue {}, in {}",
                account.annual_revenue.unwrap_or_default(),
                range_text(*min, *max)
            ),
            Self::UsesTechnology(list) | Self::UsesCompetitor(list) => {
                let used: Vec<&str> = account
                    .technologies
                    .iter()
                    .filter(|t| listed(t, list).is_some())
                    .map(String::as_str)
                    .collect();
                let what = if matches!(self, Self::UsesCompetitor(_)) {
                    "uses competitor"
                } else {
                    "uses"
                };
                format!("{what} {}", used.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::CountryCode;

    fn acme() -> AccountFacts {
        AccountFacts {
            industry: Some("software".into()),
            employee_count: Some(1_200),
            annual_revenue: Some(50_000_000.0),
            country: CountryCode::parse("DE").ok(),
            region: Some("EMEA".into()),
            technologies: vec!["salesforce".into(), "Slack".into()],
        }
    }

    fn list(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn industry_and_region_ignore_case() {
        assert!(FitCondition::IndustryIn(list(&["Software", "Retail"])).matches(&acme()));
        assert!(!FitCondition::IndustryIn(list(&["Retail"])).matches(&acme()));
        assert!(FitCondition::RegionIn(list(&["emea"])).matches(&acme()));
        let mut unicode = acme();
        unicode.industry = Some("ÉNERGIE".into());
        assert!(FitCondition::IndustryIn(list(&["énergie"])).matches(&unicode));
        assert!(!FitCondition::IndustryIn(list(&["Software"])).matches(&AccountFacts::default()));
    }

    #[test]
    fn employee_count_bounds_are_inclusive_and_missing_never_matches() {
        let range = |min, max| FitCondition::EmployeeCount { min, max };
        assert!(range(Some(1_200), Some(1_200)).matches(&acme()));
        assert!(range(None, Some(1_200)).matches(&acme()));
        assert!(!range(Some(1_201), None).matches(&acme()));
        assert!(range(None, None).matches(&acme()));
        assert!(!range(None, None).matches(&AccountFacts::default()));
    }

    #[test]
    fn revenue_bounds_are_inclusive() {
        let range = |min, max| FitCondition::AnnualRevenue { min, max };
        assert!(range(Some(50_000_000.0), None).matches(&acme()));
        assert!(!range(None, Some(49_999_999.0)).matches(&acme()));
        assert!(!range(Some(1.0), None).matches(&AccountFacts::default()));
    }

    #[test]
    fn country_technology_and_competitor_rules() {
        let de = CountryCode::parse("DE").ok().into_iter().collect();
        assert!(FitCondition::CountryIn(de).matches(&acme()));
        let us = CountryCode::parse("US").ok().into_iter().collect();
        assert!(!FitCondition::CountryIn(us).matches(&acme()));
        assert!(FitCondition::UsesTechnology(list(&["HubSpot", "Salesforce"])).matches(&acme()));
        assert!(!FitCondition::UsesTechnology(list(&["HubSpot"])).matches(&acme()));
        assert!(FitCondition::UsesCompetitor(list(&["slack"])).matches(&acme()));
        assert_eq!(
            FitCondition::UsesCompetitor(list(&["slack"])).evidence(&acme()),
            "uses competitor Slack"
        );
        assert_eq!(
            FitCondition::EmployeeCount {
                min: Some(200),
                max: None
            }
            .evidence(&acme()),
            "1200 employees, in ≥ 200"
        );
    }
}
