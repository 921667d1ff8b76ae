use async_graphql::{Enum, ID, InputObject, SimpleObject};
use quorum_domain::filter::{AccountFilter, Condition, MAX_DEPTH, MAX_NODES};
use quorum_domain::value::{CountryCode, Tier, UserId};

use crate::error::{AppError, At};
use crate::graphql::object::{SortDirection, Stage, parse_id};
use crate::store::account::SortKey;

/// Which accounts to list. Every condition set on one object must hold (AND); `or` and `not`
/// combine whole filters. A segment stores it as given and returns it as `SegmentFilter`, the
/// same shape as output.
#[derive(InputObject, SimpleObject, Default, Clone, serde::Serialize, serde::Deserialize)]
#[graphql(name = "SegmentFilter", input_name = "AccountFilter")]
#[serde(rename_all = "camelCase", default)]
pub struct AccountFilterInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub and: Option<Vec<AccountFilterInput>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub or: Option<Vec<AccountFilterInput>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<AccountFilterInput>>,
    /// Case-insensitive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry_in: Option<Vec<String>>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_in: Option<Vec<String>>,
    /// Case-insensitive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_in: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_count_min: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_count_max: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_revenue_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_revenue_max: Option<f64>,
    /// Uses at least one of them (case-insensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technologies_any: Option<Vec<String>>,
    /// Uses all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technologies_all: Option<Vec<String>>,
    /// Uses none of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technologies_none: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier_in: Option<Vec<i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_in: Option<Vec<Stage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engagement_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<ID>,
    /// `true`: accounts with no owner; `false`: accounts with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unassigned: Option<bool>,
    /// Case-insensitive substring of the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_contains: Option<String>,
}

impl AccountFilterInput {
    /// The domain filter; `at` is the argument's path (`filter`).
    pub fn parse(self, at: &str) -> Result<AccountFilter, AppError> {
        let f = self.parse_at(at, 0)?;
        if f.node_count() > MAX_NODES {
            return Err(AppError::bad_input(
                at,
                format!("a filter may have at most {MAX_NODES} conditions"),
            ));
        }
        Ok(f)
    }

