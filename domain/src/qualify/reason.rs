//! Why a transition happened, as data (stored as JSON) and as text for people.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::HighIntent;
use crate::value::{MILLIS_PER_DAY, Stage, Timestamp};

/// Why a stage changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Reason {
    /// Automation: every threshold and gate that decided it, in a fixed order (SQL: total,
    /// high intent, fit, coverage; demotion: the lines crossed, highest first).
    Score { checks: Vec<Check> },
    /// A person's change, with their note.
    Manual { note: String },
    /// An opportunity was created.
    OpportunityOpened,
    /// The opportunity closed.
    OpportunityClosed { won: bool },
}

/// One threshold or gate: required and actual values, and whether it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was tested, with the values.
    pub gate: Gate,
    /// Whether it held (for [`Gate::BelowMargin`]: whether the total fell below the line).
    pub held: bool,
}

/// What a [`Check`] tested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Gate {
    /// `ENGAGED`: engagement > 0.
    Engagement { actual: f64 },
    /// `MQL` or `SQL`: total ≥ `threshold`.
    Total { threshold: f64, actual: f64 },
    /// `SQL`: the latest high-intent action is at most `window_days` old (an action stamped
    /// in the future counts as just now).
    HighIntent {
        latest: Option<HighIntent>,
        /// Age of `latest` when checked.
        age_days: Option<f64>,
        window_days: f64,
    },
    /// `SQL`: fit ≥ `min`.
    Fit { min: f64, actual: f64 },
    /// `SQL`: committee coverage ≥ `min`.
    Coverage { min: f64, actual: f64 },
    /// Demotion out of `stage`: total < `threshold` − `margin`.
    BelowMargin {
        stage: Stage,
        threshold: f64,
        margin: f64,
        actual: f64,
    },
}

impl Check {
    pub(super) fn engagement(actual: f64) -> Self {
        Self {
            held: actual > 0.0,
            gate: Gate::Engagement { actual },
        }
    }

    pub(super) fn total(actual: f64, threshold: f64) -> Self {
        Self {
            held: actual >= threshold,
            gate: Gate::Total { threshold, actual },
        }
    }

    pub(super) fn high_intent(
        latest: Option<HighIntent>,
        window_days: f64,
        now: Timestamp,
    ) -> Self {
        let age_days = latest.map(|l| now.days_since(l.at).max(0.0));
        Self {
            held: age_days.is_some_and(|a| a <= window_days),
            gate: Gate::HighIntent {
                latest,
                age_days,
                window_days,
            },
        }
    }

    pub(super) fn fit(actual: f64, min: f64) -> Self {
        Self {
            held: actual >= min,
            gate: Gate::Fit { min, actual },
        }
    }

    pub(super) fn coverage(actual: f64, min: f64) -> Self {
        Self {
            held: actual >= min,
            gate: Gate::Coverage { min, actual },
        }
    }

    pub(super) fn below(stage: Stage, threshold: f64, margin: f64, actual: f64) -> Self {
        Self {
            held: actual < threshold - margin,
            gate: Gate::BelowMargin {
                stage,
                threshold,
                margin,
                actual,
            },
        }
    }
}

/// `x` to two decimals without trailing zeros (`81.2`, `80`, `0.5`), or with as many more
/// (up to six, then in full) as it takes to show it on the right side of the line it was
/// compared with: 79.999 is not ≥ 80.
fn num(x: f64, test: impl Fn(f64) -> bool) -> String {
    let mut scale = 100.0;
    for _ in 2..=6 {
        let mut rounded = (x * scale).round() / scale;
        if rounded == 0.0 {
            rounded = 0.0; // no "-0"
        }
        if test(rounded) == test(x) {
            return rounded.to_string();
        }
        scale *= 10.0;
    }
    x.to_string()
}

/// A plain number, for thresholds (as the model states them).
fn plain(x: f64) -> String {
    num(x, |_| true)
}

/// "5 min", "3 h", "1 day", "2.5 days"; `within` is the window the age was compared with.
fn age(days: f64, within: f64) -> String {
    let ms = days * MILLIS_PER_DAY as f64;
    if days < 1.0 / 24.0 {
        format!("{} min", (ms / 60_000.0).floor())
    } else if days < 1.0 {
        format!("{} h", (ms / 3_600_000.0).floor())
    } else {
        let d = num(days, |v| v <= within);
        if d == "1" {
            "1 day".to_owned()
        } else {
            format!("{d} days")
        }
    }
}

fn cmp(held: bool, yes: &'static str, no: &'static str) -> &'static str {
    if held { yes } else { no }
}

impl fmt::Display for Check {
    /// E.g. `total 81.2 ≥ 80`, `DEMO_REQUEST 2 days ago (window 30 days)`,
    /// `total 68.5 < 70 (SQL 80 − margin 10)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.held;
        match &self.gate {
            Gate::Engagement { actual } if held => {
                write!(f, "engagement {} > 0", num(*actual, |v| v > 0.0))
            }
            Gate::Engagement { .. } => f.write_str("no engagement"),
            Gate::Total { threshold, actual } => write!(
                f,
                "total {} {} {}",
                num(*actual, |v| v >= *threshold),
                cmp(held, "≥", "<"),
                plain(*threshold)
            ),
            Gate::HighIntent {
                latest,
                age_days,
                window_days,
            } => {
                let window = plain(*window_days);
                match (latest, age_days) {
                    (Some(l), Some(a)) if held => write!(
                        f,
                        "{} {} ago (window {window} days)",
                        l.kind,
                        age(*a, *window_days)
                    ),
                    (Some(l), Some(a)) => write!(
                        f,
                        "no high-intent action within {window} days (latest {} {} ago)",
                        l.kind,
                        age(*a, *window_days)
                    ),
                    _ => write!(f, "no high-intent action within {window} days"),
                }
            }
            Gate::Fit { min, actual } => write!(
                f,
                "fit {} {} {}",
                num(*actual, |v| v >= *min),
                cmp(held, "≥", "<"),
                plain(*min)
            ),
            Gate::Coverage { min, actual } => write!(
                f,
                "coverage {} {} {}",
                num(*actual, |v| v >= *min),
                cmp(held, "≥", "<"),
                plain(*min)
            ),
            Gate::BelowMargin {
                stage,
                threshold,
                margin,
                actual,
            } => {
                let line = threshold - margin;
                write!(
                    f,
                    "total {} {} {} ({stage} {} − margin {})",
                    num(*actual, |v| v < line),
                    cmp(held, "<", "≥"),
                    plain(line),
                    plain(*threshold),
                    plain(*margin)
                )
            }
        }
    }
}

impl fmt::Display for Reason {
    /// The checks joined by `; `, the person's note, or what happened to the opportunity.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Score { checks } => {
                for (i, c) in checks.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    c.fmt(f)?;
                }
                Ok(())
            }
            Self::Manual { note } => f.write_str(note),
            Self::OpportunityOpened => f.write_str("opportunity opened"),
            Self::OpportunityClosed { won: true } => f.write_str("opportunity won"),
            Self::OpportunityClosed { won: false } => f.write_str("opportunity lost"),
        }
    }
}
