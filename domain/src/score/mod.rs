//! Account scoring (DESIGN.md, "Scoring"): fit, engagement, intent and committee coverage,
//! blended into a 0–100 total that always comes with the contributions that add up to it.
//!
//! Pure: callers pass the account's facts, its aggregated activity ([`ContactActivity`]), its
//! committee, a validated [`ScoringModel`] and `now`. Same inputs, same bits: contacts are
//! ranked by a total order with id tie-breaks and everything else is iterated in a fixed
//! order.
//!
//! Two curves shape the numbers:
//! - a contact's engagement is capped (`contactCap`) before its seniority multiplier, and the
//!   account rolls contacts up with geometric weights `rollupRatio^rank` (most engaged
//!   first), so with the default ratio ½ no crowd of contacts can add more than twice the best
//!   one — fifty interns opening e-mails cannot outweigh three engaged executives;
//! - the rolled-up points x (and the decayed intent points) map to 0–100 through
//!   100·(1 − e^(−x/scale)): strictly increasing (more activity always counts), linear near 0
//!   (slope 100/scale) and saturating without a hard ceiling that would flatten the top. The
//!   default engagement scale, 40, puts one fresh demo request by a C-level contact
//!   (25 × 1.5 = 37.5 points) at 61, three C-level contacts who each requested a demo and
//!   opened three e-mails today (42 × 1.75 = 73.5) at 84, and the ceiling of the default
//!   roll-up (60 × 2 = 120 points) at 95, while any crowd of individual contributors (at most
//!   20 points each, so under 40 rolled up) stays below 64. The default intent scale, 30 with
//!   10 points a surge, puts one fresh surge at 28 and five at 81.
//!
//! Breakdowns: where a value was clamped, capped or curved, it is shared out over the raw
//! contributions in proportion (a single positive factor when their sum is positive, which
//! keeps every sign; when a negative sum is clamped to 0, the positive contributions stay and
//! the negative ones shrink to cancel them), so each component's contributions add up to it.

mod decay;
mod fit;
mod model;
mod text;

pub use decay::{
    AccountActivity, ContactActivity, Contacts, ContactsIntoIter, ContactsIter, DecayedCount,
    Event, KindCounts, KindCountsIter, aggregate,
};
pub use model::{
    FitCondition, FitRule, MAX_FIT_RULES, MAX_POINTS, MAX_RULE_NAME, ScoringModel,
    SeniorityMultipliers, Thresholds, Weights,
};

use serde::{Deserialize, Serialize};

use crate::committee;
use crate::value::{BuyingRole, ContactId, CountryCode, EngagementKind, Seniority, Timestamp};

/// The account attributes fit rules look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountFacts {
    /// Free text, compared ignoring case.
    pub industry: Option<String>,
    /// Head count.
    pub employee_count: Option<i64>,
    /// In the workspace's currency.
    pub annual_revenue: Option<f64>,
    /// Headquarters country.
    pub country: Option<CountryCode>,
    /// Sales region (free text such as `EMEA`), compared ignoring case.
    pub region: Option<String>,
    /// Technologies the account uses, compared ignoring case.
    pub technologies: Vec<String>,
}

/// One contact of the account, with what scoring needs of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactEngagement {
    /// Ranks ties and matches committee members.
    pub id: ContactId,
    /// Names the contact in breakdowns (`EMAIL_OPEN by jane@acme.io`): the e-mail address.
    pub label: String,
    /// `None` when not known; the model has a multiplier for that too.
    pub seniority: Option<Seniority>,
    /// The contact's decayed event counts.
    pub activity: ContactActivity,
}

/// The part of the score a contribution explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Component {
    /// Firmographic and technographic rules.
    Fit,
    /// Contacts' decayed events, rolled up.
    Engagement,
    /// Account-level intent signals.
    Intent,
    /// The coverage bonus added to the total.
    Committee,
}