    fn parse_at(self, at: &str, depth: usize) -> Result<AccountFilter, AppError> {
        if depth > MAX_DEPTH {
            return Err(AppError::bad_input(
                at,
                format!("a filter may nest at most {MAX_DEPTH} levels"),
            ));
        }
        let field = |name: &str| format!("{at}.{name}");
        let mut all: Vec<AccountFilter> = Vec::new();
        let mut push = |c: Condition| -> Result<(), AppError> {
            c.check()
                .map_err(|(k, e)| AppError::bad_input(field(k), e.message()))?;
            all.push(AccountFilter::Is(c));
            Ok(())
        };
        if let Some(v) = self.industry_in {
            push(Condition::IndustryIn(v))?;
        }
        if let Some(v) = self.country_in {
            let codes = v
                .iter()
                .enumerate()
                .map(|(i, c)| CountryCode::parse(c).at(|| format!("{at}.countryIn[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            push(Condition::CountryIn(codes))?;
        }
        if let Some(v) = self.region_in {
            push(Condition::RegionIn(v))?;
        }
        if self.employee_count_min.is_some() || self.employee_count_max.is_some() {
            push(Condition::EmployeeCount {
                min: self.employee_count_min.map(i64::from),
                max: self.employee_count_max.map(i64::from),
            })?;
        }
        if self.annual_revenue_min.is_some() || self.annual_revenue_max.is_some() {
            push(Condition::AnnualRevenue {
                min: self.annual_revenue_min,
                max: self.annual_revenue_max,
            })?;
        }
        if let Some(v) = self.technologies_any {
            push(Condition::TechnologiesAny(v))?;
        }
        if let Some(v) = self.technologies_all {
            push(Condition::TechnologiesAll(v))?;
        }
        if let Some(v) = self.technologies_none {
            push(Condition::TechnologiesNone(v))?;
        }
        if let Some(v) = self.tier_in {
            let tiers = v
                .iter()
                .enumerate()
                .map(|(i, t)| Tier::parse(i64::from(*t)).at(|| format!("{at}.tierIn[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            push(Condition::TierIn(tiers))?;
        }
        if let Some(v) = self.stage_in {
            push(Condition::StageIn(v.into_iter().map(Into::into).collect()))?;
        }
        if let Some(v) = self.score_min {
            push(Condition::ScoreMin(v))?;
        }
        if let Some(v) = self.fit_min {
            push(Condition::FitMin(v))?;
        }
        if let Some(v) = self.engagement_min {
            push(Condition::EngagementMin(v))?;
        }
        if let Some(id) = self.owner_id {
            // An id that names no user matches no account, as any unknown owner would.
            let owner = parse_id(&id)
                .map(UserId::from)
                .unwrap_or_else(|| UserId::from(uuid::Uuid::nil()));
            push(Condition::OwnerIs(owner))?;
        }
        if let Some(v) = self.unassigned {
            push(Condition::Unassigned(v))?;
        }
        if let Some(v) = self.name_contains {
            push(Condition::NameContains(v))?;
        }
        if let Some(children) = self.and {
            all.push(AccountFilter::And(children_of(
                children,
                &field("and"),
                depth,
            )?));
        }
        if let Some(children) = self.or {
            all.push(AccountFilter::Or(children_of(
                children,
                &field("or"),
                depth,
            )?));
        }
        if let Some(inner) = self.not {
            all.push(AccountFilter::Not(Box::new(
                inner.parse_at(&field("not"), depth + 1)?,
            )));
        }
        match all.len() {
            0 => Err(AppError::bad_input(
                at,
                "an empty filter: set at least one condition",
            )),
            1 => Ok(all.remove(0)),
            _ => Ok(AccountFilter::And(all)),
        }
    }
}

fn children_of(
    children: Vec<AccountFilterInput>,
    at: &str,
    depth: usize,
) -> Result<Vec<AccountFilter>, AppError> {
    if children.is_empty() {
        return Err(AppError::bad_input(at, "must list at least one filter"));
    }
    children
        .into_iter()
        .enumerate()
        .map(|(i, c)| c.parse_at(&format!("{at}[{i}]"), depth + 1))
        .collect()
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum AccountOrderField {
    Name,
    Created,
    Score,
    Fit,
    Engagement,
    /// When the account last changed stage (its creation before any change).
    StageChanged,
}

/// How to order accounts; ties are broken by id so pages never overlap.
#[derive(InputObject, Clone, Copy)]
pub struct AccountOrder {
    pub field: AccountOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

impl AccountOrder {
    pub fn key(self) -> (SortKey, bool) {
        let key = match self.field {
            AccountOrderField::Name => SortKey::Name,
            AccountOrderField::Created => SortKey::Created,
            AccountOrderField::Score => SortKey::Score,
            AccountOrderField::Fit => SortKey::Fit,
            AccountOrderField::Engagement => SortKey::Engagement,
            AccountOrderField::StageChanged => SortKey::StageChanged,
        };
        (key, self.direction == SortDirection::Desc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `cargo fuzz run filter`: a segment keeps its filter as JSON text, and without
    /// serde_json's `float_roundtrip` some numbers read back one ulp off, so the filter a
    /// segment applied (and showed) was not quite the one saved.
    #[test]
    fn a_stored_filter_reads_back_exactly() {
        let input = AccountFilterInput {
            annual_revenue_min: Some(1.922_223_004_724_245e-307),
            ..AccountFilterInput::default()
        };
        let text = serde_json::to_string(&input).unwrap_or_default();
        let back = serde_json::from_str::<AccountFilterInput>(&text).ok();
        let bits = |f: &AccountFilterInput| f.annual_revenue_min.map(f64::to_bits);
        assert_eq!(back.as_ref().map(bits), Some(bits(&input)), "{text}");
    }
}
