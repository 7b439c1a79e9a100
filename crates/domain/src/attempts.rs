//! Limits on wrong codes. A counter per scope (a point's keypad, a parcel, a carrier's key at a locker)
//! counts failures in a window; reaching the limit locks the scope until the lockout passes. This is
//! what makes an 8-digit code safe to type on a public keypad: an attacker gets a handful of guesses per
//! window, not millions.
//!
//! A locked keypad must slow the guesser, not shut out the locker's other users for the whole lockout:
//! while locked, a scope with `probe_seconds` still lets one try through every `probe_seconds` (a
//! recipient with the right code waits seconds, a guesser gets a few tries a minute; at 4 a minute, one
//! code in a hundred million, finding any of a locker's fifty waiting codes takes over a year).

use chrono::Duration;

use crate::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimits {
    pub failures_max: u32,
    pub window_seconds: u32,
    pub lockout_seconds: u32,
    /// While locked, one try is let through every this many seconds; 0: none until the lockout ends.
    pub probe_seconds: u32,
}

/// The failures seen in the current window of one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCounter {
    pub failures: u32,
    pub window_started_at: Timestamp,
    pub locked_until: Option<Timestamp>,
    /// The last try let through while locked.
    pub probed_at: Option<Timestamp>,
}

/// The scope is locked; tries are refused until `until` (the end of the lockout, or the next probe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub until: Timestamp,
}

/// How a try is let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Not locked.
    Open,
    /// Locked, and this is the one try of the probe period: it is recorded ([`AttemptCounter::probed`])
    /// whether it succeeds or not.
    Probe,
}

impl AttemptCounter {
    /// Whether a try may be made now.
    pub fn check(counter: Option<&AttemptCounter>, limits: AttemptLimits, now: Timestamp) -> Result<Admission, Locked> {
        let Some(counter) = counter else { return Ok(Admission::Open) };
        match counter.locked_until {
            Some(until) if now < until => {
                if limits.probe_seconds == 0 {
                    return Err(Locked { until });
                }
                let probe = Duration::seconds(i64::from(limits.probe_seconds));
                match counter.probed_at {
                    Some(last) if now < last + probe => Err(Locked { until: (last + probe).min(until) }),
                    Some(_) | None => Ok(Admission::Probe),
                }
            }
            Some(_) | None => Ok(Admission::Open),
        }
    }

    /// The counter after one more wrong code at `now`. A window that has ended (or a lockout that has
    /// passed) starts afresh; a wrong code during a probe keeps the lockout and waits for the next probe.
    pub fn record_failure(counter: Option<&AttemptCounter>, limits: AttemptLimits, now: Timestamp) -> AttemptCounter {
        let current = Self::current(counter, limits, now);
        if current.locked_until.is_some() {
            return AttemptCounter { probed_at: Some(now), ..current };
        }
        let failures = current.failures + 1;
        let locked_until =
            (failures >= limits.failures_max).then(|| now + Duration::seconds(i64::from(limits.lockout_seconds)));
        // The failure that locks counts as the last try: the first probe waits a whole period.
        let probed_at = locked_until.map(|_| now);
        AttemptCounter { failures, locked_until, probed_at, ..current }
    }

    /// The counter after a try let through during a lockout succeeded: the next probe waits.
    pub fn probed(&self, now: Timestamp) -> AttemptCounter {
        AttemptCounter { probed_at: Some(now), ..*self }
    }

    /// The counter as it stands at `now`: a passed lockout or an ended window is a fresh one.
    fn current(counter: Option<&AttemptCounter>, limits: AttemptLimits, now: Timestamp) -> AttemptCounter {
        let window = Duration::seconds(i64::from(limits.window_seconds));
        let fresh = AttemptCounter { failures: 0, window_started_at: now, locked_until: None, probed_at: None };
        match counter {
            Some(c) if c.locked_until.is_some_and(|until| now >= until) => fresh,
            Some(c) if c.locked_until.is_none() && now >= c.window_started_at + window => fresh,
            Some(c) => *c,
            None => fresh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn s(seconds: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    const LIMITS: AttemptLimits =
        AttemptLimits { failures_max: 3, window_seconds: 600, lockout_seconds: 900, probe_seconds: 0 };

    #[test]
    fn locks_after_the_limit_and_unlocks_after_the_lockout() {
        let mut counter: Option<AttemptCounter> = None;
        for second in [0, 10, 20] {
            assert_eq!(AttemptCounter::check(counter.as_ref(), LIMITS, s(second)), Ok(Admission::Open));
            counter = Some(AttemptCounter::record_failure(counter.as_ref(), LIMITS, s(second)));
        }
        assert_eq!(AttemptCounter::check(counter.as_ref(), LIMITS, s(21)), Err(Locked { until: s(920) }));
        assert_eq!(AttemptCounter::check(counter.as_ref(), LIMITS, s(919)), Err(Locked { until: s(920) }));
        assert_eq!(AttemptCounter::check(counter.as_ref(), LIMITS, s(920)), Ok(Admission::Open));
        let after = AttemptCounter::record_failure(counter.as_ref(), LIMITS, s(930));
        assert_eq!(
            after,
            AttemptCounter { failures: 1, window_started_at: s(930), locked_until: None, probed_at: None }
        );
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let first = AttemptCounter::record_failure(None, LIMITS, s(0));
        let second = AttemptCounter::record_failure(Some(&first), LIMITS, s(300));
        let third = AttemptCounter::record_failure(Some(&second), LIMITS, s(601));
        assert_eq!(third.failures, 1);
        assert_eq!(third.locked_until, None);
    }

    #[test]
    fn a_locked_scope_with_probes_lets_one_try_through_per_period() {
        let limits = AttemptLimits { probe_seconds: 15, ..LIMITS };
        let mut counter = None;
        for second in [0, 1, 2] {
            counter = Some(AttemptCounter::record_failure(counter.as_ref(), limits, s(second)));
        }
        let locked = counter.unwrap();
        assert_eq!((locked.locked_until, locked.probed_at), (Some(s(902)), Some(s(2))));
        // The failure that locked was the last try: the first probe comes a period later.
        assert_eq!(AttemptCounter::check(Some(&locked), limits, s(3)), Err(Locked { until: s(17) }));
        assert_eq!(AttemptCounter::check(Some(&locked), limits, s(17)), Ok(Admission::Probe));
        // A wrong probe makes the next wait 15 s.
        let after_wrong = AttemptCounter::record_failure(Some(&locked), limits, s(17));
        assert_eq!((after_wrong.failures, after_wrong.probed_at), (3, Some(s(17))), "the lockout stays");
        assert_eq!(AttemptCounter::check(Some(&after_wrong), limits, s(20)), Err(Locked { until: s(32) }));
        assert_eq!(AttemptCounter::check(Some(&after_wrong), limits, s(32)), Ok(Admission::Probe));
        // A right one too: the next waits as well.
        let after_right = after_wrong.probed(s(32));
        assert_eq!(AttemptCounter::check(Some(&after_right), limits, s(40)), Err(Locked { until: s(47) }));
        // The next probe is never later than the end of the lockout.
        let late = locked.probed(s(895));
        assert_eq!(AttemptCounter::check(Some(&late), limits, s(896)), Err(Locked { until: s(902) }));
        assert_eq!(AttemptCounter::check(Some(&late), limits, s(902)), Ok(Admission::Open));
    }
}
