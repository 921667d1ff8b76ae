//! Qualification (DESIGN.md, "Qualification"): where an account stands in the funnel and which
//! stage transitions automation and people may make. Every transition carries its [`Reason`].
//!
//! Automation ([`evaluate`]) moves accounts only among `TARGET`, `ENGAGED`, `MQL` and `SQL`,
//! from the current score and the published model's [`Thresholds`]:
//! - **Promotion** goes straight to the highest stage whose entry rules hold, so one event can
//!   take a `TARGET` account to `SQL`:
//!   - `SQL`: total ≥ `sql`, **and** a high-intent action (see
//!     [`EngagementKind::is_high_intent`]) at most `highIntentWindowDays` old, **and** fit ≥
//!     `sqlMinFit`, **and** committee coverage ≥ `sqlMinCoverage`;
//!   - `MQL`: total ≥ `mql`;
//!   - `ENGAGED`: engagement > 0, i.e. some contact's decayed activity is net positive (an
//!     account whose only events are bounces and unsubscribes has not engaged).
//! - **Demotion** looks at the total only, a margin below the line (hysteresis, so a score
//!   hovering at a threshold does not flap): an `SQL` falls when total < `sql` −
//!   `demotionMargin`, an `MQL` when total < `mql` − margin, to the highest stage whose line
//!   less the margin the total still clears (`SQL` → `MQL`, or on to `ENGAGED`). The other SQL
//!   gates are entry conditions: a high-intent action ageing out of its window, or fit or
//!   coverage dropping, does not demote an SQL a rep is already working. `ENGAGED` never falls
//!   back to `TARGET`: an account that engaged is no longer untouched.
//! - **Never** out of `OPPORTUNITY`, `WON`, `LOST` or `DISQUALIFIED`: opportunities and people
//!   own those stages.
//! - **A stage a person set** ([`Origin::Manual`]) is a floor: automation never demotes it,
//!   but may still promote past it (a reopened or hand-qualified account can still become an
//!   SQL by its score). A stage automation reached is [`Origin::Automatic`] again, with the
//!   usual hysteresis. So a person who moves an account down (a correction) sees it promoted
//!   again if it meets a higher stage's rules; to keep it out, disqualify it.
//!
//! People use [`manual`] (qualify, recycle, disqualify, reopen), [`open_opportunity`] and
//! [`close_opportunity`]; `OPPORTUNITY`, `WON` and `LOST` are reached only through the last two.

mod reason;
#[cfg(test)]
mod tests;

pub use reason::{Check, Gate, Reason};

use serde::{Deserialize, Serialize};

use crate::score::{AccountScore, ContactActivity, Thresholds};
use crate::value::{EngagementKind, Invalid, Stage, Timestamp, UserId, non_empty};

/// Longest note a person may give for a stage change, in characters.
pub const MAX_NOTE: usize = 1_000;

/// Who made a transition: the stored `actor` (a user, or `system`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// Automation: [`evaluate`].
    System,
    /// A person.
    User(UserId),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System => f.write_str("system"),
            Self::User(id) => id.fmt(f),
        }
    }
}

/// How the current stage was set, which bounds what automation may do with it (module docs).
/// It is the origin of the account's latest transition ([`Transition::origin`]); an account
/// with none is `Automatic` at `TARGET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// By [`evaluate`], or never changed.
    Automatic,
    /// By a person (or an opportunity).
    Manual,
}

/// The latest high-intent action on an account: what the SQL window gate looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighIntent {
    /// `DEMO_REQUEST`, `CONTACT_SALES` or `PRICING_PAGE_VIEW`.
    pub kind: EngagementKind,
    /// When it happened.
    pub at: Timestamp,
}

/// What qualification reads of an account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    /// Score total, 0–100.
    pub total: f64,
    /// Fit, 0–100.
    pub fit: f64,
    /// Engagement, 0–100.
    pub engagement: f64,
    /// Committee coverage, 0–1.
    pub committee_coverage: f64,
    /// The latest high-intent action, if any ever happened.
    pub high_intent: Option<HighIntent>,
}

