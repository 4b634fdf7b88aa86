//! Epoch-millisecond time, the unit of every CloudWatch Logs timestamp.

use chrono::{DateTime, TimeZone, Utc};

/// Milliseconds in one hour; segments are cut at hour boundaries.
pub const HOUR_MS: i64 = 3_600_000;
/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;

/// The current time in epoch milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The start of the hour that contains `ms`.
pub fn hour_floor(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// `ms` as a UTC date-time, or `None` when it is outside chrono's range.
pub fn to_datetime(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_floor_handles_negative_times() {
        assert_eq!(hour_floor(HOUR_MS + 5), HOUR_MS);
        assert_eq!(hour_floor(-1), -HOUR_MS);
    }
}
