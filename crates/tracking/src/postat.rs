//! Austrian Post's shipment tracking (the GraphQL query `einzelsendung(sendungsnummer)` its tracking
//! page and app use): `data.einzelsendung.sendungsEvents[]`, most recent first, each with `timestamp`
//! (ISO 8601; Austria is one zone, so a time without an offset is read in Europe/Vienna),
//! `trackingStateKey` (camelCase, the state), `status` (Post's short event code), `text` (German),
//! `textEn`, `eventPlaceName`, `eventpostalcode` and `eventcountry`. A number Post does not know comes
//! back as `einzelsendung: null`; a refused request as GraphQL `errors[]` (`message`, and the code in
//! `extensions.code` when given).
//!
//! The state key decides (the event code is kept as the event's code, falling back to the key):
//!
//! | trackingStateKey | meaning | status |
//! |---|---|---|
//! | pendingInformation, parcelStamp, aviso, allesPost | announced, label printed | pending |
//! | deliveryHandOver | handed over to Post | picked_up |
//! | inDistribution, customsClearance, deliveryInCustoms | in the network, at customs | in_transit |
//! | inDelivery | on the delivery round | out_for_delivery |
//! | notified, readyForPickUp, readyForPickUpStation, readyForPickUpPoint, readyForPickUpBox | waiting at a branch, post partner, station or locker | ready_for_pickup |
//! | delivered, deliveryParked | delivered (parked: left at the agreed place) | delivered |
//! | deliveryInReturn | going back to the sender | return_to_sender |
//! | deliveryDelayed | delayed | delivery_delayed |
//! | deliveryInterupted (sic), notReachable | delivery interrupted, recipient not reached | delivery_failed |
//! | other | | unknown |

use chrono::{DateTime, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Vienna;
use serde_json::Value;

use crate::{TrackingError, TrackingEvent, TrackingStatus, json};

const CARRIER: &str = "postat";

fn status(key: &str) -> TrackingStatus {
    match key {
        "pendingInformation" | "parcelStamp" | "aviso" | "allesPost" => TrackingStatus::Pending,
        "deliveryHandOver" => TrackingStatus::PickedUp,
        "inDistribution" | "customsClearance" | "deliveryInCustoms" => TrackingStatus::InTransit,
        "inDelivery" => TrackingStatus::OutForDelivery,
        "notified" | "readyForPickUp" | "readyForPickUpStation" | "readyForPickUpPoint" | "readyForPickUpBox" => {
            TrackingStatus::ReadyForPickup
        }
        "delivered" | "deliveryParked" => TrackingStatus::Delivered,
        "deliveryInReturn" => TrackingStatus::ReturnToSender,
        "deliveryDelayed" => TrackingStatus::DeliveryDelayed,
        "deliveryInterupted" | "notReachable" => TrackingStatus::DeliveryFailed,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: String| TrackingError::BadAnswer { carrier: CARRIER, reason };
    let answer = json(CARRIER, answer)?;
    if let Some(error) = answer["errors"].as_array().and_then(|e| e.first()) {
        return Err(TrackingError::Refused {
            carrier: CARRIER,
            code: error["extensions"]["code"].as_str().unwrap_or("graphql").to_owned(),
            message: error["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    let data = answer.get("data").filter(|d| d.is_object()).ok_or_else(|| bad("no data".into()))?;
    let shipment = match data.get("einzelsendung") {
        Some(Value::Null) => {
            return Err(TrackingError::UnknownNumber { carrier: CARRIER, message: "einzelsendung is null".into() });
        }
        Some(shipment) if shipment.is_object() => shipment,
        _ => return Err(bad("no einzelsendung".into())),
    };
    let list = shipment["sendungsEvents"].as_array().ok_or_else(|| bad("no sendungsEvents".into()))?;
    let mut events = list.iter().map(event).collect::<Result<Vec<_>, _>>().map_err(bad)?;
    // Post lists them latest first.
    events.reverse();
    Ok(events)
}

fn event(raw: &Value) -> Result<TrackingEvent, String> {
    let text = |key: &str| raw[key].as_str().map(str::trim).unwrap_or_default().to_owned();
    let stamp = text("timestamp");
    let at = DateTime::parse_from_rfc3339(&stamp)
        .ok()
        .or_else(|| {
            let local = NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
            Some(Vienna.from_local_datetime(&local).earliest()?.fixed_offset())
        })
        .ok_or_else(|| format!("{stamp:?} is not an ISO 8601 time"))?;
    let key = text("trackingStateKey");
    if key.is_empty() {
        return Err("an event without its trackingStateKey".into());
    }
    let code = Some(text("status")).filter(|c| !c.is_empty()).unwrap_or_else(|| key.clone());
    let description = Some(text("textEn")).filter(|t| !t.is_empty()).unwrap_or_else(|| text("text"));
    let place: Vec<String> = ["eventPlaceName", "eventpostalcode", "eventcountry"]
        .iter()
        .map(|k| text(k))
        .filter(|v| !v.is_empty())
        .collect();
    Ok(TrackingEvent {
        at,
        code,
        description,
        status: status(&key),
        place: (!place.is_empty()).then(|| place.join(", ")),
    })
}
