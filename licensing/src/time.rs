//! Time as data. The licensing core never reads a clock: every operation is handed a [`Timestamp`], so
//! a simulation can jump the clock past publicity periods and a replay sees the same times.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds in one day; publicity periods and licence durations are counted in whole days.
pub const MS_PER_DAY: i64 = 86_400_000;

/// An instant as Unix milliseconds (UTC). Ordered, copyable and stored as a plain integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

/// Why a time string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time {0:?}: expected RFC 3339 UTC (2026-11-23T20:00:00Z) or Unix milliseconds")]
pub struct TimeParseError(pub String);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// Wraps Unix milliseconds.
    pub const fn from_unix_ms(ms: i64) -> Self {
        Timestamp(ms)
    }

    /// The Unix milliseconds.
    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    /// This instant plus whole days, or `None` if that leaves the representable range.
    pub fn checked_add_days(self, days: u32) -> Option<Timestamp> {
        i64::from(days).checked_mul(MS_PER_DAY).and_then(|d| self.0.checked_add(d)).map(Timestamp)
    }

    /// This instant plus milliseconds, saturating (used by simulations that jump the clock).
    pub fn saturating_add_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// The calendar year (UTC), used to name invoice series.
    pub fn year(self) -> i64 {
        civil_from_days(self.0.div_euclid(MS_PER_DAY)).0
    }

    /// The calendar date (UTC): year, month 1–12, day 1–31. Reports bucket by it.
    pub fn date(self) -> (i64, u32, u32) {
        let (y, m, d) = civil_from_days(self.0.div_euclid(MS_PER_DAY));
        (y, m as u32, d as u32)
    }

    /// Midnight (UTC) of a calendar date, or `None` for a date that does not exist.
    pub fn from_date(y: i64, m: u32, d: u32) -> Option<Timestamp> {
        let (m, d) = (i64::from(m), i64::from(d));
        if !(1..=12).contains(&m) || !(1..=days_in_month(y, m)).contains(&d) || !(-9999..=9999).contains(&y) {
            return None;
        }
        Some(Timestamp(days_from_civil(y, m, d) * MS_PER_DAY))
    }

    /// Parses RFC 3339 in UTC (`2026-11-23T20:00:00Z`, optional `.mmm`) or a bare integer of Unix
    /// milliseconds. Offsets other than `Z` are refused rather than guessed.
    pub fn parse(text: &str) -> Result<Timestamp, TimeParseError> {
        let err = || TimeParseError(text.to_owned());
        if let Ok(ms) = text.parse::<i64>() {
            return Ok(Timestamp(ms));
        }
        let b = text.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, TimeParseError> {
            let s = text.get(r).ok_or_else(err)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            s.parse::<i64>().map_err(|_| err())
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let rest = &text[19..];
        let millis = match rest {
            "Z" => 0,
            _ if rest.len() == 5 && rest.starts_with('.') && rest.ends_with('Z') => num(20..23)?,
            _ => return Err(err()),
        };
        if !(1..=12).contains(&mo) || !(1..=days_in_month(y, mo)).contains(&d) || h > 23 || mi > 59 || s > 59 {
            return Err(err());
        }
        let days = days_from_civil(y, mo, d);
        Ok(Timestamp(days * MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1000 + millis))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-23T20:00:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ms_of_day % 1000
        )
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithm: proleptic Gregorian, exact for any i64-sized year range
// we can reach, and small enough that pulling in a date crate is not worth it.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let t = Timestamp::parse("2026-11-23T20:00:00Z").expect("valid");
        assert_eq!(t.unix_ms(), 1_795_464_000_000);
        assert_eq!(t.to_string(), "2026-11-23T20:00:00.000Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z"), Ok(Timestamp::EPOCH));
        assert_eq!(Timestamp::parse("12345"), Ok(Timestamp::from_unix_ms(12345)));
        assert_eq!(t.year(), 2026);
    }

    #[test]
    fn bad_times_are_refused() {
        for bad in ["2026-02-30T00:00:00Z", "2026-11-23 20:00:00Z", "2026-11-23T20:00:00+08:00", "", "x"] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }
}
