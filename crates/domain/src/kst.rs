//! Dates and times in Korea Standard Time (UTC+9, no daylight saving), the
//! time every user of the platform lives in. Times are unix milliseconds.

/// Korea's offset from UTC, in milliseconds.
pub const OFFSET_MS: i64 = 9 * 3_600_000;

/// A calendar date and time of day in Korea.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KstDateTime {
    /// The year, e.g. 2026.
    pub year: i32,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0 = Sunday … 6 = Saturday.
    pub weekday: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
}

/// The Korean date and time at unix milliseconds `ms`.
pub fn at(ms: i64) -> KstDateTime {
    let local = ms.saturating_add(OFFSET_MS);
    let days = local.div_euclid(86_400_000);
    let in_day = local.rem_euclid(86_400_000) / 60_000;
    let (year, month, day) = civil_from_days(days);
    KstDateTime {
        year,
        month,
        day,
        // 1970-01-01 was a Thursday.
        weekday: u8::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
        hour: u8::try_from(in_day / 60).unwrap_or(0),
        minute: u8::try_from(in_day % 60).unwrap_or(0),
    }
}

/// The Korean month of `ms` as `YYYY-MM` (a payroll statement's month).
pub fn month(ms: i64) -> String {
    let t = at(ms);
    format!("{:04}-{:02}", t.year, t.month)
}

/// Parses a month as `YYYY-MM` (years 2000..=2999); `None` otherwise.
pub fn parse_month(text: &str) -> Option<String> {
    let (year, month) = text.trim().split_once('-')?;
    let ok = year.len() == 4
        && month.len() == 2
        && year.bytes().chain(month.bytes()).all(|b| b.is_ascii_digit())
        && (2000..=2999).contains(&year.parse::<u32>().ok()?)
        && (1..=12).contains(&month.parse::<u32>().ok()?);
    ok.then(|| format!("{year}-{month}"))
}

/// The month `delta` months after `month` (`YYYY-MM`, as [`parse_month`]
/// accepts); `None` for a month it does not accept.
pub fn add_months(month: &str, delta: i32) -> Option<String> {
    let month = parse_month(month)?;
    let (year, m) = month.split_once('-')?;
    let index = year.parse::<i32>().ok()? * 12 + m.parse::<i32>().ok()? - 1 + delta;
    parse_month(&format!("{:04}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1))
}

/// Year, month and day of the `days`-th day after 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, proleptic Gregorian).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korea_is_nine_hours_ahead_and_the_month_turns_at_its_midnight() {
        // 2025-11-21 06:47 UTC is Friday 15:47 in Seoul.
        let t = at(1_763_707_620_000);
        assert_eq!(
            (t.year, t.month, t.day, t.weekday, t.hour, t.minute),
            (2025, 11, 21, 5, 15, 47)
        );
        // 2026-11-30 15:00 UTC is already December in Korea.
        assert_eq!(month(1_796_050_800_000), "2026-12");
        assert_eq!(month(1_796_050_799_999), "2026-11");
        assert_eq!(at(0).weekday, 4, "1970-01-01 09:00 KST, a Thursday");
        assert_eq!(month(951_782_400_000), "2000-02", "2000-02-29, a leap day");
    }

    #[test]
    fn months_parse_only_as_year_dash_month() {
        assert_eq!(parse_month("2026-12").as_deref(), Some("2026-12"));
        assert_eq!(parse_month(" 2026-01 ").as_deref(), Some("2026-01"));
        assert_eq!(add_months("2026-01", -1).as_deref(), Some("2025-12"));
        assert_eq!(add_months("2026-12", 1).as_deref(), Some("2027-01"));
        assert_eq!(add_months("nope", 1), None);
        for bad in [
            "2026-13",
            "2026-00",
            "26-12",
            "2026-1",
            "abcd-ef",
            "",
            "2026/12",
            "1999-12",
            "２０２６-12",
        ] {
            assert_eq!(parse_month(bad), None, "{bad:?}");
        }
    }
}
