//! DPD's parcel life cycle service (SOAP `getTrackingData`, `ParcelLifeCycleService/2.0`): a
//! `statusInfo` per step, with `status` (the code), and `label`, `description`, `location` and `date`
//! each wrapping its text in `content`. A step not reached yet has no date and is left out. The date is
//! the depot's local time in US form without an offset (`8/17/2021 7:11:26 PM`): relais gives it the
//! offset of the country the location names (`Puurs (BE)`: Europe/Brussels), or of the last country
//! named before it. A SOAP fault (bad credentials: `DELICOM_ERR_AUTHENTICATION`) is `Refused`.
//!
//! | status | meaning | status |
//! |---|---|---|
//! | Accepted, PickedUp | handed to DPD | picked_up |
//! | BetweenDepots, Depot | between depots, at the delivery depot | in_transit |
//! | Courier | on its way to the consignee | out_for_delivery |
//! | ParcelShop | left at a Pickup parcelshop | ready_for_pickup |
//! | DeliveryFailure, ReturningFromDelivery | not delivered, back at the depot after an attempt | delivery_failed |
//! | Delivered | delivered | delivered |
//! | ReturnToSender | going back | return_to_sender |
//! | other | | unknown |

use chrono::{NaiveDateTime, TimeZone};

use crate::xml::elements;
use crate::{TrackingError, TrackingEvent, TrackingStatus, zone};

const CARRIER: &str = "dpd";

fn status(code: &str) -> TrackingStatus {
    match code {
        "Accepted" | "PickedUp" => TrackingStatus::PickedUp,
        "BetweenDepots" | "Depot" => TrackingStatus::InTransit,
        "Courier" => TrackingStatus::OutForDelivery,
        "ParcelShop" => TrackingStatus::ReadyForPickup,
        "DeliveryFailure" | "ReturningFromDelivery" => TrackingStatus::DeliveryFailed,
        "Delivered" => TrackingStatus::Delivered,
        "ReturnToSender" => TrackingStatus::ReturnToSender,
        _ => TrackingStatus::Unknown,
    }
}

/// One `statusInfo`'s texts.
#[derive(Default)]
struct Step {
    code: Option<String>,
    description: Option<String>,
    location: Option<String>,
    date: Option<String>,
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: String| TrackingError::BadAnswer { carrier: CARRIER, reason };
    let all = elements(answer).map_err(bad)?;
    if all.iter().any(|e| e.name == "Fault") {
        let text = |name: &str| all.iter().find(|e| e.name == name).map(|e| e.text.trim().to_owned());
        let code = text("errorCode").or_else(|| text("faultcode")).unwrap_or_default();
        let message = text("errorMessage").or_else(|| text("faultstring")).unwrap_or_default();
        return Err(TrackingError::Refused { carrier: CARRIER, code, message });
    }
    if !all.iter().any(|e| e.name == "getTrackingDataResponse") {
        return Err(bad("no getTrackingDataResponse".into()));
    }
    // Walk each statusInfo: its direct `status`, and the first non-empty `content` under each of its
    // `description`, `location` and `date`.
    let mut steps: Vec<Step> = Vec::new();
    let mut within: Option<usize> = None;
    let mut part: Option<String> = None;
    for element in &all {
        if within.is_some_and(|depth| element.depth <= depth) {
            within = None;
        }
        let Some(depth) = within else {
            if element.name == "statusInfo" {
                within = Some(element.depth);
                steps.push(Step::default());
            }
            continue;
        };
        let Some(step) = steps.last_mut() else { continue };
        if element.depth == depth + 1 {
            part = Some(element.name.clone());
            if element.name == "status" {
                step.code = Some(element.text.trim().to_owned());
            }
            continue;
        }
        let text = element.text.trim();
        if element.name != "content" || text.is_empty() {
            continue;
        }
        let slot = match part.as_deref() {
            Some("description") => &mut step.description,
            Some("location") => &mut step.location,
            Some("date") => &mut step.date,
            _ => continue,
        };
        slot.get_or_insert_with(|| text.to_owned());
    }
    let mut events = Vec::new();
    let mut country: Option<String> = None;
    for step in steps {
        // A step not reached yet has no date.
        let Some(date) = step.date else { continue };
        let code = step.code.ok_or_else(|| bad("a statusInfo without its status".into()))?;
        if let Some(named) =
            step.location.as_deref().and_then(|l| l.rsplit_once('(')).map(|(_, c)| c.trim_end_matches(')'))
        {
            country = Some(named.to_owned());
        }
        let local = NaiveDateTime::parse_from_str(&date, "%m/%d/%Y %I:%M:%S %p")
            .map_err(|_| bad(format!("{date:?} is not M/D/YYYY h:mm:ss AM|PM")))?;
        let tz =
            country.as_deref().and_then(zone).ok_or_else(|| bad(format!("no country to give {date} its offset")))?;
        let at = tz
            .from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| bad(format!("{date} does not exist there (a clock change)")))?
            .fixed_offset();
        events.push(TrackingEvent {
            at,
            status: status(&code),
            code,
            description: step.description.unwrap_or_default(),
            place: step.location,
        });
    }
    Ok(events)
}
