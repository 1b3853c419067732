//! `rate(value unit)` expressions.
//!
//! AWS says a rate "starts when you create the scheduled event rule"; it publishes no
//! finer rule. Here a rate is anchored: given the anchor (the time the rule was created,
//! or last enabled or given this expression), the due times are the anchor truncated to
//! its minute plus every whole multiple (1, 2, ...) of the period. The anchor itself is
//! not due, so a new `rate(5 minutes)` rule first fires five minutes after it was made,
//! as on AWS, and the due times stay on the same minute grid across restarts.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::Error;
use crate::field::parse_digits;

/// The unit of a rate expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    fn minutes(self) -> i64 {
        match self {
            RateUnit::Minute => 1,
            RateUnit::Hour => 60,
            RateUnit::Day => 24 * 60,
        }
    }

    fn word(self, value: u32) -> &'static str {
        match (self, value == 1) {
            (RateUnit::Minute, true) => "minute",
            (RateUnit::Minute, false) => "minutes",
            (RateUnit::Hour, true) => "hour",
            (RateUnit::Hour, false) => "hours",
            (RateUnit::Day, true) => "day",
            (RateUnit::Day, false) => "days",
        }
    }
}

/// A parsed `rate(value unit)` expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    value: u32,
    unit: RateUnit,
}

/// The largest rate value accepted: AWS's services are written in Java, whose `int`
/// stops here; no real schedule comes near it.
const MAX_VALUE: u32 = i32::MAX as u32;

impl Rate {
    /// Parses the text between `rate(` and `)`.
    pub(crate) fn parse(inner: &str) -> Result<Self, Error> {
        let words = crate::words(inner);
        let [value_text, unit_text] = words[..] else {
            return Err(Error::RateShape(words.len()));
        };
        let value = match parse_digits(value_text) {
            Some(value) if (1..=MAX_VALUE).contains(&value) => value,
            _ => return Err(Error::RateValue(value_text.to_owned())),
        };
        let (unit, plural) = match unit_text {
            "minute" => (RateUnit::Minute, false),
            "minutes" => (RateUnit::Minute, true),
            "hour" => (RateUnit::Hour, false),
            "hours" => (RateUnit::Hour, true),
            "day" => (RateUnit::Day, false),
            "days" => (RateUnit::Day, true),
            _ => return Err(Error::RateUnit(unit_text.to_owned())),
        };
        if plural != (value != 1) {
            return Err(Error::RateAgreement {
                value,
                unit: unit_text.to_owned(),
                expected: unit.word(value),
            });
        }
        Ok(Self { value, unit })
    }

    pub fn value(&self) -> u32 {
        self.value
    }

    pub fn unit(&self) -> RateUnit {
        self.unit
    }

    /// The time between two due times.
    pub fn period(&self) -> TimeDelta {
        TimeDelta::minutes(self.period_minutes())
    }

    fn period_minutes(&self) -> i64 {
        i64::from(self.value) * self.unit.minutes()
    }

    /// The first due time strictly after `t` for a rule anchored at `anchor` (see the
    /// module docs); `None` only past the end of `chrono`'s calendar.
    pub fn next_after(&self, t: DateTime<Utc>, anchor: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let period = self.period_minutes();
        let origin = anchor.timestamp().div_euclid(60);
        // Due times are whole minutes, so "after t" means "after t's minute".
        let after = t.timestamp().div_euclid(60);
        let periods = after.checked_sub(origin)?.div_euclid(period).max(0) + 1;
        let due = origin.checked_add(periods.checked_mul(period)?)?;
        DateTime::from_timestamp(due.checked_mul(60)?, 0)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate({} {})", self.value, self.unit.word(self.value))
    }
}
