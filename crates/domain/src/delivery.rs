//! When a message that could not be delivered is tried again, and when relais gives up on it.
//!
//! A delivery is one message on one channel to one address (an SMS to the recipient, an e-mail, a
//! merchant's webhook endpoint). Each attempt ends in one of three ways. Accepted: the provider took
//! it, and it is never sent again. Refused for good: a 4xx other than 408 and 429, an address that does
//! not exist; that is a dead letter at once. Failed for now: a refused connection, a timeout, a 5xx, a
//! 429 or an answer that cannot be read; the message is tried again later, on the channel's schedule.
//!
//! Schedules:
//! - Webhooks follow the Standard Webhooks practice (Svix's schedule): at once, then 5 s, 5 min, 30 min,
//!   2 h, 5 h, 10 h and 10 h, about 28 hours in all. A merchant's server that is down for a night still
//!   gets its events.
//! - SMS and e-mail back off exponentially: 10 s, doubled at each failure, up to 30 minutes, 12
//!   attempts in all (2 h 12 min of waiting). A parcel's message is no use a day late.
//!
//! Every delay but the first is spread by up to ±20 %, so that a provider coming back up is not hit by
//! every held message in the same second. A provider's `Retry-After` is honoured when it asks for
//! longer than the schedule, up to a day. The jitter comes in as an argument (a number in [0, 1)), as
//! time does: the rule stays a plain function.
//!
//! No SMS reaches a recipient in their quiet hours (`QuietHours`, 21:00 to 08:00 by default, in the
//! point's timezone): it is held until they end. E-mail is not held, since it does not ring.

use chrono::{Duration, NaiveTime, TimeZone, Utc};

use crate::Timestamp;

/// The longest a provider's `Retry-After` can hold a message back.
pub const RETRY_AFTER_MAX_SECONDS: i64 = 24 * 3600;
/// How far jitter moves a delay, either way.
const JITTER_FRACTION: f64 = 0.2;

/// How a channel's failed messages are tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrySchedule {
    /// The wait before each retry, in seconds: the first entry before the second attempt, and so on.
    /// There are as many attempts as entries, plus one.
    Fixed(Vec<i64>),
    /// `first_seconds`, doubled after each failure up to `cap_seconds`, for `attempts` attempts in all.
    Exponential { first_seconds: i64, cap_seconds: i64, attempts: u32 },
}

impl RetrySchedule {
    /// Webhooks: about 28 hours of retries (Standard Webhooks, Svix's schedule).
    pub fn webhooks() -> RetrySchedule {
        RetrySchedule::Fixed(vec![5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600])
    }

    /// SMS and e-mail: 10 s doubled up to 30 minutes, 12 attempts.
    pub fn messages() -> RetrySchedule {
        RetrySchedule::Exponential { first_seconds: 10, cap_seconds: 30 * 60, attempts: 12 }
    }

    /// How many attempts a message gets before it is a dead letter.
    pub fn attempts(&self) -> u32 {
        match self {
            RetrySchedule::Fixed(delays) => u32::try_from(delays.len()).unwrap_or(u32::MAX).saturating_add(1),
            RetrySchedule::Exponential { attempts, .. } => *attempts,
        }
    }

    /// The wait after the `failed`-th failed attempt (1 for the first), before jitter; `None` once no
    /// attempt is left.
    pub fn delay_after(&self, failed: u32) -> Option<Duration> {
        if failed == 0 || failed >= self.attempts() {
            return None;
        }
        let seconds = match self {
            RetrySchedule::Fixed(delays) => delays[(failed - 1) as usize],
            RetrySchedule::Exponential { first_seconds, cap_seconds, .. } => {
                let doubled = first_seconds.saturating_mul(1i64 << (failed - 1).min(40));
                doubled.min(*cap_seconds)
            }
        };
        Some(Duration::seconds(seconds))
    }
}

/// The hours in which no SMS is sent to a recipient, in the point's local time. `start` after `end`
/// spans midnight (21:00 to 08:00); `start == end` means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> QuietHours {
        QuietHours {
            start: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
        }
    }
}

