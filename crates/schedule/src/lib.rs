//! EventBridge rule schedule expressions — `rate(value unit)` and `cron(fields)` — parsed
//! exactly as EventBridge (formerly CloudWatch Events) accepts them, and evaluated to due
//! times, without the server, so that the rule store, the scheduler loop and tests all
//! agree on what an expression means.
//!
//! # Dialect
//!
//! Cron expressions have six fields, `Minutes Hours Day-of-month Month Day-of-week Year`,
//! in UTC. The dialect is Quartz's as AWS documents it: weekdays 1-7 with 1 = Sunday,
//! years 1970-2199, `?` in exactly one of the two day fields, `L` (last day of the month;
//! alone in Day-of-week, Saturday; `6L`, the last Friday), `W` (`15W`, the weekday
//! nearest the 15th without leaving the month; `LW`, the last weekday), `#` (`3#2`, the
//! second Tuesday, 1 to 5) and `a/s` increments. Where AWS's documentation is silent,
//! Quartz's behaviour is followed (see the `field` module): `L-3` (three days before the
//! last), ranges that wrap (`FRI-MON`, `22-2`) except for years, `/s` for `*/s`, and `/`
//! also in Day-of-week (the English page omits it from that field's wildcards, some
//! translations list it, and Quartz accepts it). `L`, `W` and `#` stand alone in their
//! field (`1,15W`, `L,15`, `2#1,3` are refused), as AWS documents for `#` and older Quartz
//! releases enforce for the others. Month and weekday names and the letters are
//! case-insensitive; the `rate`/`cron` keywords and rate units are lower-case only.
//! Whitespace around the expression is trimmed; fields and rate words are separated by
//! any run of spaces or tabs.
//!
//! A `W` day past the month's end (`31W` in April) and an `L-n` before its start never
//! fire that month, like a plain `31`; `5#5` fires only in months with five of them.
//!
//! Any invalid expression is answered by EventBridge with a `ValidationException`
//! carrying [`API_MESSAGE`] whatever the fault; [`Error`]'s `Display` gives the detail.
//!
//! # Why not `croner`
//!
//! `croner` (4.0) reads a cousin of this dialect but not this one: a six-field pattern
//! is to it seconds plus five fields, so the year only comes as a seventh field behind
//! seconds; it replaces `?` with `*` instead of requiring exactly one, accepts years up to
//! 5000, `+`, `@daily` nicknames, `5#L` and empty list items, and needs separate options
//! for 1 = Sunday and for `0/15`. Refusing exactly what AWS refuses needs a full parser
//! of our own anyway, and with the sets parsed the search for the next due minute is a
//! few dozen lines, so a second, differently-behaving evaluator is not worth the
//! dependency (nor its proc-macro build cost).
//!
//! # Rates
//!
//! A rate is anchored at the time the rule was created or last (re-)enabled with this
//! expression: due times are that instant truncated to the minute plus 1, 2, 3, ...
//! periods. See [`Rate::next_after`].
//!
//! # Missed firings
//!
//! EventBridge does not replay firings missed while it could not deliver them: a rule
//! simply fires at its next due time. A scheduler should persist the last due time it
//! fired for each rule and, on each tick at `now`, fire only the due times in
//! `(max(last_fired, now - grace), now]` ([`Schedule::due_between`]), recording each as
//! it goes. `grace` covers a late tick (a minute or two); after a longer outage the
//! missed due times are skipped, not replayed, and each due time fires at most once
//! across restarts.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use chrono::{DateTime, TimeDelta, Utc};
//!
//! let schedule = sightline_schedule::parse("rate(5 minutes)")?;
//! let enabled_at: DateTime<Utc> = "2024-01-01T00:00:30Z".parse()?;
//! // Fired at 00:05, then the server was down until 01:05:40.
//! let last_fired: DateTime<Utc> = "2024-01-01T00:05:00Z".parse()?;
//! let now: DateTime<Utc> = "2024-01-01T01:05:40Z".parse()?;
//! let from = last_fired.max(now - TimeDelta::minutes(2));
//! let due: Vec<_> = schedule.due_between(from, now, enabled_at).collect();
//! assert_eq!(due, ["2024-01-01T01:05:00Z".parse::<DateTime<Utc>>()?]);
//! # Ok(())
//! # }
//! ```

mod cron;
mod error;
mod field;
mod rate;

use std::fmt;
use std::iter::FusedIterator;
use std::str::FromStr;

use chrono::{DateTime, Utc};

pub use cron::Cron;
pub use error::{API_MESSAGE, Error, Field};
pub use field::{MAX_YEAR, MIN_YEAR};
pub use rate::{Rate, RateUnit};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The API's length limit on `ScheduleExpression`, which callers check before
/// [`parse`] (AWS words that failure as a constraint violation of its own).
pub const MAX_EXPRESSION_LENGTH: usize = 256;

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Schedule {
    Rate(Rate),
    Cron(Cron),
}

/// Parses a `ScheduleExpression` such as `rate(5 minutes)` or `cron(0 18 ? * MON-FRI *)`.
pub fn parse(expression: &str) -> Result<Schedule> {
    let text = expression.trim_ascii();
    let inner = |keyword: &str| {
        text.strip_prefix(keyword)
            .and_then(|rest| rest.strip_prefix('('))
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(inner) = inner("rate") {
        Rate::parse(inner).map(Schedule::Rate)
    } else if let Some(inner) = inner("cron") {
        Cron::parse(inner).map(Schedule::Cron)
    } else {
        Err(Error::UnknownKind)
    }
}

/// Splits on runs of spaces and tabs, the separators Quartz's cron parser knows.
fn words(text: &str) -> Vec<&str> {
    text.split([' ', '\t'])
        .filter(|word| !word.is_empty())
        .collect()
}

impl FromStr for Schedule {
    type Err = Error;

    fn from_str(expression: &str) -> Result<Self> {
        parse(expression)
    }
}

impl Schedule {
    /// The first due time strictly after `t`, at minute granularity. `anchor` is the
    /// rule's creation or enable time and matters only to rates; `None` once a cron
    /// expression's years are exhausted.
    pub fn next_after(&self, t: DateTime<Utc>, anchor: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate(rate) => rate.next_after(t, anchor),
            Schedule::Cron(cron) => cron.next_after(t),
        }
    }

    /// The due times in `(after, up_to]`, oldest first, for catching up after a late
    /// tick; see the crate docs on missed firings.
    pub fn due_between(
        &self,
        after: DateTime<Utc>,
        up_to: DateTime<Utc>,
        anchor: DateTime<Utc>,
    ) -> DueTimes<'_> {
        DueTimes {
            schedule: self,
            anchor,
            cursor: Some(after),
            up_to,
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Rate(rate) => rate.fmt(f),
            Schedule::Cron(cron) => cron.fmt(f),
        }
    }
}

/// Iterator returned by [`Schedule::due_between`].
#[derive(Debug, Clone)]
pub struct DueTimes<'a> {
    schedule: &'a Schedule,
    anchor: DateTime<Utc>,
    cursor: Option<DateTime<Utc>>,
    up_to: DateTime<Utc>,
}

impl Iterator for DueTimes<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        let after = self.cursor?;
        let due = self
            .schedule
            .next_after(after, self.anchor)
            .filter(|due| *due <= self.up_to);
        self.cursor = due;
        due
    }
}

impl FusedIterator for DueTimes<'_> {}
