//! `cron(...)` expressions: parsing the six fields and finding the next due minute.
//!
//! The search walks year → month → day → hour → minute over precomputed sets, taking
//! the start instant's components as lower bounds only while still on the start's own
//! year, month, day and hour. Days are resolved per month into a bit mask, since `L`,
//! `W` and `#` only mean something once the month's length and first weekday are known.
//! Even an expression that never fires (`30 2`, i.e. 30 February) costs at most one mask
//! per remaining month up to 2199.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::error::{Error, Field};
use crate::field::{Bits, MAX_YEAR, MIN_YEAR, parse_digits, parse_list, parse_value};

/// A parsed `cron(...)` expression. Times are UTC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cron {
    minutes: Bits,
    hours: Bits,
    months: Bits,
    years: Bits,
    days: DueDays,
    /// The six fields as written, joined by single spaces.
    fields: String,
}

/// Which days of a month are due: exactly one of Day-of-month and Day-of-week applies,
/// the other being `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DueDays {
    /// Plain Day-of-month values (bits 1..=31).
    Dates(Bits),
    /// `L` / `L-n`: the last day of the month, less `n` days.
    LastDay { offset: u32 },
    /// `LW`: the last weekday (Monday to Friday) of the month.
    LastWeekday,
    /// `nW`: the weekday nearest to day `n`, never leaving the month.
    NearestWeekday(u32),
    /// Plain Day-of-week values (bits 1..=7, 1 = Sunday).
    Weekdays(Bits),
    /// `dL`: the last weekday `d` of the month.
    LastOfWeekday(u32),
    /// `d#n`: the `n`th weekday `d` of the month.
    NthWeekday { weekday: u32, nth: u32 },
}

impl Cron {
    /// Parses the text between `cron(` and `)`.
    pub(crate) fn parse(inner: &str) -> Result<Self, Error> {
        let fields = crate::words(inner);
        let [minutes, hours, dom, month, dow, year] = fields[..] else {
            return Err(Error::FieldCount(fields.len()));
        };
        let upper = |text: &str| text.to_ascii_uppercase();
        let minutes = parse_list(Field::Minutes, &upper(minutes))?;
        let hours = parse_list(Field::Hours, &upper(hours))?;
        let days = match (dom, dow) {
            ("?", "?") => None,
            ("?", dow) => Some(parse_day_of_week(&upper(dow))?),
            (dom, "?") => Some(parse_day_of_month(&upper(dom))?),
            _ => None,
        };
        let Some(days) = days else {
            return Err(Error::DayFields {
                day_of_month: dom.to_owned(),
                day_of_week: dow.to_owned(),
            });
        };
        Ok(Self {
            minutes,
            hours,
            months: parse_list(Field::Month, &upper(month))?,
            years: parse_list(Field::Year, &upper(year))?,
            days,
            fields: fields.join(" "),
        })
    }

    /// The first due minute strictly after `t`, or `None` once the expression's years
    /// (at most up to 2199) hold no further due minute.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let minute = t.timestamp().div_euclid(60).checked_add(1)?;
        let start = DateTime::from_timestamp(minute.checked_mul(60)?, 0)?.naive_utc();
        let floor = NaiveDate::from_ymd_opt(MIN_YEAR, 1, 1)?.and_hms_opt(0, 0, 0)?;
        let start = start.max(floor);
        let (y0, m0, d0) = (start.year(), start.month(), start.day());
        let (h0, min0) = (start.hour(), start.minute());

