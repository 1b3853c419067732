//! UTC calendar fields of a timestamp, for MINUTE, HOUR, DAY, DATE, MONTH, YEAR and
//! EPOCH, computed arithmetically so the crate needs no date library.

/// The named field of epoch second `t`: DAY is the ISO weekday (Monday 1 .. Sunday 7),
/// DATE the day of the month, EPOCH the timestamp itself.
pub(crate) fn field(name: &str, t: i64) -> f64 {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    match name {
        "MINUTE" => (secs / 60 % 60) as f64,
        "HOUR" => (secs / 3600) as f64,
        "DAY" => ((days + 3).rem_euclid(7) + 1) as f64,
        "DATE" => day as f64,
        "MONTH" => month as f64,
        "YEAR" => year as f64,
        _ => t as f64,
    }
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01, by the usual
/// era-of-400-years decomposition of the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2024-02-29T13:45:00Z, a Thursday.
        let t = 1_709_214_300;
        assert_eq!(field("YEAR", t), 2024.0);
        assert_eq!(field("MONTH", t), 2.0);
        assert_eq!(field("DATE", t), 29.0);
        assert_eq!(field("DAY", t), 4.0);
        assert_eq!(field("HOUR", t), 13.0);
        assert_eq!(field("MINUTE", t), 45.0);
        assert_eq!(field("EPOCH", t), t as f64);
        // 2023-01-01 was a Sunday.
        assert_eq!(field("DAY", 1_672_531_200), 7.0);
    }
}
