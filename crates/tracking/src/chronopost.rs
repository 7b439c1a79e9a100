//! Chronopost's tracking web service (SOAP `trackSkybillV2`): `<return>` with `errorCode` (0: fine) and
//! `listEventInfoComp/events`, each with `code`, `eventDate` (RFC 3339), `eventLabel` and
//! `officeLabel` (the place), oldest first.
//!
//! | code | meaning | status |
//! |---|---|---|
//! | DC | shipment in preparation at the shipper | pending |
//! | DB, DY | handed over by the shipper, registered at a post office | picked_up |
//! | SC, TS, SD | sorted at departure, in transit, sorted at the delivery site | in_transit |
//! | TA | out for delivery to the consignee | out_for_delivery |
//! | D | delivered | delivered |
//! | other | | unknown |

use crate::xml::{elements, records};
use crate::{TrackingError, TrackingEvent, TrackingStatus, time};

const CARRIER: &str = "chronopost";

fn status(code: &str) -> TrackingStatus {
    match code {
        "DC" => TrackingStatus::Pending,
        "DB" | "DY" => TrackingStatus::PickedUp,
        "SC" | "TS" | "SD" => TrackingStatus::InTransit,
        "TA" => TrackingStatus::OutForDelivery,
        "D" => TrackingStatus::Delivered,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: String| TrackingError::BadAnswer { carrier: CARRIER, reason };
    let all = elements(answer).map_err(bad)?;
    let text = |name: &str| all.iter().find(|e| e.name == name).map(|e| e.text.trim().to_owned());
    match text("errorCode").as_deref() {
        Some("0") => {}
        Some(code) => {
            let message = text("errorMessage").unwrap_or_default();
            return Err(TrackingError::Refused { carrier: CARRIER, code: code.to_owned(), message });
        }
        None => return Err(bad("no errorCode: not a trackSkybillV2 answer".into())),
    }
    let mut events = Vec::new();
    for event in records(&all, "events", &["code", "eventDate", "eventLabel", "officeLabel"]) {
        let code = event.get("code").ok_or_else(|| bad("an event without its code".into()))?;
        let at = event.get("eventDate").ok_or_else(|| bad("an event without its date".into()))?;
        events.push(TrackingEvent {
            at: time(CARRIER, at)?,
            status: status(code),
            code: code.clone(),
            description: event.get("eventLabel").cloned().unwrap_or_default(),
            place: event.get("officeLabel").filter(|p| !p.is_empty()).cloned(),
        });
    }
    Ok(events)
}
