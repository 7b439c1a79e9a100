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

fn codes_and_statuses(events: &[relais_tracking::TrackingEvent]) -> Vec<(&str, &str)> {
    events.iter().map(|e| (e.code.as_str(), e.status.as_str())).collect()
}

/// Austrian Post's public tracking query (`einzelsendung`), newest first; a time without an offset
/// is Vienna's.
#[test]
fn postat_events_come_oldest_first_with_vienna_times() {
    let events = parse(Carrier::PostAt, &fixture("postat_einzelsendung.json")).unwrap();
    assert_eq!(
        codes_and_statuses(&events),
        [
            ("IZ", "pending"),
            ("RU", "picked_up"),
            ("BEI", "in_transit"),
            ("VZ", "delivery_delayed"),
            ("AZT", "out_for_delivery"),
            ("BEN", "delivery_failed"),
            ("AV", "ready_for_pickup"),
            ("ZU", "delivered"),
        ]
    );
    // No offset in the answer: Vienna's winter time.
    assert_eq!(events[0].at.to_rfc3339(), "2026-03-03T09:14:00+01:00");
    assert_eq!(events[7].at.to_rfc3339(), "2026-03-06T10:42:00+01:00");
    assert_eq!(events[7].description, "Item delivered");
    assert_eq!(events[7].place.as_deref(), Some("Wien, 1030, AT"));
    // Summer time is Vienna's too; a return; a state key relais does not know.
    let more = br#"{"data": {"einzelsendung": {"sendungsEvents": [
        {"timestamp": "2026-07-02T09:00:00", "trackingStateKey": "somethingNew", "text": "Neu"},
        {"timestamp": "2026-07-01T09:00:00", "trackingStateKey": "deliveryInReturn", "status": "RS", "text": "Retour"}]}}}"#;
    let events = parse(Carrier::PostAt, more).unwrap();
    assert_eq!(codes_and_statuses(&events), [("RS", "return_to_sender"), ("somethingNew", "unknown")]);
    assert_eq!(events[0].at.to_rfc3339(), "2026-07-01T09:00:00+02:00");
    assert_eq!(events[1].description, "Neu");
}

