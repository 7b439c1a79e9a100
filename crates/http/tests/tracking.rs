//! Carrier tracking through the real router, on both backends: a merchant follows its parcel at its
//! carrier (bad carriers and numbers a 422 with the field, another merchant's parcel a 404, a carrier's
//! key a 403), the carrier pushes its answer signed with the shared secret (a forged or stale one a 403,
//! an unknown number a 404, a body that is not the carrier's answer a 422 with nothing stored), and the
//! parcel's timeline shows the carrier's events once, with relais' own.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Reply, apis, assert_error};
use relais_app::tracking::{CarrierApi, CarrierApis};
use relais_messages::webhooks::WebhookSecret;
use serde_json::{Value, json};
use tower::ServiceExt;

const UPS_ANSWER: &str = r#"{"trackResponse": {"shipment": [{"package": [{"activity": [
    {"status": {"type": "D", "code": "FS", "description": "DELIVERED"}, "date": "20261127", "time": "141503", "gmtOffset": "+01:00", "location": {"address": {"city": "LYON", "countryCode": "FR"}}},
    {"status": {"type": "I", "code": "AR", "description": "Arrived at Facility"}, "date": "20261127", "time": "061000", "gmtOffset": "+01:00", "location": {"address": {"city": "CORBAS", "countryCode": "FR"}}},
    {"status": {"type": "P", "code": "PU", "description": "Pickup Scan"}, "date": "20261126", "time": "171356", "gmtOffset": "+01:00"}
]}]}]}}"#;

async fn push(router: &axum::Router, path: &str, secret: &WebhookSecret, timestamp: i64, body: &str) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("webhook-id", "msg_2Kx")
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", secret.sign("msg_2Kx", timestamp, body.as_bytes()))
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers }
}

