//! UPS's Track API (`GET /api/track/v1/details/{inquiryNumber}`, UPS's published OpenAPI document
//! `Tracking.yaml`): `trackResponse.shipment[].package[].activity[]`, most recent first, each with
//! `date` (YYYYMMDD) and `time` (HHMMSS) local, their `gmtOffset` (`-05:00`), `location.address`
//! (`city`, `stateProvince`, `countryCode`) and `status` (`type`, `code`, `description`). A number UPS
//! does not know comes back as a shipment `warnings` entry; a refused request as
//! `response.errors[]` (`code`, `message`).
//!
//! The activity's status `type` decides (its `code` is kept as the event's code):
//!
//! | type | meaning | status |
//! |---|---|---|
//! | M | shipping label created, billing information received | pending |
//! | MV | billing information voided | unknown |
//! | P | picked up | picked_up |
//! | I | in transit (arrival, departure, origin scan) | in_transit |
//! | O | out for delivery | out_for_delivery |
//! | X | exception (delay, address problem, customs) | delivery_delayed |
//! | RS | returned to the shipper | return_to_sender |
//! | D | delivered | delivered |
//! | other | | unknown |

use chrono::{NaiveDateTime, TimeZone};
use serde_json::Value;

use crate::{TrackingError, TrackingEvent, TrackingStatus, json, offset};

const CARRIER: &str = "ups";

fn status(kind: &str) -> TrackingStatus {
    match kind {
        "M" => TrackingStatus::Pending,
        "P" => TrackingStatus::PickedUp,
        "I" => TrackingStatus::InTransit,
        "O" => TrackingStatus::OutForDelivery,
        "X" => TrackingStatus::DeliveryDelayed,
        "RS" => TrackingStatus::ReturnToSender,
        "D" => TrackingStatus::Delivered,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: String| TrackingError::BadAnswer { carrier: CARRIER, reason };
    let answer = json(CARRIER, answer)?;
    if let Some(error) = answer["response"]["errors"].as_array().and_then(|e| e.first()) {
        return Err(TrackingError::Refused {
            carrier: CARRIER,
            code: error["code"].as_str().unwrap_or_default().to_owned(),
            message: error["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    let shipments =
        answer["trackResponse"]["shipment"].as_array().ok_or_else(|| bad("no trackResponse.shipment".into()))?;
    let mut events = Vec::new();
    for shipment in shipments {
        if let Some(warning) = shipment["warnings"].as_array().and_then(|w| w.first()) {
            let message = warning["message"].as_str().unwrap_or_default().to_owned();
            return Err(TrackingError::UnknownNumber { carrier: CARRIER, message });
        }
        let packages = shipment["package"].as_array().ok_or_else(|| bad("a shipment without its package".into()))?;
        for activity in packages.iter().flat_map(|p| p["activity"].as_array().into_iter().flatten()) {
            events.push(event(activity).map_err(bad)?);
        }
    }
    // UPS lists them latest first.
    events.reverse();
    Ok(events)
}

fn event(activity: &Value) -> Result<TrackingEvent, String> {
    let text = |v: &Value| v.as_str().map(str::trim).unwrap_or_default().to_owned();
    let (date, time) = (text(&activity["date"]), text(&activity["time"]));
    let local = NaiveDateTime::parse_from_str(&format!("{date}{time:0>6}"), "%Y%m%d%H%M%S")
        .map_err(|_| format!("{date} {time} is not YYYYMMDD HHMMSS"))?;
    let zone = offset(&text(&activity["gmtOffset"])).ok_or("an activity without its gmtOffset")?;
    let at = zone.from_local_datetime(&local).single().ok_or("a time its offset cannot place")?;
    let status_of = &activity["status"];
    let address = &activity["location"]["address"];
    let place: Vec<String> =
        ["city", "stateProvince", "countryCode"].iter().map(|k| text(&address[*k])).filter(|v| !v.is_empty()).collect();
    Ok(TrackingEvent {
        at,
        code: text(&status_of["code"]),
        description: text(&status_of["description"]),
        status: status(&text(&status_of["type"])),
        place: (!place.is_empty()).then(|| place.join(", ")),
    })
}