impl QuietHours {
    /// When an SMS due at `at` may leave, with `zone` the point's timezone: `at` itself outside the
    /// quiet hours, their end otherwise. Should that end not exist on that day (a clock moved forward
    /// over it), the first instant after the gap.
    pub fn release<Z: TimeZone>(&self, at: Timestamp, zone: &Z) -> Timestamp {
        let local = at.with_timezone(zone).naive_local();
        let time = local.time();
        let (quiet, ends_tomorrow) = if self.start == self.end {
            (false, false)
        } else if self.start < self.end {
            (time >= self.start && time < self.end, false)
        } else {
            (time >= self.start || time < self.end, time >= self.start)
        };
        if !quiet {
            return at;
        }
        let day = if ends_tomorrow { local.date().succ_opt().unwrap_or(local.date()) } else { local.date() };
        let end = day.and_time(self.end);
        zone.from_local_datetime(&end)
            .earliest()
            .or_else(|| zone.from_local_datetime(&(end + Duration::hours(1))).earliest())
            .map_or(at, |t| t.with_timezone(&Utc))
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The provider took the message; its reference, if it gave one (Twilio's message SID...).
    Accepted { provider_ref: Option<String> },
    /// It may work later. `retry_after`: what the provider asked for (`Retry-After`), if anything.
    Failed { error: String, retry_after: Option<Duration> },
    /// It will never work: a refusal of the message itself or of its address.
    Refused { error: String },
}

/// What to do with a message after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    Delivered {
        provider_ref: Option<String>,
    },
    /// Try again at this instant.
    RetryAt(Timestamp),
    /// A dead letter: kept with the last error for an operator to see and resend.
    Dead {
        error: String,
    },
}

