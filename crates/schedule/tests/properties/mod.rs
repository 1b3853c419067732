//! Property tests: for random valid expressions and instants, `next_after` agrees with a
//! deliberately naive matcher that reads the expression text itself, minute by minute.
//!
//! The naive matcher shares no code with the crate and phrases each rule differently
//! (`W` as "the Monday-to-Friday day of the month closest to n", `#` as "which week of
//! the month"), so a shared misreading of the dialect is less likely to go unnoticed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use proptest::prelude::*;
use sightline_schedule::{Schedule, parse};

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// How far past `t` the naive matcher looks for a due minute.
const WINDOW_DAYS: i64 = 800;

// ---- the naive matcher -------------------------------------------------------------

fn value(text: &str, names: &[&str]) -> u32 {
    let upper = text.to_ascii_uppercase();
    match names.iter().position(|n| *n == upper) {
        Some(i) => i as u32 + 1,
        None => upper
            .parse()
            .expect("generated values are numbers or names"),
    }
}

/// Whether `v` is selected by a plain `,`-list of `*`, `a`, `a-b`, each with `/step`.
fn list_matches(field: &str, v: u32, min: u32, max: u32, names: &[&str]) -> bool {
    field.split(',').any(|item| {
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(step.parse::<u32>().expect("step"))),
            None => (item, None),
        };
        let (a, b) = if base == "*" {
            (min, max)
        } else if let Some((a, b)) = base.split_once('-') {
            (value(a, names), value(b, names))
        } else {
            let a = value(base, names);
            (a, if step.is_some() { max } else { a })
        };
        let step = step.unwrap_or(1);
        if a <= b {
            (a..=b).contains(&v) && (v - a).is_multiple_of(step)
        } else {
            // Wraps: a..=max then min..=b, counting the step across the seam.
            let span = max - min + 1;
            (v >= a && (v - a).is_multiple_of(step))
                || (v <= b && (v + span - a).is_multiple_of(step))
        }
    })
}

fn month_length(year: i32, month: u32) -> u32 {
    (28..=31)
        .rev()
        .find(|d| NaiveDate::from_ymd_opt(year, month, *d).is_some())
        .expect("every month has 28 days")
}

fn is_weekday(date: NaiveDate) -> bool {
    (2..=6).contains(&date.weekday().number_from_sunday())
}

fn day_of_month_matches(field: &str, date: NaiveDate) -> bool {
    let field = field.to_ascii_uppercase();
    let (year, month, day) = (date.year(), date.month(), date.day());
    let last = month_length(year, month);
    let weekdays = || {
        (1..=last).filter(move |d| NaiveDate::from_ymd_opt(year, month, *d).is_some_and(is_weekday))
    };
    if field == "L" {
        day == last
    } else if field == "LW" {
        weekdays().max() == Some(day)
    } else if let Some(offset) = field.strip_prefix("L-") {
        let offset: u32 = offset.parse().expect("offset");
        offset < last && day == last - offset
    } else if let Some(n) = field.strip_suffix('W') {
        let n: u32 = n.parse().expect("W day");
        n <= last && weekdays().min_by_key(|d| d.abs_diff(n)) == Some(day)
    } else {
        list_matches(&field, day, 1, 31, &[])
    }
}

fn day_of_week_matches(field: &str, date: NaiveDate) -> bool {
    let field = field.to_ascii_uppercase();
    let weekday = date.weekday().number_from_sunday();
    let last = month_length(date.year(), date.month());
    if field == "L" {
        weekday == 7
    } else if let Some(d) = field.strip_suffix('L') {
        weekday == value(d, &WEEKDAYS) && date.day() + 7 > last
    } else if let Some((d, n)) = field.split_once('#') {
        let n: u32 = n.parse().expect("nth");
        weekday == value(d, &WEEKDAYS) && (date.day() - 1) / 7 + 1 == n
    } else {
        list_matches(&field, weekday, 1, 7, &WEEKDAYS)
    }
}

struct Naive<'a> {
    fields: Vec<&'a str>,
}

impl<'a> Naive<'a> {
    fn new(fields: &'a str) -> Self {
        Self {
            fields: fields.split(' ').collect(),
        }
    }

    fn date_matches(&self, date: NaiveDate) -> bool {
        let f = &self.fields;
        (1970..=2199).contains(&date.year())
            && list_matches(f[5], date.year() as u32, 1970, 2199, &[])
            && list_matches(f[3], date.month(), 1, 12, &MONTHS)
            && if f[2] == "?" {
                day_of_week_matches(f[4], date)
            } else {
                day_of_month_matches(f[2], date)
            }
    }

    fn matches(&self, t: DateTime<Utc>) -> bool {
        self.date_matches(t.date_naive())
            && list_matches(self.fields[1], t.hour(), 0, 23, &[])
            && list_matches(self.fields[0], t.minute(), 0, 59, &[])
    }

    /// The first matching minute in `(t, end)`, walking minute by minute but skipping
    /// whole days whose date cannot match.
    fn first_match(&self, t: DateTime<Utc>, end: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut at = t.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        while at < end {
            if self.date_matches(at.date_naive()) {
                if self.matches(at) {
                    return Some(at);
                }
                at += Duration::minutes(1);
            } else {
                at = Utc.from_utc_datetime(&at.date_naive().succ_opt()?.and_hms_opt(0, 0, 0)?);
            }
        }
        None
    }
}

// ---- generators ----------------------------------------------------------------------

/// Writes `v` as a number, or (with names) as an upper- or lower-case name.
fn spell(v: u32, names: &[&str], style: u8) -> String {
    match (
        (v as usize).checked_sub(1).and_then(|i| names.get(i)),
        style,
    ) {
        (Some(name), 1) => name.to_string(),
        (Some(name), 2) => name.to_ascii_lowercase(),
        _ => v.to_string(),
    }
}

