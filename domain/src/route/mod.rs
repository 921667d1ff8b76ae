//! Routing (DESIGN.md, "Routing"): which rep works a new SQL, and by when.
//!
//! **Rules, first match.** Rules are tried in order. A rule applies to the accounts its
//! [`Scope`] matches and names candidate reps through its [`Target`] (the current owner, the
//! reps whose territory covers the account, a pool, the reps with the account's industry). The
//! first rule with an *eligible* candidate — active and under capacity — decides; a rule that
//! does not apply, or whose candidates are all inactive or full, falls through to the next.
//! No such rule: the unassigned queue. First match rather than narrowing, so that an
//! assignment names the one rule that chose it; managers order rules from the most specific
//! (keep the owner, a tier-1 pool for a region) to the broadest (territory, a catch-all pool).
//!
//! **Among the deciding rule's eligible candidates**, the least loaded — the lowest share of
//! capacity in use (`load / capacity`, compared exactly), so a rep with half the capacity gets
//! about half the work — then the one longest without a routed assignment (the lowest
//! [`Rep::turn`]: round robin that stays fair whatever subset of reps a rule names), then the
//! lowest id. Same reps, rules and account, same decision.
//!
//! Capacity is a hard limit, also for the current owner: an owner at capacity falls through
//! to the next rule rather than going over it.

mod sla;
#[cfg(test)]
mod tests;
mod validate;

pub use sla::{MAX_SLA_MINUTES, SlaPolicy};
pub use validate::{MAX_CAPACITY, MAX_RULE_NAME, MAX_RULES, validate_rules};

use std::cmp::Ordering;

use crate::value::{CountryCode, Tier, Timestamp, UserId};

/// A rep as routing sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rep {
    /// Unique among the reps routed over.
    pub id: UserId,
    /// Inactive reps get nothing.
    pub active: bool,
    /// Most open assignments at once; 0 takes none (an active rep who is off, say).
    pub capacity: u32,
    /// Open assignments now; at or over `capacity` the rep is full.
    pub load: u32,
    /// Territory: countries covered.
    pub countries: Vec<CountryCode>,
    /// Territory: regions covered (free text such as `EMEA`, compared ignoring case).
    pub regions: Vec<String>,
    /// Industries the rep knows (compared ignoring case).
    pub industries: Vec<String>,
    /// Round-robin memory: the [`Decision::turn`] of this rep's latest routed assignment, 0 if
    /// none. The caller stores it with the rep.
    pub turn: u64,
}

impl Rep {
    /// Whether the rep's territory includes the account's country or its region.
    pub fn covers(&self, account: &RoutingAccount) -> bool {
        account.country.is_some_and(|c| self.countries.contains(&c))
            || account
                .region
                .as_deref()
                .is_some_and(|r| listed(r, &self.regions))
    }

    /// Whether the rep lists `industry`.
    pub fn knows(&self, industry: &str) -> bool {
        listed(industry, &self.industries)
    }
}

/// What routing reads of an account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingAccount {
    /// Headquarters country.
    pub country: Option<CountryCode>,
    /// Sales region, compared ignoring case.
    pub region: Option<String>,
    /// Industry, compared ignoring case.
    pub industry: Option<String>,
    /// ABM tier; also picks the SLA.
    pub tier: Option<Tier>,
    /// The rep who owns the account, if any.
    pub owner: Option<UserId>,
}

/// One routing rule: for the accounts `when` matches, try the reps `to` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRule {
    /// Unique; names the rule in assignments ("rule that chose it").
    pub name: String,
    /// Which accounts the rule applies to.
    pub when: Scope,
    /// Which reps it offers them to.
    pub to: Target,
}

/// Account conditions of a rule: every non-empty list must contain the account's value (an
/// account without the attribute does not match it); an empty list matches any account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Tier in these (e.g. `[1]` for a tier-1 pool).
    pub tiers: Vec<Tier>,
    /// Country in these.
    pub countries: Vec<CountryCode>,
    /// Region in these, ignoring case.
    pub regions: Vec<String>,
    /// Industry in these, ignoring case.
    pub industries: Vec<String>,
}

impl Scope {
    /// Whether the rule applies to `account`.
    pub fn matches(&self, account: &RoutingAccount) -> bool {
        (self.tiers.is_empty() || account.tier.is_some_and(|t| self.tiers.contains(&t)))
            && (self.countries.is_empty()
                || account.country.is_some_and(|c| self.countries.contains(&c)))
            && (self.regions.is_empty()
                || account
                    .region
                    .as_deref()
                    .is_some_and(|r| listed(r, &self.regions)))
            && (self.industries.is_empty()
                || account
                    .industry
                    .as_deref()
                    .is_some_and(|i| listed(i, &self.industries)))
    }
}

