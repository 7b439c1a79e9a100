//! Who sees and does what, through the real router: a merchant its own parcels, a carrier the parcels
//! handed to it, a device its own locker; API keys listed without secrets, revoked and rotated; and what
//! an error may repeat of its input.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, Reply, apis, assert_error};
use serde_json::{Value, json};

/// A second merchant, a carrier serving no network, a second network with its own locker and device.
struct Others {
    merchant: String,
    idle_carrier: String,
    idle_carrier_id: String,
    far_locker: String,
    far_device: String,
}

async fn key(api: &Api, body: Value) -> String {
    let r = api.call(Method::POST, "/v1/api-keys", &api.operator, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body.get("digest").is_none());
    r.body["secret"].as_str().unwrap().to_owned()
}

async fn created(api: &Api, path: &str, body: Value) -> Value {
    let r = api.call(Method::POST, path, &api.operator, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.body);
    r.body
}

async fn others(api: &Api) -> Others {
    let merchant = created(api, "/v1/merchants", json!({"name": "Other shop"})).await;
    let merchant = key(api, json!({"role": "merchant", "merchant_id": merchant["id"], "label": "other"})).await;
    let idle = created(api, "/v1/carriers", json!({"name": "Idle carrier"})).await;
    let idle_carrier_id = idle["id"].as_str().unwrap().to_owned();
    let idle_carrier = key(api, json!({"role": "carrier", "carrier_id": idle_carrier_id, "label": "idle"})).await;
    let network = created(api, "/v1/networks", json!({"name": "Far"})).await;
    let locker = created(
        api,
        "/v1/points",
        json!({"network_id": network["id"], "external_id": "FAR1", "kind": "locker", "name": "Far locker",
            "address_line1": "1 rue", "postcode": "13001", "city": "Marseille", "country": "FR",
            "latitude": 43.3, "longitude": 5.37,
            "compartments": [{"label": "A01", "size": "A"}, {"label": "A02", "size": "A"}]}),
    )
    .await;
    let far_locker = locker["id"].as_str().unwrap().to_owned();
    let far_device = key(api, json!({"role": "locker_device", "point_id": far_locker, "label": "far"})).await;
    Others { merchant, idle_carrier, idle_carrier_id, far_locker, far_device }
}

fn id(reply: &Reply) -> String {
    reply.body["parcel"]["id"].as_str().or(reply.body["id"].as_str()).unwrap().to_owned()
}