fn named(v: u32, names: &'static [&'static str]) -> BoxedStrategy<String> {
    (0..3u8)
        .prop_map(move |style| spell(v, names, style))
        .boxed()
}

/// One plain item: `*`, `v`, `a-b` (may wrap, except years), `a/s`, `*/s` or `a-b/s`.
fn item(min: u32, max: u32, names: &'static [&'static str], wrap: bool) -> BoxedStrategy<String> {
    let v = move || (min..=max).prop_flat_map(move |v| named(v, names));
    let step = 1..=(max - min).max(1);
    let range = (min..=max, min..=max)
        .prop_filter("years do not wrap", move |(a, b)| wrap || a <= b)
        .prop_flat_map(move |(a, b)| {
            // Both ends are numbers or both are names, as Quartz requires.
            (0..3u8).prop_map(move |style| {
                format!("{}-{}", spell(a, names, style), spell(b, names, style))
            })
        });
    prop_oneof![
        2 => Just("*".to_string()),
        4 => v(),
        3 => range.clone(),
        2 => (v(), step.clone()).prop_map(|(a, s)| format!("{a}/{s}")),
        1 => step.clone().prop_map(|s| format!("*/{s}")),
        2 => (range, step).prop_map(|(r, s)| format!("{r}/{s}")),
    ]
    .boxed()
}

fn list(min: u32, max: u32, names: &'static [&'static str], wrap: bool) -> BoxedStrategy<String> {
    prop::collection::vec(item(min, max, names, wrap), 1..=3)
        .prop_map(|items| items.join(","))
        .boxed()
}

fn day_of_month() -> BoxedStrategy<String> {
    prop_oneof![
        6 => list(1, 31, &[], true),
        1 => Just("L".to_string()),
        1 => Just("LW".to_string()),
        1 => (0..=30u32).prop_map(|n| format!("L-{n}")),
        2 => (1..=31u32).prop_map(|n| format!("{n}W")),
    ]
    .boxed()
}

fn day_of_week() -> BoxedStrategy<String> {
    let weekday = || (1..=7u32).prop_flat_map(|d| named(d, &WEEKDAYS));
    prop_oneof![
        6 => list(1, 7, &WEEKDAYS, true),
        1 => Just("L".to_string()),
        2 => weekday().prop_map(|d| format!("{d}L")),
        2 => (weekday(), 1..=5u32).prop_map(|(d, n)| format!("{d}#{n}")),
    ]
    .boxed()
}

fn years() -> BoxedStrategy<String> {
    prop_oneof![
        4 => Just("*".to_string()),
        3 => list(2019, 2032, &[], false),
        1 => list(1970, 2199, &[], false),
    ]
    .boxed()
}

/// The six fields of a valid cron expression, separated by single spaces.
fn cron_fields() -> impl Strategy<Value = String> {
    let days = prop_oneof![
        day_of_month().prop_map(|dom| (dom, "?".to_string())),
        day_of_week().prop_map(|dow| ("?".to_string(), dow)),
    ];
    (
        list(0, 59, &[], true),
        list(0, 23, &[], true),
        days,
        list(1, 12, &MONTHS, true),
        years(),
    )
        .prop_map(|(minutes, hours, (dom, dow), months, years)| {
            format!("{minutes} {hours} {dom} {months} {dow} {years}")
        })
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let start = Utc
        .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let end = Utc
        .with_ymd_and_hms(2031, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    (start..end).prop_map(|secs| DateTime::from_timestamp(secs, 0).expect("in range"))
}

// ---- properties ----------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cron_next_after_is_the_first_matching_minute(fields in cron_fields(), t in instant()) {
        let expression = format!("cron({fields})");
        let schedule = parse(&expression).map_err(|e| TestCaseError::fail(format!("{expression}: {e}")))?;
        let Schedule::Cron(cron) = &schedule else {
            return Err(TestCaseError::fail("not a cron"));
        };
        let naive = Naive::new(&fields);
        let got = cron.next_after(t);
        prop_assert_eq!(got, schedule.next_after(t, t));
        let horizon = t + Duration::days(WINDOW_DAYS);
        if let Some(got) = got {
            prop_assert!(got > t, "{} <= {}", got, t);
            prop_assert_eq!(got.second(), 0);
            prop_assert!(naive.matches(got), "{} is not due for {}", got, expression);
            prop_assert!(cron.matches(got));
        }
        let end = got.map_or(horizon, |got| got.min(horizon));
        let earlier = naive.first_match(t, end);
        prop_assert_eq!(earlier, None, "{} skipped a due minute", expression);
    }

    #[test]
    fn rate_next_after_is_the_next_grid_point(
        value in 1..=500u32,
        unit in 0..3usize,
        anchor in instant(),
        t in instant(),
    ) {
        let (one, many, minutes) = [("minute", "minutes", 1), ("hour", "hours", 60), ("day", "days", 1440)][unit];
        let expression = format!("rate({value} {})", if value == 1 { one } else { many });
        let schedule = parse(&expression).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let period = i64::from(value) * minutes * 60;
        let origin = anchor.timestamp() - anchor.timestamp().rem_euclid(60);
        let got = schedule.next_after(t, anchor).ok_or_else(|| TestCaseError::fail("none"))?;
        let since = got.timestamp() - origin;
        prop_assert!(got > t);
        prop_assert!(since > 0 && since % period == 0, "{} is off the grid", got);
        // The previous grid point is the origin itself or not after t.
        prop_assert!(since == period || got.timestamp() - period <= t.timestamp());
    }
}