impl Signals {
    /// The signals of a computed score and the account's latest high-intent action.
    pub fn new(score: &AccountScore, high_intent: Option<HighIntent>) -> Self {
        Self {
            total: score.total,
            fit: score.fit,
            engagement: score.engagement,
            committee_coverage: score.committee_coverage,
            high_intent,
        }
    }
}

/// The latest high-intent action among the contacts' aggregates (each kind's reference is its
/// latest event). Ties on time go to the first contact, then the first kind, in their order.
pub fn latest_high_intent<'a>(
    contacts: impl IntoIterator<Item = &'a ContactActivity>,
) -> Option<HighIntent> {
    let mut latest: Option<HighIntent> = None;
    for activity in contacts {
        for (kind, count) in &activity.per_kind {
            let newer = latest.is_none_or(|l| count.reference > l.at);
            if kind.is_high_intent() && count.reference != Timestamp::MIN && newer {
                latest = Some(HighIntent {
                    kind,
                    at: count.reference,
                });
            }
        }
    }
    latest
}

/// A change of stage: the stored `from`, `to`, `at`, `actor` and `reason` (the caller adds
/// the account and the model version).
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// Stage before.
    pub from: Stage,
    /// Stage after.
    pub to: Stage,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: Actor,
    /// Why: the checks that decided it, or the person's note.
    pub reason: Reason,
}

impl Transition {
    /// How the stage this transition leads to was set: pass it to the next [`evaluate`].
    pub fn origin(&self) -> Origin {
        match self.actor {
            Actor::System => Origin::Automatic,
            Actor::User(_) => Origin::Manual,
        }
    }
}

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} → {}: {}", self.from, self.to, self.reason)
    }
}

/// The stages automation moves accounts among, in funnel order (`Stage`'s `Ord` follows it).
fn is_automatic(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::Target | Stage::Engaged | Stage::Mql | Stage::Sql
    )
}

/// The automatic transition the signals call for, if any (rules in the module docs).
/// `thresholds` must have passed the scoring model's validation. A NaN signal fails every
/// check that reads it, so it neither promotes nor demotes by itself.
pub fn evaluate(
    current: Stage,
    origin: Origin,
    signals: &Signals,
    thresholds: &Thresholds,
    now: Timestamp,
) -> Option<Transition> {
    if !is_automatic(current) {
        return None;
    }
    let to = |to, checks| {
        Some(Transition {
            from: current,
            to,
            at: now,
            actor: Actor::System,
            reason: Reason::Score { checks },
        })
    };
    if current < Stage::Sql {
        let sql = sql_checks(signals, thresholds, now);
        if sql.iter().all(|c| c.held) {
            return to(Stage::Sql, sql);
        }
    }
    if current < Stage::Mql {
        let mql = Check::total(signals.total, thresholds.mql);
        if mql.held {
            return to(Stage::Mql, vec![mql]);
        }
    }
    if current < Stage::Engaged {
        let engaged = Check::engagement(signals.engagement);
        if engaged.held {
            return to(Stage::Engaged, vec![engaged]);
        }
    }
    if origin == Origin::Manual {
        return None;
    }
    let (mut stage, mut checks) = (current, Vec::new());
    for (line, threshold) in [(Stage::Sql, thresholds.sql), (Stage::Mql, thresholds.mql)] {
        if stage == line {
            let below = Check::below(line, threshold, thresholds.demotion_margin, signals.total);
            if !below.held {
                break;
            }
            checks.push(below);
            stage = if line == Stage::Sql {
                Stage::Mql
            } else {
                Stage::Engaged
            };
        }
    }
    if stage == current {
        None
    } else {
        to(stage, checks)
    }
}

