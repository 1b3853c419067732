//! Axis arithmetic: value ranges rounded to 1-2-5 steps, compact tick labels (`1.5k`),
//! and time ticks aligned to the widget's timezone.
//!
//! Inputs can be any finite `f64` and any `i64` instant, so every computation here either
//! stays finite or falls back to a plain range, and every loop is bounded: a render must
//! never hang or panic on odd data.

use crate::time::civil_from_days;

/// The most ticks an axis ever gets, whatever the data.
const MAX_TICKS: usize = 60;

/// A value axis: the drawn range and the tick values within it.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAxis {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
    pub ticks: Vec<f64>,
}

impl ValueAxis {
    /// Where `v` falls between `lo` (0) and `hi` (1). Halves keep `hi - lo` finite even
    /// when the range spans most of `f64`.
    pub fn fraction(&self, v: f64) -> f64 {
        let span = self.hi / 2.0 - self.lo / 2.0;
        if span > 0.0 {
            (v / 2.0 - self.lo / 2.0) / span
        } else {
            0.5
        }
    }
}

/// The smallest of 1, 2, 5 × 10^n that is at least `raw`; `None` when that is not a
/// usable positive finite number.
fn nice_step(raw: f64) -> Option<f64> {
    if !(raw.is_finite() && raw > 0.0) {
        return None;
    }
    let exp = raw.log10().floor();
    let base = 10f64.powf(exp);
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * base)
        .find(|s| *s >= raw * (1.0 - 1e-9))?;
    (step.is_finite() && step > 0.0).then_some(step)
}

/// Builds an axis covering `data` (min, max), honouring fixed bounds, with about
/// `target` intervals.
pub fn value_axis(
    data: Option<(f64, f64)>,
    fixed_min: Option<f64>,
    fixed_max: Option<f64>,
    target: usize,
) -> ValueAxis {
    let (dmin, dmax) = data.unwrap_or((0.0, 1.0));
    let mut lo = fixed_min.filter(|v| v.is_finite()).unwrap_or(dmin);
    let mut hi = fixed_max.filter(|v| v.is_finite()).unwrap_or(dmax);
    if fixed_min.is_some() && fixed_max.is_none() && hi <= lo {
        hi = lo + lo.abs().max(1.0);
    }
    if fixed_max.is_some() && fixed_min.is_none() && lo >= hi {
        lo = hi - hi.abs().max(1.0);
    }
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() / 2.0 };
        let (a, b) = (lo - pad, hi + pad);
        (lo, hi) = if a < b && a.is_finite() && b.is_finite() {
            (
                if fixed_min.is_some() { lo } else { a },
                if fixed_max.is_some() { hi } else { b },
            )
        } else if lo.min(0.0) < lo.max(0.0) {
            (lo.min(0.0), lo.max(0.0))
        } else {
            (-1.0, 1.0)
        };
        if lo >= hi {
            (lo, hi) = (lo.min(hi) - 1.0, lo.max(hi) + 1.0);
        }
    }
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        (lo, hi) = (0.0, 1.0);
    }
    let target = target.clamp(1, MAX_TICKS - 2) as f64;
    let span = hi - lo;
    let Some(step) = nice_step(span / target) else {
        return ValueAxis {
            lo,
            hi,
            step: span,
            ticks: vec![lo, hi],
        };
    };
    let round = |v: f64, f: fn(f64) -> f64| {
        let r = f(v / step) * step;
        if r.is_finite() { r } else { v }
    };
    if fixed_min.is_none() {
        lo = round(lo, f64::floor);
    }
    if fixed_max.is_none() {
        hi = round(hi, f64::ceil);
    }
    let first = round(lo, f64::ceil);
    let mut ticks = Vec::new();
    for i in 0..MAX_TICKS {
        let v = first + i as f64 * step;
        if !v.is_finite() || v > hi + step * 1e-9 {
            break;
        }
        // Snap values that should be zero but carry rounding noise.
        ticks.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
    }
    ValueAxis {
        lo,
        hi,
        step,
        ticks,
    }
}

/// A compact label: `0`, `0.25`, `12`, `1.5k`, `250M`, `3G`, `1.2e-5`; precision follows
/// the tick `step` so that neighbouring labels differ.
pub fn format_value(v: f64, step: f64) -> String {
    if !v.is_finite() {
        return "?".into();
    }
    let a = v.abs();
    if a == 0.0 || (step.is_finite() && a < step.abs() * 1e-6) {
        return "0".into();
    }
    if !(1e-3..1e15).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let (div, suffix) = match a {
        a if a >= 1e12 => (1e12, "T"),
        a if a >= 1e9 => (1e9, "G"),
        a if a >= 1e6 => (1e6, "M"),
        a if a >= 1e3 => (1e3, "k"),
        _ => (1.0, ""),
    };
    let scaled_step = (step / div).abs();
    let decimals = if scaled_step.is_finite() && scaled_step > 0.0 && scaled_step < 1.0 {
        ((-scaled_step.log10()).ceil() as usize).min(6)
    } else {
        0
    };
    let mut s = format!("{:.*}", decimals, v / div);
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    if s == "-0" {
        s = "0".into();
    }
    s + suffix
}

