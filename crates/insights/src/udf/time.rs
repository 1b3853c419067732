//! Time bucketing for `bin`, `datefloor` and `dateceil`.
//!
//! Fixed-length periods (ms to weeks) are aligned to the Unix epoch, so `bin(5m)` buckets
//! start on whole five-minute marks in UTC. Months, quarters and years follow the UTC
//! calendar: `bin(1mo)` starts each bucket at midnight on the first of the month.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampMillisecondBuilder};
use datafusion::arrow::datatypes::TimestampMillisecondType;
use datafusion::common::{Result, exec_err};

use crate::ast::{Period, PeriodUnit};

/// The start of the bucket holding `millis`.
pub(crate) fn floor(millis: i64, period: Period) -> Option<i64> {
    match period.unit.fixed_millis() {
        Some(unit) => {
            let size = unit.checked_mul(period.amount)?;
            Some(millis.div_euclid(size).checked_mul(size)?)
        }
        None => {
            let months = calendar_months(period)?;
            let date = chrono::DateTime::from_timestamp_millis(millis)?.date_naive();
            let index = i64::from(date.year() - 1970) * 12 + i64::from(date.month0());
            month_start(index.div_euclid(months) * months)
        }
    }
}

/// The end of the bucket holding `millis`, or `millis` itself on a bucket boundary.
pub(crate) fn ceil(millis: i64, period: Period) -> Option<i64> {
    let start = floor(millis, period)?;
    if start == millis {
        return Some(start);
    }
    match period.unit.fixed_millis() {
        Some(unit) => start.checked_add(unit.checked_mul(period.amount)?),
        None => {
            let months = calendar_months(period)?;
            let date = chrono::DateTime::from_timestamp_millis(start)?.date_naive();
            let index = i64::from(date.year() - 1970) * 12 + i64::from(date.month0());
            month_start(index + months)
        }
    }
}

fn calendar_months(period: Period) -> Option<i64> {
    let per = match period.unit {
        PeriodUnit::Month => 1,
        PeriodUnit::Quarter => 3,
        PeriodUnit::Year => 12,
        _ => return None,
    };
    period.amount.checked_mul(per)
}

/// Midnight UTC on the first day of the month `index` months after January 1970.
fn month_start(index: i64) -> Option<i64> {
    let year = i32::try_from(1970 + index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12) + 1).ok()?;
    let date = NaiveDate::from_ymd_opt(year, month, 1)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

pub(crate) fn round_column(array: &ArrayRef, period: Period, up: bool) -> Result<ArrayRef> {
    let Some(times) = array.as_primitive_opt::<TimestampMillisecondType>() else {
        return exec_err!(
            "expected a millisecond timestamp, found {}",
            array.data_type()
        );
    };
    let mut out = TimestampMillisecondBuilder::with_capacity(times.len());
    for i in 0..times.len() {
        if times.is_null(i) {
            out.append_null();
        } else {
            let value = times.value(i);
            out.append_option(if up {
                ceil(value, period)
            } else {
                floor(value, period)
            });
        }
    }
    Ok(Arc::new(out.finish().with_timezone("UTC")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(amount: i64, unit: PeriodUnit) -> Period {
        Period { amount, unit }
    }

    #[test]
    fn fixed_periods_align_to_the_epoch() {
        assert_eq!(floor(299_999, p(5, PeriodUnit::Minute)), Some(0));
        assert_eq!(floor(-1, p(1, PeriodUnit::Second)), Some(-1000));
        assert_eq!(ceil(1, p(1, PeriodUnit::Hour)), Some(3_600_000));
        assert_eq!(ceil(3_600_000, p(1, PeriodUnit::Hour)), Some(3_600_000));
    }

    #[test]
    fn calendar_periods_follow_the_calendar() {
        // 2024-05-17T12:00:00Z
        let t = 1_715_947_200_000;
        let may = 1_714_521_600_000; // 2024-05-01
        let april = 1_711_929_600_000; // 2024-04-01
        let jan = 1_704_067_200_000; // 2024-01-01
        assert_eq!(floor(t, p(1, PeriodUnit::Month)), Some(may));
        assert_eq!(floor(t, p(1, PeriodUnit::Quarter)), Some(april));
        assert_eq!(floor(t, p(1, PeriodUnit::Year)), Some(jan));
        assert_eq!(ceil(t, p(1, PeriodUnit::Month)), Some(1_717_200_000_000));
    }
}