#[test]
fn postat_unknown_numbers_refusals_and_bad_answers_are_typed() {
    assert!(matches!(
        parse(Carrier::PostAt, br#"{"data": {"einzelsendung": null}}"#),
        Err(TrackingError::UnknownNumber { carrier: "postat", .. })
    ));
    let refused = br#"{"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "TOO_MANY_REQUESTS"}}], "data": null}"#;
    assert_eq!(
        parse(Carrier::PostAt, refused).unwrap_err(),
        TrackingError::Refused {
            carrier: "postat",
            code: "TOO_MANY_REQUESTS".into(),
            message: "Rate limit exceeded".into()
        }
    );
    for bad in [
        &b"<html><body>503 Service Unavailable</body></html>"[..],
        br#"{"data": {"einzelsendung": {"sendungsEvents": [{"timestamp": "yesterday", "trackingStateKey": "delivered"}]}}}"#,
        br#"{"data": {"einzelsendung": {"sendungsEvents": [{"timestamp": "2026-07-01T09:00:00"}]}}}"#,
        br#"{"data": {"einzelsendung": {"sendungsEvents": [{"#,
    ] {
        assert!(matches!(parse(Carrier::PostAt, bad), Err(TrackingError::BadAnswer { .. })), "{bad:?}");
    }
}

/// FedEx Track API, from FedEx's published Track API document.
#[test]
fn fedex_scan_events_become_events_with_their_offsets() {
    let events = parse(Carrier::Fedex, &fixture("fedex_track.json")).unwrap();
    assert_eq!(
        codes_and_statuses(&events),
        [
            ("OC", "pending"),
            ("PU", "picked_up"),
            ("DP", "in_transit"),
            ("DY", "delivery_delayed"),
            ("DE", "delivery_failed"),
            ("OD", "out_for_delivery"),
            ("DL", "delivered"),
            ("CA", "unknown"),
            ("HL", "on_hold"),
            ("HP", "ready_for_pickup"),
            ("RS", "return_to_sender"),
        ]
    );
    assert_eq!(events[1].at.to_rfc3339(), "2026-02-10T17:13:56+01:00");
    assert_eq!(events[6].at.to_rfc3339(), "2026-02-12T14:15:03-05:00");
    assert_eq!(events[6].place.as_deref(), Some("WAYNE, NJ, US"));
    assert_eq!(events[0].place, None);
    assert_eq!(events[4].description, "Delivery exception: Customer not available or business closed");
}

#[test]
fn fedex_unknown_numbers_refusals_and_bad_answers_are_typed() {
    let unknown = br#"{"output": {"completeTrackResults": [{"trackingNumber": "123456789012", "trackResults": [
        {"trackingNumberInfo": {"trackingNumber": "123456789012"},
         "error": {"code": "TRACKING.TRACKINGNUMBER.NOTFOUND", "message": "Tracking number cannot be found. Please correct the tracking number and try again."}}]}]}}"#;
    assert!(matches!(parse(Carrier::Fedex, unknown), Err(TrackingError::UnknownNumber { carrier: "fedex", .. })));
    let expired = br#"{"transactionId": "x", "errors": [{"code": "NOT.AUTHORIZED.ERROR", "message": "Access token expired. Please modify your request and try again."}]}"#;
    assert_eq!(
        parse(Carrier::Fedex, expired).unwrap_err(),
        TrackingError::Refused {
            carrier: "fedex",
            code: "NOT.AUTHORIZED.ERROR".into(),
            message: "Access token expired. Please modify your request and try again.".into()
        }
    );
    for bad in [
        &b"<!DOCTYPE html><html>Bad gateway</html>"[..],
        br#"{"output": {"completeTrackResults": [{"trackResults": [{"scanEvents": [{"date": "2026-02-12T14:15:03", "eventType": "DL"}]}]}]}}"#,
        br#"{"output": {"completeTrackResults": [{"trackResults": [{"scanEvents": [{"date": "2026-02-12T14:15:03-05:00"}]}]}]}}"#,
        br#"{"output": {}}"#,
    ] {
        assert!(matches!(parse(Carrier::Fedex, bad), Err(TrackingError::BadAnswer { .. })), "{bad:?}");
    }
}

/// DHL Express XML Services, from DHL's `TrackingResponse.xsd`: local times placed by the service
/// area's country.
#[test]
fn dhl_express_events_take_the_zone_of_their_service_area() {
    let events = parse(Carrier::DhlExpress, &fixture("dhl_express_tracking.xml")).unwrap();
    assert_eq!(
        codes_and_statuses(&events),
        [
            ("PU", "picked_up"),
            ("DF", "in_transit"),
            ("RW", "in_transit"),
            ("CR", "delivery_delayed"),
            ("OH", "on_hold"),
            ("WC", "out_for_delivery"),
            ("NH", "delivery_failed"),
            ("SA", "ready_for_pickup"),
            ("OK", "delivered"),
        ]
    );
    assert_eq!(events[0].at.to_rfc3339(), "2026-03-09T13:26:00+01:00");
    assert_eq!(events[0].place.as_deref(), Some("Barcelona - Spain"));
    // The area's Description is not the event's: an event without one has none.
    assert_eq!(events[2].description, "");
    assert_eq!(events[1].description, "Departed from DHL facility in Barcelona - Spain");
    // Italy changes to summer time on 29 March; Milan in March is +01:00.
    assert_eq!(events[8].at.to_rfc3339(), "2026-03-12T10:09:00+01:00");
    let returned = br#"<req:TrackingResponse xmlns:req="http://www.dhl.com"><AWBInfo><Status><ActionStatus>success</ActionStatus></Status><ShipmentInfo>
        <ShipmentEvent><Date>2026-07-01</Date><Time>10:00:00</Time><ServiceEvent><EventCode>RT</EventCode><Description>Returned to shipper</Description></ServiceEvent><ServiceArea><ServiceAreaCode>LHR</ServiceAreaCode><Description>London-Heathrow - United Kingdom</Description></ServiceArea></ShipmentEvent>
        <ShipmentEvent><Date>2026-07-01</Date><Time>11:00:00</Time><ServiceEvent><EventCode>ZZ</EventCode><Description>Something else</Description></ServiceEvent><ServiceArea><ServiceAreaCode>CVG</ServiceAreaCode><Description>Cincinnati Hub - USA</Description></ServiceArea></ShipmentEvent>
    </ShipmentInfo></AWBInfo></req:TrackingResponse>"#;
    let events = parse(Carrier::DhlExpress, returned).unwrap();
    assert_eq!(codes_and_statuses(&events), [("RT", "return_to_sender"), ("ZZ", "unknown")]);
    assert_eq!(events[0].at.to_rfc3339(), "2026-07-01T10:00:00+01:00");
    // A country of several zones keeps the zone named before it.
    assert_eq!(events[1].at.to_rfc3339(), "2026-07-01T11:00:00+01:00");
}