/// Candidate tick spacings in seconds, finest first; past the list, whole years.
const TIME_STEPS: [i64; 21] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
    86_400, 172_800, 604_800, 2_592_000,
];

const YEAR: i128 = 365 * 86_400;

/// One labelled instant on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeTick {
    pub at: i64,
    pub label: String,
}

/// Ticks for `start..=end` at most `target` apart, labelled in local time at `tz_offset`
/// seconds east of UTC: `HH:MM` within a day, `MM/DD` at day steps or at midnight when
/// the range spans days, `YYYY` or `YYYY-MM` for ranges of years.
pub fn time_ticks(start: i64, end: i64, tz_offset: i64, target: usize) -> Vec<TimeTick> {
    let span = i128::from(end) - i128::from(start);
    if span <= 0 {
        return Vec::new();
    }
    let target = target.clamp(1, MAX_TICKS) as i128;
    let step = TIME_STEPS
        .iter()
        .map(|s| i128::from(*s))
        .find(|s| span / s <= target)
        .unwrap_or_else(|| {
            let years = (span / YEAR / target).max(1);
            let mut m = 1i128;
            loop {
                if let Some(s) = [1, 2, 5].iter().map(|k| k * m).find(|k| *k >= years) {
                    break s * YEAR;
                }
                m *= 10;
            }
        });
    let tz = i128::from(tz_offset);
    let local_start = i128::from(start) + tz;
    let first = local_start.div_euclid(step) * step
        + if local_start.rem_euclid(step) == 0 {
            0
        } else {
            step
        };
    let mut out = Vec::new();
    let mut local = first;
    while local - tz <= i128::from(end) && out.len() < MAX_TICKS {
        let Ok(at) = i64::try_from(local - tz) else {
            break;
        };
        out.push(TimeTick {
            at,
            label: label(local, step, span),
        });
        local += step;
    }
    out
}

fn label(local: i128, step: i128, span: i128) -> String {
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    let (hh, mm, ss) = (secs / 3_600, secs / 60 % 60, secs % 60);
    if step >= YEAR {
        format!("{y}")
    } else if step >= 2_592_000 {
        format!("{y}-{m:02}")
    } else if step >= 86_400 || (span > 86_400 && secs == 0) {
        format!("{m:02}/{d:02}")
    } else if step < 60 {
        format!("{hh:02}:{mm:02}:{ss:02}")
    } else {
        format!("{hh:02}:{mm:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_to_nice_steps() {
        let a = value_axis(Some((3.0, 97.0)), None, None, 5);
        assert_eq!((a.lo, a.hi, a.step), (0.0, 100.0, 20.0));
        assert_eq!(a.ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let b = value_axis(Some((5.0, 5.0)), None, None, 4);
        assert!(b.lo < 5.0 && b.hi > 5.0);
        let c = value_axis(Some((-f64::MAX, f64::MAX)), None, None, 4);
        assert!(c.ticks.len() <= MAX_TICKS && c.lo.is_finite());
        let d = value_axis(Some((0.0, 5e-324)), None, None, 4);
        assert!(d.lo < d.hi);
    }

    #[test]
    fn labels_are_compact() {
        let cases = [
            (0.0, 1.0, "0"),
            (1500.0, 500.0, "1.5k"),
            (2_000_000.0, 1_000_000.0, "2M"),
            (0.25, 0.05, "0.25"),
            (-40.0, 20.0, "-40"),
            (3e9, 1e9, "3G"),
            (0.00001, 0.00001, "1e-5"),
        ];
        for (v, step, want) in cases {
            assert_eq!(format_value(v, step), want, "{v} step {step}");
        }
    }

    #[test]
    fn time_ticks_follow_timezone() {
        // 2024-01-01T00:00Z .. 03:00Z, 30-minute ticks.
        let t = time_ticks(1_704_067_200, 1_704_078_000, 0, 6);
        assert_eq!(t.first().map(|t| t.label.as_str()), Some("00:00"));
        let shifted = time_ticks(1_704_067_200, 1_704_078_000, 5_400, 6);
        assert_eq!(shifted.first().map(|t| t.label.as_str()), Some("01:30"));
        let days = time_ticks(1_704_067_200, 1_704_067_200 + 7 * 86_400, 0, 8);
        assert_eq!(days.first().map(|t| t.label.as_str()), Some("01/01"));
        assert!(time_ticks(i64::MIN, i64::MAX, 50_400, 10).len() <= MAX_TICKS);
    }
}
