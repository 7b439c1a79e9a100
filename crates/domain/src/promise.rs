//! The delivery promise and its lateness (docs/claims.md): a parcel handed to its carrier on day J with
//! a service level of n working days is due on J+n; it is late by the working days between that date
//! and the day it was delivered, which for a pickup point is the day it became available for pickup
//! there. Working days are Monday to Friday, less the public holidays of the country delivered to.
//! Also here: when the timeline shows that the promise will be missed, so that the recipient is told
//! before they ask.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use relais_hours::PublicHolidays;

use crate::Timestamp;

/// The working days of a country: Monday to Friday, not a public holiday.
#[derive(Debug, Clone)]
pub struct WorkingDays {
    holidays: Option<PublicHolidays>,
}

impl WorkingDays {
    /// The working days of the country with these holidays; `None`: weekends only.
    pub fn new(holidays: Option<PublicHolidays>) -> WorkingDays {
        WorkingDays { holidays }
    }

    pub fn is_working(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && !self.holidays.as_ref().is_some_and(|h| h.contains(date))
    }

    /// The date `days` working days after `from` (J+n from J): a Friday plus one is the Monday, and a
    /// handover on a Saturday counts from the Monday as its first day.
    pub fn add(&self, from: NaiveDate, days: u32) -> NaiveDate {
        let mut date = from;
        let mut left = days;
        while left > 0 {
            date += Duration::days(1);
            if self.is_working(date) {
                left -= 1;
            }
        }
        date
    }

    /// The working days after `due` up to and including `done`: how late a parcel due on `due` and
    /// delivered on `done` is (0 when on time or early). Delivered on a Saturday after a Friday due date
    /// is not late: the Saturday is not a working day.
    pub fn late(&self, due: NaiveDate, done: NaiveDate) -> u32 {
        let mut late = 0;
        let mut date = due;
        while date < done {
            date += Duration::days(1);
            if self.is_working(date) {
                late += 1;
            }
        }
        late
    }
}

/// A parcel's promise: handed over on `shipped_on`, due on `due_on` (both local dates of the country
/// delivered to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Promise {
    pub shipped_on: NaiveDate,
    pub days: u32,
    pub due_on: NaiveDate,
}

impl Promise {
    pub fn new(shipped_on: NaiveDate, days: u32, calendar: &WorkingDays) -> Promise {
        Promise { shipped_on, days, due_on: calendar.add(shipped_on, days) }
    }
}

/// Why relais tells a recipient that their parcel will be late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayReason {
    /// The carrier says so (`delivery_delayed`).
    CarrierDelay,
    /// A delivery failed (`delivery_failed`).
    DeliveryFailed,
    /// The carrier has not moved the parcel for longer than the network allows.
    NoMovement,
    /// The promised day is over and the parcel is not there.
    PromiseMissed,
}

impl DelayReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DelayReason::CarrierDelay => "carrier_delay",
            DelayReason::DeliveryFailed => "delivery_failed",
            DelayReason::NoMovement => "no_movement",
            DelayReason::PromiseMissed => "promise_missed",
        }
    }
}

/// What is known of a parcel in its carrier's hands, to decide whether it will be late.
#[derive(Debug, Clone, Copy)]
pub struct InHands<'a> {
    /// The normalised status of its carrier's latest event (`relais_tracking`'s vocabulary).
    pub status: Option<&'a str>,
    /// When it last moved (its carrier's latest event), or when relais began following it.
    pub last_movement_at: Timestamp,
    /// Whether it was delivered (available at its point, or handed over).
    pub delivered: bool,
}

