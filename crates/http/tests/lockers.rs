//! The locker at work over HTTP: a courier's drop-off session from the courier code to the signed proof
//! of deposit (JSON and PDF), the device protocol, and bad input on every new route: a 4xx with its
//! stable code, never a 500, and nothing changed.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, Reply, apis, assert_error, uuid_like};
use relais_app::signed;
use serde_json::json;

impl Api {
    async fn compartment_states(&self) -> Vec<(String, String)> {
        let point = self.call(Method::GET, &format!("/v1/points/{}", self.locker_id), &self.operator, None).await;
        point.body["compartments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["label"].as_str().unwrap().to_owned(), c["state"].as_str().unwrap().to_owned()))
            .collect()
    }
}

/// Where `pdftotext` (poppler-utils) is, if installed; CI sets `RELAIS_REQUIRE_PDFTOTEXT=1` so the PDF
/// is always read back by a real PDF reader there.
fn pdftotext() -> Option<&'static str> {
    let found = std::process::Command::new("pdftotext").arg("-v").output().is_ok();
    if !found && std::env::var("RELAIS_REQUIRE_PDFTOTEXT").is_ok_and(|v| v == "1") {
        panic!("pdftotext is required (RELAIS_REQUIRE_PDFTOTEXT=1): apt-get install poppler-utils");
    }
    found.then_some("pdftotext")
}