#[tokio::test]
async fn merchants_carriers_and_devices_see_and_act_on_their_own_only() {
    for api in apis().await {
        let o = others(&api).await;
        // One parcel handed to the network's carrier by name, one to whoever serves the network.
        let mut named = api.announce_body("ISO0000001");
        named["carrier_id"] = json!(api.carrier_id);
        let named = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(named)).await;
        assert_eq!(named.status, StatusCode::CREATED, "{}", named.body);
        let served = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("ISO0000002"))).await;
        let (named, served) = (id(&named), id(&served));

        // The network's carrier sees and handles both.
        for parcel in [&named, &served] {
            let r = api.call(Method::GET, &format!("/v1/parcels/{parcel}"), &api.carrier, None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let listed = api.call(Method::GET, "/v1/parcels", &api.carrier, None).await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 2, "{}", listed.body);
        // A carrier serving nothing sees none of them, acts on none (404: their existence is none of its
        // business), lists nothing, and gets no courier code for the network's lockers.
        for parcel in [&named, &served] {
            for (method, action) in [(Method::GET, ""), (Method::POST, "/deposit"), (Method::POST, "/scan")] {
                let r = api.call(method, &format!("/v1/parcels/{parcel}{action}"), &o.idle_carrier, None).await;
                assert_error(&r, StatusCode::NOT_FOUND, "not_found");
            }
            let lost = json!({"kind": "lost"});
            let r =
                api.call(Method::POST, &format!("/v1/parcels/{parcel}/incidents"), &o.idle_carrier, Some(lost)).await;
            assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        }
        let listed = api.call(Method::GET, "/v1/parcels", &o.idle_carrier, None).await;
        assert_eq!(listed.body["items"], json!([]));
        let code = format!("/v1/points/{}/courier-code", api.locker_id);
        assert_error(&api.call(Method::GET, &code, &o.idle_carrier, None).await, StatusCode::FORBIDDEN, "forbidden");
        // A merchant can hand a parcel to that carrier by name: then it sees that one.
        let mut handed = api.announce_body("ISO0000003");
        handed["carrier_id"] = json!(o.idle_carrier_id);
        let handed = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(handed)).await;
        assert_eq!(handed.status, StatusCode::UNPROCESSABLE_ENTITY, "it does not serve the point's network");
        assert_eq!(handed.body["error"]["details"]["field"], "carrier_id");

        // Another merchant: nothing of the first one's, and the same parcel number is its own to use.
        let r = api.call(Method::GET, &format!("/v1/parcels/{named}"), &o.merchant, None).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        let r = api.call(Method::POST, &format!("/v1/parcels/{named}/cancel"), &o.merchant, None).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(api.call(Method::GET, "/v1/parcels", &o.merchant, None).await.body["items"], json!([]));
        let mut same_number = api.announce_body("ISO0000001");
        same_number["point_id"] = json!(o.far_locker);
        let same_number = api.call(Method::POST, "/v1/parcels", &o.merchant, Some(same_number)).await;
        assert_eq!(same_number.status, StatusCode::CREATED, "no 409 telling that the number exists");
        let mut again = api.announce_body("ISO0000001");
        again["point_id"] = json!(o.far_locker);
        let again = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(again)).await;
        assert_error(&again, StatusCode::CONFLICT, "already_exists");

        // Another locker's device: not this locker's operation, heartbeat or parcels.
        for what in ["device", "history", "occupancy"] {
            let path = format!("/v1/points/{}/{what}", api.locker_id);
            assert_error(&api.call(Method::GET, &path, &o.far_device, None).await, StatusCode::FORBIDDEN, "forbidden");
            let own = format!("/v1/points/{}/{what}", o.far_locker);
            assert_eq!(api.call(Method::GET, &own, &o.far_device, None).await.status, StatusCode::OK, "{what}");
            // Merchants see no locker's operation at all.
            assert_error(&api.call(Method::GET, &path, &api.merchant, None).await, StatusCode::FORBIDDEN, "forbidden");
        }
        let beat = format!("/v1/points/{}/heartbeat", api.locker_id);
        let r = api.call(Method::POST, &beat, &o.far_device, Some(json!({"doors": []}))).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        let r = api.call(Method::GET, &format!("/v1/parcels/{named}"), &o.far_device, None).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        let occupancy = format!("/v1/points/{}/occupancy", api.locker_id);
        assert_eq!(api.call(Method::GET, &occupancy, &api.carrier, None).await.status, StatusCode::OK, "it serves it");
        let r = api.call(Method::GET, &occupancy, &o.idle_carrier, None).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    }
}