#[test]
fn dhl_express_unknown_numbers_refusals_and_bad_answers_are_typed() {
    let unknown = br#"<res:TrackingResponse xmlns:res="http://www.dhl.com"><AWBInfo><AWBNumber/><Status><ActionStatus>No Shipments Found</ActionStatus>
        <Condition><ConditionCode>103</ConditionCode><ConditionData>No Shipments Found for AWBNumber 123456789</ConditionData></Condition></Status></AWBInfo></res:TrackingResponse>"#;
    assert_eq!(
        parse(Carrier::DhlExpress, unknown).unwrap_err(),
        TrackingError::UnknownNumber {
            carrier: "dhl_express",
            message: "No Shipments Found for AWBNumber 123456789".into()
        }
    );
    let refused = br#"<req:ShipmentTrackingErrorResponse xmlns:req="http://www.dhl.com"><Response><Status><ActionStatus>Failure</ActionStatus>
        <Condition><ConditionCode>111</ConditionCode><ConditionData>Error Parsing incoming request XML</ConditionData></Condition></Status></Response></req:ShipmentTrackingErrorResponse>"#;
    assert_eq!(
        parse(Carrier::DhlExpress, refused).unwrap_err(),
        TrackingError::Refused {
            carrier: "dhl_express",
            code: "111".into(),
            message: "Error Parsing incoming request XML".into()
        }
    );
    let unplaced = br#"<req:TrackingResponse xmlns:req="http://www.dhl.com"><AWBInfo><ShipmentInfo>
        <ShipmentEvent><Date>2026-07-01</Date><Time>10:00:00</Time><ServiceEvent><EventCode>PU</EventCode></ServiceEvent><ServiceArea><Description>Cincinnati Hub - USA</Description></ServiceArea></ShipmentEvent>
    </ShipmentInfo></AWBInfo></req:TrackingResponse>"#;
    let truncated = br#"<req:TrackingResponse xmlns:req="http://www.dhl.com"><AWBInfo><ShipmentInfo><ShipmentEvent>"#;
    for bad in [&unplaced[..], &truncated[..], b"{\"json\": true}", b"<html><body>Service unavailable</body></html>"] {
        assert!(matches!(parse(Carrier::DhlExpress, bad), Err(TrackingError::BadAnswer { .. })), "{bad:?}");
    }
}

/// USPS Tracking API v3: local times with their GMTOffset.
#[test]
fn usps_events_take_their_gmt_offset() {
    let events = parse(Carrier::Usps, &fixture("usps_tracking.json")).unwrap();
    assert_eq!(
        codes_and_statuses(&events),
        [
            ("GX", "pending"),
            ("03", "picked_up"),
            ("10", "in_transit"),
            ("08", "delivery_delayed"),
            ("OF", "out_for_delivery"),
            ("02", "delivery_failed"),
            ("16", "ready_for_pickup"),
            ("43", "delivered"),
        ]
    );
    assert_eq!(events[0].at.to_rfc3339(), "2026-03-04T09:00:00-06:00");
    assert_eq!(events[7].at.to_rfc3339(), "2026-03-09T10:12:00-04:00");
    assert_eq!(events[7].place.as_deref(), Some("WASHINGTON, DC, 20212"));
    let more = br#"{"trackingEvents": [
        {"eventType": "Held at Post Office, At Customer Request", "eventTimestamp": "2026-03-02T10:00:00", "GMTOffset": "-05:00", "eventCode": "57"},
        {"eventType": "Return to Sender", "eventTimestamp": "2026-03-01T10:00:00", "GMTOffset": "-05:00", "eventCode": "09"},
        {"eventType": "Something new", "eventTimestamp": "2026-02-28T10:00:00", "GMTOffset": "-05:00", "eventCode": "ZZ"}]}"#;
    let statuses: Vec<&str> = parse(Carrier::Usps, more).unwrap().iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["unknown", "return_to_sender", "on_hold"]);
}