/// The reps a rule offers an account to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The account's current owner (so a returning account keeps its rep).
    Owner,
    /// Reps whose territory covers the account ([`Rep::covers`]).
    Territory,
    /// These reps (with a tier scope: "tier → a rep pool"). Ids that are not among the reps
    /// routed over are skipped.
    Pool(Vec<UserId>),
    /// Reps who know the account's industry ([`Rep::knows`]).
    Industry,
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Self::Owner => "current owner".to_owned(),
            Self::Territory => "territory".to_owned(),
            Self::Pool(reps) => format!("pool of {}", reps.len()),
            Self::Industry => "industry expertise".to_owned(),
        }
    }
}

/// Where an account goes, and by when it must be touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The chosen rep; `None`: the unassigned queue.
    pub rep: Option<UserId>,
    /// Name of the rule that chose the rep; `None` when unassigned.
    pub rule: Option<String>,
    /// For people: the rule, and why this rep among its candidates, or why nobody.
    pub reason: String,
    /// First touch due ([`SlaPolicy::due`] from `now`); the queue's clock runs too.
    pub sla_due: Timestamp,
    /// The chosen rep's new [`Rep::turn`] (one more than any rep's); 0 when unassigned.
    pub turn: u64,
}

/// Case-insensitive equality of trimmed text, as fit rules compare (ASCII without allocating).
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a.eq_ignore_ascii_case(b)
        || (!(a.is_ascii() && b.is_ascii()) && a.to_lowercase() == b.to_lowercase())
}

fn listed(value: &str, list: &[String]) -> bool {
    list.iter().any(|w| same_text(value, w))
}

/// The best candidate of a rule, and how many it was chosen among.
struct Pick {
    index: usize,
    eligible: usize,
    /// Eligible candidates exactly as loaded as the pick (the pick included).
    tied: usize,
}

/// Routes accounts over one set of reps and rules, keeping the loads and turns of its own
/// assignments, so a batch of promotions is routed one after the other without reloading
/// (`route`, then `assign` the decision taken). Building one sorts the rep ids and resolves
/// the pools (tens of microseconds for 500 reps); a decision then scans the rules, and only
/// the deciding rule's candidates.
#[derive(Debug, Clone)]
pub struct Router<'a> {
    reps: &'a [Rep],
    rules: &'a [RoutingRule],
    /// Rep ids in order, with their index in `reps`: owner and pool lookups.
    ids: Vec<(UserId, usize)>,
    /// Per rule: the pool's reps as indices (empty for the other targets).
    pools: Vec<Vec<usize>>,
    load: Vec<u32>,
    turn: Vec<u64>,
    last_turn: u64,
}

impl<'a> Router<'a> {
    /// A router over `reps` (loads and turns as stored) and `rules`, which need not have been
    /// validated: pool ids that are not among `reps` are skipped.
    pub fn new(reps: &'a [Rep], rules: &'a [RoutingRule]) -> Self {
        let mut ids: Vec<(UserId, usize)> =
            reps.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        ids.sort_unstable();
        let mut router = Self {
            reps,
            rules,
            ids,
            pools: Vec::with_capacity(rules.len()),
            load: reps.iter().map(|r| r.load).collect(),
            turn: reps.iter().map(|r| r.turn).collect(),
            last_turn: reps.iter().map(|r| r.turn).max().unwrap_or(0),
        };
        for rule in rules {
            let pool = match &rule.to {
                Target::Pool(members) => {
                    let mut pool: Vec<usize> = members
                        .iter()
                        .filter_map(|id| router.index_of(*id))
                        .collect();
                    // A rep listed twice is still one candidate.
                    pool.sort_unstable();
                    pool.dedup();
                    pool
                }
                _ => Vec::new(),
            };
            router.pools.push(pool);
        }
        router
    }

    /// The index of rep `id` (the first, were ids repeated).
    fn index_of(&self, id: UserId) -> Option<usize> {
        let at = self.ids.partition_point(|(i, _)| *i < id);
        self.ids
            .get(at)
            .filter(|(i, _)| *i == id)
            .map(|(_, index)| *index)
    }

    fn eligible(&self, i: usize) -> bool {
        self.reps[i].active && self.load[i] < self.reps[i].capacity
    }

    /// Lighter first: load share, then turn, then id.
    fn compare(&self, a: usize, b: usize) -> Ordering {
        self.share(a, b)
            .then(self.turn[a].cmp(&self.turn[b]))
            .then(self.reps[a].id.cmp(&self.reps[b].id))
    }

    /// load_a / capacity_a against load_b / capacity_b, exactly.
    fn share(&self, a: usize, b: usize) -> Ordering {
        let (ra, rb) = (&self.reps[a], &self.reps[b]);
        (u64::from(self.load[a]) * u64::from(rb.capacity))
            .cmp(&(u64::from(self.load[b]) * u64::from(ra.capacity)))
    }

