//! Orders through the real router: created with their parcels announced, the same Idempotency-Key
//! answering the same, a taken reference refused with nothing created, the merchant's fallback when
//! the chosen point cannot take the parcels, split shipments, and every kind of bad order refused with
//! its field.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, apis, assert_error, uuid_like};
use serde_json::{Value, json};

fn order(api: &Api, reference: &str, parcels: Value) -> Value {
    json!({
        "reference": reference,
        "customer": {"name": "Camille Martin", "phone": "+33612345678", "email": "camille@example.org"},
        "point_id": api.locker_id,
        "shipping_price": {"amount_cents": 490, "currency": "EUR"},
        "lines": [{"sku": "LMP-042", "name": "Lampe de bureau", "quantity": 1, "unit_price_cents": 3990}],
        "parcels": parcels,
    })
}

fn small() -> Value {
    json!([{"dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 800, "parcel_number": "EW112720413FR"}])
}

async fn post_order(api: &Api, key: Option<&str>, body: &Value, as_key: &str) -> common::Reply {
    let text = body.to_string();
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v1/orders")
        .header("authorization", format!("Bearer {as_key}"))
        .header("content-type", "application/json");
    let request = match key {
        Some(key) => request.header("idempotency-key", key),
        None => request,
    };
    let response = tower::ServiceExt::oneshot(api.router.clone(), request.body(axum::body::Body::from(text)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
    common::Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers }
}

/// A counter of the same network 300 m away, that takes large parcels on its shelf.
async fn counter_nearby(api: &Api) -> String {
    let body = json!({
        "network_id": api.network_id, "external_id": "C1", "kind": "counter", "name": "Tabac Bellecour",
        "address_line1": "2 place Bellecour", "postcode": "69002", "city": "Lyon", "country": "FR",
        "latitude": 45.7585, "longitude": 4.8345, "shelf_capacity": 10
    });
    let created = api.call(Method::POST, "/v1/points", &api.operator, Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    api.app.refresh_index().await.unwrap();
    created.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_order_is_announced_once_whatever_the_retries() {
    for api in apis().await {
        api.app.refresh_index().await.unwrap();
        let body = order(&api, "CMD-0001", small());
        let created = post_order(&api, Some("key-0001"), &body, &api.merchant).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["order"]["state"], "announced");
        assert_eq!(created.body["order"]["point_id"], api.locker_id.as_str());
        assert_eq!(created.body["order"]["shipping_price"], json!({"amount_cents": 490, "currency": "EUR"}));
        let parcels = created.body["parcels"].as_array().unwrap();
        assert_eq!(parcels.len(), 1);
        assert_eq!(parcels[0]["parcel"]["parcel_number"], "EW112720413FR");
        let code = parcels[0]["pickup_code"].as_str().unwrap().to_owned();

        // Sent again (a timeout on the merchant's side): the same answer, nothing new.
        let again = post_order(&api, Some("key-0001"), &body, &api.merchant).await;
        assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
        assert_eq!(again.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
        assert_eq!(again.body["order"]["id"], created.body["order"]["id"]);
        assert_eq!(again.body["parcels"][0]["pickup_code"], code.as_str());
        assert_eq!(api.parcel_count().await, 1);
        // The key with another order, or the reference with another key: refused, nothing created.
        let other = order(&api, "CMD-0002", small());
        let reused = post_order(&api, Some("key-0001"), &other, &api.merchant).await;
        assert_error(&reused, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
        let taken = post_order(&api, Some("key-0002"), &body, &api.merchant).await;
        assert_error(&taken, StatusCode::CONFLICT, "already_exists");
        assert_eq!(taken.body["error"]["details"]["what"], "order_reference");
        assert_eq!(api.parcel_count().await, 1);

        // Looked up by id and by reference; another merchant sees nothing.
        let id = created.body["order"]["id"].as_str().unwrap();
        let by_id = api.call(Method::GET, &format!("/v1/orders/{id}"), &api.merchant, None).await;
        assert_eq!(by_id.body["order"]["reference"], "CMD-0001", "{}", by_id.body);
        let by_reference = api.call(Method::GET, "/v1/orders?reference=CMD-0001", &api.merchant, None).await;
        assert_eq!(by_reference.body["order"]["id"], id, "{}", by_reference.body);
        let operator = api.call(Method::GET, "/v1/orders?reference=CMD-0001", &api.operator, None).await;
        assert_error(&operator, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let merchant = api.call(Method::POST, "/v1/merchants", &api.operator, Some(json!({"name": "Autre"}))).await;
        let key = api
            .call(
                Method::POST,
                "/v1/api-keys",
                &api.operator,
                Some(json!({"role": "merchant", "label": "b", "merchant_id": merchant.body["id"]})),
            )
            .await;
        let other_key = key.body["secret"].as_str().unwrap().to_owned();
        let foreign = api.call(Method::GET, &format!("/v1/orders/{id}"), &other_key, None).await;
        assert_error(&foreign, StatusCode::NOT_FOUND, "not_found");
        let foreign = api.call(Method::GET, "/v1/orders?reference=CMD-0001", &other_key, None).await;
        assert_error(&foreign, StatusCode::NOT_FOUND, "not_found");
        // Its own order with the same reference is its own.
        let mut theirs = body.clone();
        theirs["parcels"][0]["parcel_number"] = json!("OTHER00001");
        let own = post_order(&api, Some("key-0001"), &theirs, &other_key).await;
        assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
        assert_ne!(own.body["order"]["id"], created.body["order"]["id"]);
        // A parcel looked up by its number: each merchant its own.
        let mine = api.call(Method::GET, "/v1/parcels?number=ew112720413fr", &api.merchant, None).await;
        assert_eq!(mine.body["items"].as_array().unwrap().len(), 1, "{}", mine.body);
        let none = api.call(Method::GET, "/v1/parcels?number=EW112720413FR", &other_key, None).await;
        assert!(none.body["items"].as_array().unwrap().is_empty(), "{}", none.body);
        let bad = api.call(Method::GET, "/v1/parcels?number=EW112720414FR", &api.merchant, None).await;
        assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let carrier = api.call(Method::GET, &format!("/v1/orders/{id}"), &api.carrier, None).await;
        assert_error(&carrier, StatusCode::FORBIDDEN, "forbidden");
    }
}

#[tokio::test]
async fn a_point_that_cannot_take_the_parcels_gives_way_to_the_merchants_fallback() {
    for api in apis().await {
        let counter = counter_nearby(&api).await;
        // Too large for the locker's doors (A and B).
        let large = json!([{"dimensions_mm": {"length": 600, "width": 500, "height": 400}, "weight_g": 9000}]);
        let mut body = order(&api, "BIG-0001", large.clone());
        body["parcels"][0]["parcel_number"] = json!("BIG0000001");
        let redirected = post_order(&api, None, &body, &api.merchant).await;
        assert_eq!(redirected.status, StatusCode::CREATED, "{}", redirected.body);
        let o = &redirected.body["order"];
        assert_eq!((o["state"].as_str(), o["point_id"].as_str()), (Some("announced"), Some(counter.as_str())), "{o}");
        assert!(o["reason"].as_str().unwrap().contains("nearest"), "{o}");
        assert_eq!(redirected.body["parcels"][0]["parcel"]["point_id"], counter.as_str());

        // Held for the merchant's decision, then shipped where it says.
        body["reference"] = json!("BIG-0002");
        body["fallback"] = json!("hold");
        body["parcels"][0]["parcel_number"] = json!("BIG0000002");
        let held = post_order(&api, None, &body, &api.merchant).await;
        assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
        assert_eq!(held.body["order"]["state"], "on_hold");
        assert!(held.body["parcels"].as_array().unwrap().is_empty());
        let id = held.body["order"]["id"].as_str().unwrap();
        let shipment = json!({"point_id": counter, "parcels": [{"dimensions_mm": {"length": 600, "width": 500, "height": 400}, "weight_g": 9000, "parcel_number": "BIG0000003"}]});
        let shipped =
            api.call(Method::POST, &format!("/v1/orders/{id}/shipments"), &api.merchant, Some(shipment)).await;
        assert_eq!(shipped.status, StatusCode::CREATED, "{}", shipped.body);
        assert_eq!(
            (shipped.body["order"]["state"].as_str(), shipped.body["parcels"][0]["shipment"].as_u64()),
            (Some("announced"), Some(1))
        );
        // The remainders of the first order: a second shipment, to its point.
        let first = redirected.body["order"]["id"].as_str().unwrap();
        let remainders = json!({"parcels": [{"dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 500, "parcel_number": "BIG0000004"}]});
        let split =
            api.call(Method::POST, &format!("/v1/orders/{first}/shipments"), &api.merchant, Some(remainders)).await;
        assert_eq!(split.status, StatusCode::CREATED, "{}", split.body);
        let shipments: Vec<u64> =
            split.body["parcels"].as_array().unwrap().iter().map(|p| p["shipment"].as_u64().unwrap()).collect();
        assert_eq!(shipments, [1, 2]);

        // Home delivery: no parcel here.
        body["reference"] = json!("BIG-0003");
        body["fallback"] = json!("home_delivery");
        body["parcels"][0]["parcel_number"] = json!("BIG0000005");
        let home = post_order(&api, None, &body, &api.merchant).await;
        assert_eq!(home.body["order"]["state"], "home_delivery", "{}", home.body);
        // The merchant is told (its webhooks' topics `order.*`).
        let outbox_topics: Vec<String> =
            api._store.store.outbox(None, 500).await.unwrap().into_iter().map(|m| m.topic).collect();
        assert!(
            outbox_topics.iter().any(|t| t == "order.redirected") && outbox_topics.iter().any(|t| t == "order.on_hold")
        );
    }
}

#[tokio::test]
async fn a_bad_order_is_refused_with_its_field_and_creates_nothing() {
    for api in apis().await {
        api.app.refresh_index().await.unwrap();
        let parcel = |dims: Value, weight: Value| json!([{"dimensions_mm": dims, "weight_g": weight}]);
        let dims = json!({"length": 300, "width": 200, "height": 50});
        let cases: Vec<(Value, StatusCode, &str, Option<&str>)> = vec![
            (
                {
                    let mut b = order(&api, "BAD-1", small());
                    b["point_id"] = json!(uuid_like());
                    b
                },
                StatusCode::NOT_FOUND,
                "not_found",
                None,
            ),
            (
                order(&api, "BAD-2", parcel(json!({"length": -1, "width": 200, "height": 50}), json!(800))),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some("dimensions_mm"),
            ),
            (
                order(&api, "BAD-3", parcel(dims.clone(), json!(700000))),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some("weight_g"),
            ),
            (order(&api, "BAD-4", json!([])), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("parcels")),
            (
                {
                    let mut b = order(&api, "BAD-5", small());
                    b["customer"] = json!({"name": "Camille"});
                    b
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some("recipient"),
            ),
            (
                {
                    let mut b = order(&api, "BAD-6", small());
                    b["shipping_price"]["amount_cents"] = json!(-5);
                    b
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some("shipping_price.amount_cents"),
            ),
            (
                {
                    let mut b = order(&api, "BAD-7", small());
                    b["shipping_price"]["currency"] = json!("EURO");
                    b
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some("shipping_price.currency"),
            ),
            (
                {
                    let mut b = order(&api, "BAD-8", small());
                    b["fallback"] = json!("teleport");
                    b
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some("fallback"),
            ),
            (order(&api, "BAD 9", small()), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("reference")),
            (
                {
                    let mut b = order(&api, "BAD-10", small());
                    b["lines"][0]["quantity"] = json!(0);
                    b
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some("lines.quantity"),
            ),
            (
                {
                    let mut b = order(&api, "BAD-11", small());
                    b["customer"]["phone"] = json!("0612");
                    b
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some("phone"),
            ),
            (
                {
                    let mut b = order(&api, "BAD-12", small());
                    b["colour"] = json!("red");
                    b
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                None,
            ),
        ];
        for (body, status, code, field) in cases {
            let refused = post_order(&api, None, &body, &api.merchant).await;
            assert_error(&refused, status, code);
            if let Some(field) = field {
                let got = refused.body["error"]["details"]["field"].as_str().unwrap_or_default();
                assert!(got.starts_with(field), "{body}: {got}");
            }
        }
        let carrier = post_order(&api, None, &order(&api, "BAD-13", small()), &api.carrier).await;
        assert_error(&carrier, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(api.parcel_count().await, 0, "nothing half-created");
    }
}

#[tokio::test]
async fn a_file_of_orders_is_checked_whole_then_created_once() {
    for api in apis().await {
        api.app.refresh_index().await.unwrap();
        let counter = counter_nearby(&api).await;
        let header = "reference,customer_name,customer_phone,customer_email,point_id,shipping_price_cents,currency,parcel_number,length_mm,width_mm,height_mm,weight_g";
        let csv = format!(
            "{header}\n\
             F-1,Camille Martin,+33612345678,,{counter},490,EUR,FILE000001,300,200,50,800\n\
             F-1,Camille Martin,+33612345678,,{counter},490,EUR,FILE000002,300,200,50,600\n\
             F-2,Ana Martin,,ana@example.org,{counter},0,EUR,FILE000003,300,200,50,500\n"
        );
        let send = |body: String, format: &str| {
            let path = format!("/v1/orders/import?format={format}");
            let api = &api;
            async move { api.raw(Method::POST, &path, &api.merchant, Some(&body), Some("text/csv")).await }
        };
        let imported = send(csv.clone(), "csv").await;
        assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
        assert_eq!((imported.body["created"].as_u64(), imported.body["existing"].as_u64()), (Some(2), Some(0)));
        assert_eq!(imported.body["lines"][0]["line"], 2);
        assert_eq!(imported.body["lines"][1]["line"], 4);
        assert_eq!(api.parcel_count().await, 3, "F-1's two parcels and F-2's");
        let again = send(csv, "csv").await;
        assert_eq!(
            (again.body["created"].as_u64(), again.body["existing"].as_u64()),
            (Some(0), Some(2)),
            "{}",
            again.body
        );
        assert_eq!(api.parcel_count().await, 3, "nothing made twice");

        // One bad line: the report says which and why, nothing is created.
        let bad = format!(
            "{header}\n\
             F-3,Camille Martin,+33612345678,,{counter},490,EUR,FILE000004,300,200,50,800\n\
             F-4,Nobody,,,{counter},490,EUR,FILE000005,300,200,50,800\n\
             F-5,Ana Martin,,ana@example.org,{counter},-3,EUR,FILE000006,300,200,50,500\n\
             F-6,Ana Martin,,ana@example.org,{counter},0,EUR,FILE000007,300,200,-5,500\n"
        );
        let refused = send(bad, "csv").await;
        assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "import_refused");
        let lines = refused.body["error"]["details"]["lines"].as_array().unwrap();
        let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["valid", "refused", "refused", "refused"], "{}", refused.body);
        assert!(lines[1]["message"].as_str().unwrap().contains("phone or an e-mail"), "{}", refused.body);
        assert_eq!(api.parcel_count().await, 3, "nothing half-created");

        // JSON Lines: one order per line, as POST /v1/orders takes it.
        let jsonl = format!(
            "{}\n\n{}\n",
            json!({"reference": "J-1", "customer": {"name": "Lou", "email": "lou@example.org"}, "point_id": counter,
                "shipping_price": {"amount_cents": 0, "currency": "EUR"},
                "lines": [{"sku": "A", "name": "Lampe", "quantity": 1, "unit_price_cents": 100}],
                "parcels": [{"parcel_number": "FILE000008", "dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 500}]}),
            json!({"reference": "J-2", "customer": {"name": "Lou", "email": "lou@example.org"}, "point_id": counter,
                "shipping_price": {"amount_cents": 0, "currency": "EUR"},
                "parcels": [{"parcel_number": "FILE000009", "dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 500}]})
        );
        let imported = send(jsonl, "jsonl").await;
        assert_eq!(imported.body["created"], 2, "{}", imported.body);
        assert_eq!(imported.body["lines"][1]["line"], 3, "a blank line is skipped, not renumbered");
        // Pulled back by the ERP: every parcel with its order, then only what changed since.
        let export = api.call(Method::GET, "/v1/parcels/export", &api.merchant, None).await;
        let text = export.body.as_str().unwrap().to_owned();
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows[0].starts_with("parcel_id,parcel_number,order_reference,shipment,state"), "{text}");
        assert_eq!(rows.len(), 1 + 5, "{text}");
        assert!(rows.iter().any(|r| r.contains(",FILE000002,F-1,1,announced,")), "{text}");
        let later =
            api.call(Method::GET, "/v1/parcels/export?updated_since=2030-01-01T00:00:00Z", &api.merchant, None).await;
        assert_eq!(later.body.as_str().unwrap().lines().count(), 1, "only the header");
        let operator = api.call(Method::GET, "/v1/parcels/export", &api.operator, None).await;
        assert_error(&operator, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let bad = api.call(Method::GET, "/v1/parcels/export?updated_since=yesterday", &api.merchant, None).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        let garbage = send("{not json\n".into(), "jsonl").await;
        assert_error(&garbage, StatusCode::UNPROCESSABLE_ENTITY, "import_refused");
        let no_columns = send("reference,customer_name\nX,Y\n".into(), "csv").await;
        assert_error(&no_columns, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let format = send(String::new(), "xlsx").await;
        assert_error(&format, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
}

#[tokio::test]
async fn the_point_a_customer_used_last_comes_first_for_its_merchant_only() {
    for api in apis().await {
        let counter = counter_nearby(&api).await;
        let mut body = order(&api, "LAST-1", small());
        body["point_id"] = json!(counter);
        let made = post_order(&api, None, &body, &api.merchant).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        api.app.refresh_index().await.unwrap();

        let last =
            api.call(Method::GET, "/v1/customers/last-point?email=Camille@Example.org", &api.merchant, None).await;
        assert_eq!(last.body["point_id"], counter.as_str(), "{}", last.body);
        let by_phone =
            api.call(Method::GET, "/v1/customers/last-point?phone=%2B33612345678", &api.merchant, None).await;
        assert_eq!(by_phone.body["point_id"], counter.as_str(), "{}", by_phone.body);
        let stranger =
            api.call(Method::GET, "/v1/customers/last-point?email=lou@example.org", &api.merchant, None).await;
        assert_error(&stranger, StatusCode::NOT_FOUND, "not_found");
        let nothing = api.call(Method::GET, "/v1/customers/last-point", &api.merchant, None).await;
        assert_error(&nothing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

        // The search from the locker's square: the locker is nearer, the customer's point comes first.
        let near = "lat=45.757&lon=4.832&radius_m=2000";
        let plain = api.call(Method::GET, &format!("/v1/points/search?{near}"), &api.merchant, None).await;
        assert_eq!(plain.body["results"][0]["id"], api.locker_id.as_str(), "{}", plain.body);
        let theirs = format!("/v1/points/search?{near}&customer_email=camille%40example.org");
        let first = api.call(Method::GET, &theirs, &api.merchant, None).await;
        assert_eq!(first.body["results"][0]["id"], counter.as_str(), "{}", first.body);
        assert_eq!(first.body["results"][0]["last_used"], true);
        assert_eq!(first.body["results"][1]["last_used"], false);
        // Another merchant knows nothing of this customer; an operator's key and the widget may not ask.
        let merchant = api.call(Method::POST, "/v1/merchants", &api.operator, Some(json!({"name": "Autre"}))).await;
        let key = api
            .call(
                Method::POST,
                "/v1/api-keys",
                &api.operator,
                Some(json!({"role": "merchant", "label": "b", "merchant_id": merchant.body["id"]})),
            )
            .await;
        let other = key.body["secret"].as_str().unwrap().to_owned();
        let theirs_not =
            api.call(Method::GET, "/v1/customers/last-point?email=camille@example.org", &other, None).await;
        assert_error(&theirs_not, StatusCode::NOT_FOUND, "not_found");
        let operator = api.call(Method::GET, &theirs, &api.operator, None).await;
        assert_error(&operator, StatusCode::FORBIDDEN, "forbidden");
        let widget = api
            .call(Method::GET, &format!("/widget/points?{near}&customer_email=camille%40example.org"), "", None)
            .await;
        assert_error(&widget, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        // The widget takes the point the merchant's server looked up (`last_point_id`): first, marked.
        let widget = api.call(Method::GET, &format!("/widget/points?{near}&last_point_id={counter}"), "", None).await;
        assert_eq!(widget.status, StatusCode::OK, "{}", widget.body);
        assert_eq!(widget.body["results"][0]["id"], counter.as_str(), "{}", widget.body);
        assert_eq!(widget.body["results"][0]["last_used"], true);
        // A point that is not among the results changes nothing; a malformed id is refused.
        let unknown = "00000000-0000-4000-8000-000000000000";
        let widget = api.call(Method::GET, &format!("/widget/points?{near}&last_point_id={unknown}"), "", None).await;
        assert_eq!(widget.body["results"][0]["id"], api.locker_id.as_str(), "{}", widget.body);
        assert_eq!(widget.body["results"][0]["last_used"], false);
        let widget = api.call(Method::GET, &format!("/widget/points?{near}&last_point_id=nope"), "", None).await;
        assert!(widget.status.is_client_error(), "{}", widget.body);
        let check = format!("/v1/points/{counter}/check?customer_phone=000000000000000000000");
        let check = api.call(Method::GET, &check, &api.merchant, None).await;
        assert_error(&check, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
}
