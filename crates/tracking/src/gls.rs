//! GLS's Track and Trace API (`GET /tracking/references/{numbers}`): `{"parcels": [{"requested",
//! "unitno", "status", "events": [{"code", "city", "postalCode", "country", "description",
//! "eventDateTime"}]}]}`; a number GLS does not know comes back as `{"requested", "errorCode",
//! "errorMessage"}` in the same list.
//!
//! An event's code is `STATUS.REASON` (`INTRANSIT.NORMAL`); the status part decides (GLS writes the
//! first one `INTIAL`, sic):
//!
//! | status part | meaning | status |
//! |---|---|---|
//! | PREADVICE, or INITIAL/INTIAL with reason PREADVICE | the data was entered | pending |
//! | INITIAL, INTIAL | handed over to GLS | picked_up |
//! | INTRANSIT, INWAREHOUSE | moving, at a depot | in_transit |
//! | INDELIVERY | on the delivery van | out_for_delivery |
//! | DELIVEREDPS | left at a GLS ParcelShop for collection | ready_for_pickup |
//! | DELIVERED | delivered | delivered |
//! | NOTDELIVERED | not delivered (absent, refused) | delivery_failed |
//! | RETURN, RETURNED | going back to the sender | return_to_sender |
//! | other | | unknown |

use crate::{TrackingError, TrackingEvent, TrackingStatus, json, time};

const CARRIER: &str = "gls";

fn status(code: &str) -> TrackingStatus {
    let (state, reason) = code.split_once('.').unwrap_or((code, ""));
    match (state, reason) {
        ("PREADVICE", _) | ("INITIAL" | "INTIAL", "PREADVICE") => TrackingStatus::Pending,
        ("INITIAL" | "INTIAL", _) => TrackingStatus::PickedUp,
        ("INTRANSIT" | "INWAREHOUSE", _) => TrackingStatus::InTransit,
        ("INDELIVERY", _) => TrackingStatus::OutForDelivery,
        ("DELIVEREDPS", _) => TrackingStatus::ReadyForPickup,
        ("DELIVERED", _) => TrackingStatus::Delivered,
        ("NOTDELIVERED", _) => TrackingStatus::DeliveryFailed,
        ("RETURN" | "RETURNED", _) => TrackingStatus::ReturnToSender,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: &str| TrackingError::BadAnswer { carrier: CARRIER, reason: reason.to_owned() };
    let answer = json(CARRIER, answer)?;
    let parcels = answer["parcels"].as_array().ok_or_else(|| bad("no parcels list"))?;
    let mut events = Vec::new();
    for parcel in parcels {
        if let Some(code) = parcel["errorCode"].as_str() {
            let message = parcel["errorMessage"].as_str().unwrap_or_default().to_owned();
            return Err(if code.starts_with("E_404") {
                TrackingError::UnknownNumber { carrier: CARRIER, message }
            } else {
                TrackingError::Refused { carrier: CARRIER, code: code.to_owned(), message }
            });
        }
        let list = parcel["events"].as_array().ok_or_else(|| bad("a parcel without its events"))?;
        for event in list {
            let code = event["code"].as_str().ok_or_else(|| bad("an event without its code"))?;
            let at = event["eventDateTime"].as_str().ok_or_else(|| bad("an event without its time"))?;
            // As karrio writes it: the non-empty parts, comma-separated.
            let place: Vec<&str> = ["city", "postalCode", "country"]
                .iter()
                .filter_map(|k| event[*k].as_str().map(str::trim).filter(|v| !v.is_empty()))
                .collect();
            events.push(TrackingEvent {
                at: time(CARRIER, at)?,
                code: code.to_owned(),
                description: event["description"].as_str().unwrap_or_default().to_owned(),
                status: status(code),
                place: (!place.is_empty()).then(|| place.join(", ")),
            });
        }
    }
    // GLS lists them latest first.
    events.reverse();
    Ok(events)
}
