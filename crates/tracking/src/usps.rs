//! USPS's Tracking API v3 (`GET /tracking/v3/tracking/{trackingNumber}?expand=DETAIL`, USPS's published
//! OpenAPI document): `trackingEvents[]`, most recent first, each with `eventTimestamp` (local time),
//! `GMTOffset` (`-05:00`), `eventCode` (USPS's two-character event code, Publication 97), `eventType`
//! (its text), `eventCity`, `eventState`, `eventZIP` and `eventCountry`. An error answer is
//! `{"error": {"code", "message"}}`: 404 an unknown number, anything else (401 expired token, 403, 429) a
//! refusal.
//!
//! | eventCode | meaning | status |
//! |---|---|---|
//! | GX, MA | shipping label created, pre-shipment information sent | pending |
//! | 03, OA, 80, 81 | accepted, picked up | picked_up |
//! | 07, 10, A1, L1, PC, U1, T1, 82, 83 | arrived at, departed, processed through a facility | in_transit |
//! | OF | out for delivery | out_for_delivery |
//! | 14, 16 | arrived at the pickup point, available for pickup | ready_for_pickup |
//! | 57 | held at the post office at the customer's request | on_hold |
//! | 02, 04, 05, 21, 22, 23, 24, 25, 26, 27, 51, 52, 53, 55, 56 | notice left, refused, undeliverable, receptacle full, no access | delivery_failed |
//! | 08, MR | missent, delayed | delivery_delayed |
//! | 09, 28, 29, 31 | returned to the sender | return_to_sender |
//! | 01, 17, 43 | delivered, picked up at the post office | delivered |
//! | other | | unknown |

use chrono::{DateTime, NaiveDateTime, TimeZone};
use serde_json::Value;

use crate::{TrackingError, TrackingEvent, TrackingStatus, json, offset};

const CARRIER: &str = "usps";

fn status(code: &str) -> TrackingStatus {
    match code {
        "GX" | "MA" => TrackingStatus::Pending,
        "03" | "OA" | "80" | "81" => TrackingStatus::PickedUp,
        "07" | "10" | "A1" | "L1" | "PC" | "U1" | "T1" | "82" | "83" => TrackingStatus::InTransit,
        "OF" => TrackingStatus::OutForDelivery,
        "14" | "16" => TrackingStatus::ReadyForPickup,
        "57" => TrackingStatus::OnHold,
        "02" | "04" | "05" | "21" | "22" | "23" | "24" | "25" | "26" | "27" | "51" | "52" | "53" | "55" | "56" => {
            TrackingStatus::DeliveryFailed
        }
        "08" | "MR" => TrackingStatus::DeliveryDelayed,
        "09" | "28" | "29" | "31" => TrackingStatus::ReturnToSender,
        "01" | "17" | "43" => TrackingStatus::Delivered,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: String| TrackingError::BadAnswer { carrier: CARRIER, reason };
    let answer = json(CARRIER, answer)?;
    if let Some(error) = answer.get("error").filter(|e| e.is_object()) {
        let code = match &error["code"] {
            Value::String(code) => code.clone(),
            Value::Number(code) => code.to_string(),
            _ => String::new(),
        };
        let message = error["message"].as_str().unwrap_or_default().to_owned();
        return Err(if code == "404" {
            TrackingError::UnknownNumber { carrier: CARRIER, message }
        } else {
            TrackingError::Refused { carrier: CARRIER, code, message }
        });
    }
    let list = answer["trackingEvents"].as_array().ok_or_else(|| bad("no trackingEvents".into()))?;
    let mut events = list.iter().map(event).collect::<Result<Vec<_>, _>>().map_err(bad)?;
    // USPS lists them latest first.
    events.reverse();
    Ok(events)
}

fn event(raw: &Value) -> Result<TrackingEvent, String> {
    let text = |key: &str| raw[key].as_str().map(str::trim).unwrap_or_default().to_owned();
    let stamp = text("eventTimestamp");
    // The local time; its offset is GMTOffset unless the stamp carries one itself.
    let at = match DateTime::parse_from_rfc3339(&stamp) {
        Ok(at) if !stamp.ends_with('Z') => at,
        _ => {
            let local = NaiveDateTime::parse_from_str(stamp.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|_| format!("{stamp:?} is not an ISO 8601 time"))?;
            let zone = offset(&text("GMTOffset")).ok_or("an event without its GMTOffset")?;
            zone.from_local_datetime(&local).single().ok_or("a time its offset cannot place")?
        }
    };
    let code = text("eventCode");
    if code.is_empty() {
        return Err("an event without its eventCode".into());
    }
    let place: Vec<String> = ["eventCity", "eventState", "eventZIP", "eventCountry"]
        .iter()
        .map(|k| text(k))
        .filter(|v| !v.is_empty())
        .collect();
    Ok(TrackingEvent {
        at,
        status: status(&code),
        code,
        description: text("eventType"),
        place: (!place.is_empty()).then(|| place.join(", ")),
    })
}