impl Component {
    /// The GraphQL spelling, e.g. `ENGAGEMENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fit => "FIT",
            Self::Engagement => "ENGAGEMENT",
            Self::Intent => "INTENT",
            Self::Committee => "COMMITTEE",
        }
    }
}

/// One line of a score's explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Which component's value this line is part of.
    pub component: Component,
    /// What earned the points: `rule:<name>`, `EMAIL_OPEN by jane@acme.io`, `INTENT_SURGE`
    /// or `role:CHAMPION`.
    pub source: String,
    /// Points in the component's own 0–100 scale (for `Committee`, bonus points added to the
    /// total); one component's contributions add up to it.
    pub points: f64,
    /// How the points were reached, for people.
    pub detail: String,
}

/// An account's score and its explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountScore {
    /// 0–100: clamp(w_fit·fit + w_engagement·engagement + w_intent·intent
    /// + coverage_bonus·committee_coverage).
    pub total: f64,
    /// 0–100.
    pub fit: f64,
    /// 0–100.
    pub engagement: f64,
    /// 0–100.
    pub intent: f64,
    /// 0–1: share of the required roles held by engaged members.
    pub committee_coverage: f64,
    /// Fit rules in model order, then engagement by contact rank and kind, intent, then the
    /// required roles in model order (missing ones at 0 points).
    pub breakdown: Vec<Contribution>,
}

/// Never panics, unlike `f64::clamp` with a NaN bound; a NaN `x` gives `lo`.
fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

/// 100·(1 − e^(−x/scale)) for x > 0, else 0.
fn saturate(x: f64, scale: f64) -> f64 {
    if x > 0.0 {
        clamp(-100.0 * (-x / scale).exp_m1(), 0.0, 100.0)
    } else {
        0.0
    }
}

/// Factors that share `target` among raw contributions (see the module docs).
#[derive(Debug, Clone, Copy)]
struct Share {
    positive: f64,
    negative: f64,
}

impl Share {
    fn new(raw: impl Iterator<Item = f64> + Clone, target: f64) -> Self {
        let sum: f64 = raw.clone().sum();
        if sum > 0.0 {
            let f = target / sum;
            return Self {
                positive: f,
                negative: f,
            };
        }
        let pos: f64 = raw.clone().filter(|r| *r > 0.0).sum();
        let neg: f64 = -raw.filter(|r| *r < 0.0).sum::<f64>();
        if neg > 0.0 && pos >= target {
            Self {
                positive: 1.0,
                negative: (pos - target) / neg,
            }
        } else {
            // Only all-zero contributions get here, whose target the engine makes 0.
            Self {
                positive: 1.0,
                negative: 1.0,
            }
        }
    }

    fn apply(self, raw: f64) -> f64 {
        if raw < 0.0 {
            raw * self.negative
        } else {
            raw * self.positive
        }
    }
}

/// Engagement points by kind, indexed by `kind as usize`: one lookup table per scoring call
/// instead of a map lookup per (contact, kind).
type PointTable = [f64; EngagementKind::ALL.len()];

fn point_table(model: &ScoringModel) -> PointTable {
    let mut table = [0.0; EngagementKind::ALL.len()];
    for (kind, points) in &model.engagement_points {
        if !kind.is_account_level() {
            table[*kind as usize] = *points;
        }
    }
    table
}

/// Calls `each(kind, decayed count, raw points)` for every kind with points and events, in
/// kind order, and returns the raw sum.
fn raw_points(
    activity: &ContactActivity,
    table: &PointTable,
    half_life_days: f64,
    now: Timestamp,
    mut each: impl FnMut(EngagementKind, f64, f64),
) -> f64 {
    let mut sum = 0.0;
    for (kind, count) in &activity.per_kind {
        let points = table[kind as usize];
        if points == 0.0 {
            continue;
        }
        let n = count.at(now, half_life_days);
        let raw = points * n;
        if raw != 0.0 {
            sum += raw;
            each(kind, n, raw);
        }
    }
    sum
}

