//! What the API test files share: a router on a fresh store (SQLite, and PostgreSQL when configured) with
//! a network, a merchant, a locker and keys of every role, and helpers to call it and check errors.

#![allow(dead_code)] // Each test file uses its own part of it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{TimeZone, Utc};
use relais_app::keys::NewApiKey;
use relais_app::ports::{ManualClock, SeededRandom};
use relais_app::{App, Caller, Secrets};
use relais_http::{HttpConfig, router};
use relais_store::testing::{self, TestStore};
use serde_json::{Value, json};
use tower::ServiceExt;

pub struct Api {
    pub router: Router,
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub operator: String,
    pub merchant: String,
    pub carrier: String,
    pub carrier_id: String,
    pub device: String,
    pub network_id: String,
    pub merchant_id: String,
    pub locker_id: String,
    pub _store: TestStore,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Api {
    pub async fn new(store: TestStore) -> Api {
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap()));
        let app = App::new(store.store.clone(), clock.clone(), Arc::new(SeededRandom::new(1)), Secrets::new([3; 32]));
        let system = Caller::system();
        let operator = app.create_api_key(&system, NewApiKey::operator("op")).await.unwrap().secret;
        let router = router(
            app.clone(),
            HttpConfig { request_body_bytes_max: 4096, import_body_bytes_max: 1 << 20, widget_requests_per_minute: 6 },
        );
        let mut api = Api {
            router,
            app,
            clock,
            operator,
            merchant: String::new(),
            carrier: String::new(),
            carrier_id: String::new(),
            device: String::new(),
            network_id: String::new(),
            merchant_id: String::new(),
            locker_id: String::new(),
            _store: store,
        };
        let op = api.operator.clone();
        let network = api.call(Method::POST, "/v1/networks", &op, Some(json!({"name": "Réseau"}))).await;
        assert_eq!(network.status, StatusCode::CREATED, "{}", network.body);
        api.network_id = network.body["id"].as_str().unwrap().to_owned();
        let carrier = api
            .call(Method::POST, "/v1/carriers", &op, Some(json!({"name": "Transports", "networks": [api.network_id]})))
            .await;
        assert_eq!(carrier.status, StatusCode::CREATED, "{}", carrier.body);
        api.carrier_id = carrier.body["id"].as_str().unwrap().to_owned();
        let merchant = api.call(Method::POST, "/v1/merchants", &op, Some(json!({"name": "Shop"}))).await;
        api.merchant_id = merchant.body["id"].as_str().unwrap().to_owned();
        let locker = api
            .call(
                Method::POST,
                "/v1/points",
                &op,
                Some(json!({
                    "network_id": api.network_id, "external_id": "L1", "kind": "locker", "name": "Consigne Gare",
                    "address_line1": "Place Bellecour", "postcode": "69002", "city": "Lyon", "country": "FR",
                    "latitude": 45.757, "longitude": 4.832,
                    "compartments": [{"label": "A01", "size": "A"}, {"label": "B01", "size": "B"}]
                })),
            )
            .await;
        assert_eq!(locker.status, StatusCode::CREATED, "{}", locker.body);
        assert_eq!(locker.body["compartments"].as_array().unwrap().len(), 2);
        api.locker_id = locker.body["id"].as_str().unwrap().to_owned();
        let key = |role: &str, extra: Value| {
            let mut body = json!({"role": role, "label": "test"});
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            body
        };
        let m = api
            .call(Method::POST, "/v1/api-keys", &op, Some(key("merchant", json!({"merchant_id": api.merchant_id}))))
            .await;
        assert_eq!(m.status, StatusCode::CREATED, "{}", m.body);
        api.merchant = m.body["secret"].as_str().unwrap().to_owned();
        let c = api
            .call(Method::POST, "/v1/api-keys", &op, Some(key("carrier", json!({"carrier_id": api.carrier_id}))))
            .await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
        api.carrier = c.body["secret"].as_str().unwrap().to_owned();
        let d = api
            .call(Method::POST, "/v1/api-keys", &op, Some(key("locker_device", json!({"point_id": api.locker_id}))))
            .await;
        api.device = d.body["secret"].as_str().unwrap().to_owned();
        api
    }

    pub async fn call(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.raw(method, path, key, body.as_deref(), Some("application/json")).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&str>,
        content_type: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if !key.is_empty() {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        if let (Some(ct), Some(_)) = (content_type, body) {
            request = request.header("content-type", ct);
        }
        let request = request.body(Body::from(body.unwrap_or("").to_owned())).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
        let body =
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply { status, body, headers }
    }

    /// The raw body of a GET (a PDF...).
    pub async fn raw_bytes(&self, path: &str, key: &str) -> Vec<u8> {
        let request =
            Request::builder().uri(path).header("authorization", format!("Bearer {key}")).body(Body::empty()).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap().to_vec()
    }

    pub fn announce_body(&self, number: &str) -> Value {
        json!({
            "point_id": self.locker_id, "parcel_number": number,
            "recipient": {"name": "Ana", "phone": "+33612345678"},
            "dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 800
        })
    }

    /// Announces a small parcel to the test locker and returns its id.
    pub async fn announced(&self, number: &str) -> String {
        let reply = self.call(Method::POST, "/v1/parcels", &self.merchant, Some(self.announce_body(number))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["parcel"]["id"].as_str().unwrap().to_owned()
    }

    /// Opens a session at the test locker from its device with the carrier's code of the day.
    pub async fn session(&self) -> String {
        let code =
            self.call(Method::GET, &format!("/v1/points/{}/courier-code", self.locker_id), &self.carrier, None).await;
        assert_eq!(code.status, StatusCode::OK, "{}", code.body);
        let path = format!("/v1/points/{}/drop-off-sessions", self.locker_id);
        let session =
            self.call(Method::POST, &path, &self.device, Some(json!({"courier_code": code.body["code"]}))).await;
        assert_eq!(session.status, StatusCode::CREATED, "{}", session.body);
        session.body["id"].as_str().unwrap().to_owned()
    }

    /// Deposits an announced parcel at the test locker through a courier's session (the scan, the door
    /// closed on it): its proof of deposit is then the session's signed receipt. The session's id.
    pub async fn deposit_in_session(&self, number: &str) -> String {
        let session = self.session().await;
        let scans = format!("/v1/drop-off-sessions/{session}/scans");
        let scan = self.call(Method::POST, &scans, &self.device, Some(json!({"parcel_number": number}))).await;
        assert_eq!(scan.status, StatusCode::OK, "{}", scan.body);
        let door = scan.body["open_door"]["door"].as_str().unwrap().to_owned();
        let event = format!("/v1/points/{}/doors/{door}/events", self.locker_id);
        let closed = self.call(Method::POST, &event, &self.device, Some(json!({"event": "door_closed"}))).await;
        assert_eq!(closed.body["deposited"]["state"], "ready_for_pickup", "{}", closed.body);
        let close =
            self.call(Method::POST, &format!("/v1/drop-off-sessions/{session}/close"), &self.device, None).await;
        assert_eq!(close.status, StatusCode::OK, "{}", close.body);
        session
    }

    pub async fn parcel_count(&self) -> usize {
        let r = self.call(Method::GET, "/v1/parcels?limit=500", &self.operator, None).await;
        r.body["items"].as_array().unwrap().len()
    }
}

pub fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{}", reply.body);
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", reply.body);
    assert!(reply.body["error"]["details"].is_object(), "{}", reply.body);
}

pub async fn apis() -> Vec<Api> {
    let mut out = Vec::new();
    for store in testing::all().await {
        out.push(Api::new(store).await);
    }
    out
}

pub fn uuid_like() -> &'static str {
    "01937a3e-0000-7000-8000-000000000000"
}