#[tokio::test]
async fn a_merchant_follows_its_parcel_and_the_carrier_pushes_its_events() {
    for mut api in apis().await {
        let secret = WebhookSecret::from_bytes(&[5; 24]);
        let ups = CarrierApi {
            carrier: relais_tracking::Carrier::Ups,
            method: "GET",
            url: "https://onlinetools.ups.com/api/track/v1/details/{number}".into(),
            body: None,
            headers: vec![("Authorization".into(), "Bearer token".into())],
            polls_per_round: 10,
            push_secret: Some(secret.clone()),
        };
        let app = api.app.clone().with_carrier_apis(CarrierApis(vec![ups]));
        api.router = relais_http::router(
            app,
            relais_http::HttpConfig {
                request_body_bytes_max: 4096,
                import_body_bytes_max: 1 << 20,
                widget_requests_per_minute: 6,
            },
        );
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("UPS0000001"))).await;
        assert_eq!(announced.status, StatusCode::CREATED, "{}", announced.body);
        let parcel = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/parcels/{parcel}/tracking");

        // Before it is followed: relais' own events only.
        let before = api.call(Method::GET, &path, &api.merchant, None).await;
        assert_eq!(before.status, StatusCode::OK, "{}", before.body);
        assert_eq!(before.body["carrier"], Value::Null);
        assert_eq!(before.body["events"].as_array().unwrap().len(), 1);

        let bad = api
            .call(Method::PUT, &path, &api.merchant, Some(json!({"carrier": "pigeon", "tracking_number": "1Z"})))
            .await;
        assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(bad.body["error"]["details"]["field"], "carrier", "{}", bad.body);
        let bad = api
            .call(Method::PUT, &path, &api.merchant, Some(json!({"carrier": "ups", "tracking_number": "1Z 999/AA"})))
            .await;
        assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let level = api
            .call(
                Method::PUT,
                &path,
                &api.merchant,
                Some(json!({"carrier": "ups", "tracking_number": "1Z", "service_level": "teleport"})),
            )
            .await;
        assert_error(&level, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(level.body["error"]["details"]["field"], "service_level", "{}", level.body);
        let negative = api
            .call(
                Method::PUT,
                &path,
                &api.merchant,
                Some(json!({"carrier": "ups", "tracking_number": "1Z", "declared_value_cents": -1})),
            )
            .await;
        assert_error(&negative, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let unknown_field = api
            .call(
                Method::PUT,
                &path,
                &api.merchant,
                Some(json!({"carrier": "ups", "tracking_number": "1Z", "speed": 3})),
            )
            .await;
        assert_eq!(unknown_field.status.as_u16() / 100, 4, "{}", unknown_field.body);
        let malformed =
            api.raw(Method::PUT, &path, &api.merchant, Some("{\"carrier\": "), Some("application/json")).await;
        assert_eq!(malformed.status.as_u16() / 100, 4, "{}", malformed.body);
        let follow = json!({"carrier": "ups", "tracking_number": "1Z12345E0205271688"});
        assert_error(
            &api.call(Method::PUT, &path, &api.carrier, Some(follow.clone())).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let followed = api.call(Method::PUT, &path, &api.merchant, Some(follow.clone())).await;
        assert_eq!(followed.status, StatusCode::OK, "{}", followed.body);
        assert_eq!(followed.body["tracking_number"], "1Z12345E0205271688");
        assert!(followed.body["next_poll_at"].is_string());

        // The carrier's pushes: signed, fresh, for a followed number, in its own format.
        let now = api.app.now().timestamp();
        let push_path = "/v1/carriers/ups/tracking/1Z12345E0205271688";
        let forged = push(&api.router, push_path, &WebhookSecret::from_bytes(&[6; 24]), now, UPS_ANSWER).await;
        assert_error(&forged, StatusCode::FORBIDDEN, "invalid_signature");
        let stale = push(&api.router, push_path, &secret, now - 3600, UPS_ANSWER).await;
        assert_error(&stale, StatusCode::FORBIDDEN, "invalid_signature");
        let other_carrier =
            push(&api.router, "/v1/carriers/gls/tracking/1Z12345E0205271688", &secret, now, UPS_ANSWER).await;
        assert_error(&other_carrier, StatusCode::FORBIDDEN, "invalid_signature");
        let unknown = push(&api.router, "/v1/carriers/ups/tracking/1Z0000000000000000", &secret, now, UPS_ANSWER).await;
        assert_error(&unknown, StatusCode::NOT_FOUND, "not_found");
        let page = push(&api.router, push_path, &secret, now, "<html><body>502 Bad Gateway</body></html>").await;
        assert_error(&page, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let pushed = push(&api.router, push_path, &secret, now, UPS_ANSWER).await;
        assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.body);
        assert_eq!(pushed.body, json!({"new_events": 3, "status": "delivered"}));
        let again = push(&api.router, push_path, &secret, now, UPS_ANSWER).await;
        assert_eq!(again.body["new_events"], 0);

        let timeline = api.call(Method::GET, &path, &api.merchant, None).await;
        assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.body);
        assert_eq!(timeline.body["status"], "delivered");
        assert_eq!(timeline.body["next_poll_at"], Value::Null);
        let seen: Vec<(String, String, String)> = timeline.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["source"].as_str().unwrap().into(),
                    e["code"].as_str().unwrap().into(),
                    e["status"].as_str().unwrap().into(),
                )
            })
            .collect();
        let expected = [
            ("carrier", "PU", "picked_up"),
            ("carrier", "AR", "in_transit"),
            ("relais", "announced", "pending"),
            ("carrier", "FS", "delivered"),
        ];
        assert_eq!(seen.len(), expected.len(), "{}", timeline.body);
        for (got, want) in seen.iter().zip(expected) {
            assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_str()), want);
        }
        assert_eq!(timeline.body["events"][3]["at"], "2026-11-27T14:15:03+01:00");
        assert_eq!(timeline.body["events"][3]["place"], "LYON, FR");

        // Through an order: its parcels' timelines merged, each entry with its parcel.
        let order = json!({"reference": "TRK-ORDER-1", "customer": {"name": "Ana", "email": "ana@example.org"},
            "point_id": api.locker_id, "shipping_price": {"amount_cents": 490, "currency": "EUR"},
            "parcels": [{"parcel_number": "ORDPARCEL1", "dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 500}]});
        let order = api.call(Method::POST, "/v1/orders", &api.merchant, Some(order)).await;
        assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
        let order_id = order.body["order"]["id"].as_str().unwrap().to_owned();
        let in_order = order.body["parcels"][0]["parcel"]["id"].as_str().unwrap().to_owned();
        let follow = json!({"carrier": "ups", "tracking_number": "1Z999AA10123456784"});
        api.call(Method::PUT, &format!("/v1/parcels/{in_order}/tracking"), &api.merchant, Some(follow)).await;
        let pushed = push(&api.router, "/v1/carriers/ups/tracking/1Z999AA10123456784", &secret, now, UPS_ANSWER).await;
        assert_eq!(pushed.body["new_events"], 3, "{}", pushed.body);
        let merged = api.call(Method::GET, &format!("/v1/orders/{order_id}/tracking"), &api.merchant, None).await;
        assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
        assert_eq!(merged.body["parcels"][0]["tracking_number"], "1Z999AA10123456784");
        let entries = merged.body["events"].as_array().unwrap();
        assert_eq!(entries.len(), 4, "{}", merged.body);
        assert!(entries.iter().all(|e| e["parcel_number"] == "ORDPARCEL1"));
        assert_eq!((entries[0]["code"].as_str(), entries[3]["status"].as_str()), (Some("PU"), Some("delivered")));

        // Another merchant, a device: not theirs.
        let other = api.call(Method::POST, "/v1/merchants", &api.operator, Some(json!({"name": "Autre"}))).await;
        let other_id = other.body["id"].as_str().unwrap();
        let key = api
            .call(
                Method::POST,
                "/v1/api-keys",
                &api.operator,
                Some(json!({"role": "merchant", "merchant_id": other_id, "label": "x"})),
            )
            .await;
        let other_key = key.body["secret"].as_str().unwrap().to_owned();
        assert_error(&api.call(Method::GET, &path, &other_key, None).await, StatusCode::NOT_FOUND, "not_found");
        let order_path = format!("/v1/orders/{order_id}/tracking");
        assert_error(&api.call(Method::GET, &order_path, &other_key, None).await, StatusCode::NOT_FOUND, "not_found");
        assert_error(&api.call(Method::GET, &path, &api.device, None).await, StatusCode::FORBIDDEN, "forbidden");
        let missing = format!("/v1/parcels/{}/tracking", common::uuid_like());
        assert_error(&api.call(Method::GET, &missing, &api.merchant, None).await, StatusCode::NOT_FOUND, "not_found");
    }
}
