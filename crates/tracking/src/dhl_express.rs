//! DHL Express XML Services tracking (`KnownTrackingRequest` answered by `req:TrackingResponse`,
//! `TrackingResponse.xsd`): per `AWBInfo`, `ShipmentInfo/ShipmentEvent`s oldest first, each with `Date`
//! (YYYY-MM-DD) and `Time` (HH:MM:SS) local to the service area, `ServiceEvent` (`EventCode`,
//! `Description`) and `ServiceArea` (`ServiceAreaCode`, `Description` as `City - Country`). The answer
//! carries no offset: relais gives each time the zone of the country its service area names (`Milan -
//! Italy`: Europe/Rome), or of the last one named before it; a country with several zones and nothing
//! before it makes the answer unreadable rather than a guessed time. `ActionStatus` `No Shipments Found`
//! is an unknown number; a `ShipmentTrackingErrorResponse` (or any `ErrorResponse`) a refusal, with its
//! `ConditionCode` and `ConditionData`.
//!
//! | EventCode | meaning | status |
//! |---|---|---|
//! | PU | shipment picked up | picked_up |
//! | AF, AR, CC, DF, PL, RW, TR, IC, PO | arrived, departed, processed at a facility, customs cleared | in_transit |
//! | WC | with delivery courier | out_for_delivery |
//! | SA | ready for collection at a service point | ready_for_pickup |
//! | HP, HO, OH | held for payment, on hold | on_hold |
//! | NH, CA, BA, CM, MS, SS | not home, closed, bad address, consignee moved, misrouted, shipment stopped | delivery_failed |
//! | MD, BL, CD, CR | missed delivery cycle, clearance delay | delivery_delayed |
//! | RT | returned to the shipper | return_to_sender |
//! | OK, DD | delivered | delivered |
//! | other | | unknown |

use chrono::{NaiveDateTime, TimeZone};

use crate::xml::elements;
use crate::{TrackingError, TrackingEvent, TrackingStatus, zone};

const CARRIER: &str = "dhl_express";

fn status(code: &str) -> TrackingStatus {
    match code {
        "PU" => TrackingStatus::PickedUp,
        "AF" | "AR" | "CC" | "DF" | "PL" | "RW" | "TR" | "IC" | "PO" => TrackingStatus::InTransit,
        "WC" => TrackingStatus::OutForDelivery,
        "SA" => TrackingStatus::ReadyForPickup,
        "HP" | "HO" | "OH" => TrackingStatus::OnHold,
        "NH" | "CA" | "BA" | "CM" | "MS" | "SS" => TrackingStatus::DeliveryFailed,
        "MD" | "BL" | "CD" | "CR" => TrackingStatus::DeliveryDelayed,
        "RT" => TrackingStatus::ReturnToSender,
        "OK" | "DD" => TrackingStatus::Delivered,
        _ => TrackingStatus::Unknown,
    }
}

/// The ISO code of a country as DHL Express names it in English in its service areas.
fn country_code(name: &str) -> Option<&'static str> {
    const NAMES: [(&str, &str); 47] = [
        ("Austria", "AT"),
        ("Belgium", "BE"),
        ("Bulgaria", "BG"),
        ("China", "CN"),
        ("Croatia", "HR"),
        ("Czech Republic", "CZ"),
        ("Czechia", "CZ"),
        ("Denmark", "DK"),
        ("Estonia", "EE"),
        ("Finland", "FI"),
        ("France", "FR"),
        ("Germany", "DE"),
        ("Greece", "GR"),
        ("Hong Kong", "HK"),
        ("Hungary", "HU"),
        ("Iceland", "IS"),
        ("India", "IN"),
        ("Ireland", "IE"),
        ("Israel", "IL"),
        ("Italy", "IT"),
        ("Jamaica", "JM"),
        ("Japan", "JP"),
        ("Latvia", "LV"),
        ("Lithuania", "LT"),
        ("Luxembourg", "LU"),
        ("Morocco", "MA"),
        ("Netherlands", "NL"),
        ("The Netherlands", "NL"),
        ("Norway", "NO"),
        ("Poland", "PL"),
        ("Portugal", "PT"),
        ("Romania", "RO"),
        ("Singapore", "SG"),
        ("Slovakia", "SK"),
        ("Slovenia", "SI"),
        ("South Africa", "ZA"),
        ("Spain", "ES"),
        ("Sweden", "SE"),
        ("Switzerland", "CH"),
        ("Turkey", "TR"),
        ("Turkiye", "TR"),
        ("United Arab Emirates", "AE"),
        ("United Kingdom", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Wales", "GB"),
    ];
    NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, code)| *code)
}