/// A contact's engagement as of `now`: clamp(Σ points·decayed count, 0, contactCap) × the
/// seniority multiplier; 0 to contactCap × the largest multiplier (60 by default). What the
/// API shows as `Contact.engagementScore`, and what the account roll-up ranks.
pub fn contact_engagement(
    activity: &ContactActivity,
    seniority: Option<Seniority>,
    model: &ScoringModel,
    now: Timestamp,
) -> f64 {
    let table = point_table(model);
    let sum = raw_points(activity, &table, model.half_life_days, now, |_, _, _| {});
    clamp(sum, 0.0, model.contact_cap) * model.seniority_multipliers.get(seniority)
}

/// The latest event of a kind worth positive points: what makes a committee member engaged.
fn last_positive_engagement(activity: &ContactActivity, table: &PointTable) -> Option<Timestamp> {
    activity
        .per_kind
        .iter()
        .filter(|(kind, _)| table[*kind as usize] > 0.0)
        .map(|(_, count)| count.reference)
        .max()
}

/// Scores one account as of `now` under `model`, which must have passed
/// [`ScoringModel::validate`]. `intent` is the account's decayed `INTENT_SURGE` count;
/// `committee` lists members of the account's buying committees with their roles (a contact
/// may appear under several roles).
pub fn score(
    account: &AccountFacts,
    contacts: &[ContactEngagement],
    intent: &DecayedCount,
    committee: &[(ContactId, BuyingRole)],
    model: &ScoringModel,
    now: Timestamp,
) -> AccountScore {
    score_with(account, contacts, intent, committee, model, now, true)
}

/// [`score`] without the breakdown (left empty): the same numbers bit for bit, several times
/// faster, for rescoring many accounts whose explanations are rebuilt only when read.
pub fn score_summary(
    account: &AccountFacts,
    contacts: &[ContactEngagement],
    intent: &DecayedCount,
    committee: &[(ContactId, BuyingRole)],
    model: &ScoringModel,
    now: Timestamp,
) -> AccountScore {
    score_with(account, contacts, intent, committee, model, now, false)
}

/// `explain` decides whether contributions are built; every number is computed the same way
/// either way.
fn score_with(
    account: &AccountFacts,
    contacts: &[ContactEngagement],
    intent: &DecayedCount,
    committee: &[(ContactId, BuyingRole)],
    model: &ScoringModel,
    now: Timestamp,
    explain: bool,
) -> AccountScore {
    let table = point_table(model);
    let mut breakdown = Vec::new();
    let out = explain.then_some(&mut breakdown);
    let (fit, out) = fit_component(account, model, out);
    let (engagement, out) = engagement_component(contacts, model, &table, now, out);
    let (intent, out) = intent_component(intent, model, now, out);
    let coverage = committee_component(contacts, committee, model, &table, now, out);
    let w = &model.weights;
    let total = clamp(
        w.fit * fit
            + w.engagement * engagement
            + w.intent * intent
            + model.coverage_bonus * coverage,
        0.0,
        100.0,
    );
    AccountScore {
        total,
        fit,
        engagement,
        intent,
        committee_coverage: coverage,
        breakdown,
    }
}

/// The explanation being built, if one is wanted; each component hands it on to the next.
type Out<'a> = Option<&'a mut Vec<Contribution>>;

