//! The OpenAPI document: written beside each handler (`#[utoipa::path]`), gathered with the routes
//! themselves (`utoipa_axum`, so a route cannot exist without its entry), then completed here with what
//! every operation shares: the errors its extractors can answer (401 and 403 for a keyed route, 400, 413,
//! 415 and 422 for a body, 422 for a query, 404 for an id in the path, 503 for the database), the
//! `Retry-After` header of a 429, and who may call it, read from the operation's security scopes.
//!
//! Those scopes are also what the API enforces first: [`RoleGate`] is built from the finished document,
//! and a key whose role the operation does not list is refused with `403 forbidden` before its body is
//! read. The document cannot promise a role the router refuses, or the reverse.

use std::collections::HashMap;

use axum::http::Method;
use relais_app::Role;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::ErrorEnvelope;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "relais API",
        description = "Pickup points, lockers and the parcels that go through them.\n\n\
            Authenticate with `Authorization: Bearer <API key>` (or `X-Api-Key`). Each operation says which \
            roles may call it; a key of another role gets `403 forbidden`, and a parcel a key may not see \
            answers `404 not_found`. Errors are `{\"error\": {\"code\", \"message\", \"details\"}}` with the \
            stable codes of docs/api/errors.md. Ids are UUIDs, instants RFC 3339 in UTC, lengths in \
            millimetres and masses in grams. Lists take `limit` (1 to 500, default 50) and `after` (the \
            previous page's `next_cursor`).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "operations", description = "Health, metrics, the caller, jobs, KPIs and the audit log."),
        (name = "network", description = "Networks, merchants, carriers, points and API keys: what an operator sets up."),
        (name = "parcels", description = "A parcel's life: announced by its merchant, carried, deposited, collected or sent back."),
        (name = "counters", description = "Partner shop counters: parcels onto the shelf, handed over with an identity check."),
        (name = "lockers", description = "Couriers at a locker (codes, drop-off and return sessions, proofs of deposit) and operators' door actions."),
        (name = "device", description = "The locker's own controller: heartbeats, door commands and events, offline collections."),
        (name = "points", description = "Search and check of pickup points, their history, occupancy and imports of operators' files."),
        (name = "recipients", description = "The recipient's page behind the link in their message (HTML)."),
        (name = "orders", description = "Merchants' orders: parcels announced to the chosen point or a fallback, idempotent, split shipments."),
        (name = "tracking", description = "Carrier tracking: a parcel followed at its carrier, its timeline with relais' own events, carriers' signed pushes."),
        (name = "console", description = "The operator console in the browser: sign-in with an account and a session cookie."),
        (name = "claims", description = "Claims against carriers: late-delivery compensation on the carrier's scale, lost and damaged parcels with their evidence, the carriers' answers, claim files."),
        (name = "labels", description = "What a merchant prints: labels (ZPL, PDF), packing requests (PDF, CSV), invoice data with the point's code."),
        (name = "notifications", description = "Where events go (signed webhooks, alert addresses), a parcel's messages and their delivery log, resends."),
        (name = "pages", description = "The checkout widget and the counter page (HTML, scripts, styles)."),
    ),
    components(schemas(ErrorEnvelope)),
    modifiers(&ApiKeyScheme),
)]
pub struct ApiDoc;

struct ApiKeyScheme;

impl utoipa::Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("rk_<role>_<hex>")
                    .description(Some(
                        "An API key. Its role (the scopes listed on each operation: operator, merchant, \
                         carrier, locker_device) says what it may call.",
                    ))
                    .build(),
            ),
        );
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Whether the operation's JSON body names other things by id (a network, a point, a carrier...).
fn names_ids(operation: &Value, components: &Value) -> bool {
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        Some(name) => &components["schemas"][name],
        None => schema,
    };
    schema["properties"].as_object().into_iter().flatten().any(|(_, property)| {
        let uuid = |s: &Value| {
            s["format"] == "uuid" || s["oneOf"].as_array().is_some_and(|o| o.iter().any(|s| s["format"] == "uuid"))
        };
        uuid(property) || uuid(&property["items"])
    })
}

/// The errors every operation of a kind can answer, added where the handler's own list lacks them.
fn shared_errors(operation: &Value, components: &Value) -> Vec<(&'static str, &'static str)> {
    let keyed = roles_of(operation).is_some();
    let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
    let located = |place: &str| parameters.iter().any(|p| p["in"] == place);
    let mut errors = Vec::new();
    if operation.get("requestBody").is_some() {
        errors.push(("400", "`malformed_json`: the body is not JSON, is cut short, or is missing."));
        errors.push(("413", "`payload_too_large`: the body is over the configured limit."));
        errors.push(("415", "`unsupported_media_type`: the body is not sent as `application/json`."));
    }
    if keyed {
        errors.push(("401", "`unauthorized`: no API key, or an unknown or revoked one."));
        errors.push((
            "403",
            "`forbidden`: the key's role is not one listed above, or the resource is outside its scope.",
        ));
    }
    if located("path") || names_ids(operation, components) {
        errors.push(("404", "`not_found`: an id (in the path or the body) names nothing, or nothing the key may see."));
    }
    if operation.get("requestBody").is_some() || located("query") {
        errors.push(("422", "`validation_failed`: a field is missing, unknown, of the wrong type or out of range (`details.field`, `details.problem`)."));
    }
    if keyed {
        errors.push((
            "503",
            "`unavailable` (the database cannot be reached) or `busy` (too many changes to the same rows): retry.",
        ));
    }
    errors
}

