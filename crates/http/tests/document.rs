//! The OpenAPI document against the router built with it: every operation is answered by a route with
//! the parameters the document names, says who may call it and what it answers, and a key of a role it
//! does not list is refused before anything else is read. (Routes are only ever added with their
//! document entry, through `utoipa_axum::routes!`, so the router has no route the document lacks.)

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, assert_error, uuid_like};
use relais_http::doc::{operations, template_parameters};
use relais_store::testing;
use serde_json::{Value, json};

/// A concrete path for a template: ids that name nothing, a door label.
fn concrete(path: &str) -> String {
    path.replace("{id}", uuid_like()).replace("{door}", "Z99").replace("{token}", "RL1.nothing")
}

fn method(name: &str) -> Method {
    name.to_ascii_uppercase().parse().unwrap()
}

#[tokio::test]
async fn the_served_document_is_the_routers_and_says_everything_a_client_needs() {
    let api = Api::new(testing::sqlite()).await;
    let served = api.call(Method::GET, "/openapi.json", "", None).await;
    assert_eq!(served.status, StatusCode::OK);
    let doc = served.body;
    assert_eq!(doc, relais_http::openapi(), "the document served is the one built with the routes");
    let operations = operations(&doc);
    assert!(operations.len() >= 75, "{} operations", operations.len());
    for (method_name, path, operation) in &operations {
        let at = format!("{method_name} {path}");
        // Path parameters: exactly the template's, each required; query parameters never in the path;
        // headers only where a route reads one (`Idempotency-Key`).
        let parameters = operation.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut in_path: Vec<&str> =
            parameters.iter().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap()).collect();
        let mut in_template = template_parameters(path);
        in_path.sort_unstable();
        in_template.sort_unstable();
        assert_eq!(in_path, in_template, "{at}: path parameters");
        for parameter in &parameters {
            let header = parameter["in"] == "header" && parameter["name"] == "Idempotency-Key";
            assert!(parameter["in"] == "path" || parameter["in"] == "query" || header, "{at}: {parameter}");
            assert!(parameter["schema"].is_object(), "{at}: {parameter}");
            if parameter["in"] == "path" {
                assert_eq!(parameter["required"], true, "{at}: {parameter}");
            }
        }
        // Said for a person: what it does, and who may call it.
        assert!(operation["summary"].as_str().is_some_and(|s| s.len() > 5), "{at}: summary");
        let description = operation["description"].as_str().unwrap();
        assert!(description.contains("**Roles:**") || description.contains("**Public:**"), "{at}");
        // Every answer described; every error the envelope (or the recipient's HTML page).
        let responses = operation["responses"].as_object().unwrap();
        assert!(responses.keys().any(|s| s.starts_with('2') || s.starts_with('3')), "{at}: a success");
        for (status, response) in responses {
            assert!(response["description"].as_str().is_some_and(|d| !d.is_empty()), "{at} {status}");
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().unwrap();
                let json = &content.get("application/json").or(content.get("text/html")).unwrap()["schema"];
                assert!(
                    json["$ref"] == "#/components/schemas/ErrorEnvelope" || json["type"] == "string",
                    "{at} {status}: {json}"
                );
            }
        }
        let keyed = operation.get("security").is_some();
        if keyed {
            for status in ["401", "403"] {
                assert!(responses.contains_key(status), "{at}: {status}");
            }
            let roles = &operation["security"][0]["api_key"];
            assert!(roles.as_array().is_some_and(|r| !r.is_empty()), "{at}: roles listed");
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{at}: {status}");
            }
        }
        if responses.contains_key("429") {
            assert!(responses["429"]["headers"]["Retry-After"].is_object(), "{at}: Retry-After");
        }
        // The router answers it: not the unknown-route 404, not a 405, never a 5xx.
        let key = if keyed { api.operator.as_str() } else { "" };
        let reply = api.call(method(method_name), &concrete(path), key, None).await;
        let unknown_route = reply.body["error"]["message"].as_str().is_some_and(|m| m.starts_with("no such route"));
        assert!(!unknown_route && reply.status != StatusCode::METHOD_NOT_ALLOWED, "{at}: {}", reply.status);
        assert!(!reply.status.is_server_error(), "{at}: {} {}", reply.status, reply.body);
    }
    // Enumerations are listed in full, from the domain.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["ParcelState"]["enum"].as_array().unwrap().len(), 10);
    assert_eq!(schemas["ParcelView"]["properties"]["state"]["$ref"], "#/components/schemas/ParcelState");
    assert_eq!(schemas["Role"]["enum"], json!(["operator", "merchant", "carrier", "locker_device"]));
    let create_point = &schemas["CreatePointRequest"]["properties"];
    assert_eq!(create_point["kind"]["enum"], json!(["locker", "counter", "hub", "store", "post_office"]));
    assert_eq!(create_point["latitude"]["maximum"], 90.0);
}

#[tokio::test]
async fn a_key_whose_role_an_operation_does_not_list_is_refused_first() {
    let api = Api::new(testing::sqlite()).await;
    let doc = relais_http::openapi();
    let keys = [
        ("operator", api.operator.clone()),
        ("merchant", api.merchant.clone()),
        ("carrier", api.carrier.clone()),
        ("locker_device", api.device.clone()),
    ];
    let mut refused = 0;
    for (method_name, path, operation) in operations(&doc) {
        let Some(roles) = operation.get("security").map(|s| s[0]["api_key"].clone()) else { continue };
        for (role, key) in &keys {
            if roles.as_array().unwrap().iter().any(|r| r == role) {
                continue;
            }
            // A body that would not even parse: the role is refused before it is read.
            let r = api.raw(method(&method_name), &concrete(&path), key, Some("{"), Some("application/json")).await;
            assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
            assert_eq!(r.body["error"]["details"]["role"], *role, "{method_name} {path}");
            refused += 1;
        }
    }
    assert!(refused > 100, "{refused} refusals checked");
}
