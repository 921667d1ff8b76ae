//! Pipeline figures from durations and counts: percentiles, rates and velocity. Every figure
//! without the data to define it is `None` (a "no answer" the API shows as null), never NaN
//! and never a division by zero.

/// The `p`-th percentile (0–100) of `values`, interpolated linearly between the two nearest
/// ranks (PostgreSQL's `percentile_cont`). `None` for no values; non-finite values are
/// ignored.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let (a, b) = (v[lo], v[hi]);
    Some(a + (b - a) * (rank - lo as f64))
}

/// How long something took, over a set of cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Durations {
    pub count: usize,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl Durations {
    pub fn of(values: &[f64]) -> Self {
        Self {
            count: values.len(),
            median: percentile(values, 50.0),
            p90: percentile(values, 90.0),
        }
    }
}

/// `part / whole`, `None` when `whole` is zero.
pub fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole != 0.0 && part.is_finite() && whole.is_finite()).then(|| part / whole)
}

/// Pipeline velocity, value per day: opportunities × win rate × average deal size ÷ average
/// cycle days. `None` when any factor is unknown or the cycle is not longer than zero.
pub fn velocity(
    opportunities: u64,
    win_rate: Option<f64>,
    average_deal: Option<f64>,
    average_cycle_days: Option<f64>,
) -> Option<f64> {
    let cycle = average_cycle_days.filter(|d| *d > 0.0)?;
    Some(opportunities as f64 * win_rate? * average_deal? / cycle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_percentile_cont() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(percentile(&v, 50.0), Some(2.5));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(4.0));
        assert_eq!(
            percentile(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90.0),
            Some(9.1)
        );
        assert_eq!(percentile(&[7.0], 90.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[f64::NAN], 50.0), None);
    }

    #[test]
    fn missing_data_gives_no_answer_rather_than_nan() {
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(ratio(1.0, 4.0), Some(0.25));
        assert_eq!(velocity(10, Some(0.5), Some(1000.0), Some(0.0)), None);
        assert_eq!(velocity(10, None, Some(1000.0), Some(10.0)), None);
        assert_eq!(
            velocity(10, Some(0.5), Some(1000.0), Some(10.0)),
            Some(500.0)
        );
        assert_eq!(
            Durations::of(&[]),
            Durations {
                count: 0,
                median: None,
                p90: None
            }
        );
    }
}
