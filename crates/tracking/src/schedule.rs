//! When to ask a carrier again about a parcel (docs/tracking.md): soon while the parcel moves, less and
//! less often while it is quiet, never again once it is delivered or the trail has gone cold. Pure: the
//! instants are inputs.

use chrono::{DateTime, Duration, Utc};

use crate::TrackingStatus;

/// After a poll that brought news.
pub const MOVING: Duration = Duration::hours(1);
/// The longest wait between two polls of a quiet parcel.
pub const QUIET_MAX: Duration = Duration::hours(24);
/// After a failed poll (no answer, refused, unreadable), doubled each time up to [`FAILING_MAX`].
pub const FAILING: Duration = Duration::minutes(15);
pub const FAILING_MAX: Duration = Duration::hours(6);
/// A parcel with no news for this long is no longer polled (its claim, if any, takes over).
pub const COLD_AFTER: Duration = Duration::days(30);

/// What a poll gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Events relais did not have, the latest with this status.
    News(TrackingStatus),
    /// An answer, nothing new (or a number the carrier does not know yet).
    Quiet,
    /// No usable answer.
    Failed,
}

/// Where a parcel's polling stands after a poll at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// `None`: stop polling.
    pub next_poll_at: Option<DateTime<Utc>>,
    pub quiet_polls: u32,
    pub failures: u32,
}

/// The plan after a poll: `quiet_polls` and `failures` are the counts before it, `last_news` the last
/// time the parcel moved (or was first followed), `status` the latest status known after the poll.
pub fn after_poll(
    now: DateTime<Utc>,
    outcome: Outcome,
    status: Option<TrackingStatus>,
    quiet_polls: u32,
    failures: u32,
    last_news: DateTime<Utc>,
) -> Plan {
    if status == Some(TrackingStatus::Delivered) {
        return Plan { next_poll_at: None, quiet_polls: 0, failures: 0 };
    }
    match outcome {
        Outcome::News(_) => Plan { next_poll_at: Some(now + MOVING), quiet_polls: 0, failures: 0 },
        Outcome::Quiet | Outcome::Failed if now - last_news >= COLD_AFTER => {
            Plan { next_poll_at: None, quiet_polls, failures }
        }
        Outcome::Quiet => {
            let quiet_polls = quiet_polls.saturating_add(1);
            Plan { next_poll_at: Some(now + doubled(MOVING, quiet_polls, QUIET_MAX)), quiet_polls, failures: 0 }
        }
        Outcome::Failed => {
            let failures = failures.saturating_add(1);
            Plan { next_poll_at: Some(now + doubled(FAILING, failures - 1, FAILING_MAX)), quiet_polls, failures }
        }
    }
}

/// `base` doubled `times` times, at most `max`.
fn doubled(base: Duration, times: u32, max: Duration) -> Duration {
    let factor = 1i32.checked_shl(times.min(20)).unwrap_or(i32::MAX);
    (base * factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap() + Duration::hours(hours)
    }

    #[test]
    fn news_polls_again_within_the_hour_and_quiet_parcels_wait_longer_each_time() {
        let news = after_poll(at(0), Outcome::News(TrackingStatus::InTransit), None, 3, 2, at(0));
        assert_eq!(news, Plan { next_poll_at: Some(at(1)), quiet_polls: 0, failures: 0 });
        let waits: Vec<i64> = (0..7)
            .map(|quiet| after_poll(at(0), Outcome::Quiet, None, quiet, 0, at(0)).next_poll_at.unwrap())
            .map(|next| (next - at(0)).num_hours())
            .collect();
        assert_eq!(waits, [2, 4, 8, 16, 24, 24, 24]);
    }

    #[test]
    fn failures_back_off_to_six_hours_and_keep_the_quiet_count() {
        let waits: Vec<(i64, u32)> = (0..7)
            .map(|failures| after_poll(at(0), Outcome::Failed, None, 4, failures, at(0)))
            .map(|plan| ((plan.next_poll_at.unwrap() - at(0)).num_minutes(), plan.quiet_polls))
            .collect();
        assert_eq!(waits, [(15, 4), (30, 4), (60, 4), (120, 4), (240, 4), (360, 4), (360, 4)]);
    }

    #[test]
    fn delivered_and_cold_parcels_are_not_polled_again() {
        let delivered = after_poll(at(0), Outcome::Quiet, Some(TrackingStatus::Delivered), 0, 0, at(0));
        assert_eq!(delivered.next_poll_at, None);
        let news =
            after_poll(at(0), Outcome::News(TrackingStatus::Delivered), Some(TrackingStatus::Delivered), 0, 0, at(0));
        assert_eq!(news.next_poll_at, None);
        let cold = after_poll(at(30 * 24), Outcome::Quiet, Some(TrackingStatus::InTransit), 9, 0, at(0));
        assert_eq!(cold.next_poll_at, None);
        let almost = after_poll(at(30 * 24 - 1), Outcome::Quiet, Some(TrackingStatus::InTransit), 9, 0, at(0));
        assert!(almost.next_poll_at.is_some());
    }
}