#[tokio::test]
async fn a_drop_off_session_over_http_ends_with_a_signed_receipt() {
    for api in apis().await {
        let parcel_id = api.announced("157035381410375177").await;
        let session = api.session().await;

        let scan = api
            .call(
                Method::POST,
                &format!("/v1/drop-off-sessions/{session}/scans"),
                &api.device,
                Some(json!({"parcel_number": "157035381410375177"})),
            )
            .await;
        assert_eq!(scan.status, StatusCode::OK, "{}", scan.body);
        assert_eq!(
            (&scan.body["parcel"]["state"], &scan.body["open_door"]["door"]),
            (&json!("assigned"), &json!("A01"))
        );
        let beat = api
            .call(
                Method::POST,
                &format!("/v1/points/{}/heartbeat", api.locker_id),
                &api.device,
                Some(json!({"doors": [{"door": "A01", "state": "open"}, {"door": "B01", "state": "closed"}], "firmware": "1.0"})),
            )
            .await;
        assert_eq!(beat.status, StatusCode::OK, "{}", beat.body);
        assert_eq!(beat.body["commands"][0]["door"], "A01");
        assert_eq!(beat.body["commands"][0]["command"], "open_door");

        let doors = format!("/v1/points/{}/doors", api.locker_id);
        let never = api
            .call(Method::POST, &format!("{doors}/B01/events"), &api.device, Some(json!({"event": "door_closed"})))
            .await;
        assert_error(&never, StatusCode::CONFLICT, "door_not_open");
        assert_eq!(never.body["error"]["details"]["door"], "B01");
        let closed = api
            .call(Method::POST, &format!("{doors}/A01/events"), &api.device, Some(json!({"event": "door_closed"})))
            .await;
        assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
        assert_eq!(closed.body["deposited"]["state"], "ready_for_pickup");
        assert_eq!(closed.body["deposited"]["id"], parcel_id.as_str());

        // A manifest: one result per parcel, an unknown number reported beside the others.
        let manifest = api
            .call(
                Method::POST,
                &format!("/v1/drop-off-sessions/{session}/scans"),
                &api.device,
                Some(json!({"parcel_numbers": ["NOSUCHPARCEL1", "157035381410375177"]})),
            )
            .await;
        assert_eq!(manifest.status, StatusCode::MULTI_STATUS, "{}", manifest.body);
        assert_eq!(manifest.body["results"][0]["error"]["code"], "not_found");
        assert_eq!(manifest.body["results"][1]["scan"]["parcel"]["state"], "deposited");

        let close = api.call(Method::POST, &format!("/v1/drop-off-sessions/{session}/close"), &api.device, None).await;
        assert_eq!(close.status, StatusCode::OK, "{}", close.body);
        assert!(close.body["closed_at"].is_string());
        let again = api.call(Method::POST, &format!("/v1/drop-off-sessions/{session}/close"), &api.device, None).await;
        assert_error(&again, StatusCode::CONFLICT, "session_closed");

        // The receipt verifies with the published key, fetched without any API key.
        let key = api.call(Method::GET, "/v1/signing-key", "", None).await;
        assert_eq!((key.status, &key.body["algorithm"]), (StatusCode::OK, &json!("Ed25519")));
        let public = signed::parse_public_key(key.body["public_key"].as_str().unwrap()).unwrap();
        let receipt =
            api.call(Method::GET, &format!("/v1/drop-off-sessions/{session}/receipt"), &api.carrier, None).await;
        assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);
        let document = signed::verify_document(&public, &receipt.body).unwrap();
        assert_eq!(document["deposited"][0]["door"], "A01");
        assert_eq!(receipt.body["signature"]["key_id"], key.body["key_id"]);
        let key_id = key.body["key_id"].as_str().unwrap();
        assert!(key.body["public_key"].as_str().unwrap().starts_with(key_id), "the key is named by its prefix");

        let pdf = api
            .raw(Method::GET, &format!("/v1/drop-off-sessions/{session}/receipt?format=pdf"), &api.carrier, None, None)
            .await;
        assert_eq!(pdf.status, StatusCode::OK);
        assert_eq!(pdf.headers["content-type"], "application/pdf");
        if let Some(reader) = pdftotext() {
            let dir = std::env::temp_dir().join(format!("relais-receipt-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{}.pdf", api.app.backend()));
            let bytes =
                api.raw_bytes(&format!("/v1/drop-off-sessions/{session}/receipt?format=pdf"), &api.carrier).await;
            std::fs::write(&file, bytes).unwrap();
            let out = std::process::Command::new(reader).arg(&file).arg("-").output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8(out.stdout).unwrap();
            for expected in
                ["Preuve de dépôt / Proof of deposit", "157035381410375177", "porte / door A01", "Consigne Gare"]
            {
                assert!(text.contains(expected), "{expected:?} not in:\n{text}");
            }
        }
        let bad_format = api
            .call(Method::GET, &format!("/v1/drop-off-sessions/{session}/receipt?format=xml"), &api.carrier, None)
            .await;
        assert_error(&bad_format, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

        let device = api.call(Method::GET, &format!("/v1/points/{}/device", api.locker_id), &api.operator, None).await;
        assert_eq!(device.body["firmware"], "1.0", "{}", device.body);
        assert_eq!(device.body["doors"][0], json!({"door": "A01", "state": "open"}));
    }
}

