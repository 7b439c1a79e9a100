//! Shop platforms' order webhooks through the real router, on their real payloads
//! (`../shared/data/payloads/`, read in place): Shopify's order and WooCommerce's, with the point the
//! checkout adds, signed as each platform signs; and a Magento 2 order entity written from its REST
//! schema (`tests/fixtures/magento/order.json`) as relais' Magento module posts it; a second delivery answers the order already made; a
//! forged or altered body is refused.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, apis, assert_error};
use relais_messages::shops::shop_signature;
use serde_json::{Value, json};

const SECRET: &str = "shpss_0123456789abcdef0123";

fn payload(name: &str) -> Option<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/payloads").join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap()),
        Err(e) => {
            assert!(std::env::var_os("RELAIS_REQUIRE_SHARED_DATA").is_none(), "{}: {e}", path.display());
            eprintln!("SKIPPED: {} not found ({e})", path.display());
            None
        }
    }
}

async fn post(api: &Api, path: &str, header: &str, signature: &str, body: &[u8]) -> common::Reply {
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header(header, signature)
        .body(axum::body::Body::from(body.to_vec()))
        .unwrap();
    let response = tower::ServiceExt::oneshot(api.router.clone(), request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
    common::Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers }
}

/// The default body limit (64 KiB), not the test router's 4 KiB: shops' orders are larger.
fn roomy(api: &mut Api) {
    let config = relais_http::HttpConfig {
        request_body_bytes_max: 64 * 1024,
        import_body_bytes_max: 1 << 20,
        widget_requests_per_minute: 6,
    };
    api.router = relais_http::router(api.app.clone(), config);
}

async fn connect(api: &Api, platform: &str) {
    let path = format!("/v1/merchants/{}/connectors/{platform}", api.merchant_id);
    let body = json!({"secret": SECRET, "default_parcel": {"dimensions_mm": {"length": 300, "width": 200, "height": 100}, "weight_g": 1000}});
    let set = api.call(Method::PUT, &path, &api.merchant, Some(body)).await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
}