/// The next step after the `attempt`-th attempt (1 for the first) ended in `outcome` at `now`.
/// `jitter` is a number in [0, 1); 0.5 leaves the delay as the schedule says.
pub fn after_attempt(
    schedule: &RetrySchedule,
    attempt: u32,
    outcome: AttemptOutcome,
    now: Timestamp,
    jitter: f64,
) -> NextStep {
    let (error, retry_after) = match outcome {
        AttemptOutcome::Accepted { provider_ref } => return NextStep::Delivered { provider_ref },
        AttemptOutcome::Refused { error } => return NextStep::Dead { error },
        AttemptOutcome::Failed { error, retry_after } => (error, retry_after),
    };
    let Some(delay) = schedule.delay_after(attempt) else {
        return NextStep::Dead { error: format!("{error} (after {attempt} attempts)") };
    };
    // A jitter out of range (or not a number) cannot stretch a delay beyond the fifth.
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.5 };
    let factor = 1.0 + JITTER_FRACTION * (2.0 * jitter - 1.0);
    let spread = Duration::milliseconds((delay.num_milliseconds() as f64 * factor).round() as i64);
    let asked = retry_after.map(|d| d.min(Duration::seconds(RETRY_AFTER_MAX_SECONDS)));
    NextStep::RetryAt(now + asked.map_or(spread, |asked| asked.max(spread)))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    fn failed(retry_after: Option<i64>) -> AttemptOutcome {
        AttemptOutcome::Failed { error: "HTTP 503".into(), retry_after: retry_after.map(Duration::seconds) }
    }

    #[test]
    fn the_schedules_span_what_they_promise() {
        let total = |s: &RetrySchedule| (1..s.attempts()).map(|n| s.delay_after(n).unwrap().num_seconds()).sum::<i64>();
        let webhooks = RetrySchedule::webhooks();
        assert_eq!(webhooks.attempts(), 8);
        assert_eq!(total(&webhooks), 5 + 300 + 1800 + 7200 + 18000 + 36000 + 36000, "about 28 hours");
        let messages = RetrySchedule::messages();
        let delays: Vec<i64> = (1..12).map(|n| messages.delay_after(n).unwrap().num_seconds()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 1800, 1800, 1800]);
        assert_eq!(messages.delay_after(12), None);
        assert_eq!(messages.delay_after(0), None);
        assert_eq!(total(&messages), 7950, "2 h 12 min of waiting over 12 attempts");
    }

    #[test]
    fn each_outcome_leads_to_its_step() {
        let webhooks = RetrySchedule::webhooks();
        let messages = RetrySchedule::messages();
        let accepted = AttemptOutcome::Accepted { provider_ref: Some("SM123".into()) };
        let refused = AttemptOutcome::Refused { error: "HTTP 400 invalid phone".into() };
        // (schedule, attempt, outcome, jitter, expected)
        let cases = [
            (&messages, 1, accepted.clone(), 0.5, NextStep::Delivered { provider_ref: Some("SM123".into()) }),
            (&messages, 12, accepted, 0.5, NextStep::Delivered { provider_ref: Some("SM123".into()) }),
            (&messages, 1, refused.clone(), 0.5, NextStep::Dead { error: "HTTP 400 invalid phone".into() }),
            // The schedule's delay, then spread by at most a fifth either way.
            (&messages, 1, failed(None), 0.5, NextStep::RetryAt(at(10))),
            (&messages, 3, failed(None), 0.0, NextStep::RetryAt(at(32))),
            (&messages, 3, failed(None), 0.999_999, NextStep::RetryAt(at(48))),
            (&webhooks, 1, failed(None), 0.5, NextStep::RetryAt(at(5))),
            (&webhooks, 7, failed(None), 0.5, NextStep::RetryAt(at(36000))),
            // A Retry-After longer than the schedule is honoured, up to a day; a shorter one is not.
            (&messages, 1, failed(Some(120)), 0.5, NextStep::RetryAt(at(120))),
            (&messages, 5, failed(Some(1)), 0.5, NextStep::RetryAt(at(160))),
            (&messages, 1, failed(Some(7 * 24 * 3600)), 0.5, NextStep::RetryAt(at(RETRY_AFTER_MAX_SECONDS))),
            // The last attempt failed: a dead letter that says how it ended.
            (&messages, 12, failed(None), 0.5, NextStep::Dead { error: "HTTP 503 (after 12 attempts)".into() }),
            (&webhooks, 8, failed(Some(5)), 0.5, NextStep::Dead { error: "HTTP 503 (after 8 attempts)".into() }),
        ];
        for (schedule, attempt, outcome, jitter, expected) in cases {
            let got = after_attempt(schedule, attempt, outcome.clone(), at(0), jitter);
            assert_eq!(got, expected, "attempt {attempt} {outcome:?} jitter {jitter}");
        }
    }

    #[test]
    fn an_sms_in_the_quiet_hours_waits_for_the_morning_in_the_points_timezone() {
        let paris = relais_hours::parse_timezone("Europe/Paris").unwrap();
        let utc = |s: &str| s.parse::<Timestamp>().unwrap();
        let night = QuietHours::default();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let lunch = QuietHours { start: t(12, 0), end: t(14, 0) };
        let none = QuietHours { start: t(9, 0), end: t(9, 0) };
        let early_gap = QuietHours { start: t(22, 0), end: t(2, 30) };
        // (quiet hours, due at, released at); Paris is UTC+1 in winter, UTC+2 in summer.
        let cases = [
            (night, "2026-12-07T12:00:00Z", "2026-12-07T12:00:00Z"),
            (night, "2026-12-07T19:59:59Z", "2026-12-07T19:59:59Z"),
            (night, "2026-12-07T20:00:00Z", "2026-12-08T07:00:00Z"),
            (night, "2026-12-07T21:30:00Z", "2026-12-08T07:00:00Z"),
            (night, "2026-12-08T06:59:00Z", "2026-12-08T07:00:00Z"),
            (night, "2026-12-08T07:00:00Z", "2026-12-08T07:00:00Z"),
            (night, "2026-07-01T19:30:00Z", "2026-07-02T06:00:00Z"),
            // The night the clocks go forward (28 March 2027): 08:00 is already summer time.
            (night, "2027-03-27T22:00:00Z", "2027-03-28T06:00:00Z"),
            // And back (31 October 2027): 08:00 is winter time again.
            (night, "2027-10-30T22:00:00Z", "2027-10-31T07:00:00Z"),
            (lunch, "2026-12-07T11:30:00Z", "2026-12-07T13:00:00Z"),
            (lunch, "2026-12-07T13:00:00Z", "2026-12-07T13:00:00Z"),
            (none, "2026-12-07T08:00:00Z", "2026-12-07T08:00:00Z"),
            // Quiet until 02:30, which does not exist on 28 March 2027: 03:30 summer time.
            (early_gap, "2027-03-27T23:00:00Z", "2027-03-28T01:30:00Z"),
        ];
        for (quiet, due, released) in cases {
            assert_eq!(quiet.release(utc(due), &paris), utc(released), "{quiet:?} due {due}");
        }
    }

    #[test]
    fn jitter_stays_within_a_fifth_whatever_it_is_given() {
        let messages = RetrySchedule::messages();
        for jitter in [-3.0, 0.0, 0.25, 0.5, 0.75, 0.999, 1.0, 7.0, f64::NAN] {
            let NextStep::RetryAt(when) = after_attempt(&messages, 9, failed(None), at(0), jitter) else {
                panic!("{jitter}");
            };
            let waited = (when - at(0)).num_milliseconds();
            assert!((1_440_000..=2_160_000).contains(&waited), "{jitter}: {waited} ms for a 1,800 s delay");
        }
    }
}
