//! API tests through the real router (no network): the lifecycle over HTTP, and bad input on every
//! endpoint: a 4xx with its stable code, never a 500, and the stored state unchanged.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Api, apis, assert_error, uuid_like};
use relais_store::testing;
use serde_json::{Value, json};
use tower::ServiceExt;

#[tokio::test]
async fn a_parcel_life_over_http() {
    for api in apis().await {
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("157035381410375177"))).await;
        assert_eq!(announced.status, StatusCode::CREATED, "{}", announced.body);
        assert_eq!(announced.body["reservation"]["label"], "A01");
        assert_eq!(announced.body["parcel"]["state"], "announced");
        let id = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        let code = announced.body["pickup_code"].as_str().unwrap().to_owned();
        assert_eq!(code.len(), 8);

        let scanned = api.call(Method::POST, &format!("/v1/parcels/{id}/scan"), &api.carrier, None).await;
        assert_eq!(scanned.body["state"], "in_transit", "{}", scanned.body);
        let deposit = api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
        assert_eq!(deposit.status, StatusCode::OK, "{}", deposit.body);
        assert_eq!(deposit.body["outcome"], "deposited");
        assert_eq!(deposit.body["compartment"]["label"], "A01");

        let path = format!("/v1/points/{}/pickups", api.locker_id);
        let collected = api.call(Method::POST, &path, &api.device, Some(json!({"code": code}))).await;
        assert_eq!(collected.status, StatusCode::OK, "{}", collected.body);
        assert_eq!(collected.body["parcel"]["state"], "collected");
        assert_eq!(collected.body["compartment"]["label"], "A01");
        assert_eq!(collected.body["compartment"]["state"], "available");

        // The same code again at once (a double tap) is told the parcel is collected, not counted.
        let reused = api.call(Method::POST, &path, &api.device, Some(json!({"code": code}))).await;
        assert_error(&reused, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(reused.body["error"]["details"]["state"], "collected");

        let events = api.call(Method::GET, &format!("/v1/parcels/{id}/events"), &api.merchant, None).await;
        let kinds: Vec<&str> = events.body.as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["announced", "in_transit", "deposited", "collected"]);
        assert!(announced.headers.contains_key("x-request-id"), "every response carries a request id");
    }
}

#[tokio::test]
async fn invalid_transitions_are_409_and_change_nothing() {
    for api in apis().await {
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("PARCELT001"))).await;
        let id = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        let code = announced.body["pickup_code"].as_str().unwrap().to_owned();

        let early =
            api.call(Method::POST, &format!("/v1/parcels/{id}/pickup"), &api.device, Some(json!({"code": code}))).await;
        assert_error(&early, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(early.body["error"]["details"]["state"], "announced");
        let ret = api.call(Method::POST, &format!("/v1/parcels/{id}/return-collection"), &api.carrier, None).await;
        assert_error(&ret, StatusCode::CONFLICT, "invalid_transition");

        api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
        let twice = api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
        assert_error(&twice, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(twice.body["error"]["details"]["action"], "deposit");
        let extend = api.call(Method::POST, &format!("/v1/parcels/{id}/extend"), &api.merchant, None).await;
        assert_error(&extend, StatusCode::CONFLICT, "invalid_transition");
        assert_eq!(extend.body["error"]["details"]["reason"], "too_early");

        api.call(Method::POST, &format!("/v1/parcels/{id}/pickup"), &api.device, Some(json!({"code": code}))).await;
        let before = api.call(Method::GET, &format!("/v1/parcels/{id}"), &api.operator, None).await;
        assert_eq!(before.body["state"], "collected");
        for action in ["return-collection", "cancel", "deposit", "extend", "return-to-sender"] {
            let r = api.call(Method::POST, &format!("/v1/parcels/{id}/{action}"), &api.operator, None).await;
            assert_error(&r, StatusCode::CONFLICT, "invalid_transition");
        }
        let incident = api
            .call(Method::POST, &format!("/v1/parcels/{id}/incidents"), &api.operator, Some(json!({"kind": "lost"})))
            .await;
        assert_error(&incident, StatusCode::CONFLICT, "invalid_transition");
        let after = api.call(Method::GET, &format!("/v1/parcels/{id}"), &api.operator, None).await;
        assert_eq!(before.body, after.body, "state unchanged");
    }
}

