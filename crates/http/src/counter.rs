//! Partner shop counters: parcels scanned onto the shelf and handed over with the code and an identity
//! check, through the API or the counter page (`/counter`), a static page and script served by relais
//! itself that call the API from a phone with the counter's device key (kept in the browser's local
//! storage).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, path_id};
use crate::widget::asset;
use crate::wire::{DepositResponse, IdentityWire, PickupResponse};

const HTML: &str = include_str!("../counter/counter.html");
const JS: &str = include_str!("../counter/app.js");
const CSS: &str = include_str!("../counter/counter.css");
/// Only relais' own script, style and API; never framed (it holds a key).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

type Result<T> = std::result::Result<T, ApiError>;

/// A counter scans in a parcel by the number on its label.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanInRequest {
    #[schema(example = "EW112720413FR", min_length = 1, max_length = 35)]
    pub parcel_number: String,
}

/// A counter hands a parcel over: its number, the recipient's code, the identity check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterHandOverRequest {
    #[schema(example = "EW112720413FR", min_length = 1, max_length = 35)]
    pub parcel_number: String,
    #[schema(example = "48213077", max_length = 10)]
    pub code: String,
    pub identity: IdentityWire,
}

#[utoipa::path(post, path = "/v1/points/{id}/scan-in", tag = "counters", request_body = ScanInRequest,
    params(("id" = Uuid, Path, description = "The counter.")),
    security(("api_key" = ["operator", "carrier", "locker_device"])),
    responses((status = 200, body = DepositResponse, description = "On the shelf, or `deposit_failed` (`shelf_full`)."),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: already on the shelf, or over.")))]
/// The counter receives a parcel by its number: onto the shelf (`ready_for_pickup`, the recipient is
/// told), or `deposit_failed` when the shelf is full.
pub async fn scan_in(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<ScanInRequest>,
) -> Result<Json<DepositResponse>> {
    let outcome = state.app.counter_scan_in(&caller, path_id("point", &id)?, &request.parcel_number).await?;
    Ok(Json(DepositResponse::new(outcome)))
}

#[utoipa::path(post, path = "/v1/points/{id}/hand-overs", tag = "counters", request_body = CounterHandOverRequest,
    params(("id" = Uuid, Path, description = "The counter.")),
    security(("api_key" = ["operator", "locker_device"])),
    responses((status = 200, body = PickupResponse),
        (status = 403, body = ErrorEnvelope, description = "`invalid_pickup_code` (counted), or `identity_mismatch` (audited)."),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: not waiting on this shelf."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many wrong codes for this parcel; `details.retry_after`.")))]
/// The counter hands a parcel over: its number, the recipient's code and the identity check the staff
/// made (audited). A name that does not match keeps the parcel on the shelf.
pub async fn hand_over(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<CounterHandOverRequest>,
) -> Result<Json<PickupResponse>> {
    let identity = request.identity.check();
    let point_id = path_id("point", &id)?;
    let collected =
        state.app.counter_hand_over(&caller, point_id, &request.parcel_number, &request.code, &identity).await?;
    Ok(Json(PickupResponse::from(&collected)))
}

#[utoipa::path(get, path = "/counter", tag = "pages",
    responses((status = 200, content_type = "text/html", body = String)))]
/// The counter page: receive parcels, hand them over with the identity check, from a phone.
pub async fn page() -> Response {
    asset("text/html; charset=utf-8", HTML, Some(CSP))
}

#[utoipa::path(get, path = "/counter/app.js", tag = "pages",
    responses((status = 200, content_type = "text/javascript", body = String)))]
/// The counter page's script.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", JS, None)
}

#[utoipa::path(get, path = "/counter/counter.css", tag = "pages",
    responses((status = 200, content_type = "text/css", body = String)))]
/// The counter page's style.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", CSS, None)
}