fn fit_component<'a>(account: &AccountFacts, model: &ScoringModel, out: Out<'a>) -> (f64, Out<'a>) {
    let Some(out) = out else {
        // Rule order and summation as below, so both paths agree bit for bit.
        let raw: f64 = model
            .fit_rules
            .iter()
            .filter(|r| r.when.matches(account))
            .map(|r| r.points)
            .sum();
        return (clamp(raw, 0.0, 100.0), None);
    };
    let matched: Vec<&FitRule> = model
        .fit_rules
        .iter()
        .filter(|r| r.when.matches(account))
        .collect();
    let raw: f64 = matched.iter().map(|r| r.points).sum();
    let fit = clamp(raw, 0.0, 100.0);
    let share = Share::new(matched.iter().map(|r| r.points), fit);
    for rule in matched {
        let points = share.apply(rule.points);
        let mut detail = rule.when.evidence(account);
        if points != rule.points {
            detail.push_str(&format!(
                "; {} pts scaled to keep fit within 0–100",
                rule.points
            ));
        }
        out.push(Contribution {
            component: Component::Fit,
            source: format!("rule:{}", rule.name),
            points,
            detail,
        });
    }
    (fit, Some(out))
}

/// One kind's raw points for one contact.
struct Item {
    kind: EngagementKind,
    count: f64,
    raw: f64,
}

/// One contact's part of the roll-up; its items are `items[start..end]`.
struct Part {
    index: usize,
    start: usize,
    end: usize,
    sum: f64,
    capped: f64,
    multiplier: f64,
    value: f64,
}

fn engagement_component<'a>(
    contacts: &[ContactEngagement],
    model: &ScoringModel,
    table: &PointTable,
    now: Timestamp,
    out: Out<'a>,
) -> (f64, Out<'a>) {
    let explain = out.is_some();
    let mut items: Vec<Item> = Vec::new();
    let mut parts: Vec<Part> = Vec::with_capacity(contacts.len());
    for (index, contact) in contacts.iter().enumerate() {
        let start = items.len();
        let sum = raw_points(
            &contact.activity,
            table,
            model.half_life_days,
            now,
            |kind, count, raw| {
                if explain {
                    items.push(Item { kind, count, raw });
                }
            },
        );
        // As `contact_engagement` computes it, so the two agree bit for bit.
        let capped = clamp(sum, 0.0, model.contact_cap);
        let multiplier = model.seniority_multipliers.get(contact.seniority);
        parts.push(Part {
            index,
            start,
            end: items.len(),
            sum,
            capped,
            multiplier,
            value: capped * multiplier,
        });
    }
    parts.sort_by(|a, b| {
        b.value
            .total_cmp(&a.value)
            .then_with(|| contacts[a.index].id.cmp(&contacts[b.index].id))
            .then(a.index.cmp(&b.index))
    });

    let mut rolled = 0.0;
    let mut weight = 1.0;
    let mut weights = Vec::with_capacity(parts.len());
    for part in &parts {
        rolled += part.value * weight;
        weights.push(weight);
        weight *= model.rollup_ratio;
    }
    let engagement = saturate(rolled, model.engagement_scale);
    let Some(out) = out else {
        return (engagement, None);
    };
    // Engagement lines, the intent line and one per role: grow the breakdown once.
    out.reserve(items.len() + model.required_roles.len() + 2);
    let curve = if rolled > 0.0 {
        engagement / rolled
    } else {
        1.0
    };

    for (rank, (part, weight)) in parts.iter().zip(weights).enumerate() {
        let mine = &items[part.start..part.end];
        if mine.is_empty() {
            continue;
        }
        let contact = &contacts[part.index];
        let share = Share::new(mine.iter().map(|i| i.raw), part.capped);
        let scale = part.multiplier * weight * curve;
        // The part of every line that is the same for the contact.
        let mut tail = String::with_capacity(64);
        tail.push_str(" pts; ");
        tail.push_str(
            contact
                .seniority
                .map_or("unknown seniority", Seniority::as_str),
        );
        tail.push_str(" ×");
        text::push_num(&mut tail, part.multiplier);
        tail.push_str("; rank ");
        text::push_uint(&mut tail, rank as u64 + 1);
        if part.sum > model.contact_cap {
            tail.push_str("; contact capped at ");
            text::push_num(&mut tail, model.contact_cap);
        } else if part.sum < 0.0 {
            tail.push_str("; contact net negative, counts 0");
        }
        for item in mine {
            let kind = item.kind.as_str();
            let mut source = String::with_capacity(kind.len() + 4 + contact.label.len());
            source.push_str(kind);
            source.push_str(" by ");
            source.push_str(&contact.label);
            let mut detail = String::with_capacity(24 + tail.len());
            text::push_num(&mut detail, item.count);
            detail.push_str(" decayed × ");
            text::push_num(&mut detail, table[item.kind as usize]);
            detail.push_str(&tail);
            out.push(Contribution {
                component: Component::Engagement,
                source,
                points: share.apply(item.raw) * scale,
                detail,
            });
        }
    }
    (engagement, Some(out))
}

