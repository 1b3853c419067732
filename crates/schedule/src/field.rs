//! Value lists of the plain fields: `,` lists of `*`, `v`, `a-b`, with an optional `/step`.
//!
//! The dialect is Quartz's, which EventBridge's cron evidently derives from (1 = Sunday,
//! `?`, `L`, `W`, `#`, years 1970-2199), so where the AWS documentation is silent the
//! Quartz behaviour is followed: `a/s` runs from `a` to the field's maximum and `/s`
//! means `*/s`; a range whose start is past its end wraps around (`22-2` hours,
//! `FRI-MON`), except in the Year field; a range's ends are both names or both numbers;
//! increments are at most 59 minutes, 23 hours, 31 days, 12 months or 7 weekdays. Unlike
//! Quartz, `MON-FRI/2` honours its increment and `MONX` is refused rather than read as
//! `MON`: those are slips in Quartz's parser, not a dialect anyone writes to.

use crate::error::{Error, Field};

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The first year a cron expression may name.
pub const MIN_YEAR: i32 = 1970;
/// The last year a cron expression may name; nothing is due after it.
pub const MAX_YEAR: i32 = 2199;

/// A set of small integers (0..256), enough for every field once years are stored as
/// offsets from [`MIN_YEAR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub(crate) struct Bits([u64; 4]);

impl Bits {
    pub(crate) fn insert(&mut self, i: u32) {
        if let Some(word) = self.0.get_mut((i / 64) as usize) {
            *word |= 1 << (i % 64);
        }
    }

    pub(crate) fn contains(&self, i: u32) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }
}

impl Field {
    /// The smallest and largest value as written in an expression.
    pub(crate) fn bounds(self) -> (u32, u32) {
        match self {
            Field::Minutes => (0, 59),
            Field::Hours => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (1, 7),
            Field::Year => (MIN_YEAR as u32, MAX_YEAR as u32),
        }
    }

    /// Quartz refuses an increment as large as the whole minute or hour cycle, but allows
    /// one equal to the number of days, months or weekdays (years: the whole span).
    fn max_step(self) -> u32 {
        let (min, max) = self.bounds();
        match self {
            Field::Minutes | Field::Hours => max - min,
            _ => max - min + 1,
        }
    }

    /// The offset at which a value is stored in [`Bits`].
    pub(crate) fn slot(self, value: u32) -> u32 {
        match self {
            Field::Year => value - MIN_YEAR as u32,
            _ => value,
        }
    }
}

/// Parses one value: decimal digits, or (Month and Day-of-week only) a three-letter name.
/// `text` is already upper-cased.
pub(crate) fn parse_value(field: Field, whole: &str, text: &str) -> Result<u32, Error> {
    let names: &[&str] = match field {
        Field::Month => &MONTH_NAMES,
        Field::DayOfWeek => &WEEKDAY_NAMES,
        _ => &[],
    };
    if let Some(index) = names.iter().position(|name| *name == text) {
        return Ok(index as u32 + 1);
    }
    let (min, max) = field.bounds();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::field(
            field,
            whole,
            format!("{text:?} is not a value of this field"),
        ));
    }
    match parse_digits(text) {
        Some(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(Error::field(
            field,
            whole,
            format!("{text} is outside {min}-{max}"),
        )),
    }
}

/// Parses a comma-separated list of plain items into the set of values it selects.
pub(crate) fn parse_list(field: Field, text: &str) -> Result<Bits, Error> {
    let mut bits = Bits::default();
    for item in text.split(',') {
        parse_item(field, text, item, &mut bits)?;
    }
    Ok(bits)
}

fn parse_item(field: Field, whole: &str, item: &str, bits: &mut Bits) -> Result<(), Error> {
    if item.is_empty() {
        return Err(Error::field(field, whole, "empty list item"));
    }
    let (min, max) = field.bounds();
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(parse_step(field, whole, step)?)),
        None => (item, None),
    };
    // Quartz reads a bare `/s` as `*/s`.
    let (start, end) = if base == "*" || (base.is_empty() && step.is_some()) {
        (min, max)
    } else if let Some((a, b)) = base.split_once('-') {
        let is_number = |text: &str| text.bytes().all(|b| b.is_ascii_digit());
        if is_number(a) != is_number(b) {
            return Err(Error::field(
                field,
                whole,
                format!("range {base} mixes a name and a number"),
            ));
        }
        (parse_value(field, whole, a)?, parse_value(field, whole, b)?)
    } else {
        let value = parse_value(field, whole, base)?;
        (value, if step.is_some() { max } else { value })
    };
    if field == Field::Year && start > end {
        return Err(Error::field(
            field,
            whole,
            format!("range {base} runs backwards"),
        ));
    }
    let span = max - min + 1;
    // A range past the field's end wraps: 22-2 hours is 22, 23, 0, 1, 2.
    let length = (end + span - start) % span;
    let step = step.unwrap_or(1);
    let mut offset = 0;
    while offset <= length {
        let mut value = start + offset;
        if value > max {
            value -= span;
        }
        bits.insert(field.slot(value));
        offset += step;
    }
    Ok(())
}

fn parse_step(field: Field, whole: &str, text: &str) -> Result<u32, Error> {
    let max = field.max_step();
    match parse_digits(text) {
        Some(step) if (1..=max).contains(&step) => Ok(step),
        _ => Err(Error::field(
            field,
            whole,
            format!("increment {text:?} is not a whole number from 1 to {max}"),
        )),
    }
}

/// A non-empty run of ASCII digits that fits a `u32`; unlike `u32::from_str` it refuses a
/// leading `+`.
pub(crate) fn parse_digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
