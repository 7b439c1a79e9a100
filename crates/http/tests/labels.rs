//! Labels, packing requests and invoice data through the real router, on both backends: an order of
//! two parcels numbered from the merchant's SSCC series prints two labels (ZPL and PDF) in its network's
//! layout with the merchant's return address; its packing request lists lines and parcels; its invoice
//! data names the point's code. Bad options are a 422 with the field, a device key a 403.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, apis, assert_error};
use serde_json::{Value, json};

async fn order_of_two(api: &Api) -> Value {
    let series = format!("/v1/merchants/{}/number-series/sscc", api.merchant_id);
    let set = api
        .call(Method::PUT, &series, &api.merchant, Some(json!({"extension_digit": 3, "company_prefix": "7612345"})))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let branding = json!({"sender_name": "Boutique Exemple", "return_address": "3 quai Saint-Antoine\n69002 Lyon"});
    let set = api
        .call(Method::PUT, &format!("/v1/merchants/{}/branding", api.merchant_id), &api.merchant, Some(branding))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["return_address"], "3 quai Saint-Antoine\n69002 Lyon");
    let order = json!({
        "reference": "CMD-LABEL-1", "customer": {"name": "Camille Martin", "phone": "+33612345678"},
        "point_id": api.locker_id, "shipping_price": {"amount_cents": 490, "currency": "EUR"},
        "lines": [
            {"sku": "LMP-042", "name": "Lampe de bureau", "quantity": 2, "unit_price_cents": 3990},
            {"sku": "AMP-7", "name": "Ampoule, E27", "quantity": 1, "unit_price_cents": 500}
        ],
        "parcels": [
            {"dimensions_mm": {"length": 300, "width": 200, "height": 50}, "weight_g": 1250},
            {"dimensions_mm": {"length": 200, "width": 150, "height": 50}, "weight_g": 400}
        ]
    });
    let created = api.call(Method::POST, "/v1/orders", &api.merchant, Some(order)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body
}