#[tokio::test]
async fn api_keys_are_listed_revoked_and_rotated_with_the_audit_log() {
    for api in apis().await {
        let o = others(&api).await;
        let listed = api.call(Method::GET, "/v1/api-keys?limit=500", &api.operator, None).await;
        let keys = listed.body["items"].as_array().unwrap();
        assert!(keys.len() >= 7, "{}", listed.body);
        assert!(keys.iter().all(|k| k.get("secret").is_none() && k.get("digest").is_none()), "never a secret");
        let me = api.call(Method::GET, "/v1/me", &o.merchant, None).await;
        let key_id = me.body["key_id"].as_str().unwrap().to_owned();
        let merchant_id = me.body["merchant_id"].clone();

        // Rotation: a new secret, same role and scope; the old one stops at once.
        let rotated = api.call(Method::POST, &format!("/v1/api-keys/{key_id}/rotate"), &api.operator, None).await;
        assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.body);
        assert_eq!(
            (rotated.body["role"].clone(), rotated.body["merchant_id"].clone()),
            (json!("merchant"), merchant_id)
        );
        let new = rotated.body["secret"].as_str().unwrap().to_owned();
        assert_error(
            &api.call(Method::GET, "/v1/me", &o.merchant, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_eq!(api.call(Method::GET, "/v1/parcels", &new, None).await.status, StatusCode::OK);

        // Revocation: needs a reason, stops the key, and is not done twice.
        let new_id = rotated.body["id"].as_str().unwrap().to_owned();
        let revoke = format!("/v1/api-keys/{new_id}/revoke");
        let r = api.call(Method::POST, &revoke, &api.operator, Some(json!({}))).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let r = api.call(Method::POST, &revoke, &api.operator, Some(json!({"reason": "phone lost"}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body["revoked_at"].is_string());
        assert_error(&api.call(Method::GET, "/v1/me", &new, None).await, StatusCode::UNAUTHORIZED, "unauthorized");
        let twice = api.call(Method::POST, &revoke, &api.operator, Some(json!({"reason": "again"}))).await;
        assert_error(&twice, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let r = api.call(Method::POST, &format!("/v1/api-keys/{new_id}/rotate"), &api.operator, None).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let unknown = format!("/v1/api-keys/{}/revoke", common::uuid_like());
        let r = api.call(Method::POST, &unknown, &api.operator, Some(json!({"reason": "x"}))).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");

        let audit = api.call(Method::GET, "/v1/audit?limit=500", &api.operator, None).await;
        let entries = audit.body["entries"].as_array().unwrap();
        let revoked: Vec<&str> = entries
            .iter()
            .filter(|e| e["action"] == "api_key_revoked")
            .map(|e| e["reason"].as_str().unwrap())
            .collect();
        assert_eq!(revoked.len(), 2, "the rotation and the revocation: {revoked:?}");
        assert!(revoked.iter().any(|r| r.contains("phone lost")), "{revoked:?}");
        assert!(revoked.iter().all(|r| !r.contains("rk_")), "no secret in the log");
    }
}

#[tokio::test]
async fn a_lost_code_is_reissued_and_the_old_one_opens_nothing() {
    for api in apis().await {
        let o = others(&api).await;
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("LOST000001"))).await;
        let parcel = id(&announced);
        let old = announced.body["pickup_code"].as_str().unwrap().to_owned();
        api.call(Method::POST, &format!("/v1/parcels/{parcel}/deposit"), &api.carrier, None).await;
        let reissue = format!("/v1/parcels/{parcel}/pickup-code");
        assert_error(&api.call(Method::POST, &reissue, &o.merchant, None).await, StatusCode::NOT_FOUND, "not_found");
        assert_error(&api.call(Method::POST, &reissue, &api.carrier, None).await, StatusCode::FORBIDDEN, "forbidden");
        let reissued = api.call(Method::POST, &reissue, &api.merchant, None).await;
        assert_eq!(reissued.status, StatusCode::CREATED, "{}", reissued.body);
        let new = reissued.body["pickup_code"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        assert_eq!(reissued.body["parcel"]["state"], "ready_for_pickup");
        let pickups = format!("/v1/points/{}/pickups", api.locker_id);
        let r = api.call(Method::POST, &pickups, &api.device, Some(json!({"code": old}))).await;
        assert_error(&r, StatusCode::FORBIDDEN, "invalid_pickup_code");
        let r =
            api.call(Method::POST, &pickups, &api.device, Some(json!({"qr_token": announced.body["qr_token"]}))).await;
        assert_error(&r, StatusCode::FORBIDDEN, "invalid_pickup_code");
        let r = api.call(Method::POST, &pickups, &api.device, Some(json!({"code": new}))).await;
        assert_eq!(r.body["parcel"]["state"], "collected", "{}", r.body);
        let events = api.call(Method::GET, &format!("/v1/parcels/{parcel}/events"), &api.merchant, None).await;
        let kinds: Vec<&str> = events.body.as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["announced", "deposited", "code_reissued", "collected"]);
        let r = api.call(Method::POST, &reissue, &api.merchant, None).await;
        assert_error(&r, StatusCode::CONFLICT, "invalid_transition");
    }
}

#[tokio::test]
async fn counters_hand_over_only_with_the_identity_check_and_reserved_doors_hold_nothing() {
    for api in apis().await {
        let counter = created(
            &api,
            "/v1/points",
            json!({"network_id": api.network_id, "external_id": "SHOP1", "kind": "counter", "name": "Tabac",
                "address_line1": "2 rue", "postcode": "69002", "city": "Lyon", "country": "FR",
                "latitude": 45.757, "longitude": 4.833}),
        )
        .await;
        let counter_id = counter["id"].as_str().unwrap();
        let device = key(&api, json!({"role": "locker_device", "point_id": counter_id, "label": "till"})).await;
        let mut body = api.announce_body("DESK000001");
        body["point_id"] = json!(counter_id);
        let announced = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(body)).await;
        let scan_in = json!({"parcel_number": "DESK000001"});
        let r = api.call(Method::POST, &format!("/v1/points/{counter_id}/scan-in"), &device, Some(scan_in)).await;
        assert_eq!(r.body["parcel"]["state"], "ready_for_pickup", "{}", r.body);
        let code = json!({"code": announced.body["pickup_code"]});
        let r = api.call(Method::POST, &format!("/v1/points/{counter_id}/pickups"), &device, Some(code)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.body["error"]["details"]["field"], "point_id");
        assert!(r.body["error"]["message"].as_str().unwrap().contains("hand-overs"), "{}", r.body);

        // A door reserved for a parcel on its way holds nothing yet.
        api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("RESV000001"))).await;
        let locker = api.call(Method::GET, &format!("/v1/points/{}", api.locker_id), &api.operator, None).await;
        let door = &locker.body["compartments"][0];
        assert_eq!((door["state"].as_str(), door["parcels"].as_u64()), (Some("reserved"), Some(0)), "{door}");
    }
}