fn intent_component<'a>(
    intent: &DecayedCount,
    model: &ScoringModel,
    now: Timestamp,
    out: Out<'a>,
) -> (f64, Out<'a>) {
    let count = intent.at(now, model.half_life_days);
    let raw = count * model.intent_points;
    let value = saturate(raw, model.intent_scale);
    let Some(out) = out else {
        return (value, None);
    };
    if count > 0.0 {
        out.push(Contribution {
            component: Component::Intent,
            source: EngagementKind::IntentSurge.as_str().to_owned(),
            points: value,
            detail: format!(
                "{count:.2} decayed surges × {} pts = {raw:.2}, on a curve of scale {}",
                model.intent_points, model.intent_scale
            ),
        });
    }
    (value, Some(out))
}

/// Returns the coverage share (0–1) and adds one contribution per required role.
fn committee_component(
    contacts: &[ContactEngagement],
    committee: &[(ContactId, BuyingRole)],
    model: &ScoringModel,
    table: &PointTable,
    now: Timestamp,
    out: Out<'_>,
) -> f64 {
    let window = model.engaged_window_days;
    // Each engaged member: (role, last engagement, contact id, label).
    let mut engaged: Vec<(BuyingRole, Timestamp, ContactId, &str)> = Vec::new();
    for (member, role) in committee {
        let latest = contacts
            .iter()
            .filter(|c| c.id == *member)
            .filter_map(|c| last_positive_engagement(&c.activity, table).map(|t| (t, c)))
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.label.cmp(&a.1.label)));
        if let Some((at, contact)) = latest
            && now.days_since(at) <= window
        {
            engaged.push((*role, at, contact.id, contact.label.as_str()));
        }
    }
    let coverage = committee::coverage(engaged.iter().map(|e| e.0), &model.required_roles);
    let Some(out) = out else {
        return coverage.share;
    };

    let mut wanted: Vec<BuyingRole> = Vec::with_capacity(model.required_roles.len());
    for role in &model.required_roles {
        if !wanted.contains(role) {
            wanted.push(*role);
        }
    }
    if wanted.is_empty() {
        out.push(Contribution {
            component: Component::Committee,
            source: "committee".to_owned(),
            points: model.coverage_bonus,
            detail: "the model requires no roles".to_owned(),
        });
        return coverage.share;
    }
    let per_role = model.coverage_bonus / wanted.len() as f64;
    for role in wanted {
        // The most recently engaged holder, ties by contact id: independent of input order.
        let holder = engaged
            .iter()
            .filter(|e| e.0 == role)
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.2.cmp(&a.2)));
        let (points, detail) = match holder {
            Some((_, at, _, label)) => (
                per_role,
                format!(
                    "held by {label}, engaged {:.0} days ago",
                    now.days_since(*at).max(0.0)
                ),
            ),
            None => (
                0.0,
                format!("missing: no member engaged in the last {window} days holds it"),
            ),
        };
        out.push(Contribution {
            component: Component::Committee,
            source: format!("role:{role}"),
            points,
            detail,
        });
    }
    coverage.share
}

#[cfg(test)]
mod tests;
