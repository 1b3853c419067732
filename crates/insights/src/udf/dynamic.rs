//! Dynamic typing: Insights fields are text that may hold numbers.
//!
//! The rules, used everywhere a value's type matters:
//! * A value *is a number* when its whole text is a decimal number (optional sign,
//!   digits, optional fraction and exponent) — the "number values" of the `sort` docs.
//! * Comparing two values compares numerically when both are numbers and as text when
//!   neither is, so `status = 404` matches `"404"`, `404` and `"404.0"`, while
//!   `status = "404"` (a string literal) is a plain text comparison. A value that is
//!   not a number never equals a number and is neither less nor greater than one:
//!   `latency > 100` does not match `"n/a"`, while `latency != 100` does.
//! * Arithmetic and numeric aggregates read numbers and treat anything else as missing.
//! * Numbers print without a fraction when they are whole (`sum` of integers stays
//!   `1234`), otherwise in the shortest form that reads back exactly.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Float64Array, Float64Builder,
    StringViewBuilder,
};
use datafusion::arrow::datatypes::{DataType, Float64Type, TimestampMillisecondType};
use datafusion::common::{Result, exec_err};

use super::strings::Strings;

/// A value is a number when its whole text is a decimal number (the filter pattern
/// language reads numbers the same way).
pub(crate) use sightline_logfilter::parse_number;

/// Prints a number the way query results show it; NaN and infinities have no text.
pub(crate) fn format_number(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return Some(format!("{}", value as i64));
    }
    Some(format!("{value}"))
}

/// A value on one side of a comparison.
#[derive(Clone, Copy)]
pub(crate) enum Dyn<'a> {
    Text(&'a str),
    Num(f64),
}

/// The outcome of comparing two values: an ordering, or "not comparable" when text
/// that is not a number meets a number.
#[derive(Clone, Copy)]
pub(crate) enum Outcome {
    Ordered(Ordering),
    Incomparable,
}