#[tokio::test]
async fn errors_repeat_little_of_their_input_and_request_ids_are_checked() {
    let api = Api::new(relais_store::testing::sqlite()).await;
    let huge = "x".repeat(3_000);
    let body = format!("{{\"name\": 42, \"rules\": {{\"hold_window_hours\": \"{huge}\"}}}}");
    let typed = api.raw(Method::POST, "/v1/networks", &api.operator, Some(&body), Some("application/json")).await;
    let long = api.call(Method::POST, "/v1/merchants", &api.operator, Some(json!({"name": huge}))).await;
    let query = api.call(Method::GET, &format!("/v1/parcels?state={huge}"), &api.operator, None).await;
    for reply in [&typed, &long, &query] {
        assert_error(reply, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(reply.body.to_string().len() < 1_200, "{}", reply.body);
    }
    let mut request = axum::http::Request::builder().uri(format!("/v1/parcels?limit={huge}"));
    request = request.header("authorization", format!("Bearer {}", api.operator));
    let response = tower::ServiceExt::oneshot(api.router.clone(), request.body(axum::body::Body::empty()).unwrap());
    let bytes = axum::body::to_bytes(response.await.unwrap().into_body(), 1 << 20).await.unwrap();
    assert!(bytes.len() < 1_200, "{}", String::from_utf8_lossy(&bytes));

    for (sent, kept) in [("req-42.a:b_c", true), ("<script>", false), (&*"a".repeat(65), false)] {
        let request = axum::http::Request::builder().uri("/healthz").header("x-request-id", sent);
        let response = tower::ServiceExt::oneshot(api.router.clone(), request.body(axum::body::Body::empty()).unwrap());
        let response = response.await.unwrap();
        let echoed = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(echoed == sent, kept, "{sent:?} -> {echoed:?}");
        assert!(!echoed.is_empty() && echoed.len() <= 64);
    }
}

/// The first segment of the routes whose `{id}` names something a merchant owns, and where to find
/// merchant A's; every other route a merchant's key may call with a path parameter is listed in
/// `NOT_A_MERCHANTS` (the networks' shared registry). A route under a new segment fails the test until it
/// is classified here: a new merchant-owned route cannot be forgotten.
const NOT_A_MERCHANTS: [&str; 2] = ["points", "networks"];

#[tokio::test]
async fn another_merchants_resources_are_not_found_on_any_route() {
    for api in apis().await {
        api.app.refresh_index().await.unwrap();
        // Merchant A's: a numbering series, a parcel, an order, a webhook endpoint and its message.
        let series = format!("/v1/merchants/{}/number-series/sscc", api.merchant_id);
        let set = api
            .call(Method::PUT, &series, &api.merchant, Some(json!({"extension_digit": 1, "company_prefix": "0614141"})))
            .await;
        assert_eq!(set.status, StatusCode::OK, "{}", set.body);
        let hook = api
            .call(Method::POST, "/v1/endpoints", &api.merchant, Some(json!({"url": "https://shop.example/h"})))
            .await;
        let endpoint = hook.body["endpoint"]["id"].as_str().unwrap().to_owned();
        let parcel = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("TENANT0001"))).await;
        let parcel = id(&parcel);
        let order = json!({
            "reference": "TENANT-1", "customer": {"name": "Ana", "email": "ana@example.org"}, "point_id": api.locker_id,
            "shipping_price": {"amount_cents": 0, "currency": "EUR"},
            "parcels": [{"dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 500}]
        });
        let order = api.call(Method::POST, "/v1/orders", &api.merchant, Some(order)).await;
        assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
        let order = order.body["order"]["id"].as_str().unwrap().to_owned();
        // A claim of merchant A: its parcel followed at a carrier, then claimed as damaged.
        let follow = json!({"carrier": "gls", "tracking_number": "ZX900"});
        let followed =
            api.call(Method::PUT, &format!("/v1/parcels/{parcel}/tracking"), &api.merchant, Some(follow)).await;
        assert_eq!(followed.status, StatusCode::OK, "{}", followed.body);
        let claimed = api
            .call(
                Method::POST,
                &format!("/v1/parcels/{parcel}/claims"),
                &api.merchant,
                Some(json!({"kind": "damaged"})),
            )
            .await;
        assert_eq!(claimed.status, StatusCode::CREATED, "{}", claimed.body);
        let claim = claimed.body["id"].as_str().unwrap().to_owned();
        let outlets: std::sync::Arc<dyn relais_app::notify::Outlets> = std::sync::Arc::new(Accepting);
        let settings = relais_app::notify::DeliverySettings::default();
        while !api.app.deliver_round(&outlets, &settings).await.unwrap().is_idle() {}
        let messages = api.call(Method::GET, &format!("/v1/parcels/{parcel}/messages"), &api.merchant, None).await;
        let message = messages.body[0]["id"].as_str().unwrap().to_owned();
        let other = others(&api).await.merchant;

        let doc = relais_http::openapi();
        let mut checked = 0;
        for (path, methods) in doc["paths"].as_object().unwrap() {
            for (method, operation) in methods.as_object().unwrap() {
                let roles = operation.get("security").map(|s| s[0]["api_key"].clone()).unwrap_or(Value::Null);
                if !roles.as_array().is_some_and(|r| r.iter().any(|r| r == "merchant")) || !path.contains('{') {
                    continue;
                }
                let segment = path.trim_start_matches("/v1/").split('/').next().unwrap();
                let owned = match segment {
                    "parcels" => &parcel,
                    "orders" => &order,
                    "endpoints" => &endpoint,
                    "messages" => &message,
                    "merchants" => &api.merchant_id,
                    "claims" => &claim,
                    s if NOT_A_MERCHANTS.contains(&s) => continue,
                    s => panic!("{method} {path}: is /v1/{s}/... a merchant's resource? classify it in this test"),
                };
                let filled = path.replacen("{id}", owned, 1).replace("{platform}", "shopify").replace("{sha256}", "00");
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let body = example_body(&method, path, &api);
                let reply = api.call(method.clone(), &filled, &other, body).await;
                assert_eq!(
                    reply.status,
                    StatusCode::NOT_FOUND,
                    "{method} {filled} as another merchant: {}",
                    reply.body
                );
                assert_eq!(reply.body["error"]["code"], "not_found", "{method} {path}: {}", reply.body);
                checked += 1;
            }
        }
        assert!(checked >= 15, "{checked} routes checked");
        // And A still has everything.
        let mine = api.call(Method::GET, &format!("/v1/orders/{order}"), &api.merchant, None).await;
        assert_eq!(mine.status, StatusCode::OK);
    }
}

/// A body each route would accept from its owner: the refusal must be for the resource, not the body.
fn example_body(method: &Method, path: &str, api: &Api) -> Option<Value> {
    let parcels = json!([{"dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 500}]);
    match (method.as_str(), path) {
        ("POST", "/v1/orders/{id}/shipments") => Some(json!({"parcels": parcels})),
        ("PUT", "/v1/merchants/{id}/branding") => Some(json!({"brand_color": "#112233"})),
        ("PUT", "/v1/merchants/{id}/number-series/sscc") => {
            Some(json!({"extension_digit": 1, "company_prefix": "0614141"}))
        }
        ("POST", "/v1/merchants/{id}/parcel-numbers") => Some(json!({"count": 1})),
        ("PUT", "/v1/merchants/{id}/connectors/{platform}") => Some(json!({
            "secret": "0123456789abcdef0123",
            "default_parcel": {"dimensions_mm": {"length": 300, "width": 200, "height": 100}, "weight_g": 1000}
        })),
        ("POST", "/v1/parcels/{id}/incidents") => Some(json!({"kind": "damaged", "reason": "torn"})),
        ("POST", "/v1/parcels/{id}/relocate") => Some(json!({"point_id": api.locker_id})),
        ("POST", "/v1/endpoints/{id}/rotate-secret") => Some(json!({"overlap_hours": 1})),
        ("PUT", "/v1/parcels/{id}/tracking") => Some(json!({"carrier": "gls", "tracking_number": "ZX1"})),
        ("POST", "/v1/parcels/{id}/claims") => Some(json!({"kind": "lost"})),
        ("POST", "/v1/claims/{id}/decision") => Some(json!({"state": "filed"})),
        ("POST", _) | ("PUT", _) => Some(json!({})),
        _ => None,
    }
}

/// Channels that accept everything.
struct Accepting;

#[async_trait::async_trait]
impl relais_app::notify::Outlets for Accepting {
    async fn send(&self, _: relais_app::notify::Outgoing) -> relais_domain::delivery::AttemptOutcome {
        relais_domain::delivery::AttemptOutcome::Accepted { provider_ref: None }
    }
}