/// Whether the parcel will miss its promise, and why: the first that holds of a delay the carrier
/// reports, a failed delivery, no movement for `quiet_limit`, the promised day over (`today` is the
/// local date of the country delivered to). Nothing once delivered.
pub fn delay(
    parcel: InHands<'_>,
    promise: Option<&Promise>,
    now: Timestamp,
    today: NaiveDate,
    quiet_limit: Duration,
) -> Option<DelayReason> {
    if parcel.delivered {
        return None;
    }
    match parcel.status {
        Some("delivery_delayed") => return Some(DelayReason::CarrierDelay),
        Some("delivery_failed") => return Some(DelayReason::DeliveryFailed),
        _ => {}
    }
    if now - parcel.last_movement_at >= quiet_limit {
        return Some(DelayReason::NoMovement);
    }
    if promise.is_some_and(|p| today > p.due_on) {
        return Some(DelayReason::PromiseMissed);
    }
    None
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn day(d: &str) -> NaiveDate {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
    }

    fn france() -> WorkingDays {
        WorkingDays::new(Some(PublicHolidays::of("FR").unwrap()))
    }

    #[test]
    fn promises_count_working_days_past_weekends_and_public_holidays() {
        let fr = france();
        let cases = [
            // (handed over, service days, due)
            ("2026-03-03", 2, "2026-03-05"), // Tuesday + 2: Thursday
            ("2026-03-06", 2, "2026-03-10"), // a Friday promise: Tuesday
            ("2026-03-07", 2, "2026-03-10"), // handed over on Saturday: Monday is its first day
            ("2026-03-08", 1, "2026-03-09"), // Sunday + 1: Monday
            ("2026-12-23", 2, "2026-12-28"), // Christmas Friday: Thursday 24, Monday 28
            ("2026-04-30", 2, "2026-05-05"), // 1 May (Friday) a holiday: Monday 4, Tuesday 5
            ("2026-07-13", 1, "2026-07-15"), // 14 July (Tuesday) a holiday
            ("2026-11-10", 3, "2026-11-16"), // 11 November (Wednesday): Thursday, Friday, Monday
            ("2026-03-03", 0, "2026-03-03"),
        ];
        for (shipped, days, due) in cases {
            assert_eq!(Promise::new(day(shipped), days, &fr).due_on, day(due), "{shipped} + {days}");
        }
        // Without a country, only weekends.
        let plain = WorkingDays::new(None);
        assert_eq!(plain.add(day("2026-12-23"), 2), day("2026-12-25"));
        // Germany's 3 October (Saturday in 2026, so 2 October then): a German calendar differs from the French.
        let de = WorkingDays::new(Some(PublicHolidays::of("DE").unwrap()));
        assert_eq!(de.add(day("2026-10-02"), 1), day("2026-10-05"));
        assert!(!de.is_working(day("2026-10-03")));
        assert!(!france().is_working(day("2026-05-08")), "8 May is a French holiday");
        assert!(de.is_working(day("2026-05-08")));
    }

    #[test]
    fn lateness_counts_the_working_days_after_the_due_date() {
        let fr = france();
        let cases = [
            // (due, delivered, working days late)
            ("2026-03-05", "2026-03-05", 0),
            ("2026-03-05", "2026-03-04", 0), // early
            ("2026-03-05", "2026-03-06", 1),
            ("2026-03-06", "2026-03-07", 0), // due Friday, there on Saturday: not a working day
            ("2026-03-06", "2026-03-09", 1), // due Friday, there on Monday: J+1
            ("2026-03-06", "2026-03-12", 4),
            ("2026-04-30", "2026-05-04", 1), // 1 May in between does not count
            ("2026-12-24", "2026-12-31", 4), // Thursday to Thursday: 25 December (Friday) does not count
        ];
        for (due, done, late) in cases {
            assert_eq!(fr.late(day(due), day(done)), late, "due {due}, delivered {done}");
        }
    }

    #[test]
    fn a_delay_is_told_for_the_first_reason_that_holds_and_never_once_delivered() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 6, 12, 0, 0).unwrap();
        let promise = Promise { shipped_on: day("2026-03-03"), days: 2, due_on: day("2026-03-05") };
        let moving =
            InHands { status: Some("in_transit"), last_movement_at: now - Duration::hours(3), delivered: false };
        let quiet = Duration::hours(48);
        let today = day("2026-03-06");
        assert_eq!(delay(moving, Some(&promise), now, today, quiet), Some(DelayReason::PromiseMissed));
        assert_eq!(delay(moving, Some(&promise), now, day("2026-03-05"), quiet), None, "the due day is not over");
        assert_eq!(delay(moving, None, now, today, quiet), None);
        let reported = InHands { status: Some("delivery_delayed"), ..moving };
        assert_eq!(delay(reported, None, now, today, quiet), Some(DelayReason::CarrierDelay));
        let failed = InHands { status: Some("delivery_failed"), ..moving };
        assert_eq!(delay(failed, None, now, today, quiet), Some(DelayReason::DeliveryFailed));
        let stuck = InHands { last_movement_at: now - Duration::hours(48), ..moving };
        assert_eq!(delay(stuck, None, now, today, quiet), Some(DelayReason::NoMovement));
        let done = InHands { delivered: true, ..reported };
        assert_eq!(delay(done, Some(&promise), now, today, quiet), None);
    }
}