pub(crate) fn compare(left: Dyn<'_>, right: Dyn<'_>) -> Option<Outcome> {
    Some(match (left, right) {
        (Dyn::Num(a), Dyn::Num(b)) => Outcome::Ordered(a.partial_cmp(&b)?),
        (Dyn::Text(a), Dyn::Num(b)) | (Dyn::Num(b), Dyn::Text(a)) => {
            let Some(a) = parse_number(a) else {
                return Some(Outcome::Incomparable);
            };
            let ordering = a.partial_cmp(&b)?;
            Outcome::Ordered(if matches!(left, Dyn::Num(_)) {
                ordering.reverse()
            } else {
                ordering
            })
        }
        (Dyn::Text(a), Dyn::Text(b)) => match (parse_number(a), parse_number(b)) {
            (Some(x), Some(y)) => Outcome::Ordered(x.partial_cmp(&y)?),
            (None, None) => Outcome::Ordered(a.cmp(b)),
            _ => Outcome::Incomparable,
        },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The comparison's value: `None` when there is none.
    #[inline]
    pub(crate) fn decide(self, outcome: Option<Outcome>) -> Option<bool> {
        match outcome? {
            Outcome::Ordered(ordering) => Some(self.test(ordering)),
            Outcome::Incomparable => match self {
                CmpOp::Eq => Some(false),
                CmpOp::Ne => Some(true),
                _ => None,
            },
        }
    }

    #[inline]
    pub(crate) fn test(self, ordering: Ordering) -> bool {
        match self {
            CmpOp::Eq => ordering == Ordering::Equal,
            CmpOp::Ne => ordering != Ordering::Equal,
            CmpOp::Lt => ordering == Ordering::Less,
            CmpOp::Le => ordering != Ordering::Greater,
            CmpOp::Gt => ordering == Ordering::Greater,
            CmpOp::Ge => ordering != Ordering::Less,
        }
    }
}

/// One side of a comparison as a column: text or numbers.
enum Side<'a> {
    Text(Strings<'a>),
    Num(&'a Float64Array),
}

impl<'a> Side<'a> {
    fn new(array: &'a ArrayRef) -> Result<Side<'a>> {
        if array.data_type() == &DataType::Float64 {
            return Ok(Side::Num(array.as_primitive::<Float64Type>()));
        }
        Ok(Side::Text(Strings::new(array)?))
    }

    #[inline]
    fn get(&self, i: usize) -> Option<Dyn<'a>> {
        match self {
            Side::Text(s) => s.get(i).map(Dyn::Text),
            Side::Num(n) => (!n.is_null(i)).then(|| Dyn::Num(n.value(i))),
        }
    }
}

/// Compares two columns of the same length under the dynamic rules.
pub(crate) fn compare_columns(op: CmpOp, left: &ArrayRef, right: &ArrayRef) -> Result<ArrayRef> {
    let l = Side::new(left)?;
    let r = Side::new(right)?;
    let mut out = BooleanBuilder::with_capacity(left.len());
    for i in 0..left.len() {
        match (l.get(i), r.get(i)) {
            (Some(a), Some(b)) => out.append_option(op.decide(compare(a, b))),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Compares a column with one number, the shape of `status >= 500`.
pub(crate) fn compare_with_number(op: CmpOp, left: &ArrayRef, right: f64) -> Result<ArrayRef> {
    let mut out = BooleanBuilder::with_capacity(left.len());
    match Side::new(left)? {
        Side::Num(n) => {
            for i in 0..n.len() {
                if n.is_null(i) {
                    out.append_null();
                } else {
                    match n.value(i).partial_cmp(&right) {
                        Some(o) => out.append_value(op.test(o)),
                        None => out.append_null(),
                    }
                }
            }
        }
        Side::Text(s) => {
            for i in 0..s.len() {
                match s.get(i) {
                    None => out.append_null(),
                    Some(text) => {
                        let outcome = match parse_number(text) {
                            Some(v) => v.partial_cmp(&right).map(Outcome::Ordered),
                            None => Some(Outcome::Incomparable),
                        };
                        out.append_option(op.decide(outcome));
                    }
                }
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Text to numbers; anything that is not a number becomes null.
pub(crate) fn to_number(array: &ArrayRef) -> Result<ArrayRef> {
    let strings = Strings::new(array)?;
    let mut out = Float64Builder::with_capacity(strings.len());
    for i in 0..strings.len() {
        out.append_option(strings.get(i).and_then(parse_number));
    }
    Ok(Arc::new(out.finish()))
}

/// Numbers to their display text.
pub(crate) fn number_to_text(array: &ArrayRef) -> Result<ArrayRef> {
    let numbers = array.as_primitive_opt::<Float64Type>();
    let Some(numbers) = numbers else {
        return exec_err!("expected Float64, found {}", array.data_type());
    };
    let mut out = StringViewBuilder::with_capacity(numbers.len());
    for i in 0..numbers.len() {
        if numbers.is_null(i) {
            out.append_null();
        } else {
            match format_number(numbers.value(i)) {
                Some(text) => out.append_value(text),
                None => out.append_null(),
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Formats a millisecond timestamp as GetQueryResults does: `2024-01-31 23:59:59.999`.
pub(crate) fn format_timestamp(millis: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
}

pub(crate) fn time_to_text(array: &ArrayRef) -> Result<ArrayRef> {
    let Some(times) = array.as_primitive_opt::<TimestampMillisecondType>() else {
        return exec_err!(
            "expected a millisecond timestamp, found {}",
            array.data_type()
        );
    };
    let mut out = StringViewBuilder::with_capacity(times.len());
    for i in 0..times.len() {
        if times.is_null(i) {
            out.append_null();
        } else {
            match format_timestamp(times.value(i)) {
                Some(text) => out.append_value(text),
                None => out.append_null(),
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Appends the order-preserving encoding of `text` under the documented "updated
/// natural sort": non-numbers before numbers; within non-numbers, runs of digits compare
/// by length and then value, and everything else by code point.
pub(crate) fn natural_key(text: &str, out: &mut Vec<u8>) {
    if let Some(number) = parse_number(text) {
        out.push(2);
        let number = if number == 0.0 { 0.0 } else { number };
        let bits = number.to_bits();
        let ordered = if bits >> 63 == 1 {
            !bits
        } else {
            bits ^ (1 << 63)
        };
        out.extend_from_slice(&ordered.to_be_bytes());
        return;
    }
    out.push(1);
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            // `0` keeps the run's place among other characters by code point; the
            // length then orders runs of different lengths before their digits do.
            out.push(b'0');
            out.extend_from_slice(&((i - start) as u32).to_be_bytes());
            out.extend_from_slice(&b[start..i]);
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
}

pub(crate) fn sort_keys(array: &ArrayRef) -> Result<ArrayRef> {
    let strings = Strings::new(array)?;
    let mut out = BinaryBuilder::with_capacity(strings.len(), strings.len() * 16);
    let mut key = Vec::new();
    for i in 0..strings.len() {
        match strings.get(i) {
            None => out.append_null(),
            Some(text) => {
                key.clear();
                natural_key(text, &mut key);
                out.append_value(&key);
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_whole_decimal_texts() {
        assert_eq!(parse_number("404"), Some(404.0));
        assert_eq!(parse_number("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_number(".5"), Some(0.5));
        for bad in [
            "", "-", "1e", "inf", "NaN", " 1", "1 ", "0x10", "1.2.3", "12ms",
        ] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn whole_numbers_print_without_fraction() {
        assert_eq!(format_number(3.0).as_deref(), Some("3"));
        assert_eq!(format_number(2.5).as_deref(), Some("2.5"));
        assert_eq!(
            format_number(1.0 / 3.0).as_deref(),
            Some("0.3333333333333333")
        );
        assert_eq!(format_number(f64::NAN), None);
    }

    #[test]
    fn natural_order_matches_the_documented_example() {
        let expected = [
            "!:",
            "#",
            "*%04",
            "0#",
            "5A",
            "111A",
            "2345_",
            "@",
            "@_",
            "A",
            "A9876fghj",
            "a12345hfh",
            "0",
            "1",
            "2",
            "10",
        ];
        let mut shuffled = expected.to_vec();
        shuffled.reverse();
        shuffled.sort_by_key(|s| {
            let mut key = Vec::new();
            natural_key(s, &mut key);
            key
        });
        assert_eq!(shuffled, expected);
    }
}