        for year in y0..=MAX_YEAR {
            if !self.years.contains(Field::Year.slot(year as u32)) {
                continue;
            }
            let first_year = year == y0;
            for month in 1..=12 {
                if (first_year && month < m0) || !self.months.contains(month) {
                    continue;
                }
                let first_month = first_year && month == m0;
                let days = self.day_mask(year, month);
                for day in 1..=31 {
                    if (first_month && day < d0) || days & (1 << day) == 0 {
                        continue;
                    }
                    let first_day = first_month && day == d0;
                    for hour in 0..24 {
                        if (first_day && hour < h0) || !self.hours.contains(hour) {
                            continue;
                        }
                        let first_hour = first_day && hour == h0;
                        let lowest = if first_hour { min0 } else { 0 };
                        if let Some(minute) = (lowest..60).find(|m| self.minutes.contains(*m)) {
                            let due = NaiveDate::from_ymd_opt(year, month, day)?
                                .and_hms_opt(hour, minute, 0)?;
                            return Some(due.and_utc());
                        }
                    }
                }
            }
        }
        None
    }

    /// Whether the minute holding `t` is due (seconds are ignored).
    pub fn matches(&self, t: DateTime<Utc>) -> bool {
        let year = t.year();
        (MIN_YEAR..=MAX_YEAR).contains(&year)
            && self.years.contains(Field::Year.slot(year as u32))
            && self.months.contains(t.month())
            && self.day_mask(year, t.month()) & (1 << t.day()) != 0
            && self.hours.contains(t.hour())
            && self.minutes.contains(t.minute())
    }

    /// The due days of one month as bits 1..=31.
    fn day_mask(&self, year: i32, month: u32) -> u32 {
        let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
            return 0;
        };
        let length = days_in_month(year, month);
        // Weekday of each day, 1 = Sunday .. 7 = Saturday.
        let first_weekday = first.weekday().number_from_sunday();
        let weekday = |day: u32| (first_weekday - 1 + day - 1) % 7 + 1;
        let bit = |day: u32| 1u32 << day;
        match self.days {
            DueDays::Dates(bits) => (1..=length)
                .filter(|d| bits.contains(*d))
                .fold(0, |mask, d| mask | bit(d)),
            DueDays::LastDay { offset } if offset < length => bit(length - offset),
            DueDays::LastDay { .. } => 0,
            DueDays::LastWeekday => match weekday(length) {
                7 => bit(length - 1),
                1 => bit(length - 2),
                _ => bit(length),
            },
            DueDays::NearestWeekday(day) if day > length => 0,
            DueDays::NearestWeekday(day) => match weekday(day) {
                7 if day == 1 => bit(3),
                7 => bit(day - 1),
                1 if day == length => bit(day - 2),
                1 => bit(day + 1),
                _ => bit(day),
            },
            DueDays::Weekdays(bits) => (1..=length)
                .filter(|d| bits.contains(weekday(*d)))
                .fold(0, |mask, d| mask | bit(d)),
            DueDays::LastOfWeekday(wanted) => (length - 6..=length)
                .filter(|d| weekday(*d) == wanted)
                .fold(0, |mask, d| mask | bit(d)),
            DueDays::NthWeekday {
                weekday: wanted,
                nth,
            } => {
                // The first `wanted` weekday falls on day 1..=7.
                let first_day = (wanted + 7 - first_weekday) % 7 + 1;
                let day = first_day + 7 * (nth - 1);
                if day <= length { bit(day) } else { 0 }
            }
        }
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cron({})", self.fields)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `L`, `LW`, `L-n` and `nW` each stand alone in the field (Quartz refuses them in lists,
/// and a `W` day must be a single day, not a range).
fn parse_day_of_month(text: &str) -> Result<DueDays, Error> {
    let field = Field::DayOfMonth;
    let special = text.contains(['L', 'W']);
    if special && text.contains([',', '/']) {
        return Err(Error::field(
            field,
            text,
            "L and W cannot be combined with other days or increments",
        ));
    }
    if !special {
        return Ok(DueDays::Dates(parse_list(field, text)?));
    }
    match text {
        "L" => Ok(DueDays::LastDay { offset: 0 }),
        "LW" => Ok(DueDays::LastWeekday),
        _ => {
            if let Some(offset) = text.strip_prefix("L-") {
                match parse_digits(offset) {
                    Some(n) if n <= 30 => Ok(DueDays::LastDay { offset: n }),
                    _ => Err(Error::field(
                        field,
                        text,
                        "the offset after L- must be a whole number from 0 to 30",
                    )),
                }
            } else if let Some(day) = text.strip_suffix('W') {
                Ok(DueDays::NearestWeekday(parse_value(field, text, day)?))
            } else {
                Err(Error::field(
                    field,
                    text,
                    "L must stand alone (L, LW or L-n) and W must follow a single day",
                ))
            }
        }
    }
}

/// `L` (Saturday), `dL` and `d#n` each stand alone in the field; AWS documents that
/// `3#1,6#3` is refused.
fn parse_day_of_week(text: &str) -> Result<DueDays, Error> {
    let field = Field::DayOfWeek;
    let special = text.contains(['L', '#']);
    if special && text.contains([',', '/', '-']) {
        return Err(Error::field(
            field,
            text,
            "L and # cannot be combined with other days, ranges or increments",
        ));
    }
    if text == "L" {
        // Alone, L is the last day of the week: Saturday.
        let mut bits = Bits::default();
        bits.insert(7);
        return Ok(DueDays::Weekdays(bits));
    }
    if let Some(weekday) = text.strip_suffix('L') {
        return Ok(DueDays::LastOfWeekday(parse_value(field, text, weekday)?));
    }
    if let Some((weekday, nth)) = text.split_once('#') {
        let weekday = parse_value(field, text, weekday)?;
        return match parse_digits(nth) {
            Some(nth) if (1..=5).contains(&nth) => Ok(DueDays::NthWeekday { weekday, nth }),
            _ => Err(Error::field(
                field,
                text,
                "the number after # must be from 1 to 5",
            )),
        };
    }
    Ok(DueDays::Weekdays(parse_list(field, text)?))
}
