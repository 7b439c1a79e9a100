//! What a search result says about a point's hours: today's open intervals in local time, whether it is
//! open now, and when that changes. Computed for the few points shown, not for every candidate.

use chrono::{Duration, NaiveTime};
use relais_domain::Timestamp;
use relais_domain::point::PickupPoint;
use relais_hours::{Place, State};

/// How far ahead the next change is looked for: a week first (almost every point changes within it),
/// then two months (a point closed for the summer still says when it reopens).
const HORIZONS_DAYS: [i64; 2] = [8, 62];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Today {
    /// Open intervals of the local day, `HH:MM`; `24:00` for an interval that runs past midnight.
    pub intervals: Vec<(String, String)>,
    /// `open`, `closed` or `unknown` (hours not known, or a "maybe open" rule).
    pub state: &'static str,
    pub next_change: Option<Timestamp>,
}

/// Where a point's hours are read: its timezone, its country's holidays (none when the country has no
/// calendar) and its position (sun events).
pub(crate) fn place_of(point: &PickupPoint) -> Result<Place, relais_hours::HoursError> {
    let place =
        Place::new(&point.timezone, Some(&point.address.country)).or_else(|_| Place::new(&point.timezone, None))?;
    place.with_position(point.coordinates.latitude(), point.coordinates.longitude())
}

pub fn today(point: &PickupPoint, now: Timestamp) -> Today {
    let unknown = Today { intervals: Vec::new(), state: "unknown", next_change: None };
    let Some(hours) = &point.opening_hours else { return unknown };
    let place = place_of(point).map(|place| place.with_closures(point.closures.clone()));
    let Ok(schedule) = place.and_then(|place| hours.at(&place)) else { return unknown };
    // One evaluation for the day, the state and a week ahead: a search answer shows ten points.
    let view = schedule.day_view(now, Duration::days(HORIZONS_DAYS[0]));
    let day_end = schedule.local(now).date().and_time(NaiveTime::MIN) + Duration::days(1);
    let intervals = view
        .today
        .iter()
        .map(|i| {
            let to = if i.to >= day_end { "24:00".to_owned() } else { i.to.format("%H:%M").to_string() };
            (i.from.format("%H:%M").to_string(), to)
        })
        .collect();
    let state = match view.state {
        State::Open => "open",
        State::Closed => "closed",
        State::Unknown => "unknown",
    };
    let next_change = view
        .next_change
        .or_else(|| HORIZONS_DAYS[1..].iter().find_map(|days| schedule.next_change(now, Duration::days(*days))));
    Today { intervals, state, next_change }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Compartments, NewPoint, PointValidator};
    use chrono::{TimeZone, Utc};
    use relais_domain::ids::Id;

    #[test]
    fn a_shop_on_a_saturday_morning_in_paris() {
        let input = NewPoint {
            external_id: "C1".into(),
            kind: "counter".into(),
            name: "Tabac".into(),
            address_line1: "1 rue X".into(),
            postcode: "69001".into(),
            city: "Lyon".into(),
            country: "FR".into(),
            latitude: 45.76,
            longitude: 4.83,
            opening_hours: Some("Mo-Fr 09:00-12:00,14:00-19:00; Sa 09:00-12:00; PH off".into()),
            ..NewPoint::default()
        };
        let point = PointValidator::new()
            .validate(&input, Id::default(), Utc.timestamp_opt(0, 0).unwrap(), "t", Compartments::Optional)
            .unwrap();
        // Saturday 28 November 2026, 10:30 in Paris (UTC+1).
        let t = today(&point, Utc.with_ymd_and_hms(2026, 11, 28, 9, 30, 0).unwrap());
        assert_eq!(t.intervals, [("09:00".to_owned(), "12:00".to_owned())]);
        assert_eq!(t.state, "open");
        assert_eq!(t.next_change, Some(Utc.with_ymd_and_hms(2026, 11, 28, 11, 0, 0).unwrap()));
        // Sunday: closed, opens Monday 09:00 Paris.
        let t = today(&point, Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap());
        assert_eq!((t.intervals.len(), t.state), (0, "closed"));
        assert_eq!(t.next_change, Some(Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap()));
    }
}
