//! bpost's track and trace (`itemTracking` XML, `http://schema.post.be/tracking/v1/`): each event is a
//! `<stateInfo>` with its `time` (RFC 3339), `stateCode` and `stateDescription`, oldest first. An error
//! comes as a `<systemException>` with its `message`.
//!
//! | code | meaning | status |
//! |---|---|---|
//! | T00 | sorted | in_transit |
//! | L00 | bound to the delivery round | out_for_delivery |
//! | U01 | distributed normally | delivered |
//! | other | | unknown |

use crate::xml::{elements, records};
use crate::{TrackingError, TrackingEvent, TrackingStatus, time};

const CARRIER: &str = "bpost";

fn status(code: &str) -> TrackingStatus {
    match code {
        "T00" => TrackingStatus::InTransit,
        "L00" => TrackingStatus::OutForDelivery,
        "U01" => TrackingStatus::Delivered,
        _ => TrackingStatus::Unknown,
    }
}

pub(crate) fn events(answer: &[u8]) -> Result<Vec<TrackingEvent>, TrackingError> {
    let bad = |reason: String| TrackingError::BadAnswer { carrier: CARRIER, reason };
    let all = elements(answer).map_err(bad)?;
    match all.first().map(|e| e.name.as_str()) {
        Some("itemTracking") => {}
        Some("systemException") => {
            let message =
                all.iter().find(|e| e.name == "message").map(|e| e.text.trim().to_owned()).unwrap_or_default();
            return Err(TrackingError::Refused { carrier: CARRIER, code: "systemException".into(), message });
        }
        _ => return Err(bad("neither an itemTracking nor a systemException".into())),
    }
    let mut events = Vec::new();
    for state in records(&all, "stateInfo", &["time", "stateCode", "stateDescription"]) {
        let at = state.get("time").ok_or_else(|| bad("a stateInfo without its time".into()))?;
        let code = state.get("stateCode").ok_or_else(|| bad("a stateInfo without its stateCode".into()))?;
        events.push(TrackingEvent {
            at: time(CARRIER, at)?,
            status: status(code),
            code: code.clone(),
            description: state.get("stateDescription").cloned().unwrap_or_default(),
            place: None,
        });
    }
    Ok(events)
}