/// The roles an operation's security scopes list; `None` for a public operation.
fn roles_of(operation: &Value) -> Option<Vec<String>> {
    let requirements = operation["security"].as_array()?;
    let roles: Vec<String> = requirements
        .iter()
        .filter_map(|r| r["api_key"].as_array())
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    (!requirements.is_empty()).then_some(roles)
}

/// Completes the gathered document (see the module's comment) and returns it as JSON.
pub fn complete(openapi: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(&openapi).unwrap_or_else(|_| json!({}));
    let components = doc["components"].clone();
    let Some(paths) = doc["paths"].as_object_mut() else { return doc };
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method) else { continue };
            let who = match roles_of(operation) {
                Some(roles) => format!("**Roles:** {}.", roles.join(", ")),
                None => "**Public:** no API key.".to_owned(),
            };
            // The handler's doc comment: its first sentence is the summary, all of it the description.
            let text = [&operation["summary"], &operation["description"]]
                .iter()
                .filter_map(|part| part.as_str())
                .map(|part| part.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join("\n\n");
            if !text.is_empty() {
                let end = [". ", ": ", "; "].iter().filter_map(|stop| text.find(stop)).min().unwrap_or(text.len());
                let first = text[..end].trim_end_matches('.');
                operation["summary"] = first.to_owned().into();
            }
            operation["description"] = if text.is_empty() { who.into() } else { format!("{text}\n\n{who}").into() };
            for (status, text) in shared_errors(operation, &components) {
                let Some(responses) = operation["responses"].as_object_mut() else { continue };
                let response = responses.entry(status).or_insert_with(|| error_response(""));
                let own = response["description"].as_str().unwrap_or("").to_owned();
                response["description"] = if own.is_empty() { text.into() } else { format!("{own} Or {text}").into() };
            }
            for (status, response) in operation["responses"].as_object_mut().into_iter().flatten() {
                if response.get("description").is_none_or(|d| d == "") {
                    response["description"] = plain_description(status).into();
                }
            }
            if let Some(limited) = operation["responses"].get_mut("429") {
                limited["headers"] = json!({"Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer", "minimum": 1}
                }});
            }
        }
    }
    doc
}

/// What a success says when its handler says nothing more.
fn plain_description(status: &str) -> &'static str {
    match status {
        "200" => "Done.",
        "201" => "Created.",
        "202" => "Accepted: queued.",
        "207" => "One result per item.",
        "303" => "See the page it points to.",
        _ => "See the body.",
    }
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    })
}

/// Who may call each keyed operation, read from the finished document.
#[derive(Debug, Default)]
pub struct RoleGate {
    roles: HashMap<(Method, String), Vec<Role>>,
}

impl RoleGate {
    pub fn from_doc(doc: &Value) -> RoleGate {
        let mut roles = HashMap::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let Some(listed) = item.get(method).and_then(roles_of) else { continue };
                let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else { continue };
                let listed = listed.iter().filter_map(|r| Role::parse(r)).collect();
                roles.insert((method, path.clone()), listed);
            }
        }
        RoleGate { roles }
    }

    /// Whether the route (its template, as matched) lets this role in. A `HEAD` is its `GET`; a route the
    /// document does not key lets no key in, so an undocumented route fails its tests.
    pub fn admits(&self, method: &Method, route: &str, role: Role) -> bool {
        let method = if method == Method::HEAD { &Method::GET } else { method };
        self.roles.get(&(method.clone(), route.to_owned())).is_some_and(|roles| roles.contains(&role))
    }

    pub fn routes(&self) -> impl Iterator<Item = (&Method, &str, &[Role])> {
        self.roles.iter().map(|((method, path), roles)| (method, path.as_str(), roles.as_slice()))
    }
}

/// The path parameters a route template names (`/v1/points/{id}/doors/{door}` names `id` and `door`).
pub fn template_parameters(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect()
}

/// Every operation of the document, as (method, path, operation).
pub fn operations(doc: &Value) -> Vec<(String, String, &Map<String, Value>)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method).and_then(Value::as_object) {
                found.push((method.to_owned(), path.clone(), operation));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::template_parameters;

    #[test]
    fn template_parameters_are_read_from_the_path() {
        assert_eq!(template_parameters("/v1/points/{id}/doors/{door}/open"), ["id", "door"]);
        assert!(template_parameters("/v1/parcels").is_empty());
    }
}
