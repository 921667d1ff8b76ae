use async_graphql::{InputObject, MaybeUndefined};
use quorum_domain::value::{CountryCode, Domain, Invalid, Tier, non_empty};

use super::{patch, text};
use crate::error::{AppError, At};
use crate::store::account::AccountUpsert;

/// An account to create or update, keyed on `domain`. A field left out keeps its stored value;
/// `null` clears it.
#[derive(InputObject)]
pub struct AccountInput {
    pub name: String,
    /// A web domain; `https://www.acme.io/` is stored as `acme.io`.
    pub domain: String,
    pub industry: MaybeUndefined<String>,
    pub employee_count: MaybeUndefined<i32>,
    pub annual_revenue: MaybeUndefined<f64>,
    /// ISO 3166-1 alpha-2, any case.
    pub country: MaybeUndefined<String>,
    pub region: MaybeUndefined<String>,
    /// Replaces the whole set when given.
    pub technologies: Option<Vec<String>>,
    /// 1 to 3.
    pub tier: MaybeUndefined<i32>,
}

const MAX_TECHNOLOGIES: usize = 200;

impl AccountInput {
    /// `at` is this item's path, such as `input[3]`.
    pub fn parse(self, at: &str) -> Result<AccountUpsert, AppError> {
        let f = |name: &str| format!("{at}.{name}");
        let technologies = match self.technologies {
            None => None,
            Some(list) => Some(technologies(list).at(|| f("technologies"))?),
        };
        Ok(AccountUpsert {
            name: non_empty(&self.name, 300).at(|| f("name"))?,
            domain: Domain::parse(&self.domain).at(|| f("domain"))?,
            industry: patch(self.industry, || f("industry"), text(120))?,
            employee_count: patch(
                self.employee_count,
                || f("employeeCount"),
                |n| {
                    if n < 0 {
                        Err(Invalid::new("must not be negative"))
                    } else {
                        Ok(i64::from(n))
                    }
                },
            )?,
            annual_revenue: patch(
                self.annual_revenue,
                || f("annualRevenue"),
                |r| {
                    if r.is_finite() && r >= 0.0 {
                        Ok(r)
                    } else {
                        Err(Invalid::new("must be a number ≥ 0"))
                    }
                },
            )?,
            country: patch(self.country, || f("country"), |c| CountryCode::parse(&c))?,
            region: patch(self.region, || f("region"), text(120))?,
            tier: patch(self.tier, || f("tier"), |t| Tier::parse(i64::from(t)))?,
            technologies,
        })
    }
}

/// Trimmed, deduplicated case-insensitively (first spelling wins), bounded.
fn technologies(list: Vec<String>) -> Result<Vec<String>, Invalid> {
    if list.len() > MAX_TECHNOLOGIES {
        return Err(Invalid::new(format!(
            "at most {MAX_TECHNOLOGIES} technologies"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for t in list {
        let t = non_empty(&t, 120)?;
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&t)) {
            out.push(t);
        }
    }
    Ok(out)
}
