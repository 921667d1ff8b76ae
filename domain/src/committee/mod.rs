//! Buying committees: how much of the buying group a seller has reached.

use crate::value::BuyingRole;

/// The roles a deal needs until a scoring model says otherwise: someone who decides, someone
/// who pays, someone who sells internally and someone who checks it works.
pub const DEFAULT_REQUIRED_ROLES: &[BuyingRole] = &[
    BuyingRole::DecisionMaker,
    BuyingRole::EconomicBuyer,
    BuyingRole::Champion,
    BuyingRole::TechnicalEvaluator,
];

/// Share of `required` roles held, and the ones still missing (in `required`'s order).
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// 0.0 to 1.0; 1.0 when nothing is required.
    pub share: f64,
    pub missing: Vec<BuyingRole>,
}

/// Coverage of `required` by the roles that count. The caller decides which members count:
/// DESIGN.md wants only engaged members once engagement is scored.
pub fn coverage(held: impl IntoIterator<Item = BuyingRole>, required: &[BuyingRole]) -> Coverage {
    let held: Vec<BuyingRole> = held.into_iter().collect();
    let mut wanted: Vec<BuyingRole> = Vec::with_capacity(required.len());
    for r in required {
        if !wanted.contains(r) {
            wanted.push(*r);
        }
    }
    if wanted.is_empty() {
        return Coverage {
            share: 1.0,
            missing: Vec::new(),
        };
    }
    let missing: Vec<BuyingRole> = wanted
        .iter()
        .copied()
        .filter(|r| !held.contains(r))
        .collect();
    let share = (wanted.len() - missing.len()) as f64 / wanted.len() as f64;
    Coverage { share, missing }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BuyingRole::*;

    #[test]
    fn coverage_counts_each_required_role_once() {
        let c = coverage([Champion, Champion, EndUser], DEFAULT_REQUIRED_ROLES);
        assert_eq!(c.share, 0.25);
        assert_eq!(
            c.missing,
            [DecisionMaker, EconomicBuyer, TechnicalEvaluator]
        );
    }

    #[test]
    fn full_and_empty_committees() {
        assert_eq!(
            coverage(
                DEFAULT_REQUIRED_ROLES.iter().copied(),
                DEFAULT_REQUIRED_ROLES
            )
            .share,
            1.0
        );
        let none = coverage([], DEFAULT_REQUIRED_ROLES);
        assert_eq!((none.share, none.missing.len()), (0.0, 4));
    }

    #[test]
    fn nothing_required_is_fully_covered() {
        assert_eq!(
            coverage([], &[]),
            Coverage {
                share: 1.0,
                missing: vec![]
            }
        );
    }
}
