//! What a valid rep and a valid rule list are; faults name the field by its path, as the
//! scoring model's do.

use std::collections::BTreeSet;

use super::{Rep, RoutingRule, Target};
use crate::value::{Invalid, UserId};

/// Most rules a workspace may have: more than any real routing table needs, few enough that
/// a decision stays cheap.
pub const MAX_RULES: usize = 100;
/// Longest rule name, in characters.
pub const MAX_RULE_NAME: usize = 100;
/// Largest capacity a rep may have (open assignments at once).
pub const MAX_CAPACITY: u32 = 1_000;

type Fault = (String, Invalid);

fn fault(path: impl Into<String>, message: impl Into<String>) -> Fault {
    (path.into(), Invalid::new(message))
}

/// Entries of a free-text list must not be blank.
fn words(path: &str, list: &[String]) -> Result<(), Fault> {
    match list.iter().position(|w| w.trim().is_empty()) {
        Some(i) => Err(fault(format!("{path}[{i}]"), "must not be empty")),
        None => Ok(()),
    }
}

impl Rep {
    /// Refuses a capacity over [`MAX_CAPACITY`] and blank regions or industries, naming the
    /// field (`capacity`, `regions[1]`). Capacity 0 is allowed: the rep takes nothing new.
    pub fn validate(&self) -> Result<(), (String, Invalid)> {
        if self.capacity > MAX_CAPACITY {
            return Err(fault("capacity", format!("must be at most {MAX_CAPACITY}")));
        }
        words("regions", &self.regions)?;
        words("industries", &self.industries)
    }
}

/// Refuses a rule list routing could not explain or that names nobody, naming the first field
/// at fault by its path: `rules` (too many), `rules[2].name` (blank, too long or used twice),
/// `rules[2].when.regions[0]` / `.industries[0]` (blank), `rules[2].to.pool` (empty) and
/// `rules[2].to.pool[1]` (listed twice, or not a rep: `is_rep` says which ids are reps of the
/// workspace).
pub fn validate_rules(
    rules: &[RoutingRule],
    is_rep: impl Fn(UserId) -> bool,
) -> Result<(), (String, Invalid)> {
    if rules.len() > MAX_RULES {
        return Err(fault(
            "rules",
            format!("must have at most {MAX_RULES} rules"),
        ));
    }
    let mut names = BTreeSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let path = format!("rules[{i}]");
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
        words(&format!("{path}.when.regions"), &rule.when.regions)?;
        words(&format!("{path}.when.industries"), &rule.when.industries)?;
        if let Target::Pool(pool) = &rule.to {
            if pool.is_empty() {
                return Err(fault(
                    format!("{path}.to.pool"),
                    "must name at least one rep",
                ));
            }
            let mut seen = BTreeSet::new();
            for (j, id) in pool.iter().enumerate() {
                if !seen.insert(*id) {
                    return Err(fault(format!("{path}.to.pool[{j}]"), "is listed twice"));
                }
                if !is_rep(*id) {
                    return Err(fault(
                        format!("{path}.to.pool[{j}]"),
                        "is not a rep of this workspace",
                    ));
                }
            }
        }
    }
    Ok(())
}
