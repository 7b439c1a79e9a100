//! Parcel numbers through the real router: a merchant's SSCC series set and read, numbers issued
//! ahead and at announce, a network's S10 range, and the refusals with their codes.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::http::{Method, StatusCode};
use common::{apis, assert_error, uuid_like};
use serde_json::json;

#[tokio::test]
async fn a_merchant_numbers_its_parcels_from_its_own_sscc_series() {
    for api in apis().await {
        let series = format!("/v1/merchants/{}/number-series/sscc", api.merchant_id);
        let missing = api.call(Method::GET, &series, &api.merchant, None).await;
        assert_error(&missing, StatusCode::CONFLICT, "no_number_series");
        let mut body = api.announce_body("IGNORED01");
        body.as_object_mut().unwrap().remove("parcel_number");
        let unnumbered = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(body.clone())).await;
        assert_error(&unnumbered, StatusCode::CONFLICT, "no_number_series");

        for (request, field) in [
            (json!({"extension_digit": 10, "company_prefix": "0614141"}), "extension_digit"),
            (json!({"extension_digit": 1, "company_prefix": "614141"}), "company_prefix"),
            (json!({"extension_digit": 1, "company_prefix": "06141410000"}), "company_prefix"),
        ] {
            let refused = api.call(Method::PUT, &series, &api.merchant, Some(request)).await;
            assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(refused.body["error"]["details"]["field"], field);
        }
        let set = api
            .call(Method::PUT, &series, &api.merchant, Some(json!({"extension_digit": 1, "company_prefix": "0614141"})))
            .await;
        assert_eq!(set.status, StatusCode::OK, "{}", set.body);
        assert_eq!((set.body["kind"].as_str(), set.body["capacity"].as_u64()), (Some("sscc"), Some(1_000_000_000)));
        let foreign = format!("/v1/merchants/{}/number-series/sscc", uuid_like());
        assert_error(&api.call(Method::GET, &foreign, &api.merchant, None).await, StatusCode::NOT_FOUND, "not_found");
        assert_error(&api.call(Method::GET, &series, &api.carrier, None).await, StatusCode::FORBIDDEN, "forbidden");

        let issue = format!("/v1/merchants/{}/parcel-numbers", api.merchant_id);
        let issued = api.call(Method::POST, &issue, &api.merchant, Some(json!({"count": 3}))).await;
        assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
        let numbers: Vec<&str> =
            issued.body["numbers"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        assert_eq!(numbers, ["106141410000000002", "106141410000000019", "106141410000000026"]);
        for count in [0, 1001] {
            let refused = api.call(Method::POST, &issue, &api.merchant, Some(json!({"count": count}))).await;
            assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        // Announced without a number: the next one of the series, never one issued before.
        let announced = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(body)).await;
        assert_eq!(announced.status, StatusCode::CREATED, "{}", announced.body);
        assert_eq!(announced.body["parcel"]["parcel_number"], "106141410000000033");

        // A postal network's S10 range: operators only.
        let range = format!("/v1/networks/{}/number-series/s10", api.network_id);
        let s10 = json!({"service": "EW", "country": "FR", "first": 11272000, "last": 11272999});
        assert_error(
            &api.call(Method::PUT, &range, &api.merchant, Some(s10.clone())).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let set = api.call(Method::PUT, &range, &api.operator, Some(s10)).await;
        assert_eq!((set.status, set.body["capacity"].as_u64()), (StatusCode::OK, Some(1000)), "{}", set.body);
        let backwards = json!({"service": "EW", "country": "FR", "first": 5, "last": 4});
        let refused = api.call(Method::PUT, &range, &api.operator, Some(backwards)).await;
        assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let unknown = format!("/v1/networks/{}/number-series/s10", uuid_like());
        assert_error(&api.call(Method::GET, &unknown, &api.operator, None).await, StatusCode::NOT_FOUND, "not_found");
    }
}
