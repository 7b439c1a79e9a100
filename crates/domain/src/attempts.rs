//! Limits on wrong pickup codes. A counter per scope (a point, a parcel) counts failures in a window;
//! reaching the limit locks the scope until the lockout passes. This is what makes an 8-digit code safe
//! to type on a public keypad: an attacker gets a handful of guesses per window, not millions.

use chrono::Duration;

use crate::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimits {
    pub failures_max: u32,
    pub window_seconds: u32,
    pub lockout_seconds: u32,
}

/// The failures seen in the current window of one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCounter {
    pub failures: u32,
    pub window_started_at: Timestamp,
    pub locked_until: Option<Timestamp>,
}

/// The scope is locked; tries are refused until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub until: Timestamp,
}

impl AttemptCounter {
    /// Whether a try may be made now.
    pub fn check(counter: Option<&AttemptCounter>, now: Timestamp) -> Result<(), Locked> {
        match counter.and_then(|c| c.locked_until) {
            Some(until) if now < until => Err(Locked { until }),
            Some(_) | None => Ok(()),
        }
    }

    /// The counter after one more wrong code at `now`. A window that has ended (or a lockout that has
    /// passed) starts afresh.
    pub fn record_failure(counter: Option<&AttemptCounter>, limits: AttemptLimits, now: Timestamp) -> AttemptCounter {
        let window = Duration::seconds(i64::from(limits.window_seconds));
        let fresh = AttemptCounter { failures: 0, window_started_at: now, locked_until: None };
        let current = match counter {
            Some(c) if c.locked_until.is_some_and(|until| now >= until) => fresh,
            Some(c) if c.locked_until.is_none() && now >= c.window_started_at + window => fresh,
            Some(c) => *c,
            None => fresh,
        };
        let failures = current.failures + 1;
        let locked_until = if failures >= limits.failures_max {
            Some(now + Duration::seconds(i64::from(limits.lockout_seconds)))
        } else {
            current.locked_until
        };
        AttemptCounter { failures, window_started_at: current.window_started_at, locked_until }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn s(seconds: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    const LIMITS: AttemptLimits = AttemptLimits { failures_max: 3, window_seconds: 600, lockout_seconds: 900 };

    #[test]
    fn locks_after_the_limit_and_unlocks_after_the_lockout() {
        let mut counter: Option<AttemptCounter> = None;
        for second in [0, 10, 20] {
            assert!(AttemptCounter::check(counter.as_ref(), s(second)).is_ok());
            counter = Some(AttemptCounter::record_failure(counter.as_ref(), LIMITS, s(second)));
        }
        assert_eq!(AttemptCounter::check(counter.as_ref(), s(21)), Err(Locked { until: s(920) }));
        assert_eq!(AttemptCounter::check(counter.as_ref(), s(919)), Err(Locked { until: s(920) }));
        assert!(AttemptCounter::check(counter.as_ref(), s(920)).is_ok());
        let after = AttemptCounter::record_failure(counter.as_ref(), LIMITS, s(930));
        assert_eq!(after, AttemptCounter { failures: 1, window_started_at: s(930), locked_until: None });
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let first = AttemptCounter::record_failure(None, LIMITS, s(0));
        let second = AttemptCounter::record_failure(Some(&first), LIMITS, s(300));
        let third = AttemptCounter::record_failure(Some(&second), LIMITS, s(601));
        assert_eq!(third.failures, 1);
        assert_eq!(third.locked_until, None);
    }
}