#[tokio::test]
async fn an_orders_labels_packing_request_and_invoice_data() {
    for api in apis().await {
        api.app.refresh_index().await.unwrap();
        let order = order_of_two(&api).await;
        let order_id = order["order"]["id"].as_str().unwrap();
        let numbers: Vec<String> = order["parcels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["parcel"]["parcel_number"].as_str().unwrap().to_owned())
            .collect();
        assert!(numbers.iter().all(|n| n.len() == 18 && n.starts_with("37612345")), "{numbers:?}");

        // One parcel's label in ZPL at 300 dpi on 4x6 in stock.
        let parcel = order["parcels"][0]["parcel"]["id"].as_str().unwrap();
        let zpl = api
            .call(Method::GET, &format!("/v1/parcels/{parcel}/label?format=zpl&size=4x6&dpi=300"), &api.merchant, None)
            .await;
        assert_eq!(zpl.status, StatusCode::OK, "{}", zpl.body);
        assert_eq!(zpl.headers["content-type"], "application/zpl; charset=utf-8");
        assert!(zpl.headers["content-disposition"].to_str().unwrap().contains(&format!("label-{}.zpl", numbers[0])));
        let text = zpl.body.as_str().unwrap();
        assert!(text.starts_with("^XA\n^CI28\n^PW1219\n^LL1829\n"), "{text}");
        assert!(text.contains(&format!("^BCN,384,N,N,N,N^FD>;>800{}^FS", numbers[0])), "{text}");
        assert!(text.contains(&format!("^FDMA,RL1|{}|L1^FS", numbers[0])), "{text}");
        for expected in [
            "^FDL1^FS",
            "^FDConsigne Gare^FS",
            "^FDBoutique Exemple^FS",
            "^FD3 quai Saint-Antoine^FS",
            "^FDCamille Martin^FS",
            "^FD+336******78^FS",
            "^FD1.25 kg^FS",
            "(1/2)",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        // The recipient's phone is never printed whole.
        assert!(!text.contains("+33612345678"));

        // The order's labels: two formats, or two PDF pages.
        let all = api.call(Method::GET, &format!("/v1/orders/{order_id}/labels?format=zpl"), &api.merchant, None).await;
        assert_eq!(all.status, StatusCode::OK);
        let all = all.body.as_str().unwrap();
        assert_eq!(all.matches("^XA").count(), 2);
        assert!(all.contains("(2/2)") && all.contains(&numbers[1]));
        let pdf = api.raw_bytes(&format!("/v1/orders/{order_id}/labels"), &api.merchant).await;
        assert!(pdf.starts_with(b"%PDF-1.4"), "{:?}", &pdf[..20.min(pdf.len())]);
        assert!(pdf.windows(8).any(|w| w == b"/Count 2"));
        // 10 x 15 cm by default: 283.46 x 425.20 points.
        assert!(pdf.windows(29).any(|w| w == b"/MediaBox [0 0 283.46 425.20]"));

        // The packing request: a row per line, then per parcel, with the point's code.
        let csv = api
            .call(Method::GET, &format!("/v1/orders/{order_id}/packing-request?format=csv"), &api.merchant, None)
            .await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
        let rows: Vec<&str> = csv.body.as_str().unwrap().lines().collect();
        assert_eq!(rows[0], relais_app::labels::PACKING_HEADER);
        assert_eq!(rows[1], "line,CMD-LABEL-1,LMP-042,Lampe de bureau,2,,,,,,,L1");
        assert_eq!(rows[2], "line,CMD-LABEL-1,AMP-7,\"Ampoule, E27\",1,,,,,,,L1");
        assert_eq!(rows[3], format!("parcel,CMD-LABEL-1,,,,{},1,1250,300,200,50,L1", numbers[0]));
        assert_eq!(rows.len(), 5);
        let pdf = api.raw_bytes(&format!("/v1/orders/{order_id}/packing-request"), &api.merchant).await;
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.windows(7).any(|w| w == b"LMP-042"));

        // Invoice data: totals in cents and the point's code as the delivery place.
        let invoice = api.call(Method::GET, &format!("/v1/orders/{order_id}/invoice-data"), &api.merchant, None).await;
        assert_eq!(invoice.status, StatusCode::OK, "{}", invoice.body);
        assert_eq!(invoice.body["lines_total_cents"], 2 * 3990 + 500);
        assert_eq!(invoice.body["total_cents"], 2 * 3990 + 500 + 490);
        assert_eq!(invoice.body["delivery"]["mode"], "pickup_point");
        assert_eq!(invoice.body["delivery"]["point_code"], "L1");
        assert_eq!(invoice.body["delivery"]["point_name"], "Consigne Gare");

        // The carrier handling the parcel may reprint its label; a locker device may not.
        let carrier =
            api.call(Method::GET, &format!("/v1/parcels/{parcel}/label?format=zpl"), &api.carrier, None).await;
        assert_eq!(carrier.status, StatusCode::OK);
        let device = api.call(Method::GET, &format!("/v1/parcels/{parcel}/label"), &api.device, None).await;
        assert_error(&device, StatusCode::FORBIDDEN, "forbidden");
        // An order is the merchant's business: a carrier prints parcel by parcel.
        let carrier = api.call(Method::GET, &format!("/v1/orders/{order_id}/labels"), &api.carrier, None).await;
        assert_error(&carrier, StatusCode::FORBIDDEN, "forbidden");

        // Bad options name their field; unknown ones are refused too.
        for (query, field) in [("format=png", "format"), ("size=A4", "size"), ("format=zpl&dpi=600", "dpi")] {
            let r = api.call(Method::GET, &format!("/v1/parcels/{parcel}/label?{query}"), &api.merchant, None).await;
            assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(r.body["error"]["details"]["field"], field, "{query}: {}", r.body);
        }
        let r = api
            .call(Method::GET, &format!("/v1/orders/{order_id}/packing-request?format=xlsx"), &api.merchant, None)
            .await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let unknown = "00000000-0000-4000-8000-000000000000";
        let r = api.call(Method::GET, &format!("/v1/parcels/{unknown}/label"), &api.merchant, None).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn a_network_chooses_its_layout_and_an_order_on_hold_has_nothing_to_print() {
    for api in apis().await {
        api.app.refresh_index().await.unwrap();
        let network = api
            .call(
                Method::POST,
                "/v1/networks",
                &api.operator,
                Some(json!({"name": "Depot", "rules": {"label_layout": "sorting"}})),
            )
            .await;
        assert_eq!(network.status, StatusCode::CREATED, "{}", network.body);
        assert_eq!(network.body["rules"]["label_layout"], "sorting");
        let bad = api
            .call(
                Method::POST,
                "/v1/networks",
                &api.operator,
                Some(json!({"name": "Bad", "rules": {"label_layout": "fancy"}})),
            )
            .await;
        assert!(bad.status.is_client_error(), "{}", bad.body);
        let default = api.call(Method::GET, &format!("/v1/networks/{}", api.network_id), &api.operator, None).await;
        assert_eq!(default.body["rules"]["label_layout"], "standard", "{}", default.body);

        // A parcel at a point of the sorting network prints the point's code reversed on a band.
        let point = api
            .call(Method::POST, "/v1/points", &api.operator, Some(json!({
                "network_id": network.body["id"], "external_id": "DEP-9", "kind": "counter", "name": "Depot counter",
                "address_line1": "1 rue", "postcode": "69003", "city": "Lyon", "country": "FR",
                "latitude": 45.75, "longitude": 4.85, "shelf_capacity": 10
            })))
            .await;
        assert_eq!(point.status, StatusCode::CREATED, "{}", point.body);
        let mut body = api.announce_body("SORT000001");
        body["point_id"] = point.body["id"].clone();
        let parcel = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(body)).await;
        assert_eq!(parcel.status, StatusCode::CREATED, "{}", parcel.body);
        let id = parcel.body["parcel"]["id"].as_str().unwrap();
        let zpl = api.call(Method::GET, &format!("/v1/parcels/{id}/label?format=zpl"), &api.merchant, None).await;
        let text = zpl.body.as_str().unwrap();
        assert!(text.contains("^FR^FH\\^FDDEP-9^FS"), "{text}");
        // A plain Code 128 for a number that is not an SSCC: letters in set B, the six digits in set C.
        assert!(text.contains("^FD>:SORT>5000001^FS"), "{text}");

        // An order the merchant holds for a decision has no parcel to label.
        let order = json!({
            "reference": "CMD-HOLD-1", "customer": {"name": "Ana", "email": "ana@example.org"},
            "point_id": api.locker_id, "shipping_price": {"amount_cents": 0, "currency": "EUR"}, "fallback": "hold",
            "parcels": [{"parcel_number": "HOLD000001", "dimensions_mm": {"length": 2000, "width": 1000, "height": 900}, "weight_g": 30000}]
        });
        let held = api.call(Method::POST, "/v1/orders", &api.merchant, Some(order)).await;
        assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
        assert_eq!(held.body["order"]["state"], "on_hold");
        let held_id = held.body["order"]["id"].as_str().unwrap();
        let r = api.call(Method::GET, &format!("/v1/orders/{held_id}/labels"), &api.merchant, None).await;
        assert_error(&r, StatusCode::CONFLICT, "nothing_to_print");
        let invoice = api.call(Method::GET, &format!("/v1/orders/{held_id}/invoice-data"), &api.merchant, None).await;
        assert_eq!(invoice.body["delivery"]["mode"], "on_hold", "{}", invoice.body);
        assert!(invoice.body["delivery"]["point_code"].is_null());
    }
}