#[tokio::test]
async fn the_device_protocol_refuses_bad_input_and_changes_nothing() {
    for api in apis().await {
        let locker = api.locker_id.clone();
        let beat = format!("/v1/points/{locker}/heartbeat");
        let before = api.compartment_states().await;
        let ok = json!({"doors": [{"door": "A01", "state": "closed"}]});

        // Who may beat: the locker's own device key only.
        assert_error(
            &api.call(Method::POST, &beat, "", Some(ok.clone())).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let unknown = format!("rk_locker_device_{}", "0".repeat(64));
        assert_error(
            &api.call(Method::POST, &beat, &unknown, Some(ok.clone())).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_error(
            &api.call(Method::POST, &beat, &api.carrier, Some(ok.clone())).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let elsewhere = format!("/v1/points/{}/heartbeat", uuid_like());
        assert_error(
            &api.call(Method::POST, &elsewhere, &api.device, Some(ok.clone())).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );

        // What a heartbeat may say.
        for (body, field) in [
            (json!({"doors": [{"door": "Z99", "state": "closed"}]}), "doors.label"),
            (json!({"doors": [{"door": "A01", "state": "ajar"}]}), "doors.state"),
        ] {
            let r = api.call(Method::POST, &beat, &api.device, Some(body)).await;
            assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(r.body["error"]["details"]["field"], field);
        }
        for body in [json!({"doors": "A01"}), json!({"doors": [{"door": "A01"}]}), json!({"door": []})] {
            let r = api.call(Method::POST, &beat, &api.device, Some(body.clone())).await;
            assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        let malformed =
            api.raw(Method::POST, &beat, &api.device, Some("{\"doors\": ["), Some("application/json")).await;
        assert_error(&malformed, StatusCode::BAD_REQUEST, "malformed_json");
        let huge = json!({"doors": (0..200).map(|i| json!({"door": format!("X{i:03}"), "state": "closed"})).collect::<Vec<_>>()});
        assert_error(
            &api.call(Method::POST, &beat, &api.device, Some(huge)).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        );

        // Door events.
        let events = |door: &str| format!("/v1/points/{locker}/doors/{door}/events");
        let bad_event =
            api.call(Method::POST, &events("A01"), &api.device, Some(json!({"event": "door_slammed"}))).await;
        assert_error(&bad_event, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let no_door = api.call(Method::POST, &events("Z99"), &api.device, Some(json!({"event": "door_closed"}))).await;
        assert_error(&no_door, StatusCode::NOT_FOUND, "not_found");
        let not_open = api.call(Method::POST, &events("A01"), &api.device, Some(json!({"event": "door_closed"}))).await;
        assert_error(&not_open, StatusCode::CONFLICT, "door_not_open");

        // Sessions: courier codes, unknown ids, refusals.
        let sessions = format!("/v1/points/{locker}/drop-off-sessions");
        let wrong = api.call(Method::POST, &sessions, &api.device, Some(json!({"courier_code": "00000000"}))).await;
        assert_error(&wrong, StatusCode::FORBIDDEN, "invalid_courier_code");
        let letters = api.call(Method::POST, &sessions, &api.device, Some(json!({"courier_code": "abcdefgh"}))).await;
        assert_error(&letters, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let typed = api.call(Method::POST, &sessions, &api.device, Some(json!({"courier_code": 12345678}))).await;
        assert_error(&typed, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let nowhere = format!("/v1/points/{}/drop-off-sessions", uuid_like());
        let nowhere = api.call(Method::POST, &nowhere, &api.carrier, Some(json!({"courier_code": "00000000"}))).await;
        assert_error(&nowhere, StatusCode::NOT_FOUND, "not_found");
        let merchant =
            api.call(Method::POST, &sessions, &api.merchant, Some(json!({"courier_code": "00000000"}))).await;
        assert_error(&merchant, StatusCode::FORBIDDEN, "forbidden");
        for path in [format!("/v1/drop-off-sessions/{}", uuid_like()), "/v1/drop-off-sessions/nope".to_owned()] {
            assert_error(&api.call(Method::GET, &path, &api.operator, None).await, StatusCode::NOT_FOUND, "not_found");
        }
        let session = api.session().await;
        let refusals = format!("/v1/drop-off-sessions/{session}/refusals");
        let bad_reason = api
            .call(Method::POST, &refusals, &api.device, Some(json!({"parcel_id": uuid_like(), "reason": "too_heavy"})))
            .await;
        assert_error(&bad_reason, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let not_scanned = api
            .call(Method::POST, &refusals, &api.device, Some(json!({"parcel_id": uuid_like(), "reason": "too_large"})))
            .await;
        assert_error(&not_scanned, StatusCode::NOT_FOUND, "not_found");
        let scans = format!("/v1/drop-off-sessions/{session}/scans");
        for body in [json!({}), json!({"parcel_numbers": []}), json!({"parcel_number": "X", "parcel_numbers": ["Y"]})] {
            let r = api.call(Method::POST, &scans, &api.device, Some(body)).await;
            assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        let unknown_parcel =
            api.call(Method::POST, &scans, &api.device, Some(json!({"parcel_number": "NOSUCH0001"}))).await;
        assert_error(&unknown_parcel, StatusCode::NOT_FOUND, "not_found");

        // Offline collections and operator actions.
        let offline = format!("/v1/points/{locker}/offline-collections");
        let forged = api.call(Method::POST, &offline, &api.device, Some(json!({"qr_token": "RQ1.AAAA"}))).await;
        assert_error(&forged, StatusCode::FORBIDDEN, "invalid_pickup_code");
        let long = api.call(Method::POST, &offline, &api.device, Some(json!({"qr_token": "x".repeat(400)}))).await;
        assert_error(&long, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let open = format!("/v1/points/{locker}/doors/A01/open");
        let no_reason = api.call(Method::POST, &open, &api.operator, Some(json!({}))).await;
        assert_error(&no_reason, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let carrier = api.call(Method::POST, &open, &api.carrier, Some(json!({"reason": "x"}))).await;
        assert_error(&carrier, StatusCode::FORBIDDEN, "forbidden");
        assert_error(
            &api.call(Method::GET, "/v1/audit", &api.merchant, None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let audit = api.call(Method::GET, "/v1/audit?after=x", &api.operator, None).await;
        assert_error(&audit, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

        // None of it moved a door, and nothing was audited.
        assert_eq!(api.compartment_states().await, before);
        let audit = api.call(Method::GET, "/v1/audit", &api.operator, None).await;
        let actions: Vec<&str> =
            audit.body["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.iter().all(|a| *a == "api_key_created"), "only the setup's keys: {actions:?}");
    }
}

/// The QR token of an announce is signed: the published key verifies it offline; the locker reports the
/// collection later, once.
#[tokio::test]
async fn a_locker_reports_an_offline_qr_collection_once() {
    for api in apis().await {
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("157035381410375177"))).await;
        let token = announced.body["qr_token"].as_str().unwrap().to_owned();
        let id = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
        let key = api.call(Method::GET, "/v1/signing-key", "", None).await;
        let public = signed::parse_public_key(key.body["public_key"].as_str().unwrap()).unwrap();
        assert_eq!(signed::verify_qr(&public, &token).unwrap().parcel_id.to_string(), id);

        let offline = format!("/v1/points/{}/offline-collections", api.locker_id);
        let body = json!({"qr_token": token, "at": "2026-11-27T08:00:00Z"});
        let first = api.call(Method::POST, &offline, &api.device, Some(body.clone())).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        assert_eq!(first.body["parcel"]["state"], "collected");
        let replay = api.call(Method::POST, &offline, &api.device, Some(body)).await;
        assert_error(&replay, StatusCode::CONFLICT, "invalid_transition");
    }
}

/// While the parcel waits in the locker, the recipient's page shows its code and the QR image a phone
/// opens the door with (the same image `relais_messages::qr` draws, which its test decodes); not
/// before the deposit, and not after the collection.
#[tokio::test]
async fn the_recipients_page_shows_the_code_and_its_qr_only_while_the_parcel_waits() {
    for api in apis().await {
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("157035381410375177"))).await;
        let id = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        let code = announced.body["pickup_code"].as_str().unwrap().to_owned();
        let qr = relais_messages::qr::qr_svg(announced.body["qr_token"].as_str().unwrap()).unwrap();
        let link = api.app.recipient_link(relais_domain::ids::Id::from_uuid(id.parse().unwrap()));
        let path = link.strip_prefix(api.app.public_url()).unwrap().to_owned();
        let page = |reply: &Reply| reply.body.as_str().unwrap().to_owned();

        let before = page(&api.raw(Method::GET, &path, "", None, None).await);
        assert!(!before.contains(&code) && !before.contains("<svg"), "not before the deposit: {before}");

        api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
        let waiting = page(&api.raw(Method::GET, &format!("{path}?lang=en"), "", None, None).await);
        assert!(waiting.contains(&format!("<p class=\"code\">{code}</p>")), "{waiting}");
        assert!(waiting.contains(&qr), "the QR image of the parcel's token: {waiting}");
        assert!(waiting.contains("Type this code on the locker's screen, or show this QR code"), "{waiting}");

        let pickups = format!("/v1/points/{}/pickups", api.locker_id);
        let collected = api.call(Method::POST, &pickups, &api.device, Some(json!({"code": code}))).await;
        assert_eq!(collected.status, StatusCode::OK, "{}", collected.body);
        let after = page(&api.raw(Method::GET, &path, "", None, None).await);
        assert!(!after.contains(&code) && !after.contains("<svg"), "not after the collection: {after}");
    }
}

/// The recipient's page from the link in their messages: French or English, the extension as a plain
/// form, once; a bad link is a page saying so, not an error envelope.
#[tokio::test]
async fn the_recipients_page_shows_the_parcel_and_extends_it_once() {
    for api in apis().await {
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("157035381410375177"))).await;
        let id = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
        let link = api.app.recipient_link(relais_domain::ids::Id::from_uuid(id.parse().unwrap()));
        let path = link.strip_prefix(api.app.public_url()).unwrap().to_owned();
        let bad = api.raw(Method::GET, "/r/RL1.AAAA", "", None, None).await;
        assert_eq!(bad.status, StatusCode::NOT_FOUND);
        assert!(bad.body.as_str().unwrap().contains("Ce lien n'est pas valable"));

        let too_early = api.raw(Method::GET, &path, "", None, None).await;
        assert_eq!(too_early.status, StatusCode::OK);
        assert_eq!(too_early.headers["content-type"], "text/html; charset=utf-8");
        assert!(too_early.headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        let page = too_early.body.as_str().unwrap();
        assert!(
            page.contains("<html lang=\"fr\">") && page.contains("vous attend à") && page.contains("Consigne Gare"),
            "{page}"
        );
        assert!(page.contains("La prolongation sera possible à partir du 28/11/2026 à 21:00"), "{page}");

        // 36 h after the deposit the extension is open: the form, then the page says it is done.
        api.clock.advance(chrono::Duration::hours(37));
        let english = api.raw(Method::GET, &format!("{path}?lang=en"), "", None, None).await;
        let page = english.body.as_str().unwrap();
        assert!(
            page.contains("Keep my parcel until 2 Dec 2026 at 09:00") && page.contains("method=\"post\""),
            "{page}"
        );
        let extended = api.raw(Method::POST, &format!("{path}/extend?lang=en"), "", Some(""), None).await;
        assert_eq!(extended.status, StatusCode::SEE_OTHER);
        let location = extended.headers["location"].to_str().unwrap().to_owned();
        assert_eq!(location, format!("{path}?lang=en&done=1"));
        let done = api.raw(Method::GET, &location, "", None, None).await;
        let page = done.body.as_str().unwrap();
        assert!(page.contains("Done.") && page.contains("Collect it by <strong>2 Dec 2026 at 09:00"), "{page}");
        assert!(page.contains("The extension has already been used."), "{page}");
        let twice = api.raw(Method::POST, &format!("{path}/extend"), "", Some(""), None).await;
        assert_eq!(twice.status, StatusCode::CONFLICT);
        assert!(twice.body.as_str().unwrap().contains("La prolongation a déjà été utilisée."));
        let parcel = api.call(Method::GET, &format!("/v1/parcels/{id}"), &api.operator, None).await;
        assert_eq!(parcel.body["extensions_used"], 1, "{}", parcel.body);

        // The page is public and limited per client address like the widget (6 a minute in these tests):
        // the seventh request of the minute is refused.
        let limited = api.raw(Method::GET, &path, "", None, None).await;
        assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
}

/// The return-collection list and session over HTTP: an expired parcel is listed with its door, the
/// session orders that door open, its closing takes the parcel back.
#[tokio::test]
async fn a_return_collection_over_http() {
    for api in apis().await {
        let id = api.announced("157035381410375177").await;
        api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
        let expired = api
            .call(
                Method::POST,
                &format!("/v1/parcels/{id}/force-expiry"),
                &api.operator,
                Some(json!({"reason": "test"})),
            )
            .await;
        assert_eq!(expired.body["state"], "expired", "{}", expired.body);
        let list = format!("/v1/points/{}/return-list", api.locker_id);
        let listed = api.call(Method::GET, &list, &api.carrier, None).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
        assert_eq!(listed.body["parcels"][0]["door"], "A01");
        assert_error(&api.call(Method::GET, &list, &api.merchant, None).await, StatusCode::FORBIDDEN, "forbidden");
        let unknown = format!("/v1/points/{}/return-list", uuid_like());
        assert_error(&api.call(Method::GET, &unknown, &api.carrier, None).await, StatusCode::NOT_FOUND, "not_found");

        let sessions = format!("/v1/points/{}/return-sessions", api.locker_id);
        let wrong = api.call(Method::POST, &sessions, &api.device, Some(json!({"courier_code": "00000000"}))).await;
        assert_error(&wrong, StatusCode::FORBIDDEN, "invalid_courier_code");
        let code =
            api.call(Method::GET, &format!("/v1/points/{}/courier-code", api.locker_id), &api.carrier, None).await;
        let opened =
            api.call(Method::POST, &sessions, &api.device, Some(json!({"courier_code": code.body["code"]}))).await;
        assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
        assert_eq!(opened.body["purpose"], "return_collection");
        assert_eq!(opened.body["parcels"][0]["door"], "A01");
        let closing = json!({"event": "door_closed"});
        let door = format!("/v1/points/{}/doors/A01/events", api.locker_id);
        assert_eq!(api.call(Method::POST, &door, &api.device, Some(closing)).await.status, StatusCode::OK);
        let parcel = api.call(Method::GET, &format!("/v1/parcels/{id}"), &api.operator, None).await;
        assert_eq!(parcel.body["state"], "returning", "{}", parcel.body);
        let listed = api.call(Method::GET, &list, &api.carrier, None).await;
        assert_eq!(listed.body["parcels"], json!([]));
    }
}

/// Two thin parcels of one recipient: the second shares the first's door (its own reserved door is
/// given back), the compartment says it holds two, and one code at the locker hands over both.
#[tokio::test]
async fn one_code_opens_a_shared_door_on_both_parcels() {
    for api in apis().await {
        let mut parcels = Vec::new();
        for number in ["SHARED0001", "SHARED0002"] {
            let mut body = api.announce_body(number);
            body["dimensions_mm"]["height"] = json!(30);
            let reply = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(body)).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
            parcels.push(reply.body.clone());
        }
        assert_eq!(parcels[1]["reservation"]["label"], "B01", "A01 is held for the first");
        for (parcel, parcels_behind) in parcels.iter().zip([1, 2]) {
            let id = parcel["parcel"]["id"].as_str().unwrap();
            let reply = api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.body["compartment"]["label"], "A01", "{}", reply.body);
            assert_eq!(reply.body["compartment"]["parcels"], parcels_behind, "{}", reply.body);
        }
        let states = api.compartment_states().await;
        assert_eq!(states, [("A01".into(), "occupied".into()), ("B01".into(), "available".into())]);

        let pickups = format!("/v1/points/{}/pickups", api.locker_id);
        let code = parcels[1]["pickup_code"].clone();
        let reply = api.call(Method::POST, &pickups, &api.device, Some(json!({"code": code}))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["parcel"]["id"], parcels[1]["parcel"]["id"]);
        assert_eq!(reply.body["compartment"]["label"], "A01");
        assert_eq!(reply.body["compartment"]["parcels"], 0);
        let shared = reply.body["shared"].as_array().unwrap();
        assert_eq!(shared.len(), 1, "{}", reply.body);
        assert_eq!((&shared[0]["id"], &shared[0]["state"]), (&parcels[0]["parcel"]["id"], &json!("collected")));
        // The first parcel's own code no longer opens anything.
        let code = parcels[0]["pickup_code"].clone();
        let again = api.call(Method::POST, &pickups, &api.device, Some(json!({"code": code}))).await;
        assert_error(&again, StatusCode::FORBIDDEN, "invalid_pickup_code");
    }
}