#[tokio::test]
async fn malformed_bodies_get_their_codes_and_store_nothing() {
    for api in apis().await {
        let m = api.merchant.clone();
        let count = api.parcel_count().await;
        let cases: Vec<(Option<&str>, Option<&str>, StatusCode, &str)> = vec![
            (Some("{not json"), Some("application/json"), StatusCode::BAD_REQUEST, "malformed_json"),
            (Some(r#"{"point_id"#), Some("application/json"), StatusCode::BAD_REQUEST, "malformed_json"),
            (None, Some("application/json"), StatusCode::BAD_REQUEST, "malformed_json"),
            (
                Some(r#"{"point_id": 5}"#),
                Some("application/json"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            (Some("{}"), Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            (Some(r#"{"x": 1}"#), Some("text/plain"), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            (Some(r#"{"x": 1}"#), None, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ];
        for (body, content_type, status, code) in cases {
            let r = api.raw(Method::POST, "/v1/parcels", &m, body, content_type).await;
            assert_error(&r, status, code);
        }
        // Wrong types, missing and unknown fields, values out of range, each named in the error.
        let mut wrong_type = api.announce_body("PARCELW001");
        wrong_type["weight_g"] = json!("heavy");
        let mut missing = api.announce_body("PARCELW002");
        missing.as_object_mut().unwrap().remove("recipient");
        let mut unknown = api.announce_body("PARCELW003");
        unknown["colour"] = json!("red");
        let mut bad_number = api.announce_body("106141412345678909");
        bad_number["weight_g"] = json!(800);
        let mut no_contact = api.announce_body("PARCELW005");
        no_contact["recipient"] = json!({"name": "Ana"});
        let mut negative = api.announce_body("PARCELW006");
        negative["dimensions_mm"]["height"] = json!(-4);
        let mut bad_phone = api.announce_body("PARCELW007");
        bad_phone["recipient"]["phone"] = json!("0612345678");
        for (body, needle) in [
            (wrong_type, "invalid type"),
            (missing, "recipient"),
            (unknown, "colour"),
            (bad_number, "check digit"),
            (no_contact, "phone or an e-mail"),
            (negative, "dimensions_mm"),
            (bad_phone, "phone"),
        ] {
            let r = api.call(Method::POST, "/v1/parcels", &m, Some(body)).await;
            assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert!(r.body["error"]["message"].as_str().unwrap().contains(needle), "{needle}: {}", r.body);
        }
        // A point in a timezone that the tz database does not know.
        let point = json!({
            "network_id": api.network_id, "external_id": "TZ1", "kind": "counter", "name": "Tabac",
            "address_line1": "1 rue Neuve", "postcode": "69002", "city": "Lyon", "country": "FR",
            "latitude": 45.757, "longitude": 4.832, "timezone": "Europe/Lyon"
        });
        let r = api.call(Method::POST, "/v1/points", &api.operator, Some(point.clone())).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(r.body["error"]["message"].as_str().unwrap().contains("timezone"), "{}", r.body);
        // Opening hours and closures that cannot be read, each refused with what is wrong.
        let mut point = point;
        point["timezone"] = json!("Europe/Paris");
        for (field, value, needle) in [
            ("opening_hours", json!("lundi 9h-12h"), "line:column 1:1"),
            ("opening_hours", json!("Nov 31 10:00-12:00"), "does not exist"),
            ("opening_hours", json!(42), "invalid type"),
            ("closures", json!([{"first": "2026-08-16", "last": "2026-08-03"}]), "ends before it starts"),
            ("closures", json!([{"first": "16/08/2026", "last": "2026-08-20"}]), "not a date"),
            ("closures", json!([{"first": "2026-08-16"}]), "last"),
        ] {
            let mut body = point.clone();
            body[field] = value;
            let r = api.call(Method::POST, "/v1/points", &api.operator, Some(body)).await;
            assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert!(r.body["error"]["message"].as_str().unwrap().contains(needle), "{needle}: {}", r.body);
        }
        // The same point with valid hours: stored in canonical form, closures echoed.
        point["opening_hours"] = json!("Mo-Fr 09:00-19:00 ; PH off");
        point["closures"] = json!([{"first": "2026-08-03", "last": "2026-08-16"}]);
        let r = api.call(Method::POST, "/v1/points", &api.operator, Some(point)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["opening_hours"], json!("Mo-Fr 09:00-19:00; PH closed"));
        assert_eq!(r.body["closures"], json!([{"first": "2026-08-03", "last": "2026-08-16"}]));
        let oversized = format!(r#"{{"name": "{}"}}"#, "x".repeat(10_000));
        let r = api.raw(Method::POST, "/v1/parcels", &m, Some(&oversized), Some("application/json")).await;
        assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        assert_eq!(api.parcel_count().await, count, "nothing was stored");
    }
}

#[tokio::test]
async fn unknown_ids_auth_and_roles() {
    for api in apis().await {
        let unknown = "01a21ba7-0000-7000-8000-000000000000";
        for path in [
            format!("/v1/parcels/{unknown}"),
            format!("/v1/parcels/{unknown}/events"),
            "/v1/parcels/not-a-uuid".to_owned(),
            format!("/v1/points/{unknown}"),
            format!("/v1/networks/{unknown}"),
        ] {
            assert_error(&api.call(Method::GET, &path, &api.operator, None).await, StatusCode::NOT_FOUND, "not_found");
        }
        for action in ["scan", "deposit", "extend", "return-collection", "return-to-sender", "cancel"] {
            let r = api.call(Method::POST, &format!("/v1/parcels/{unknown}/{action}"), &api.operator, None).await;
            assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        }
        let mut body = api.announce_body("PARCELU001");
        body["point_id"] = json!(unknown);
        assert_error(
            &api.call(Method::POST, "/v1/parcels", &api.merchant, Some(body)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let point = json!({"network_id": unknown, "external_id": "X", "kind": "counter", "name": "X",
            "address_line1": "x", "postcode": "1", "city": "x", "country": "FR", "latitude": 1.0, "longitude": 1.0});
        assert_error(
            &api.call(Method::POST, "/v1/points", &api.operator, Some(point)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );

        assert_error(&api.call(Method::GET, "/v1/parcels", "", None).await, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_error(
            &api.call(Method::GET, "/v1/parcels", "rk_operator_forged", None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let r = api.call(Method::POST, "/v1/networks", &api.merchant, Some(json!({"name": "mine"}))).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        let r = api.call(Method::POST, "/v1/parcels", &api.carrier, Some(api.announce_body("PARCELU002"))).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        let r = api.call(Method::POST, "/v1/jobs/sweep", &api.merchant, None).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        assert_error(
            &api.call(Method::GET, "/v1/nowhere", &api.operator, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &api.call(Method::DELETE, "/v1/parcels", &api.operator, None).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
        let r = api.call(Method::GET, "/v1/parcels?limit=abc", &api.operator, None).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let r = api.call(Method::GET, "/v1/parcels?state=lost_in_space", &api.operator, None).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
}

#[tokio::test]
async fn no_fitting_compartment_and_brute_force() {
    for api in apis().await {
        let mut big = api.announce_body("PARCELBIG");
        big["dimensions_mm"] = json!({"length": 900, "width": 900, "height": 900});
        let r = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(big)).await;
        assert_error(&r, StatusCode::CONFLICT, "no_fitting_compartment");
        assert_eq!(r.body["error"]["details"]["reason"], "too_large");

        let path = format!("/v1/points/{}/pickups", api.locker_id);
        let limit = api.app.limits().point_attempts.failures_max;
        for _ in 0..limit {
            let r = api.call(Method::POST, &path, &api.device, Some(json!({"code": "00000001"}))).await;
            assert_error(&r, StatusCode::FORBIDDEN, "invalid_pickup_code");
        }
        let r = api.call(Method::POST, &path, &api.device, Some(json!({"code": "00000001"}))).await;
        assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert!(r.body["error"]["details"]["retry_after"].is_string());
        assert_eq!(r.body["error"]["details"]["what"], "pickup_codes");
        let probe = api.app.limits().point_attempts.probe_seconds;
        assert_eq!(r.body["error"]["details"]["retry_after_seconds"], probe);
        assert_eq!(r.headers["retry-after"], probe.to_string().as_str(), "a 429 says when to come back");
        let r = api.call(Method::POST, &path, &api.device, Some(json!({"code": "1", "qr_token": "x"}))).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
}

/// Garbage of every shape on every route: always a 4xx with the envelope, never a 5xx.
#[tokio::test]
async fn no_input_produces_a_server_error() {
    let api = Api::new(testing::sqlite()).await;
    let id = "01a21ba7-0000-7000-8000-000000000000";
    let routes = [
        (Method::POST, "/v1/networks".to_owned()),
        (Method::POST, "/v1/merchants".to_owned()),
        (Method::POST, "/v1/points".to_owned()),
        (Method::POST, "/v1/api-keys".to_owned()),
        (Method::POST, "/v1/parcels".to_owned()),
        (Method::POST, format!("/v1/points/{}/pickups", api.locker_id)),
        (Method::POST, format!("/v1/parcels/{id}/pickup")),
        (Method::POST, format!("/v1/parcels/{id}/cancel")),
        (Method::POST, format!("/v1/parcels/{id}/incidents")),
        (Method::GET, "/v1/parcels?after=zzz".to_owned()),
        (Method::GET, "/v1/points?limit=-1".to_owned()),
    ];
    let bodies = [
        "",
        "null",
        "0",
        "\"x\"",
        "[]",
        "{}",
        "{\"name\": null}",
        "{\"name\": \"\"}",
        "{\"name\": \"\\u0000\"}",
        "{\"kind\": \"spaceship\"}",
        "{\"code\": \"abc\"}",
        "{\"qr_token\": \"\"}",
        "{\"role\": \"root\", \"label\": \"x\"}",
        "{\"latitude\": 1e400}",
        "\u{feff}{}",
        "{\"a\":",
        "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
    ];
    for (method, path) in &routes {
        for body in bodies {
            for key in [&api.operator, &api.merchant, &api.device] {
                let r = api.raw(method.clone(), path, key, Some(body), Some("application/json")).await;
                assert!(r.status.is_client_error(), "{method} {path} {body:?}: {} {}", r.status, r.body);
                assert!(r.body["error"]["code"].is_string(), "{method} {path} {body:?}: {}", r.body);
            }
        }
    }
}

#[tokio::test]
async fn operations_endpoints() {
    let api = Api::new(testing::sqlite()).await;
    let health = api.call(Method::GET, "/healthz", "", None).await;
    assert_eq!(health.body["status"], "ok");
    let ready = api.call(Method::GET, "/readyz", "", None).await;
    assert_eq!(ready.body, json!({"status": "ready", "backend": "sqlite"}));
    let doc = api.call(Method::GET, "/openapi.json", "", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    for path in ["/v1/parcels", "/v1/parcels/{id}/deposit", "/v1/points/{id}/pickups", "/v1/jobs/sweep"] {
        assert!(doc.body["paths"][path].is_object(), "{path} documented");
    }
    assert!(doc.body["components"]["schemas"]["ErrorEnvelope"].is_object());
    let docs = api.raw(Method::GET, "/docs/", "", None, None).await;
    assert_eq!(docs.status, StatusCode::OK);
    api.call(Method::GET, "/v1/parcels", &api.operator, None).await;
    // Two reads of the locker's doors: the first from the database, the second from the writer's copy.
    for _ in 0..2 {
        let point = api.call(Method::GET, &format!("/v1/points/{}", api.locker_id), &api.operator, None).await;
        assert_eq!(point.status, StatusCode::OK, "{:?}", point.body);
    }
    let created = api.call(Method::POST, "/v1/networks", &api.operator, Some(json!({"name": "metered"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let metrics = api.call(Method::GET, "/metrics", "", None).await;
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains("relais_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/v1/parcels\""), "{text}");
    // The store's own figures: commands by outcome and transactions (group commit on SQLite).
    assert!(text.contains("relais_store_commands_total{backend=\"sqlite\",outcome=\"committed\"}"), "{text}");
    assert!(text.contains("relais_store_transactions_total{backend=\"sqlite\"}"), "{text}");
    assert!(text.contains("relais_store_transaction_seconds"), "{text}");
    for outcome in ["hit", "miss"] {
        let line = format!("relais_store_door_copy_reads_total{{backend=\"sqlite\",outcome=\"{outcome}\"}}");
        assert!(text.contains(&line), "{line} in {text}");
    }
    let sweep = api.call(Method::POST, "/v1/jobs/sweep", &api.operator, None).await;
    assert_eq!(sweep.body, json!({"expired": 0, "reservations_released": 0}));
}

/// Imports over HTTP: the file as the body, a report back; a refused file is 422 `import_refused` with
/// the report and the registry unchanged; bad parameters are 422 `validation_failed`.
#[tokio::test]
async fn imports_over_http_report_and_refuse_whole_files() {
    for api in apis().await {
        let op = api.operator.clone();
        let path = |query: &str| format!("/v1/networks/{}/imports?{query}", api.network_id);
        let csv = "external_id,kind,name,address_line1,postcode,city,country,latitude,longitude,opening_hours\n\
                   C1,counter,Tabac,1 rue A,69001,Lyon,FR,45.7640,4.8357,Mo-Sa 09:00-19:00\n\
                   C2,counter,Presse,2 rue B,69002,Lyon,FR,45.7500,4.8300,\n";
        // The network already has L1 (created through the API): a file without it would remove it.
        let refused =
            api.raw(Method::POST, &path("format=csv&source=daily.csv"), &op, Some(csv), Some("text/csv")).await;
        assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "import_refused");
        assert!(refused.body["error"]["message"].as_str().unwrap().contains("would remove 1 of the network's 1"));
        assert_eq!(refused.body["error"]["details"]["status"], "refused");
        let points = api.call(Method::GET, &format!("/v1/points?network_id={}", api.network_id), &op, None).await;
        assert_eq!(points.body["items"].as_array().unwrap().len(), 1, "nothing applied");
        // The refused file is an operator's alert in the console.
        let alerts = api.app.alerts(&relais_app::Caller::system()).await.unwrap();
        let refusal = alerts.open.iter().find(|a| a.kind == relais_domain::alert::AlertKind::ImportRefused).unwrap();
        assert!(refusal.detail.starts_with("daily.csv ("), "{}", refusal.detail);

        let dry = path("format=csv&dry_run=true&removal_share_max=1");
        let dry = api.raw(Method::POST, &dry, &op, Some(csv), Some("text/csv")).await;
        assert_eq!((dry.status, &dry.body["status"]), (StatusCode::OK, &json!("dry_run")), "{}", dry.body);
        assert_eq!(
            dry.body["changes"],
            json!({"added": 2, "changed": 0, "moved": 0, "closed": 0, "reopened": 0, "removed": 1})
        );

        let applied = path("format=csv&removal_share_max=1&source=daily.csv");
        let applied = api.raw(Method::POST, &applied, &op, Some(csv), Some("text/csv")).await;
        assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
        let list = api.call(Method::GET, &path("limit=10"), &op, None).await;
        let statuses: Vec<&str> =
            list.body["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["applied", "refused"]);

        // The history of the removed locker says which import closed it.
        let history = api.call(Method::GET, &format!("/v1/points/{}/history", api.locker_id), &op, None).await;
        let changes = history.body["changes"].as_array().unwrap();
        assert_eq!(changes.iter().map(|c| c["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["added", "removed"]);
        assert_eq!(changes[1]["import_id"], applied.body["id"]);

        for (query, body, field) in [
            ("format=xml", csv, "format"),
            ("format=csv&encoding=cp1252", csv, "encoding"),
            ("format=csv&error_share_max=2", csv, "error_share_max"),
        ] {
            let reply = api.raw(Method::POST, &path(query), &op, Some(body), Some("text/csv")).await;
            assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.body["error"]["details"]["field"], field, "{query}");
        }
        let missing_format = api.raw(Method::POST, &path("dry_run=true"), &op, Some(csv), Some("text/csv")).await;
        assert_error(&missing_format, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let empty = api.raw(Method::POST, &path("format=csv"), &op, Some(""), Some("text/csv")).await;
        assert_error(&empty, StatusCode::UNPROCESSABLE_ENTITY, "import_refused");
        assert_eq!(empty.body["error"]["message"], "the file is empty");
        let latin1 = "external_id,kind,name,address_line1,postcode,city,country,latitude,longitude\nC9,counter,Caf\u{e9},x,1,y,FR,45,4\n";
        let bytes = latin1.chars().map(|c| c as u8).collect::<Vec<u8>>();
        let request = Request::builder()
            .method(Method::POST)
            .uri(path("format=csv"))
            .header("authorization", format!("Bearer {op}"))
            .body(Body::from(bytes))
            .unwrap();
        let response = api.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let unknown = format!("/v1/networks/{}/imports?format=csv", uuid_like());
        assert_error(
            &api.raw(Method::POST, &unknown, &op, Some(csv), Some("text/csv")).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let merchant =
            api.raw(Method::POST, &path("format=csv"), &api.merchant.clone(), Some(csv), Some("text/csv")).await;
        assert_error(&merchant, StatusCode::FORBIDDEN, "forbidden");

        // An XML file nested 100,000 levels deep (700 KB, within the import limit): refused with its line,
        // dry run or not, and the server answers the next request.
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        for query in ["format=mondial_relay&dry_run=true", "format=dpd"] {
            let reply = api.raw(Method::POST, &path(query), &op, Some(&deep), Some("application/xml")).await;
            assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "import_refused");
            let message = reply.body["error"]["message"].as_str().unwrap();
            assert!(message.contains("nested more than 64 levels"), "{message}");
        }
        assert_eq!(api.call(Method::GET, "/healthz", &op, None).await.status, StatusCode::OK);
    }
}

/// Search and check over HTTP, and their bad input.
#[tokio::test]
async fn search_and_check_over_http() {
    for api in apis().await {
        api.app.rebuild_index().await.unwrap();
        let m = api.merchant.clone();
        let found = api.call(Method::GET, "/v1/points/search?lat=45.76&lon=4.83&radius_m=5000", &m, None).await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.body);
        let results = found.body["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0]["id"], json!(api.locker_id));
        assert_eq!(results[0]["capacity"], json!({"level": "few", "free": 2}));
        assert_eq!(results[0]["today"]["state"], "unknown");
        let by_city = api.call(Method::GET, "/v1/points/search?city=Lyon", &m, None).await;
        assert_eq!(by_city.body["origin"]["label"], "Lyon", "{}", by_city.body);

        // A parcel too big for the locker's doors: refused with the reason, no fallback in this network.
        let big = "length_mm=700&width_mm=600&height_mm=500&weight_g=1000";
        let check = api.call(Method::GET, &format!("/v1/points/{}/check?{big}", api.locker_id), &m, None).await;
        assert_eq!(check.status, StatusCode::OK, "{}", check.body);
        assert_eq!(check.body["suits"], false);
        assert_eq!(check.body["refusals"][0]["code"], "too_large");
        assert_eq!(check.body["fallbacks"], json!([]));
        let small = "length_mm=300&width_mm=200&height_mm=50&weight_g=1000&free_capacity=true&arrival=2026-11-30";
        let ok = api.call(Method::GET, &format!("/v1/points/{}/check?{small}", api.locker_id), &m, None).await;
        assert_eq!((ok.body["suits"].as_bool(), ok.body["refusals"].as_array().map(Vec::len)), (Some(true), Some(0)));

        for (query, status, code) in [
            ("lat=95&lon=4.83", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=45.7", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=45.7&lon=4.8&postcode=69001", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("postcode=99999", StatusCode::UNPROCESSABLE_ENTITY, "place_not_found"),
            ("city=Atlantis", StatusCode::UNPROCESSABLE_ENTITY, "place_not_found"),
            ("postcode=10115&country=DE", StatusCode::UNPROCESSABLE_ENTITY, "place_not_found"),
            ("lat=45.7&lon=4.8&radius_m=500000", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=45.7&lon=4.8&limit=0", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=45.7&lon=4.8&kind=kiosk", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=45.7&lon=4.8&network_id=nope", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=45.7&lon=4.8&weight_g=100", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=45.7&lon=4.8&arrival=30/11/2026", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            // The test clock says 27 November 2026, 08:00 UTC: the 26th is past everywhere.
            ("lat=45.7&lon=4.8&arrival=2026-11-25", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=45.7&lon=4.8&open_share_min=1.5", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=north&lon=4.8", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("lat=45.7&lon=4.8&colour=red", StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        ] {
            let reply = api.call(Method::GET, &format!("/v1/points/search?{query}"), &m, None).await;
            assert_error(&reply, status, code);
        }
        let place = api.call(Method::GET, "/v1/points/search?postcode=99999", &m, None).await;
        assert_eq!(place.body["error"]["details"], json!({"reason": "unknown_postcode", "postcode": "99999"}));
        let unknown = api.call(Method::GET, &format!("/v1/points/{}/check", uuid_like()), &m, None).await;
        assert_error(&unknown, StatusCode::NOT_FOUND, "not_found");
        let same = api.call(Method::GET, &format!("/v1/points/{}/same-place", api.locker_id), &m, None).await;
        assert_eq!(same.body["points"], json!([]));
        assert_error(
            &api.call(Method::GET, "/v1/points/search?lat=45&lon=4", "", None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
    }
}

/// The widget's page and scripts are served with their types and a strict content policy; its search
/// is public and read-only, with the same bad-input answers as the API.
#[tokio::test]
async fn the_widget_is_served_and_searches_without_a_key() {
    for api in apis().await {
        api.app.rebuild_index().await.unwrap();
        for (path, content_type) in [
            ("/widget", "text/html; charset=utf-8"),
            ("/widget.js", "text/javascript; charset=utf-8"),
            ("/widget/app.js", "text/javascript; charset=utf-8"),
            ("/widget/widget.css", "text/css; charset=utf-8"),
            ("/widget/demo", "text/html; charset=utf-8"),
        ] {
            let request = Request::builder().uri(path).body(Body::empty()).unwrap();
            let response = api.router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()["content-type"], content_type, "{path}");
            assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        }
        let request = Request::builder().uri("/widget").body(Body::empty()).unwrap();
        let response = api.router.clone().oneshot(request).await.unwrap();
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors *"), "{csp}");
        assert!(csp.contains("img-src 'self' data:;"), "no tile service, no other origin: {csp}");
        let page = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert!(!String::from_utf8_lossy(&page).contains("leaflet"), "the plain drawing needs no map library");
        // With the operator's tile service: the map library and the tiles' origin, nothing else.
        let tiles = relais_app::MapTiles {
            url: "https://tiles.example.org/{z}/{x}/{y}.png".into(),
            attribution: "© OpenStreetMap contributors".into(),
        };
        let router =
            relais_http::router(api.app.clone().with_map_tiles(Some(tiles)), relais_http::HttpConfig::default());
        let response = router.oneshot(Request::builder().uri("/widget").body(Body::empty()).unwrap()).await.unwrap();
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(
            csp.contains("img-src 'self' data: https://tiles.example.org;") && csp.contains("frame-ancestors *"),
            "{csp}"
        );
        let page = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let page = String::from_utf8_lossy(&page);
        assert!(page.contains("<script src=\"/assets/leaflet/leaflet.js\"></script>"), "{page}");
        assert!(page.contains("data-tiles=\"https://tiles.example.org/{z}/{x}/{y}.png\""), "{page}");

        let found = api.call(Method::GET, "/widget/points?lat=45.757&lon=4.832", "", None).await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.body);
        assert_eq!(found.body["results"][0]["id"], json!(api.locker_id));
        assert_error(
            &api.call(Method::GET, "/widget/points?postcode=99999", "", None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "place_not_found",
        );
        assert_error(
            &api.call(Method::GET, "/widget/points?lat=45", "", None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        // Public, so limited per client address (6 a minute here): 3 searches above, 3 more, then 429.
        for _ in 0..3 {
            assert_eq!(
                api.call(Method::GET, "/widget/points?lat=45.757&lon=4.832", "", None).await.status,
                StatusCode::OK
            );
        }
        let limited = api.call(Method::GET, "/widget/points?lat=45.757&lon=4.832", "", None).await;
        assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let retry = limited.body["error"]["details"]["retry_after_seconds"].as_u64().unwrap();
        assert!((1..=10).contains(&retry), "one token every 10 s: {retry}");
        // Read-only: the widget's routes take no other method.
        let post = api.call(Method::POST, "/widget/points", "", Some(json!({}))).await;
        assert_error(&post, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    }
}

/// A locker's occupancy over HTTP: per size class, the alert, the rotation suggestion.
#[tokio::test]
async fn occupancy_over_http() {
    for api in apis().await {
        api.app.rebuild_index().await.unwrap();
        let path = format!("/v1/points/{}/occupancy", api.locker_id);
        let reply = api.call(Method::GET, &path, &api.operator.clone(), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["rate"], json!(0.0));
        assert_eq!(reply.body["threshold"], json!(0.85));
        assert_eq!(
            reply.body["classes"][0],
            json!({"size": "A", "total": 1, "occupied": 0, "reserved": 0, "available": 1, "rate": 0.0})
        );
        assert_eq!(reply.body["alert_raised_at"], Value::Null);
        assert_eq!(reply.body["rotation"], json!({"expired_parcels": [], "nearby_with_room": []}));
        let unknown =
            api.call(Method::GET, &format!("/v1/points/{}/occupancy", uuid_like()), &api.operator.clone(), None).await;
        assert_error(&unknown, StatusCode::NOT_FOUND, "not_found");
        assert_error(
            &api.call(Method::GET, "/v1/points/nope/occupancy", &api.operator.clone(), None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(&api.call(Method::GET, &path, "", None).await, StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

/// KPIs over HTTP: JSON and CSV, operators only, bad periods refused.
#[tokio::test]
async fn kpis_over_http() {
    for api in apis().await {
        let op = api.operator.clone();
        let reply = api.call(Method::GET, "/v1/kpis?from=2026-11-01&to=2026-11-30", &op, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["total"]["deposited"], 0);
        assert_eq!(reply.body["total"]["pickup_rate_window"], Value::Null, "no deposit, no rate");
        assert_eq!(reply.body["days"], json!([]));
        let csv = api.raw(Method::GET, "/v1/kpis?from=2026-11-01&to=2026-11-30&format=csv", &op, None, None).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
        for (query, field) in [
            ("from=2026-11-30&to=2026-11-01", "to"),
            ("from=2026-01-01&to=2027-06-01", "to"),
            ("from=01/11/2026&to=2026-11-30", "from"),
            ("from=2026-11-01&to=2026-11-30&format=xml", "format"),
        ] {
            let reply = api.call(Method::GET, &format!("/v1/kpis?{query}"), &op, None).await;
            assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.body["error"]["details"]["field"], field, "{query}");
        }
        assert_error(
            &api.call(Method::GET, "/v1/kpis?from=2026-11-01", &op, None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let merchant =
            api.call(Method::GET, "/v1/kpis?from=2026-11-01&to=2026-11-30", &api.merchant.clone(), None).await;
        assert_error(&merchant, StatusCode::FORBIDDEN, "forbidden");
    }
}

/// An operator forces the expiry of a waiting parcel, with a reason kept on its event; nobody else may,
/// a reason is required, and a parcel not waiting cannot be expired.
#[tokio::test]
async fn operators_force_an_expiry_with_a_reason() {
    for api in apis().await {
        let announced =
            api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("157035381410375177"))).await;
        let id = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/parcels/{id}/force-expiry");
        let op = api.operator.clone();
        let early = api.call(Method::POST, &path, &op, Some(json!({"reason": "point closing"}))).await;
        assert_error(&early, StatusCode::CONFLICT, "invalid_transition");
        api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
        let merchant = api.call(Method::POST, &path, &api.merchant.clone(), Some(json!({"reason": "x"}))).await;
        assert_error(&merchant, StatusCode::FORBIDDEN, "forbidden");
        assert_error(
            &api.call(Method::POST, &path, &op, Some(json!({}))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_error(
            &api.call(Method::POST, &path, &op, Some(json!({"reason": " "}))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let forced = api.call(Method::POST, &path, &op, Some(json!({"reason": "point closing"}))).await;
        assert_eq!((forced.status, &forced.body["state"]), (StatusCode::OK, &json!("expired")), "{}", forced.body);
        let events = api.call(Method::GET, &format!("/v1/parcels/{id}/events"), &op, None).await;
        let last = events.body.as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (&last["event"], &last["actor"], &last["reason"]),
            (&json!("expired"), &json!("operator"), &json!("point closing"))
        );
    }
}

/// Hours as people write them are read as the reference reads them, stored in the syntax, and said:
/// in the created point's answer, and in an import's report with the row's line and id.
#[tokio::test]
async fn tolerated_hours_are_stored_normalised_and_reported() {
    let api = Api::new(testing::sqlite()).await;
    let point = json!({"network_id": api.network_id, "external_id": "H1", "kind": "counter", "name": "Tabac",
        "address_line1": "1 rue", "postcode": "69001", "city": "Lyon", "country": "FR",
        "latitude": 45.76, "longitude": 4.83, "opening_hours": "Mon - Fri 9-18"});
    let created = api.call(Method::POST, "/v1/points", &api.operator, Some(point)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["opening_hours"], "Mo-Fr 09:00-18:00");
    let warnings = created.body["warnings"].as_array().unwrap();
    assert!(warnings.last().unwrap().as_str().unwrap().ends_with("stored as \"Mo-Fr 09:00-18:00\""), "{warnings:?}");
    let mut ambiguous = json!({"network_id": api.network_id, "external_id": "H2", "kind": "counter", "name": "Tabac",
        "address_line1": "1 rue", "postcode": "69001", "city": "Lyon", "country": "FR",
        "latitude": 45.76, "longitude": 4.83, "opening_hours": "Mo 10:00-12:00 14:00-18:00"});
    let refused = api.call(Method::POST, "/v1/points", &api.operator, Some(ambiguous.clone())).await;
    assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("line:column 1:"), "{}", refused.body);
    ambiguous["opening_hours"] = json!("Mo 10:00-12:00,14:00-18:00");
    let valid = api.call(Method::POST, "/v1/points", &api.operator, Some(ambiguous)).await;
    assert_eq!(valid.body["warnings"], json!([]), "{}", valid.body);

    let csv = "external_id,kind,name,address_line1,postcode,city,country,latitude,longitude,opening_hours\n\
               C9,counter,Presse,2 rue B,69002,Lyon,FR,45.75,4.83,10am-7pm\n";
    // A dry run: the file is not the whole network.
    let path =
        format!("/v1/networks/{}/imports?format=csv&source=hours.csv&dry_run=true&removal_share_max=1", api.network_id);
    let report = api.raw(Method::POST, &path, &api.operator, Some(csv), Some("text/csv")).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let problems: Vec<&str> = report.body["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(
        problems.iter().any(|p| p.starts_with("warning: line 2 (C9): opening_hours \"10am-7pm\"")
            && p.contains("`10am` read as `10:00`")),
        "{problems:?}"
    );
}