/// The four SQL entry checks, in the order the reason lists them.
fn sql_checks(signals: &Signals, t: &Thresholds, now: Timestamp) -> Vec<Check> {
    vec![
        Check::total(signals.total, t.sql),
        Check::high_intent(signals.high_intent, t.high_intent_window_days, now),
        Check::fit(signals.fit, t.sql_min_fit),
        Check::coverage(signals.committee_coverage, t.sql_min_coverage),
    ]
}

/// A stage change a person or an opportunity asked for, refused with the reason why.
/// [`StageError::Note`] is the client's input at fault (field `reason`); the others are
/// conflicts with the account's current stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    #[error("the account is already {0}")]
    Unchanged(Stage),
    #[error("an account becomes OPPORTUNITY when an opportunity is created for it")]
    CreateOpportunity,
    #[error("an account becomes {0} when its opportunity is closed")]
    CloseOpportunity(Stage),
    #[error("the account has an open opportunity: close it first, or disqualify the account")]
    OpportunityOpen,
    #[error("the account is DISQUALIFIED: reopen it (set another stage) first")]
    Disqualified,
    #[error("the account has no open opportunity (it is {0})")]
    NoOpenOpportunity(Stage),
    #[error("reason {0}")]
    Note(Invalid),
}

/// A person's stage change (`setStage`), with their note. Allowed: to `DISQUALIFIED` from
/// anywhere; to `TARGET`, `ENGAGED`, `MQL` or `SQL` from any of those four (qualify, or
/// correct/recycle down), from `DISQUALIFIED` (reopen) and from `WON` or `LOST` (back into
/// the funnel). Refused: no change; `OPPORTUNITY`, `WON` and `LOST` as targets (they follow
/// an opportunity: [`open_opportunity`], [`close_opportunity`]); and leaving `OPPORTUNITY`
/// other than by disqualifying (close the opportunity instead).
pub fn manual(
    from: Stage,
    to: Stage,
    by: UserId,
    note: &str,
    at: Timestamp,
) -> Result<Transition, StageError> {
    if from == to {
        return Err(StageError::Unchanged(to));
    }
    match to {
        Stage::Opportunity => return Err(StageError::CreateOpportunity),
        Stage::Won | Stage::Lost => return Err(StageError::CloseOpportunity(to)),
        _ => {}
    }
    if from == Stage::Opportunity && to != Stage::Disqualified {
        return Err(StageError::OpportunityOpen);
    }
    let note = non_empty(note, MAX_NOTE).map_err(StageError::Note)?;
    Ok(Transition {
        from,
        to,
        at,
        actor: Actor::User(by),
        reason: Reason::Manual { note },
    })
}

/// An opportunity created for an account at `from`: to `OPPORTUNITY`. Allowed from the four
/// automatic stages (sales may open one before the score says SQL) and from `WON` or `LOST`
/// (a new deal with a customer, or a revived one); refused when one is already open
/// ([`StageError::Unchanged`]: the caller may still record a second opportunity without a
/// transition) and from `DISQUALIFIED`.
pub fn open_opportunity(from: Stage, by: UserId, at: Timestamp) -> Result<Transition, StageError> {
    match from {
        Stage::Opportunity => Err(StageError::Unchanged(from)),
        Stage::Disqualified => Err(StageError::Disqualified),
        _ => Ok(Transition {
            from,
            to: Stage::Opportunity,
            at,
            actor: Actor::User(by),
            reason: Reason::OpportunityOpened,
        }),
    }
}

/// The account's open opportunity closed: `OPPORTUNITY` → `WON` or `LOST`. With several open
/// opportunities, the caller decides when the account's stage follows (e.g. at the last).
pub fn close_opportunity(
    from: Stage,
    won: bool,
    by: UserId,
    at: Timestamp,
) -> Result<Transition, StageError> {
    if from != Stage::Opportunity {
        return Err(StageError::NoOpenOpportunity(from));
    }
    Ok(Transition {
        from,
        to: if won { Stage::Won } else { Stage::Lost },
        at,
        actor: Actor::User(by),
        reason: Reason::OpportunityClosed { won },
    })
}