    fn best(&self, candidates: impl Iterator<Item = usize>) -> Option<Pick> {
        let mut pick: Option<Pick> = None;
        for i in candidates.filter(|i| self.eligible(*i)) {
            pick = Some(match pick {
                None => Pick {
                    index: i,
                    eligible: 1,
                    tied: 1,
                },
                Some(p) => {
                    let share = self.share(i, p.index);
                    let tied = match share {
                        Ordering::Less => 1,
                        Ordering::Equal => p.tied + 1,
                        Ordering::Greater => p.tied,
                    };
                    let index = if self.compare(i, p.index) == Ordering::Less {
                        i
                    } else {
                        p.index
                    };
                    Pick {
                        index,
                        eligible: p.eligible + 1,
                        tied,
                    }
                }
            });
        }
        pick
    }

    fn all_where(&self, test: impl Fn(&Rep) -> bool) -> impl Iterator<Item = usize> {
        self.reps
            .iter()
            .enumerate()
            .filter(move |(_, r)| test(r))
            .map(|(i, _)| i)
    }

    /// Where `account` goes if promoted at `now` (module docs for the rules). Reads only:
    /// [`Router::assign`] records the decision once it is taken.
    pub fn route(&self, account: &RoutingAccount, sla: &SlaPolicy, now: Timestamp) -> Decision {
        let sla_due = sla.due(account.tier, now);
        let mut applied = 0;
        for (r, rule) in self.rules.iter().enumerate() {
            if !rule.when.matches(account) {
                continue;
            }
            applied += 1;
            let pick = match &rule.to {
                Target::Owner => account
                    .owner
                    .and_then(|o| self.index_of(o))
                    .filter(|i| self.eligible(*i))
                    .map(|index| Pick {
                        index,
                        eligible: 1,
                        tied: 1,
                    }),
                Target::Territory => self.best(self.all_where(|rep| rep.covers(account))),
                Target::Industry => account
                    .industry
                    .as_deref()
                    .and_then(|ind| self.best(self.all_where(|rep| rep.knows(ind)))),
                Target::Pool(_) => self.best(self.pools[r].iter().copied()),
            };
            if let Some(p) = pick {
                return self.decision(rule, &p, sla_due);
            }
        }
        let reason = if applied == 0 {
            "no rule applies: unassigned queue".to_owned()
        } else {
            format!(
                "no eligible rep under the {applied} rule(s) that apply (inactive or at \
                 capacity): unassigned queue"
            )
        };
        Decision {
            rep: None,
            rule: None,
            reason,
            sla_due,
            turn: 0,
        }
    }

    fn decision(&self, rule: &RoutingRule, p: &Pick, sla_due: Timestamp) -> Decision {
        let i = p.index;
        let rep = &self.reps[i];
        let mut reason = format!("rule \"{}\" ({})", rule.name, rule.to.describe());
        if !matches!(rule.to, Target::Owner) {
            reason.push_str(&format!(
                ": least loaded of {} eligible ({}/{} open)",
                p.eligible, self.load[i], rep.capacity
            ));
            if p.tied > 1 {
                reason.push_str(&format!(
                    ", longest without an assignment of {} equally loaded",
                    p.tied
                ));
            }
        }
        Decision {
            rep: Some(rep.id),
            rule: Some(rule.name.clone()),
            reason,
            sla_due,
            turn: self.last_turn.saturating_add(1),
        }
    }

    /// Records a decision taken: the rep's load grows by one and the turn becomes theirs.
    /// Does nothing for the unassigned queue or a rep not routed over.
    pub fn assign(&mut self, decision: &Decision) {
        if let Some(i) = decision.rep.and_then(|id| self.index_of(id)) {
            self.load[i] = self.load[i].saturating_add(1);
            self.turn[i] = decision.turn;
            self.last_turn = self.last_turn.max(decision.turn);
        }
    }

    /// An assignment of `rep` closed (or was reassigned away): their load shrinks by one.
    pub fn release(&mut self, rep: UserId) {
        if let Some(i) = self.index_of(rep) {
            self.load[i] = self.load[i].saturating_sub(1);
        }
    }

    /// The current load of `rep`, with the assignments and releases recorded here.
    pub fn load(&self, rep: UserId) -> Option<u32> {
        self.index_of(rep).map(|i| self.load[i])
    }
}

/// One decision: [`Router::route`] on a router built for it.
pub fn route(
    account: &RoutingAccount,
    reps: &[Rep],
    rules: &[RoutingRule],
    sla: &SlaPolicy,
    now: Timestamp,
) -> Decision {
    Router::new(reps, rules).route(account, sla, now)
}
