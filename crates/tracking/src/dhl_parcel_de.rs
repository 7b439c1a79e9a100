//! DHL Parcel Germany's shipment tracking (the `piece-shipment-list` XML of its Track and Trace API):
//! each event is a `<data name="piece-event">` with `event-timestamp` (`17.03.2016 11:44`, German local
//! time: relais gives it Europe/Berlin's offset of that day), `event-text`, `event-location`,
//! `event-country` and `standard-event-code`. A list whose `code` is not 0 says why in `error`
//! (100: no data for the number).
//!
//! | code | meaning | status |
//! |---|---|---|
//! | ES | posted by the sender (counter, PACKSTATION) | picked_up |
//! | AE | picked up from the sender | picked_up |
//! | AA, EE, AN | processed at the origin or destination parcel centre, arrived | in_transit |
//! | PO | loaded onto the delivery vehicle | out_for_delivery |
//! | ZU | delivered | delivered |
//! | other | | unknown |

use chrono::{NaiveDateTime, TimeZone};

use crate::xml::elements;
use crate::{TrackingError, TrackingEvent, TrackingStatus};

const CARRIER: &str = "dhl_parcel_de";

fn status(code: &str) -> TrackingStatus {
    match code {
        "ES" | "AE" => TrackingStatus::PickedUp,
        "AA" | "EE" | "AN" => TrackingStatus::InTransit,
        "PO" => TrackingStatus::OutForDelivery,
        "ZU" => TrackingStatus::Delivered,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: String| TrackingError::BadAnswer { carrier: CARRIER, reason };
    let all = elements(answer).map_err(bad)?;
    let list = all
        .iter()
        .find(|e| e.name == "data" && e.attribute("name") == Some("piece-shipment-list"))
        .ok_or_else(|| bad("no piece-shipment-list".into()))?;
    match list.attribute("code") {
        Some("0") => {}
        Some(code) => {
            let message = list.attribute("error").unwrap_or_default().to_owned();
            return Err(if code == "100" {
                TrackingError::UnknownNumber { carrier: CARRIER, message }
            } else {
                TrackingError::Refused { carrier: CARRIER, code: code.to_owned(), message }
            });
        }
        None => return Err(bad("a piece-shipment-list without its code".into())),
    }
    let mut events = Vec::new();
    for event in all.iter().filter(|e| e.name == "data" && e.attribute("name") == Some("piece-event")) {
        let stamp = event.attribute("event-timestamp").ok_or_else(|| bad("an event without its time".into()))?;
        let local = NaiveDateTime::parse_from_str(stamp, "%d.%m.%Y %H:%M")
            .map_err(|_| bad(format!("{stamp:?} is not DD.MM.YYYY HH:MM")))?;
        let at = chrono_tz::Europe::Berlin
            .from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| bad(format!("{stamp} does not exist in Germany (a clock change)")))?
            .fixed_offset();
        let code = event.attribute("standard-event-code").unwrap_or_default();
        let place: Vec<&str> = ["event-location", "event-country"].iter().filter_map(|k| event.attribute(k)).collect();
        events.push(TrackingEvent {
            at,
            code: code.to_owned(),
            description: event
                .attribute("event-text")
                .or(event.attribute("event-status"))
                .unwrap_or_default()
                .to_owned(),
            status: status(code),
            place: (!place.is_empty()).then(|| place.join(", ")),
        });
    }
    Ok(events)
}
