//! Orders' fulfilments written back to the shops they came from, over real HTTP, on both backends: a
//! local server answers as Shopify's Admin REST API, WooCommerce's REST API v3 and Magento 2's REST API
//! do (the routes, methods, credentials and answer shapes of their documentation) and records what
//! relais sends. Each shop's order (Shopify's and WooCommerce's real payloads, the Magento fixture) is
//! received through its connector, its parcel deposited and collected; each step reaches the shop once,
//! with the parcel's number; a shop that fails is tried again later, and the token never shows.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use relais_app::connectors::write_back::Stage;
use relais_app::connectors::{ConnectorSettings, Platform, ShopApiSettings};
use relais_app::parcels::PickupSecret;
use relais_app::ports::{ManualClock, SeededRandom};
use relais_app::setup::{NewCompartment, NewPoint};
use relais_app::{App, AppLimits, Caller, Secrets};
use relais_domain::network::NetworkRules;
use relais_domain::numbering::Series;
use relais_messages::shops::shop_signature;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "shpss_0123456789abcdef0123";
const TOKEN: &str = "shpat_0123456789abcdef";

/// A request as the shop received it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The shops' side: records every request, answers as each API does; `fail_next` makes the next
/// request a 503.
#[derive(Default)]
struct Shop {
    received: Mutex<Vec<Received>>,
    fail_next: Mutex<bool>,
}

impl Shop {
    fn answer(&self, method: &str, path: &str) -> (u16, String) {
        if std::mem::take(&mut *self.fail_next.lock().unwrap()) {
            return (503, r#"{"errors":"Service Unavailable"}"#.into());
        }
        let answer = |status: u16, body: Value| (status, body.to_string());
        match (method, path) {
            ("GET", p) if p.ends_with("/fulfillment_orders.json") => answer(
                200,
                json!({"fulfillment_orders": [
                    {"id": 1046000778, "status": "open", "order_id": 450789469},
                    {"id": 1046000779, "status": "closed", "order_id": 450789469}
                ]}),
            ),
            ("POST", "/admin/api/2025-01/fulfillments.json") => {
                answer(201, json!({"fulfillment": {"id": 255858046, "status": "success"}}))
            }
            ("POST", p) if p.starts_with("/admin/api/2025-01/orders/") && p.ends_with("/events.json") => {
                answer(201, json!({"fulfillment_event": {"id": 944956395, "status": "ready_for_pickup"}}))
            }
            ("POST", p) if p.starts_with("/wp-json/wc/v3/orders/") && p.ends_with("/notes") => {
                answer(201, json!({"id": 281, "customer_note": true}))
            }
            ("POST", p) if p.starts_with("/wp-json/wc/v3/orders/") => {
                answer(200, json!({"id": 727, "status": "completed"}))
            }
            ("POST", p) if p.starts_with("/rest/V1/order/") && p.ends_with("/ship") => answer(200, json!("17")),
            ("POST", p) if p.starts_with("/rest/V1/orders/") && p.ends_with("/comments") => answer(200, json!(true)),
            _ => answer(404, json!({"message": "no such route"})),
        }
    }

    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

/// Serves `shop` on 127.0.0.1 over HTTP/1.1, one request a connection.
async fn serve(shop: Arc<Shop>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let shop = Arc::clone(&shop);
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buffer = [0u8; 4096];
                let (head, body) = loop {
                    let n = stream.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buffer[..n]);
                    if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..at]).into_owned();
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        while data.len() < at + 4 + length {
                            let n = stream.read(&mut buffer).await.unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            data.extend_from_slice(&buffer[..n]);
                        }
                        break (head, data[at + 4..].to_vec());
                    }
                };
                let mut lines = head.lines();
                let mut first = lines.next().unwrap_or_default().split(' ');
                let (method, path) =
                    (first.next().unwrap_or_default().to_owned(), first.next().unwrap_or_default().to_owned());
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let (status, answer) = shop.answer(&method, &path);
                shop.received.lock().unwrap().push(Received { method, path, headers, body });
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{address}")
}

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

struct World {
    app: App,
    store: Arc<dyn relais_app::Store>,
    clock: Arc<ManualClock>,
    merchant: relais_domain::ids::MerchantId,
    carrier: Caller,
    locker: relais_domain::ids::PointId,
}

