//! The widget's notions of time: `start`/`end` as ISO-8601 durations back from now or as
//! absolute ISO-8601 timestamps, `timezone` as a `+HHMM` offset, and the civil-calendar
//! arithmetic needed to label a time axis without a date library.

/// A `start` or `end` value, kept unresolved so that one parsed widget can be rendered
/// again later against a newer "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSpec {
    /// `seconds` before now (`-PT3H` is 10 800).
    Relative { seconds: i64 },
    /// A fixed instant in epoch seconds.
    Absolute { epoch_s: i64 },
}

impl TimeSpec {
    /// The instant this denotes when the current time is `now_epoch_s`.
    pub fn resolve(&self, now_epoch_s: i64) -> i64 {
        match *self {
            TimeSpec::Relative { seconds } => now_epoch_s.saturating_sub(seconds),
            TimeSpec::Absolute { epoch_s } => epoch_s,
        }
    }

    /// Parses either form; `None` when the text is neither.
    pub fn parse(text: &str) -> Option<TimeSpec> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix('-') {
            return parse_duration(rest).map(|seconds| TimeSpec::Relative { seconds });
        }
        // "PT0H" (no sign) means now, and a zero duration is the one positive offset AWS
        // examples use; any other unsigned duration would point into the future.
        if text.starts_with('P') || text.starts_with('p') {
            return parse_duration(text)
                .filter(|s| *s == 0)
                .map(|seconds| TimeSpec::Relative { seconds });
        }
        parse_timestamp(text).map(|epoch_s| TimeSpec::Absolute { epoch_s })
    }
}

/// Parses an ISO-8601 duration (`P1DT2H`, `PT15M`, `P1W`, `PT1.5H`) into seconds. Years
/// and months count as 365 and 30 days: a relative graph range has no calendar anchor.
fn parse_duration(text: &str) -> Option<i64> {
    let body = text.strip_prefix('P').or_else(|| text.strip_prefix('p'))?;
    if body.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in body.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'T' | 't' => {
                if in_time || !number.is_empty() {
                    return None;
                }
                in_time = true;
            }
            _ => {
                let n: f64 = number.parse().ok()?;
                number.clear();
                let unit = match (c.to_ascii_uppercase(), in_time) {
                    ('Y', false) => 365.0 * 86_400.0,
                    ('M', false) => 30.0 * 86_400.0,
                    ('W', false) => 7.0 * 86_400.0,
                    ('D', false) => 86_400.0,
                    ('H', true) => 3_600.0,
                    ('M', true) => 60.0,
                    ('S', true) => 1.0,
                    _ => return None,
                };
                total += n * unit;
                any = true;
            }
        }
    }
    if !number.is_empty() || !any || !total.is_finite() || total > 1e15 {
        return None;
    }
    Some(total.round() as i64)
}

/// Parses `YYYY-MM-DD[Thh:mm[:ss[.fff]]][Z|±hh:mm|±hhmm]`; no zone means UTC, as in AWS.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (month, day) = (num(5, 2)?, num(8, 2)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    let mut i = 10;
    if i < b.len() && matches!(b[i], b'T' | b't' | b' ') {
        let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
        if b.get(i + 3) != Some(&b':') || h > 23 || m > 59 {
            return None;
        }
        secs += h * 3_600 + m * 60;
        i += 6;
        if b.get(i) == Some(&b':') {
            let s = num(i + 1, 2)?;
            if s > 60 {
                return None;
            }
            secs += s;
            i += 3;
            if b.get(i) == Some(&b'.') {
                i += 1;
                let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 {
                    return None;
                }
                i += digits;
            }
        }
    }
    match b.get(i) {
        None => Some(secs),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(secs),
        Some(b'+' | b'-') => {
            let offset = parse_offset(std::str::from_utf8(&b[i..]).ok()?)?;
            Some(secs - offset)
        }
        _ => None,
    }
}

/// Parses `+hhmm`, `+hh:mm` or `+hh` (or `-`) into seconds east of UTC.
pub fn parse_offset(text: &str) -> Option<i64> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|c| c.is_ascii_digit()) || rest.matches(':').count() > 1 {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits[..2].parse::<i64>().ok()?,
            digits[2..].parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3_600 + m * 60))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01; valid for any `i64` day count
/// that a timestamp in seconds can produce.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert!(civil_from_days(i64::MAX / 86_400).0 > 1_000_000);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT3H"), Some(10_800));
        assert_eq!(parse_duration("P1DT1M"), Some(86_460));
        assert_eq!(parse_duration("PT1.5H"), Some(5_400));
        assert_eq!(parse_duration("P1H"), None);
        assert_eq!(parse_duration("PT"), None);
        assert_eq!(parse_duration("P"), None);
    }
}