#[test]
fn usps_unknown_numbers_refusals_and_bad_answers_are_typed() {
    let unknown = br#"{"apiVersion": "/tracking/v3", "error": {"code": "404", "message": "The tracking number could not be found."}}"#;
    assert!(matches!(parse(Carrier::Usps, unknown), Err(TrackingError::UnknownNumber { carrier: "usps", .. })));
    let expired = br#"{"error": {"code": "401", "message": "Access token expired"}}"#;
    assert_eq!(
        parse(Carrier::Usps, expired).unwrap_err(),
        TrackingError::Refused { carrier: "usps", code: "401".into(), message: "Access token expired".into() }
    );
    for bad in [
        &br#"{"trackingEvents": [{"eventTimestamp": "2026-03-02T10:00:00", "eventCode": "01"}]}"#[..],
        br#"{"trackingEvents": [{"eventTimestamp": "2026-03-02T10:00:00", "GMTOffset": "-05:00"}]}"#,
        br#"{"trackingNumber": "9400"}"#,
        b"<html>Access Denied</html>",
    ] {
        assert!(matches!(parse(Carrier::Usps, bad), Err(TrackingError::BadAnswer { .. })), "{bad:?}");
    }
}

/// Hermes Germany's `shipmentinfo`: every status of the mapping, two shipments in one answer.
#[test]
fn hermes_status_entries_become_events() {
    let events = parse(Carrier::Hermes, &fixture("hermes_shipmentinfo.json")).unwrap();
    assert_eq!(
        codes_and_statuses(&events),
        [
            ("1000", "pending"),
            ("2100", "picked_up"),
            ("3000", "in_transit"),
            ("4400", "delivery_delayed"),
            ("4000", "out_for_delivery"),
            ("4200", "delivery_failed"),
            ("4100", "ready_for_pickup"),
            ("5100", "delivered"),
            ("6000", "return_to_sender"),
            ("9999", "unknown"),
        ]
    );
    assert_eq!(events[1].at.to_rfc3339(), "2026-03-03T11:20:00+01:00");
    assert_eq!(events[1].place.as_deref(), Some("Hamburg, 22041, DE"));
    assert_eq!(events[0].place, None);
}

#[test]
fn hermes_unknown_numbers_refusals_and_bad_answers_are_typed() {
    let unknown = br#"{"shipmentinfo": [{"shipmentID": "H0", "result": {"code": "E1001", "message": "Sendung nicht gefunden"}}]}"#;
    assert!(matches!(parse(Carrier::Hermes, unknown), Err(TrackingError::UnknownNumber { carrier: "hermes", .. })));
    let refused =
        br#"{"shipmentinfo": [{"result": {"code": "E0401", "message": "Authentifizierung fehlgeschlagen"}}]}"#;
    assert_eq!(
        parse(Carrier::Hermes, refused).unwrap_err(),
        TrackingError::Refused {
            carrier: "hermes",
            code: "E0401".into(),
            message: "Authentifizierung fehlgeschlagen".into()
        }
    );
    for bad in [
        &br#"{"shipmentinfo": [{"status": [{"timestamp": "2026-03-03 11:20", "code": "2100"}]}]}"#[..],
        br#"{"shipmentinfo": [{"status": [{"timestamp": "2026-03-03T11:20:00+01:00"}]}]}"#,
        br#"{"shipments": []}"#,
        b"<html>502</html>",
        br#"{"shipmentinfo": [{"status": ["#,
    ] {
        assert!(matches!(parse(Carrier::Hermes, bad), Err(TrackingError::BadAnswer { .. })), "{bad:?}");
    }
}
