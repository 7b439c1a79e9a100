//! Adapters of carriers whose answers are written here from their published API documentation (no
//! real answer is kept for them): one answer per adapter covering each status of its mapping, the
//! times with the offsets the carrier gives, and its error answers.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use relais_tracking::{Carrier, TrackingError, parse};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

/// UPS Track API, from UPS's OpenAPI document (`Tracking.yaml` of UPS-API/api-documentation).
#[test]
fn ups_activities_become_events_with_their_gmt_offset() {
    let events = parse(Carrier::Ups, &fixture("ups_track.json")).unwrap();
    let seen: Vec<(&str, &str)> = events.iter().map(|e| (e.code.as_str(), e.status.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("MP", "pending"),
            ("PU", "picked_up"),
            ("DP", "in_transit"),
            ("AR", "in_transit"),
            ("SR", "delivery_delayed"),
            ("OT", "out_for_delivery"),
            ("FS", "delivered"),
        ]
    );
    // Local time with UPS's gmtOffset: Cologne in winter, then New Jersey.
    assert_eq!(events[1].at.to_rfc3339(), "2021-02-10T17:13:56+01:00");
    assert_eq!(events[6].at.to_rfc3339(), "2021-02-12T14:15:03-05:00");
    assert_eq!(events[6].place.as_deref(), Some("WAYNE, NJ, US"));
    assert_eq!(events[0].place.as_deref(), Some("DE"));
    // Returned to the shipper; a type relais does not map.
    let more = br#"{"trackResponse": {"shipment": [{"package": [{"activity": [
        {"status": {"type": "RS", "code": "RS", "description": "Returned to shipper"}, "date": "20210301", "time": "080000", "gmtOffset": "+01:00"},
        {"status": {"type": "MV", "code": "MV", "description": "Billing information voided"}, "date": "20210228", "time": "080000", "gmtOffset": "+01:00"}
    ]}]}]}}"#;
    let statuses: Vec<&str> = parse(Carrier::Ups, more).unwrap().iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["unknown", "return_to_sender"]);
}

#[test]
fn ups_unknown_numbers_refusals_and_bad_answers_are_typed() {
    let unknown = br#"{"trackResponse": {"shipment": [{"inquiryNumber": "1Z0000000000000000",
        "warnings": [{"code": "TW0001", "message": "Tracking Information Not Found"}]}]}}"#;
    assert_eq!(
        parse(Carrier::Ups, unknown).unwrap_err(),
        TrackingError::UnknownNumber { carrier: "ups", message: "Tracking Information Not Found".into() }
    );
    let expired =
        br#"{"response": {"errors": [{"code": "250002", "message": "Invalid Authentication Information."}]}}"#;
    assert_eq!(
        parse(Carrier::Ups, expired).unwrap_err(),
        TrackingError::Refused {
            carrier: "ups",
            code: "250002".into(),
            message: "Invalid Authentication Information.".into()
        }
    );
    // No offset: a bad answer, not a guessed time.
    let no_offset = br#"{"trackResponse": {"shipment": [{"package": [{"activity": [
        {"status": {"type": "D", "code": "FS"}, "date": "20210212", "time": "141503"}]}]}]}}"#;
    assert!(matches!(parse(Carrier::Ups, no_offset), Err(TrackingError::BadAnswer { .. })));
}