async fn numbered(api: &Api) {
    let series = format!("/v1/merchants/{}/number-series/sscc", api.merchant_id);
    let body = json!({"extension_digit": 0, "company_prefix": "3760123"});
    assert_eq!(api.call(Method::PUT, &series, &api.merchant, Some(body)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_shopify_order_becomes_a_relais_order_once() {
    let Some(real) = payload("shopify/order.json") else { return };
    for mut api in apis().await {
        let mut order = real.clone();
        roomy(&mut api);
        api.app.refresh_index().await.unwrap();
        numbered(&api).await;
        let path = format!("/v1/connectors/shopify/{}/orders", api.merchant_id);
        let body = serde_json::to_vec(&order).unwrap();
        // No connector yet.
        let missing =
            post(&api, &path, "x-shopify-hmac-sha256", &shop_signature(SECRET.as_bytes(), &body), &body).await;
        assert_error(&missing, StatusCode::NOT_FOUND, "not_found");
        connect(&api, "shopify").await;
        // The real order names no relais point: refused, with what to do.
        let pointless =
            post(&api, &path, "x-shopify-hmac-sha256", &shop_signature(SECRET.as_bytes(), &body), &body).await;
        assert_error(&pointless, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        // The checkout widget's cart attribute.
        order["order"]["note_attributes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "relais_point_id", "value": api.locker_id}));
        let body = serde_json::to_vec(&order).unwrap();
        let signature = shop_signature(SECRET.as_bytes(), &body);
        let made = post(&api, &path, "x-shopify-hmac-sha256", &signature, &body).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        let o = &made.body["order"];
        assert_eq!((o["reference"].as_str(), o["point_id"].as_str()), (Some("#1001"), Some(api.locker_id.as_str())));
        assert_eq!(o["shipping_price"], json!({"amount_cents": 0, "currency": "USD"}));
        let lines = o["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            (lines[0]["sku"].as_str(), lines[0]["unit_price_cents"].as_i64()),
            (Some("IPOD2008GREEN"), Some(19_900))
        );
        let parcel = &made.body["parcels"][0]["parcel"];
        assert_eq!(parcel["weight_g"], 600, "three items of 200 g: {parcel}");
        assert!(parcel["parcel_number"].as_str().unwrap().starts_with("03760123"), "{parcel}");
        assert!(made.body["parcels"][0]["pickup_code"].is_string());

        // Shopify retries until it gets a 2xx: the order already made.
        let again = post(&api, &path, "x-shopify-hmac-sha256", &signature, &body).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert_eq!(again.body["order"]["id"], o["id"]);
        assert_eq!(api.parcel_count().await, 1);

        // Forged, altered, unsigned: refused, nothing made.
        let forged =
            post(&api, &path, "x-shopify-hmac-sha256", &shop_signature(b"not-the-secret-at-all", &body), &body).await;
        assert_error(&forged, StatusCode::FORBIDDEN, "invalid_signature");
        let mut altered = order.clone();
        altered["order"]["name"] = json!("#1002");
        let altered = serde_json::to_vec(&altered).unwrap();
        assert_error(
            &post(&api, &path, "x-shopify-hmac-sha256", &signature, &altered).await,
            StatusCode::FORBIDDEN,
            "invalid_signature",
        );
        assert_error(&post(&api, &path, "x-other", "x", &altered).await, StatusCode::FORBIDDEN, "invalid_signature");
        let garbage = b"{not json";
        let signed_garbage =
            post(&api, &path, "x-shopify-hmac-sha256", &shop_signature(SECRET.as_bytes(), garbage), garbage).await;
        assert_error(&signed_garbage, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let huge = vec![b' '; 65 * 1024];
        let too_large =
            post(&api, &path, "x-shopify-hmac-sha256", &shop_signature(SECRET.as_bytes(), &huge), &huge).await;
        assert_error(&too_large, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        assert_eq!(api.parcel_count().await, 1);

        // A carrier-calculated rate whose code names the point.
        let mut by_rate = order.clone();
        by_rate["order"]["name"] = json!("#1003");
        by_rate["order"]["note_attributes"] = json!([]);
        by_rate["order"]["shipping_lines"][0]["code"] = json!(format!("relais:{}", api.locker_id));
        by_rate["order"]["shipping_lines"][0]["price"] = json!("4.90");
        let body = serde_json::to_vec(&by_rate).unwrap();
        let made = post(&api, &path, "x-shopify-hmac-sha256", &shop_signature(SECRET.as_bytes(), &body), &body).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        assert_eq!(made.body["order"]["shipping_price"]["amount_cents"], 490);
        // The locker's last door went to #1001 (the index had not seen it yet): the merchant's
        // fallback decides, and no point nearby can take it.
        assert_eq!(made.body["order"]["state"], "on_hold", "{}", made.body);
        assert!(made.body["order"]["reason"].as_str().unwrap().contains("reserved"), "{}", made.body);
    }
}

#[tokio::test]
async fn a_woocommerce_order_becomes_a_relais_order_once() {
    let Some(real) = payload("woocommerce/order_retrieve_example.json") else { return };
    for mut api in apis().await {
        let mut order = real.clone();
        roomy(&mut api);
        api.app.refresh_index().await.unwrap();
        numbered(&api).await;
        connect(&api, "woocommerce").await;
        let path = format!("/v1/connectors/woocommerce/{}/orders", api.merchant_id);
        // Saving the webhook in WooCommerce pings it.
        let ping = post(&api, &path, "x-wc-webhook-source", "https://shop.example/", b"webhook_id=12").await;
        assert_eq!(ping.status, StatusCode::NO_CONTENT);
        order["meta_data"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 1, "key": "_relais_point_id", "value": api.locker_id}));
        let body = serde_json::to_vec(&order).unwrap();
        let signature = shop_signature(SECRET.as_bytes(), &body);
        let made = post(&api, &path, "x-wc-webhook-signature", &signature, &body).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        let o = &made.body["order"];
        assert_eq!(o["reference"], "727");
        assert_eq!(o["shipping_price"], json!({"amount_cents": 1000, "currency": "USD"}));
        let lines = o["lines"].as_array().unwrap();
        assert_eq!((lines[0]["quantity"].as_i64(), lines[0]["unit_price_cents"].as_i64()), (Some(2), Some(300)));
        assert_eq!(lines[1]["sku"], "Bar3");
        // No weight in WooCommerce's order: the connector's default parcel.
        assert_eq!(made.body["parcels"][0]["parcel"]["weight_g"], 1000);
        let again = post(&api, &path, "x-wc-webhook-signature", &signature, &body).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        let forged = post(&api, &path, "x-wc-webhook-signature", "bm90IGl0", &body).await;
        assert_error(&forged, StatusCode::FORBIDDEN, "invalid_signature");
        // Connecting: a merchant its own only, a short secret refused.
        let other = format!("/v1/merchants/{}/connectors/woocommerce", common::uuid_like());
        let body = json!({"secret": SECRET, "default_parcel": {"dimensions_mm": {"length": 300, "width": 200, "height": 100}, "weight_g": 1000}});
        assert_error(
            &api.call(Method::PUT, &other, &api.merchant, Some(body)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let short = json!({"secret": "short", "default_parcel": {"dimensions_mm": {"length": 300, "width": 200, "height": 100}, "weight_g": 1000}});
        let mine = format!("/v1/merchants/{}/connectors/woocommerce", api.merchant_id);
        assert_error(
            &api.call(Method::PUT, &mine, &api.merchant, Some(short)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        // The shop's API for writing back: WooCommerce needs its consumer key; a bad URL is refused.
        for (api_access, field) in [
            (json!({"url": "https://shop.example", "token": "cs_0123456789"}), "api.username"),
            (json!({"url": "shop.example", "username": "ck_1", "token": "cs_0123456789"}), "api.url"),
        ] {
            let body = json!({"secret": SECRET, "api": api_access,
                "default_parcel": {"dimensions_mm": {"length": 300, "width": 200, "height": 100}, "weight_g": 1000}});
            let refused = api.call(Method::PUT, &mine, &api.merchant, Some(body)).await;
            assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(refused.body["error"]["details"]["field"], field, "{}", refused.body);
            assert!(!refused.body.to_string().contains("cs_0123456789"), "the token is never echoed");
        }
        let body = json!({"secret": SECRET,
            "api": {"url": "https://shop.example", "username": "ck_1", "token": "cs_0123456789"},
            "default_parcel": {"dimensions_mm": {"length": 300, "width": 200, "height": 100}, "weight_g": 1000}});
        assert_eq!(api.call(Method::PUT, &mine, &api.merchant, Some(body)).await.status, StatusCode::NO_CONTENT);
        let unknown = format!("/v1/merchants/{}/connectors/prestashop", api.merchant_id);
        let body = json!({"secret": SECRET, "default_parcel": {"dimensions_mm": {"length": 300, "width": 200, "height": 100}, "weight_g": 1000}});
        assert_error(
            &api.call(Method::PUT, &unknown, &api.merchant, Some(body)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
}

#[tokio::test]
async fn a_magento_order_becomes_a_relais_order_once() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/magento/order.json");
    let text = std::fs::read_to_string(fixture).unwrap();
    for mut api in apis().await {
        roomy(&mut api);
        api.app.refresh_index().await.unwrap();
        numbered(&api).await;
        connect(&api, "magento").await;
        let path = format!("/v1/connectors/magento/{}/orders", api.merchant_id);
        let body = text.replace("POINT_ID", &api.locker_id).into_bytes();
        let signature = shop_signature(SECRET.as_bytes(), &body);
        let made = post(&api, &path, "x-relais-hmac-sha256", &signature, &body).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        let o = &made.body["order"];
        assert_eq!(
            (o["reference"].as_str(), o["point_id"].as_str()),
            (Some("000000041"), Some(api.locker_id.as_str()))
        );
        assert_eq!(o["shipping_price"], json!({"amount_cents": 490, "currency": "EUR"}));
        // The configurable hoodie once (its child line is left out), the straps at 11.50.
        let lines: Vec<(String, i64, i64)> = o["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["sku"].as_str().unwrap().to_owned(),
                    l["quantity"].as_i64().unwrap(),
                    l["unit_price_cents"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(lines, [("MH07-M-Gray".to_owned(), 1, 5400), ("24-WG085".to_owned(), 3, 1150)]);
        let order =
            api.call(Method::GET, &format!("/v1/orders/{}", o["id"].as_str().unwrap()), &api.merchant, None).await;
        assert_eq!(order.status, StatusCode::OK);
        // Delivered again: the same order; forged: refused.
        let again = post(&api, &path, "x-relais-hmac-sha256", &signature, &body).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert_eq!(again.body["order"]["id"], o["id"]);
        let forged =
            post(&api, &path, "x-relais-hmac-sha256", &shop_signature(b"another-secret-entirely", &body), &body).await;
        assert_error(&forged, StatusCode::FORBIDDEN, "invalid_signature");
        // A shipping method that is not relais' and no extension attribute: no point, nothing made.
        let mut other: Value = serde_json::from_slice(&body).unwrap();
        other["increment_id"] = json!("000000042");
        other["extension_attributes"]["relais_point_id"] = Value::Null;
        other["extension_attributes"]["shipping_assignments"][0]["shipping"]["method"] = json!("flatrate_flatrate");
        let body = serde_json::to_vec(&other).unwrap();
        let pointless =
            post(&api, &path, "x-relais-hmac-sha256", &shop_signature(SECRET.as_bytes(), &body), &body).await;
        assert_error(&pointless, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        // The shipping method names the point.
        other["extension_attributes"]["shipping_assignments"][0]["shipping"]["method"] =
            json!(format!("relais_{}", api.locker_id));
        let body = serde_json::to_vec(&other).unwrap();
        let by_method =
            post(&api, &path, "x-relais-hmac-sha256", &shop_signature(SECRET.as_bytes(), &body), &body).await;
        assert_eq!(by_method.status, StatusCode::CREATED, "{}", by_method.body);
        assert_eq!(by_method.body["order"]["chosen_point_id"].as_str(), Some(api.locker_id.as_str()));
    }
}