async fn world(store: Arc<dyn relais_app::Store>) -> World {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()));
    let mut limits = AppLimits::default();
    // The test's shop listens on loopback over plain HTTP; a real install calls https:// shops only.
    limits.webhooks.allow_http = true;
    limits.webhooks.allow_private = true;
    let app = App::new(store.clone(), clock.clone(), Arc::new(SeededRandom::new(5)), Secrets::new([4; 32]))
        .with_limits(limits);
    let system = Caller::system();
    let network = app.create_network(&system, "Réseau Lyon", NetworkRules::default()).await.unwrap();
    let merchant = app.create_merchant(&system, "Boutique").await.unwrap().id;
    let carrier = app.create_carrier(&system, "Transporteur", &[network.id]).await.unwrap();
    let point = NewPoint {
        network_id: network.id,
        external_id: "LYO-0042".into(),
        kind: "locker".into(),
        name: "Consigne Bellecour".into(),
        address_line1: "1 place Bellecour".into(),
        postcode: "69002".into(),
        city: "Lyon".into(),
        country: "FR".into(),
        latitude: 45.757,
        longitude: 4.832,
        compartments: (1..=6).map(|n| NewCompartment { label: format!("C{n:02}"), size: "C".into() }).collect(),
        ..NewPoint::default()
    };
    let locker = app.create_point(&system, point).await.unwrap().point.id;
    app.refresh_index().await.unwrap();
    let merchant_caller = Caller::merchant(merchant);
    let series = Series::sscc(3, "7612345").unwrap();
    app.set_number_series(&merchant_caller, relais_app::numbers::SeriesOwner::Merchant(merchant), series)
        .await
        .unwrap();
    World { app, store, clock, merchant, carrier: Caller::carrier(carrier.id, vec![network.id]), locker }
}

async fn connect(w: &World, platform: Platform, url: &str, username: Option<&str>) {
    let settings = ConnectorSettings {
        secret: SECRET.into(),
        length_mm: 300,
        width_mm: 200,
        height_mm: 100,
        weight_g: 1000,
        api: Some(ShopApiSettings { url: url.into(), username: username.map(str::to_owned), token: TOKEN.into() }),
    };
    w.app.set_connector(&Caller::system(), w.merchant, platform, settings).await.unwrap();
}

/// The order received from the shop, its parcel's number and pickup code.
async fn receive(w: &World, platform: Platform, body: &Value) -> (relais_domain::ids::OrderId, String, String) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = shop_signature(SECRET.as_bytes(), &bytes);
    let view = w.app.receive_shop_order(platform, w.merchant, &signature, &bytes).await.unwrap();
    let parcel = &view.parcels[0];
    let code = parcel.pickup.as_ref().unwrap().0.as_str().to_owned();
    (view.order.id, parcel.parcel.number.to_string(), code)
}

/// One pass of the job, as `relais serve` runs it, through the binary's HTTP client.
async fn pass(w: &World) -> relais_app::connectors::write_back::WriteBackReport {
    let client = relais_edge::http::HttpClient::new(&relais_edge::http::HttpConfig::default()).unwrap();
    let calls = relais::outbound::HttpOutboundCalls::new(client);
    w.app.write_back_due(&Caller::system(), &calls, 100).await.unwrap()
}

async fn stage(w: &World, order: relais_domain::ids::OrderId) -> relais_app::ports::ShopWriteBack {
    w.store.shop_order(order).await.unwrap().unwrap()
}

/// Deposits the order's parcel and collects it with its code, a write-back pass after each.
async fn deposit(w: &World, number: &str) {
    let parcel = w.app.parcels_by_number(&Caller::system(), number).await.unwrap().remove(0);
    w.app.deposit(&w.carrier, parcel.id).await.unwrap();
}