/// One `ShipmentEvent`'s texts.
#[derive(Default)]
struct Step {
    date: String,
    time: String,
    code: String,
    description: String,
    area: String,
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: String| TrackingError::BadAnswer { carrier: CARRIER, reason };
    let all = elements(answer).map_err(bad)?;
    let text = |name: &str| all.iter().find(|e| e.name == name).map(|e| e.text.trim().to_owned()).unwrap_or_default();
    let root = all.first().map(|e| e.name.as_str()).unwrap_or_default();
    if root.ends_with("ErrorResponse") {
        return Err(TrackingError::Refused {
            carrier: CARRIER,
            code: text("ConditionCode"),
            message: text("ConditionData"),
        });
    }
    if root != "TrackingResponse" {
        return Err(bad("neither a TrackingResponse nor an ErrorResponse".into()));
    }
    if all.iter().any(|e| e.name == "ActionStatus" && e.text.trim().eq_ignore_ascii_case("No Shipments Found")) {
        return Err(TrackingError::UnknownNumber { carrier: CARRIER, message: text("ConditionData") });
    }
    // Walk each ShipmentEvent: its direct Date and Time, and the texts under its ServiceEvent and
    // ServiceArea (both have a Description, so the part they sit in decides).
    let mut steps: Vec<Step> = Vec::new();
    let mut within: Option<usize> = None;
    let mut part = String::new();
    for element in &all {
        if within.is_some_and(|depth| element.depth <= depth) {
            within = None;
        }
        let Some(depth) = within else {
            if element.name == "ShipmentEvent" {
                within = Some(element.depth);
                steps.push(Step::default());
            }
            continue;
        };
        let Some(step) = steps.last_mut() else { continue };
        let value = element.text.trim().to_owned();
        if element.depth == depth + 1 {
            part = element.name.clone();
            match part.as_str() {
                "Date" => step.date = value,
                "Time" => step.time = value,
                _ => {}
            }
            continue;
        }
        match (part.as_str(), element.name.as_str()) {
            ("ServiceEvent", "EventCode") => step.code = value,
            ("ServiceEvent", "Description") => step.description = value,
            ("ServiceArea", "Description") => step.area = value,
            _ => {}
        }
    }
    let mut events = Vec::new();
    let mut placed = None;
    for step in steps {
        if step.code.is_empty() {
            return Err(bad("a ShipmentEvent without its EventCode".into()));
        }
        if let Some(tz) = step.area.rsplit_once(" - ").and_then(|(_, c)| country_code(c.trim())).and_then(zone) {
            placed = Some(tz);
        }
        let stamp = format!("{} {}", step.date, step.time);
        let local = NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S")
            .map_err(|_| bad(format!("{stamp:?} is not YYYY-MM-DD HH:MM:SS")))?;
        let tz = placed.ok_or_else(|| bad(format!("no country to give {stamp} its offset ({})", step.area)))?;
        let at = tz
            .from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| bad(format!("{stamp} does not exist there (a clock change)")))?
            .fixed_offset();
        // DHL sometimes breaks a description over lines; one line reads better.
        let description = step.description.split_whitespace().collect::<Vec<_>>().join(" ");
        let place = step.area.split_whitespace().collect::<Vec<_>>().join(" ");
        events.push(TrackingEvent {
            at,
            status: status(&step.code),
            code: step.code,
            description,
            place: (!place.is_empty()).then_some(place),
        });
    }
    Ok(events)
}
