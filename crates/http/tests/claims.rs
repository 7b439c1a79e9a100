//! Claims through the real router, on both backends: a parcel deposited through a courier's session,
//! followed at its carrier with its promise, then claimed as damaged; photos added (their type checked
//! against their bytes, their size bounded, the same one stored once) and read back; the claim's file
//! with the parcel's weight and size, the declared value, the last events and the signed proof of
//! deposit; the carrier's answers in order only; lists as JSON, CSV and claim files; another merchant
//! sees none of it.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Api, Reply, apis, assert_error};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A JPEG's first bytes, then some payload.
fn jpeg(fill: u8, len: usize) -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec();
    bytes.resize(len, fill);
    bytes
}

async fn upload(api: &Api, claim: &str, key: &str, content_type: &str, bytes: Vec<u8>) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/claims/{claim}/evidence"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", content_type)
        .body(Body::from(bytes))
        .unwrap();
    let response = api.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers }
}

async fn other_merchant(api: &Api) -> String {
    let other = api.call(Method::POST, "/v1/merchants", &api.operator, Some(json!({"name": "Autre"}))).await;
    let id = other.body["id"].as_str().unwrap();
    let key = api
        .call(
            Method::POST,
            "/v1/api-keys",
            &api.operator,
            Some(json!({"role": "merchant", "merchant_id": id, "label": "x"})),
        )
        .await;
    key.body["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_damaged_parcel_is_claimed_with_its_photos_and_its_proof_of_deposit() {
    for api in apis().await {
        let parcel = api.announced("CLAIM0001").await;
        api.deposit_in_session("CLAIM0001").await;
        let path = format!("/v1/parcels/{parcel}/claims");

        // Not followed at a carrier yet: nothing to claim from.
        let early = api.call(Method::POST, &path, &api.merchant, Some(json!({"kind": "damaged"}))).await;
        assert_error(&early, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let follow = json!({"carrier": "colissimo", "tracking_number": "6A0000000099", "service_days": 2,
            "shipping_price": {"amount_cents": 490, "currency": "EUR"}, "declared_value_cents": 3990});
        let followed =
            api.call(Method::PUT, &format!("/v1/parcels/{parcel}/tracking"), &api.merchant, Some(follow)).await;
        assert_eq!(followed.status, StatusCode::OK, "{}", followed.body);
        assert_eq!(followed.body["service_days"], 2);

        for (body, field) in [
            (json!({"kind": "late"}), "kind"),
            (json!({"kind": "stolen"}), "kind"),
            (json!({"kind": "damaged", "declared_value_cents": -1}), "declared_value_cents"),
            (json!({"kind": "damaged", "description": "x".repeat(1001)}), "description"),
        ] {
            let bad = api.call(Method::POST, &path, &api.merchant, Some(body)).await;
            assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(bad.body["error"]["details"]["field"], field, "{}", bad.body);
        }
        assert_error(
            &api.call(Method::POST, &path, &api.carrier, Some(json!({"kind": "damaged"}))).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let opened = api
            .call(Method::POST, &path, &api.merchant, Some(json!({"kind": "damaged", "description": "Carton écrasé"})))
            .await;
        assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
        assert_eq!((opened.body["kind"].as_str(), opened.body["state"].as_str()), (Some("damaged"), Some("to_file")));
        assert_eq!(opened.body["amount_claimed_cents"], 3990, "the declared value");
        assert_eq!(opened.body["reason"], "Carton écrasé");
        let again = api.call(Method::POST, &path, &api.merchant, Some(json!({"kind": "damaged"}))).await;
        assert_error(&again, StatusCode::CONFLICT, "already_exists");
        let claim = opened.body["id"].as_str().unwrap().to_owned();
        // Damage is claimed within 3 days of the delivery (the deposit, here).
        let deadline = chrono::DateTime::parse_from_rfc3339(opened.body["deadline_at"].as_str().unwrap()).unwrap();
        assert_eq!(deadline, api.app.now() + chrono::Duration::days(3));

        // Photos: what the bytes are, within 8 MiB, each stored once.
        let photo = jpeg(7, 4000);
        let stored = upload(&api, &claim, &api.merchant, "image/jpeg", photo.clone()).await;
        assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
        let sha = stored.body["sha256"].as_str().unwrap().to_owned();
        assert_eq!(sha.len(), 64);
        let twice = upload(&api, &claim, &api.operator, "application/octet-stream", photo.clone()).await;
        assert_eq!(
            (twice.body["sha256"].as_str(), twice.body["content_type"].as_str()),
            (Some(sha.as_str()), Some("image/jpeg"))
        );
        let pdf = upload(&api, &claim, &api.operator, "application/octet-stream", b"%PDF-1.4\n%letter".to_vec()).await;
        assert_eq!((pdf.status, pdf.body["content_type"].as_str()), (StatusCode::CREATED, Some("application/pdf")));
        let lying = upload(&api, &claim, &api.merchant, "image/png", jpeg(8, 100)).await;
        assert_error(&lying, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let svg = upload(&api, &claim, &api.merchant, "image/svg+xml", b"<svg onload=alert(1)>".to_vec()).await;
        assert_error(&svg, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let empty = upload(&api, &claim, &api.merchant, "image/jpeg", Vec::new()).await;
        assert_error(&empty, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let huge = upload(&api, &claim, &api.merchant, "image/jpeg", jpeg(9, 9 << 20)).await;
        assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.body);
        let file = api.raw_bytes(&format!("/v1/claims/{claim}/evidence/{sha}"), &api.merchant).await;
        assert_eq!(file, photo);

        // The claim's file: everything the carrier asks for.
        let dossier = api.call(Method::GET, &format!("/v1/claims/{claim}"), &api.merchant, None).await;
        assert_eq!(dossier.status, StatusCode::OK, "{}", dossier.body);
        assert_eq!(dossier.body["weight_g"], 800);
        assert_eq!(dossier.body["dimensions_mm"], json!([300, 200, 50]));
        assert_eq!(dossier.body["declared_value_cents"], 3990);
        assert_eq!(dossier.body["claim"]["tracking_number"], "6A0000000099");
        let events: Vec<&str> =
            dossier.body["last_events"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
        assert!(events.contains(&"announced") && events.contains(&"deposited"), "{events:?}");
        let evidence = dossier.body["evidence"].as_array().unwrap();
        assert_eq!(evidence.len(), 2, "the photo once, and the letter");
        let first = evidence.iter().find(|e| e["sha256"] == sha.as_str()).unwrap();
        assert_eq!((first["added_by"].as_str(), first["size_bytes"].as_u64()), (Some("merchant"), Some(4000)));
        // The proof of deposit is the session's signed receipt: it verifies with the published key.
        let proof = &dossier.body["proof_of_deposit"];
        let key = api.call(Method::GET, "/v1/signing-key", "", None).await;
        let public = relais_app::signed::parse_public_key(key.body["public_key"].as_str().unwrap()).unwrap();
        let document = relais_app::signed::verify_document(&public, proof).unwrap();
        assert_eq!(document["deposited"][0]["parcel_number"], "CLAIM0001", "{document}");

        // The carrier's answers, in order only.
        let decision = format!("/v1/claims/{claim}/decision");
        let decide = |body: Value| api.call(Method::POST, &decision, &api.merchant, Some(body));
        assert_error(
            &decide(json!({"state": "accepted", "amount_cents": 3990})).await,
            StatusCode::CONFLICT,
            "invalid_transition",
        );
        assert_error(&decide(json!({"state": "won"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(decide(json!({"state": "filed"})).await.body["state"], "filed");
        assert_error(&decide(json!({"state": "refused"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_error(
            &decide(json!({"state": "accepted", "amount_cents": -5})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let accepted = decide(json!({"state": "accepted", "amount_cents": 2500})).await;
        assert_eq!(
            (accepted.body["state"].as_str(), accepted.body["amount_accepted_cents"].as_i64()),
            (Some("accepted"), Some(2500))
        );
        assert!(accepted.body["next_reminder_at"].is_null());

        // Lists: JSON, CSV, and a claim file only for a named carrier.
        let list = api.call(Method::GET, "/v1/claims?kind=damaged", &api.merchant, None).await;
        assert_eq!(list.body.as_array().unwrap().len(), 1, "{}", list.body);
        let csv = api.raw(Method::GET, "/v1/claims?format=csv", &api.merchant, None, None).await;
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let text = csv.body.as_str().unwrap();
        assert!(text.starts_with("claim_id,kind,state,carrier,parcel_number,"), "{text}");
        assert!(text.contains(",damaged,accepted,colissimo,CLAIM0001,6A0000000099,"), "{text}");
        let file = api.raw(Method::GET, "/v1/claims?format=claim&carrier=colissimo", &api.merchant, None, None).await;
        assert!(file.headers["content-disposition"].to_str().unwrap().contains("colissimo-late-claims.csv"));
        assert!(file.body.as_str().unwrap().starts_with("numero_colis;numero_suivi;"), "{}", file.body);
        for bad in [
            "/v1/claims?format=claim",
            "/v1/claims?format=xml",
            "/v1/claims?kind=x",
            "/v1/claims?state=x",
            "/v1/claims?from=2026-12-31&to=2026-12-01",
            "/v1/claims?from=yesterday",
        ] {
            let reply = api.call(Method::GET, bad, &api.merchant, None).await;
            assert_eq!(reply.status.as_u16() / 100, 4, "{bad}: {}", reply.body);
        }

        // Another merchant sees none of it; a device is not let in.
        let other = other_merchant(&api).await;
        assert_eq!(api.call(Method::GET, "/v1/claims", &other, None).await.body, json!([]));
        assert_error(
            &api.call(Method::GET, &format!("/v1/claims/{claim}"), &other, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &upload(&api, &claim, &other, "image/jpeg", jpeg(1, 10)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &api.call(Method::GET, &format!("/v1/claims/{claim}/evidence/{sha}"), &other, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(&api.call(Method::GET, "/v1/claims", &api.device, None).await, StatusCode::FORBIDDEN, "forbidden");
        assert_error(
            &api.call(Method::GET, &format!("/v1/claims/{}", common::uuid_like()), &api.merchant, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
}

/// A multipart form as a browser sends the page's damage form.
fn damage_form(photo: &[u8], content_type: &str, description: &str) -> (String, Vec<u8>) {
    let boundary = "----relaisBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{description}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"colis.jpg\"\r\nContent-Type: {content_type}\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_recipient_sees_the_journey_and_reports_damage_with_a_photo() {
    for api in apis().await {
        let parcel = api.announced("JOURNEY01").await;
        let follow = json!({"carrier": "gls", "tracking_number": "ZJ0001"});
        api.call(Method::PUT, &format!("/v1/parcels/{parcel}/tracking"), &api.merchant, Some(follow)).await;
        // GLS's answer, through the ingestion the poller and pushes use.
        let tracking = api
            .app
            .parcel_timeline(
                &relais_app::Caller::system(),
                parcel.parse::<uuid::Uuid>().map(relais_domain::ids::Id::from_uuid).unwrap(),
            )
            .await
            .unwrap()
            .tracking
            .unwrap();
        let answer = json!({"parcels": [{"requested": "ZJ0001", "events": [
            {"code": "INTRANSIT.NORMAL", "eventDateTime": "2026-11-26T21:40:00+0100", "description": "Le colis est en transit.", "city": "Corbas", "country": "FR"},
            {"code": "INITIAL.NORMAL", "eventDateTime": "2026-11-26T17:05:00+0100", "description": "Le colis a été remis à GLS.", "city": "Paris", "country": "FR"}
        ]}]});
        api.app.ingest(tracking, Ok(answer.to_string().into_bytes()), true).await.unwrap().unwrap();
        api.deposit_in_session("JOURNEY01").await;
        let token = api
            .app
            .recipient_link(parcel.parse::<uuid::Uuid>().map(relais_domain::ids::Id::from_uuid).unwrap())
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();

        let page = api.raw(Method::GET, &format!("/r/{token}?lang=fr"), "", None, None).await;
        let html = page.body.as_str().unwrap();
        for expected in [
            "<h2>Suivi</h2>",
            "Pris en charge par le transporteur · Paris, FR",
            "En transit · Corbas, FR",
            "Le colis a été remis à GLS.",
            "26/11/2026 à 17:05",
            "Disponible au point de retrait",
            "Colis abîmé ? Envoyez une photo",
        ] {
            assert!(html.contains(expected), "{expected:?} not in the page:\n{html}");
        }
        let page = api.raw(Method::GET, &format!("/r/{token}?lang=en"), "", None, None).await;
        let html = page.body.as_str().unwrap();
        for expected in [
            "<h2>Tracking</h2>",
            "Picked up by the carrier",
            "In transit",
            "Ready at the pickup point",
            "Parcel damaged? Send a photo",
        ] {
            assert!(html.contains(expected), "{expected:?} not in the page:\n{html}");
        }

        let send = |content_type: String, body: Vec<u8>| {
            let request = Request::builder()
                .method(Method::POST)
                .uri(format!("/r/{token}/damage?lang=fr"))
                .header("content-type", content_type)
                .body(Body::from(body))
                .unwrap();
            api.router.clone().oneshot(request)
        };
        let (kind, body) = damage_form(b"<svg/>", "image/svg+xml", "Carton écrasé");
        let refused = send(kind, body).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let (kind, body) = damage_form(&jpeg(3, 2000), "image/jpeg", "Carton écrasé, lampe cassée");
        let sent = send(kind, body).await.unwrap();
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
        let (kind, body) = damage_form(&jpeg(4, 2000), "image/jpeg", "");
        assert_eq!(send(kind, body).await.unwrap().status(), StatusCode::SEE_OTHER, "a second photo joins the claim");
        let forged = Request::builder()
            .method(Method::POST)
            .uri("/r/RL1.AAAA/damage")
            .header("content-type", "multipart/form-data; boundary=x")
            .body(Body::from("--x--\r\n"))
            .unwrap();
        assert_eq!(api.router.clone().oneshot(forged).await.unwrap().status(), StatusCode::NOT_FOUND);

        let claims = api.call(Method::GET, "/v1/claims?kind=damaged", &api.merchant, None).await;
        let claim = &claims.body[0];
        assert_eq!(claim["reason"], "Recipient: Carton écrasé, lampe cassée", "{}", claims.body);
        let dossier =
            api.call(Method::GET, &format!("/v1/claims/{}", claim["id"].as_str().unwrap()), &api.merchant, None).await;
        let added_by: Vec<&str> =
            dossier.body["evidence"].as_array().unwrap().iter().map(|e| e["added_by"].as_str().unwrap()).collect();
        assert_eq!(added_by, ["recipient", "recipient"]);
    }
}
