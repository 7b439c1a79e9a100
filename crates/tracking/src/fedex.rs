//! FedEx's Track API (`POST /track/v1/trackingnumbers`, FedEx's published OpenAPI document):
//! `output.completeTrackResults[].trackResults[].scanEvents[]`, most recent first, each with `date`
//! (RFC 3339 in the scan's local time with its offset), `eventType` (the code), `eventDescription`,
//! `exceptionDescription`, and `scanLocation` (`city`, `stateOrProvinceCode`, `countryCode`). A number
//! FedEx does not know comes back as a track result's `error` (`TRACKING.TRACKINGNUMBER.NOTFOUND`); a
//! refused request (expired token, no access) as the top-level `errors[]` (`code`, `message`).
//!
//! | eventType | meaning | status |
//! |---|---|---|
//! | OC | shipment information sent to FedEx | pending |
//! | PU, PX | picked up | picked_up |
//! | AA, AC, AF, AR, AX, CC, CP, DP, EA, EO, FD, IT, IX, LO, OF, PF, PL, SF, TR | at or between facilities, airports, customs | in_transit |
//! | OD | on the FedEx vehicle for delivery | out_for_delivery |
//! | HP | ready for pickup at a FedEx location | ready_for_pickup |
//! | HL | held at a FedEx location | on_hold |
//! | DE | delivery exception | delivery_failed |
//! | CD, DD, DY, PD, SE | clearance, delivery or pickup delay, shipment exception | delivery_delayed |
//! | RS | returned to the shipper | return_to_sender |
//! | DL | delivered | delivered |
//! | other | | unknown |

use serde_json::Value;

use crate::{TrackingError, TrackingEvent, TrackingStatus, json, time};

const CARRIER: &str = "fedex";

fn status(kind: &str) -> TrackingStatus {
    match kind {
        "OC" => TrackingStatus::Pending,
        "PU" | "PX" => TrackingStatus::PickedUp,
        "AA" | "AC" | "AF" | "AR" | "AX" | "CC" | "CP" | "DP" | "EA" | "EO" | "FD" | "IT" | "IX" | "LO" | "OF"
        | "PF" | "PL" | "SF" | "TR" => TrackingStatus::InTransit,
        "OD" => TrackingStatus::OutForDelivery,
        "HP" => TrackingStatus::ReadyForPickup,
        "HL" => TrackingStatus::OnHold,
        "DE" => TrackingStatus::DeliveryFailed,
        "CD" | "DD" | "DY" | "PD" | "SE" => TrackingStatus::DeliveryDelayed,
        "RS" => TrackingStatus::ReturnToSender,
        "DL" => TrackingStatus::Delivered,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: &str| TrackingError::BadAnswer { carrier: CARRIER, reason: reason.to_owned() };
    let answer = json(CARRIER, answer)?;
    if let Some(error) = answer["errors"].as_array().and_then(|e| e.first()) {
        return Err(TrackingError::Refused {
            carrier: CARRIER,
            code: error["code"].as_str().unwrap_or_default().to_owned(),
            message: error["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    let complete =
        answer["output"]["completeTrackResults"].as_array().ok_or_else(|| bad("no output.completeTrackResults"))?;
    let mut events = Vec::new();
    for result in complete.iter().flat_map(|c| c["trackResults"].as_array().into_iter().flatten()) {
        if let Some(error) = result.get("error").filter(|e| e.is_object()) {
            let code = error["code"].as_str().unwrap_or_default().to_owned();
            let message = error["message"].as_str().unwrap_or_default().to_owned();
            return Err(if code.ends_with("NOTFOUND") {
                TrackingError::UnknownNumber { carrier: CARRIER, message }
            } else {
                TrackingError::Refused { carrier: CARRIER, code, message }
            });
        }
        let scans = result["scanEvents"].as_array().ok_or_else(|| bad("a track result without its scanEvents"))?;
        let mut of_result = scans.iter().map(event).collect::<Result<Vec<_>, _>>()?;
        // FedEx lists them latest first.
        of_result.reverse();
        events.extend(of_result);
    }
    Ok(events)
}

fn event(scan: &Value) -> Result<TrackingEvent, TrackingError> {
    let text = |v: &Value| v.as_str().map(str::trim).unwrap_or_default().to_owned();
    let code = text(&scan["eventType"]);
    if code.is_empty() {
        return Err(TrackingError::BadAnswer { carrier: CARRIER, reason: "a scan event without its eventType".into() });
    }
    let mut description = text(&scan["eventDescription"]);
    let exception = text(&scan["exceptionDescription"]);
    if !exception.is_empty() {
        description = format!("{description}: {exception}");
    }
    let location = &scan["scanLocation"];
    let place: Vec<String> = ["city", "stateOrProvinceCode", "countryCode"]
        .iter()
        .map(|k| text(&location[*k]))
        .filter(|v| !v.is_empty())
        .collect();
    Ok(TrackingEvent {
        at: time(CARRIER, &text(&scan["date"]))?,
        status: status(&code),
        code,
        description,
        place: (!place.is_empty()).then(|| place.join(", ")),
    })
}