async fn collect(w: &World, code: &str) {
    let device = Caller::device(w.locker);
    w.app.pickup_at_point(&device, w.locker, PickupSecret::Code(code.into())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_gets_a_fulfillment_with_the_parcel_number_then_its_events() {
    let Some(mut order) = payload("shopify/order.json") else { return };
    for test in relais_store::testing::all().await {
        let w = world(test.store.clone()).await;
        let shop = Arc::new(Shop::default());
        let url = serve(Arc::clone(&shop)).await;
        connect(&w, Platform::Shopify, &url, None).await;
        order["order"]["note_attributes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "relais_point_id", "value": w.locker.to_string()}));
        let (order_id, number, code) = receive(&w, Platform::Shopify, &order).await;
        assert_eq!(stage(&w, order_id).await.shop_order_id, "450789469");

        // Shipped: the open fulfillment orders asked for, then one fulfillment with the parcel number.
        let report = pass(&w).await;
        assert_eq!((report.written, report.failed), (1, 0));
        let calls = shop.take();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(
            (calls[0].method.as_str(), calls[0].path.as_str()),
            ("GET", "/admin/api/2025-01/orders/450789469/fulfillment_orders.json")
        );
        assert_eq!(calls[0].header("x-shopify-access-token"), Some(TOKEN));
        assert_eq!(
            (calls[1].method.as_str(), calls[1].path.as_str()),
            ("POST", "/admin/api/2025-01/fulfillments.json")
        );
        let fulfillment = &calls[1].body["fulfillment"];
        assert_eq!(fulfillment["line_items_by_fulfillment_order"], json!([{"fulfillment_order_id": 1046000778}]));
        assert_eq!(fulfillment["tracking_info"]["number"], number.as_str());
        assert_eq!(fulfillment["notify_customer"], false);
        let row = stage(&w, order_id).await;
        assert_eq!((row.stage.as_str(), row.shop_ref.as_deref()), ("shipped", Some("255858046")));
        // Nothing new: nothing sent, even when due again.
        w.clock.advance(chrono::Duration::minutes(10));
        assert_eq!(pass(&w).await.written, 0);
        assert!(shop.take().is_empty());

        // Deposited: `ready_for_pickup` on that fulfillment, at the order's next look (a quiet order is
        // looked at every five minutes); the shop fails once, relais tries again.
        deposit(&w, &number).await;
        assert_eq!(pass(&w).await, Default::default());
        w.clock.advance(chrono::Duration::minutes(5));
        *shop.fail_next.lock().unwrap() = true;
        assert_eq!(pass(&w).await.failed, 1);
        let row = stage(&w, order_id).await;
        assert_eq!((row.stage.as_str(), row.attempts), ("shipped", 1));
        let error = row.last_error.unwrap();
        assert!(error.contains("503") && !error.contains(TOKEN), "{error}");
        shop.take();
        // Not before its delay.
        assert_eq!(pass(&w).await, Default::default());
        w.clock.advance(chrono::Duration::minutes(3));
        assert_eq!(pass(&w).await.written, 1);
        let calls = shop.take();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].path, "/admin/api/2025-01/orders/450789469/fulfillments/255858046/events.json");
        assert_eq!(calls[0].body["event"]["status"], "ready_for_pickup");
        assert_eq!(
            calls[0].body["event"]["message"],
            "Votre colis vous attend au point relais Consigne Bellecour (LYO-0042), 1 place Bellecour, 69002 Lyon, jusqu'au 2026-12-10."
        );

        // Collected: `delivered`, and the order is done.
        collect(&w, &code).await;
        w.clock.advance(chrono::Duration::minutes(5));
        assert_eq!(pass(&w).await.written, 1);
        let calls = shop.take();
        assert_eq!(calls[0].body["event"]["status"], "delivered");
        assert_eq!(Stage::parse(&stage(&w, order_id).await.stage), Stage::Delivered);
        w.clock.advance(chrono::Duration::hours(1));
        assert_eq!(pass(&w).await, Default::default());
        assert!(shop.take().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn woocommerce_gets_notes_and_the_order_completed() {
    let Some(mut order) = payload("woocommerce/order_retrieve_example.json") else { return };
    for test in relais_store::testing::all().await {
        let w = world(test.store.clone()).await;
        let shop = Arc::new(Shop::default());
        let url = serve(Arc::clone(&shop)).await;
        connect(&w, Platform::WooCommerce, &url, Some("ck_test_key")).await;
        order["meta_data"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 1, "key": "_relais_point_id", "value": w.locker.to_string()}));
        let (order_id, number, code) = receive(&w, Platform::WooCommerce, &order).await;
        // Announced, deposited and collected before the first pass: the three steps in order.
        deposit(&w, &number).await;
        collect(&w, &code).await;
        for _ in 0..3 {
            assert_eq!(pass(&w).await.written, 1);
        }
        let calls = shop.take();
        let paths: Vec<(&str, &str)> = calls.iter().map(|c| (c.method.as_str(), c.path.as_str())).collect();
        assert_eq!(
            paths,
            [
                ("POST", "/wp-json/wc/v3/orders/727/notes"),
                ("POST", "/wp-json/wc/v3/orders/727/notes"),
                ("POST", "/wp-json/wc/v3/orders/727/notes"),
                ("POST", "/wp-json/wc/v3/orders/727"),
            ]
        );
        // The consumer key and secret as HTTP Basic.
        let basic = base64_of(&format!("ck_test_key:{TOKEN}"));
        assert!(calls.iter().all(|c| c.header("authorization") == Some(format!("Basic {basic}").as_str())));
        assert!(calls[0].body["note"].as_str().unwrap().contains(&number));
        assert_eq!(calls[0].body["customer_note"], true);
        assert_eq!(calls[3].body, json!({"status": "completed"}));
        assert_eq!(stage(&w, order_id).await.stage, "delivered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magento_gets_a_shipment_with_its_track_then_comments() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../http/tests/fixtures/magento/order.json");
    let text = std::fs::read_to_string(fixture).unwrap();
    for test in relais_store::testing::all().await {
        let w = world(test.store.clone()).await;
        let shop = Arc::new(Shop::default());
        let url = serve(Arc::clone(&shop)).await;
        connect(&w, Platform::Magento, &format!("{url}/"), None).await;
        let order: Value = serde_json::from_str(&text.replace("POINT_ID", &w.locker.to_string())).unwrap();
        let (order_id, number, _) = receive(&w, Platform::Magento, &order).await;
        assert_eq!(pass(&w).await.written, 1);
        deposit(&w, &number).await;
        assert_eq!(pass(&w).await.written, 1);
        let calls = shop.take();
        assert_eq!((calls[0].method.as_str(), calls[0].path.as_str()), ("POST", "/rest/V1/order/41/ship"));
        assert_eq!(calls[0].header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
        assert_eq!(
            calls[0].body["tracks"],
            json!([{"track_number": number, "title": "relais", "carrier_code": "custom"}])
        );
        assert_eq!(calls[1].path, "/rest/V1/orders/41/comments");
        // The customer's language: French.
        let comment = calls[1].body["statusHistory"]["comment"].as_str().unwrap();
        assert!(comment.starts_with("Votre colis vous attend au point relais Consigne Bellecour"), "{comment}");
        let row = stage(&w, order_id).await;
        assert_eq!((row.stage.as_str(), row.shop_ref.as_deref()), ("ready", Some("17")));
    }
}

#[tokio::test]
async fn api_access_is_checked_and_a_shop_without_it_gets_nothing() {
    for test in relais_store::testing::all().await {
        let w = world(test.store.clone()).await;
        let bad = |url: &str, username: Option<&str>, token: &str| ConnectorSettings {
            secret: SECRET.into(),
            length_mm: 300,
            width_mm: 200,
            height_mm: 100,
            weight_g: 1000,
            api: Some(ShopApiSettings { url: url.into(), username: username.map(str::to_owned), token: token.into() }),
        };
        let system = Caller::system();
        for (platform, settings, field) in [
            (Platform::Shopify, bad("ftp://shop.example", None, TOKEN), "api.url"),
            (Platform::Shopify, bad("https://shop.example", None, "short"), "api.token"),
            (Platform::WooCommerce, bad("https://shop.example", None, TOKEN), "api.username"),
        ] {
            match w.app.set_connector(&system, w.merchant, platform, settings).await {
                Err(relais_app::AppError::Validation(e)) => assert_eq!(e.field, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        // A connector without API access: the order is made, nothing is written back, nothing fails.
        let settings = ConnectorSettings { api: None, ..bad("", None, "") };
        w.app.set_connector(&system, w.merchant, Platform::Magento, settings).await.unwrap();
        let fixture =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../http/tests/fixtures/magento/order.json");
        let text = std::fs::read_to_string(fixture).unwrap().replace("POINT_ID", &w.locker.to_string());
        let (order_id, _, _) = receive(&w, Platform::Magento, &serde_json::from_str(&text).unwrap()).await;
        assert_eq!(pass(&w).await, Default::default());
        assert_eq!(stage(&w, order_id).await.stage, "none");
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn an_order_whose_parcels_were_cancelled_is_not_written_nor_looked_at_again() {
    for test in relais_store::testing::all().await {
        let w = world(test.store.clone()).await;
        let shop = Arc::new(Shop::default());
        let url = serve(Arc::clone(&shop)).await;
        connect(&w, Platform::Magento, &url, None).await;
        let fixture =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../http/tests/fixtures/magento/order.json");
        let text = std::fs::read_to_string(fixture).unwrap().replace("POINT_ID", &w.locker.to_string());
        let (order_id, number, _) = receive(&w, Platform::Magento, &serde_json::from_str(&text).unwrap()).await;
        let parcel = w.app.parcels_by_number(&Caller::system(), &number).await.unwrap().remove(0);
        w.app.cancel(&Caller::merchant(w.merchant), parcel.id, Some("customer cancelled")).await.unwrap();
        assert_eq!(pass(&w).await, Default::default());
        assert!(shop.take().is_empty(), "a cancelled parcel is not shipped");
        assert_eq!(stage(&w, order_id).await.stage, relais_app::connectors::write_back::ENDED);
        w.clock.advance(chrono::Duration::days(1));
        assert!(w.store.shop_orders_due(w.app.now(), 10).await.unwrap().is_empty());
    }
}
