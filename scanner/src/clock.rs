//! Calendar time, from the `time` crate: today's date in UTC (for the
//! ignore file's expiry dates) and RFC 3339 timestamps (for SBOMs and VEX).

use std::time::{SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A calendar date, comparable: (year, month, day).
pub type Date = (u16, u8, u8);

/// `at` in UTC, whole seconds; times before 1970 are the epoch.
fn utc(at: SystemTime) -> OffsetDateTime {
    let seconds = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(0))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The UTC date of `at`.
pub fn date_of(at: SystemTime) -> Date {
    let day = utc(at).date();
    (
        u16::try_from(day.year()).unwrap_or(0),
        u8::from(day.month()),
        day.day(),
    )
}

/// Today's date in UTC.
pub fn today() -> Date {
    date_of(SystemTime::now())
}

/// `at` as RFC 3339 in UTC with seconds precision (`YYYY-MM-DDThh:mm:ssZ`),
/// the one form both SPDX 2.3 and CycloneDX accept.
pub fn rfc3339(at: SystemTime) -> String {
    utc(at)
        .format(&Rfc3339)
        .expect("a whole-second UTC time formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(date_of(at(0)), (1970, 1, 1));
        assert_eq!(date_of(at(20_785 * 86_400)), (2026, 11, 28));
        assert_eq!(date_of(at(11_016 * 86_400)), (2000, 2, 29), "a leap day");
        assert_eq!(rfc3339(at(1_796_083_200)), "2026-12-01T00:00:00Z");
        assert_eq!(rfc3339(at(951_782_399)), "2000-02-28T23:59:59Z");
        assert_eq!(rfc3339(at(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(at(1_735_689_599)), "2024-12-31T23:59:59Z");
        assert_eq!(rfc3339(at(4_107_542_400)), "2100-03-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
    }
}
