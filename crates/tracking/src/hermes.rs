//! Hermes Germany's shipment tracking (HSI API `GET /shipmentinfo?shipmentID=`): `{"shipmentinfo":
//! [{"shipmentID", "result": {"code", "message"}, "status": [{"timestamp", "code", "description",
//! "location": {"city", "zipCode", "countryCode"}}]}]}`, oldest first, the timestamps in ISO 8601 with
//! their offset. A result code other than `0` is an error: `E1001` (shipment not found) an unknown
//! number, anything else (`E0401` authentication) a refusal.
//!
//! Hermes hands its HSI documentation to contract customers rather than publishing it openly: the
//! shape above and the code table below are relais' reading of it (docs/tracking.md says so); a
//! contract's own document is the reference to check them against.
//!
//! | code | meaning | status |
//! |---|---|---|
//! | 1000 | announced electronically | pending |
//! | 2000, 2100 | taken over by Hermes (collected, handed in at a ParcelShop) | picked_up |
//! | 3000, 3100, 3200 | at, leaving a logistics centre, at the delivery base | in_transit |
//! | 4000 | on the delivery round | out_for_delivery |
//! | 4100 | waiting at a ParcelShop for collection | ready_for_pickup |
//! | 4200, 4300 | recipient not met, delivery not possible | delivery_failed |
//! | 4400 | delivery postponed | delivery_delayed |
//! | 5000, 5100 | delivered, collected at the ParcelShop | delivered |
//! | 6000 | going back to the sender | return_to_sender |
//! | other | | unknown |

use serde_json::Value;

use crate::{TrackingError, TrackingEvent, TrackingStatus, json, time};

const CARRIER: &str = "hermes";

fn status(code: &str) -> TrackingStatus {
    match code {
        "1000" => TrackingStatus::Pending,
        "2000" | "2100" => TrackingStatus::PickedUp,
        "3000" | "3100" | "3200" => TrackingStatus::InTransit,
        "4000" => TrackingStatus::OutForDelivery,
        "4100" => TrackingStatus::ReadyForPickup,
        "4200" | "4300" => TrackingStatus::DeliveryFailed,
        "4400" => TrackingStatus::DeliveryDelayed,
        "5000" | "5100" => TrackingStatus::Delivered,
        "6000" => TrackingStatus::ReturnToSender,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: &str| TrackingError::BadAnswer { carrier: CARRIER, reason: reason.to_owned() };
    let answer = json(CARRIER, answer)?;
    let shipments = answer["shipmentinfo"].as_array().ok_or_else(|| bad("no shipmentinfo list"))?;
    let mut events = Vec::new();
    for shipment in shipments {
        let result = &shipment["result"];
        let code = result["code"].as_str().unwrap_or("0");
        if code != "0" {
            let message = result["message"].as_str().unwrap_or_default().to_owned();
            return Err(if code == "E1001" {
                TrackingError::UnknownNumber { carrier: CARRIER, message }
            } else {
                TrackingError::Refused { carrier: CARRIER, code: code.to_owned(), message }
            });
        }
        let list = shipment["status"].as_array().ok_or_else(|| bad("a shipment without its status list"))?;
        for raw in list {
            events.push(event(raw)?);
        }
    }
    Ok(events)
}

fn event(raw: &Value) -> Result<TrackingEvent, TrackingError> {
    let text = |v: &Value| v.as_str().map(str::trim).unwrap_or_default().to_owned();
    let code = text(&raw["code"]);
    if code.is_empty() {
        return Err(TrackingError::BadAnswer { carrier: CARRIER, reason: "a status without its code".into() });
    }
    let location = &raw["location"];
    let place: Vec<String> =
        ["city", "zipCode", "countryCode"].iter().map(|k| text(&location[*k])).filter(|v| !v.is_empty()).collect();
    Ok(TrackingEvent {
        at: time(CARRIER, &text(&raw["timestamp"]))?,
        status: status(&code),
        code,
        description: text(&raw["description"]),
        place: (!place.is_empty()).then(|| place.join(", ")),
    })
}
