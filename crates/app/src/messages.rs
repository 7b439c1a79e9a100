//! Times as recipients read them: a moment in the point's local time, written for French and English
//! readers. The messages themselves are the templates of `relais-messages`, rendered by the delivery
//! worker (`notify`); the recipient's page writes its times with these too.

use chrono::NaiveDateTime;
use relais_domain::Timestamp;
use relais_domain::point::PickupPoint;

/// `at` in the point's local time (UTC if its timezone is unknown).
pub fn local(point: &PickupPoint, at: Timestamp) -> NaiveDateTime {
    match relais_hours::parse_timezone(&point.timezone) {
        Ok(tz) => at.with_timezone(&tz).naive_local(),
        Err(_) => at.naive_utc(),
    }
}

/// A local date and time as a French reader writes it.
pub fn when_fr(at: NaiveDateTime) -> String {
    at.format("%d/%m/%Y à %H:%M").to_string()
}

/// A local date and time as an English reader writes it.
pub fn when_en(at: NaiveDateTime) -> String {
    at.format("%-d %b %Y at %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn times_are_the_points_local_time_in_each_language() {
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap();
        let local = NaiveDateTime::new(at.date_naive(), at.time()) + chrono::Duration::hours(1);
        assert_eq!(when_fr(local), "30/11/2026 à 08:00");
        assert_eq!(when_en(local), "30 Nov 2026 at 08:00");
    }
}
