//! La Poste's tracking API (Suivi v2, `GET /suivi/v2/idships/{id}`), which answers for Colissimo,
//! Chronopost's and La Poste's letters alike: `{"returnCode": 200, "shipment": {"event": [{"code",
//! "label", "date"}]}}`, or an array of those for several numbers. An answer whose `returnCode` is not
//! 200 says why in `returnMessage`.
//!
//! Event codes (La Poste's documentation of the API) and their status:
//!
//! | code | meaning | status |
//! |---|---|---|
//! | DR1 | the sender declared the parcel | pending |
//! | PC1, PC2 | taken in charge | picked_up |
//! | ET1, ET2, ET3, ET4, EP1 | in transit, at a sorting site, arrived in the country | in_transit |
//! | DO1, DO2, DO3 | at customs, held, released | on_hold |
//! | PB1 | a problem delays it | delivery_delayed |
//! | PB2 | the problem is solved | in_transit |
//! | MD2 | out for delivery | out_for_delivery |
//! | ND1 | could not be delivered | delivery_failed |
//! | AG1 | waiting at the post office or pickup point | ready_for_pickup |
//! | RE1 | returned to the sender | return_to_sender |
//! | DI1 | delivered | delivered |
//! | DI2 | delivered back to the sender | return_to_sender |
//! | other | | unknown |

use serde_json::Value;

use crate::{TrackingError, TrackingEvent, TrackingStatus, json, time};

fn status(code: &str) -> TrackingStatus {
    match code {
        "DR1" => TrackingStatus::Pending,
        "PC1" | "PC2" => TrackingStatus::PickedUp,
        "ET1" | "ET2" | "ET3" | "ET4" | "EP1" | "PB2" => TrackingStatus::InTransit,
        "DO1" | "DO2" | "DO3" => TrackingStatus::OnHold,
        "PB1" => TrackingStatus::DeliveryDelayed,
        "MD2" => TrackingStatus::OutForDelivery,
        "ND1" => TrackingStatus::DeliveryFailed,
        "AG1" => TrackingStatus::ReadyForPickup,
        "RE1" | "DI2" => TrackingStatus::ReturnToSender,
        "DI1" => TrackingStatus::Delivered,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(carrier: &'static str, answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: &str| TrackingError::BadAnswer { carrier, reason: reason.to_owned() };
    let answer = json(carrier, answer)?;
    let answers: Vec<&Value> = match &answer {
        Value::Array(list) => list.iter().collect(),
        object @ Value::Object(_) => vec![object],
        _ => return Err(bad("neither an answer nor a list of answers")),
    };
    let mut events = Vec::new();
    for one in answers {
        let code = one["returnCode"].as_i64().ok_or_else(|| bad("no returnCode"))?;
        if code != 200 {
            let message = one["returnMessage"].as_str().unwrap_or_default().to_owned();
            return Err(match code {
                400 | 404 => TrackingError::UnknownNumber { carrier, message },
                _ => TrackingError::Refused { carrier, code: code.to_string(), message },
            });
        }
        let list = one["shipment"]["event"].as_array().ok_or_else(|| bad("no shipment.event list"))?;
        for event in list {
            let code = event["code"].as_str().ok_or_else(|| bad("an event without its code"))?;
            let date = event["date"].as_str().ok_or_else(|| bad("an event without its date"))?;
            events.push(TrackingEvent {
                at: time(carrier, date)?,
                code: code.to_owned(),
                description: event["label"].as_str().unwrap_or_default().to_owned(),
                status: status(code),
                place: None,
            });
        }
    }
    // La Poste lists them latest first.
    events.reverse();
    Ok(events)
}
