//! A parcel's life over HTTP: announced by its merchant, scanned and deposited by its carrier, collected
//! by its recipient (at a locker's screen or a point's terminal), extended, cancelled, returned, reported
//! lost or damaged, and the operator's actions on it (forced expiry, a move to another door, a relocation
//! to a nearby point when its own is full).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use relais_app::parcels::{AnnounceParcel, PickupSecret};
use relais_app::ports::{Page as PageRequest, ParcelFilter, StoredEvent};
use relais_domain::ids::Id;
use relais_domain::parcel::{IncidentKind, ParcelState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, OptionalBody, QueryParams, path_id};
use crate::names;
use crate::wire::{
    CompartmentView, DepositResponse, DimensionsWire, IdentityWire, Page, ParcelView, PickupResponse, RecipientWire,
    page,
};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnounceRequest {
    /// Only when an operator announces on a merchant's behalf.
    pub merchant_id: Option<Uuid>,
    /// The carrier the parcel is handed to; when left out, the carriers serving the point's network.
    pub carrier_id: Option<Uuid>,
    pub point_id: Uuid,
    /// SSCC (18 digits), UPU S10 (`EW112720413FR`) or another carrier's tracking number (up to 35
    /// letters and digits), unique among the merchant's parcels. Left out: relais issues the next SSCC
    /// of the merchant's series (`PUT /v1/merchants/{id}/number-series/sscc`).
    #[schema(example = "EW112720413FR", min_length = 1, max_length = 35)]
    pub parcel_number: Option<String>,
    pub recipient: RecipientWire,
    pub dimensions_mm: DimensionsWire,
    #[schema(example = 1200, minimum = 1, maximum = 70000)]
    pub weight_g: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnounceResponse {
    pub parcel: ParcelView,
    /// The recipient's pickup code: returned once, here, and stored only as a keyed digest.
    #[schema(example = "48213077")]
    pub pickup_code: String,
    /// The QR token for contactless pickup: returned once, here.
    pub qr_token: String,
    /// At a locker: the compartment soft-reserved until the parcel arrives.
    pub reservation: Option<CompartmentView>,
}

#[utoipa::path(post, path = "/v1/parcels", tag = "parcels", request_body = AnnounceRequest,
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 201, body = AnnounceResponse),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such point, merchant or carrier."),
        (status = 409, body = ErrorEnvelope, description = "`no_fitting_compartment` (with `reason`), `already_exists`: the merchant has a parcel with this number, `no_number_series`: no number given and the merchant has no SSCC series, `numbers_exhausted`: its series issued all its numbers within the year.")))]
/// Announces a parcel to a point: the recipient's pickup code and QR token come back once, and at a
/// locker a door of the right size is reserved until the parcel arrives.
pub async fn announce(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(r): Body<AnnounceRequest>,
) -> Result<(StatusCode, Json<AnnounceResponse>)> {
    let input = AnnounceParcel {
        merchant_id: r.merchant_id.map(Id::from_uuid),
        carrier_id: r.carrier_id.map(Id::from_uuid),
        point_id: Id::from_uuid(r.point_id),
        parcel_number: r.parcel_number,
        recipient_name: r.recipient.name,
        recipient_phone: r.recipient.phone,
        recipient_email: r.recipient.email,
        recipient_language: r.recipient.language,
        length_mm: r.dimensions_mm.length,
        width_mm: r.dimensions_mm.width,
        height_mm: r.dimensions_mm.height,
        weight_g: r.weight_g,
    };
    let announced = state.app.announce_parcel(&caller, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(AnnounceResponse {
            parcel: ParcelView::from(&announced.parcel),
            pickup_code: announced.pickup_code.as_str().to_owned(),
            qr_token: announced.qr_token,
            reservation: announced.reservation.as_ref().map(CompartmentView::from),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ParcelListQuery {
    /// The `next_cursor` of the previous page.
    pub after: Option<Uuid>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Only the parcels in this state.
    #[param(schema_with = names::ParcelState::doc)]
    pub state: Option<String>,
    /// Only the parcels of this point.
    pub point_id: Option<Uuid>,
    /// Only this merchant's parcels (a merchant's key always sees its own only).
    pub merchant_id: Option<Uuid>,
    /// The parcels with this number (SSCC, S10 or a carrier's): one page, the other filters ignored.
    #[param(max_length = 35)]
    pub number: Option<String>,
}

#[utoipa::path(get, path = "/v1/parcels", tag = "parcels", params(ParcelListQuery),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = Page<ParcelView>)))]
/// Lists parcels, oldest first: a merchant's key sees its own, a carrier's those handed to it, a
/// device's those of its point. `number` looks a parcel up by its number.
pub async fn list_parcels(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<ParcelListQuery>,
) -> Result<Json<Page<ParcelView>>> {
    let state_filter = match query.state.as_deref() {
        None => None,
        Some(s) => Some(ParcelState::parse(s, None).ok_or_else(|| {
            ApiError::validation("state", &format!("must be one of {}", names::ParcelState::names().join(", ")))
        })?),
    };
    let filter = ParcelFilter {
        merchant_id: query.merchant_id.map(Id::from_uuid),
        point_id: query.point_id.map(Id::from_uuid),
        state: state_filter,
        carrier_id: None,
    };
    let limit = state.app.page_limit(query.limit)?;
    if let Some(number) = &query.number {
        let parcels = state.app.parcels_by_number(&caller, number).await?;
        return Ok(Json(Page { items: parcels.iter().map(ParcelView::from).collect(), next_cursor: None }));
    }
    let parcels =
        state.app.parcels(&caller, filter, PageRequest { after: query.after.map(Id::from_uuid), limit }).await?;
    Ok(Json(page(parcels.iter().map(ParcelView::from).collect(), limit, |p| p.id)))
}

#[utoipa::path(get, path = "/v1/parcels/{id}", tag = "parcels", params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = ParcelView)))]
/// One parcel.
pub async fn get_parcel(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.parcel(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// The event's rank in the parcel's history.
    pub seq: i64,
    pub event: names::EventKind,
    pub from: Option<names::ParcelState>,
    pub to: names::ParcelState,
    /// With the `incident` state: what happened.
    pub incident: Option<names::IncidentKind>,
    pub actor: names::ActorKind,
    pub reason: Option<String>,
    pub compartment_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl From<&StoredEvent> for EventView {
    fn from(s: &StoredEvent) -> Self {
        let e = &s.event;
        EventView {
            seq: s.seq,
            event: e.kind.into(),
            from: e.from.map(names::ParcelState),
            to: e.to.into(),
            incident: e.to.incident_kind().map(names::IncidentKind),
            actor: e.actor.kind.into(),
            reason: e.reason.clone(),
            compartment_id: e.compartment_id.map(|c| c.uuid()),
            at: e.at,
        }
    }
}

#[utoipa::path(get, path = "/v1/parcels/{id}/events", tag = "parcels", params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = [EventView])))]
/// A parcel's history, oldest first: every transition, who made it and why.
pub async fn parcel_events(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventView>>> {
    let events = state.app.parcel_events(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(events.iter().map(EventView::from).collect()))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/scan", tag = "parcels", params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "carrier"])),
    responses((status = 200, body = ParcelView),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: the parcel's state does not allow it.")))]
/// The carrier scanned the parcel on its way: `in_transit`.
pub async fn scan(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.scan_in_transit(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/deposit", tag = "parcels", params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "carrier"])),
    responses((status = 200, body = DepositResponse, description = "`deposited`, or `deposit_failed` with the reason (recorded)."),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`, or `no_fitting_compartment` when a failed deposit is repeated with still no room.")))]
/// The carrier leaves the parcel at its point: in a door at a locker (its reservation first), on the
/// shelf elsewhere, or `deposit_failed` with the reason when there is no room. The recipient is told.
pub async fn deposit(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DepositResponse>> {
    let outcome = state.app.deposit(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(DepositResponse::new(outcome)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupRequest {
    /// The digits the recipient types.
    #[schema(example = "48213077", max_length = 10)]
    pub code: Option<String>,
    /// Or the token of the recipient's QR code.
    #[schema(max_length = 160)]
    pub qr_token: Option<String>,
}

#[utoipa::path(post, path = "/v1/points/{id}/pickups", tag = "parcels", request_body = PickupRequest,
    params(("id" = Uuid, Path, description = "The locker.")),
    security(("api_key" = ["operator", "locker_device"])),
    responses((status = 200, body = PickupResponse),
        (status = 403, body = ErrorEnvelope, description = "`invalid_pickup_code`: no parcel waiting here has this code or QR token (counted)."),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: the code was just used (its parcel is collected)."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed` on `point_id`: the point is staffed; it hands over at its counter with the identity check."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many wrong codes at this point; `details.retry_after`.")))]
/// A recipient collects at a locker's screen with their code or QR code: the parcel (and the ones
/// sharing its door) is collected and the door ordered open. Staffed points hand over with an identity
/// check instead (`/v1/points/{id}/hand-overs`).
pub async fn pickup_at_point(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<PickupRequest>,
) -> Result<Json<PickupResponse>> {
    let secret = match (request.code, request.qr_token) {
        (Some(code), None) => PickupSecret::Code(code),
        (None, Some(token)) => PickupSecret::QrToken(token),
        _ => return Err(ApiError::validation("code", "give exactly one of code and qr_token")),
    };
    let collected = state.app.pickup_at_point(&caller, path_id("point", &id)?, secret).await?;
    Ok(Json(PickupResponse::from(&collected)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOverRequest {
    #[schema(example = "48213077", max_length = 10)]
    pub code: String,
    /// Required at a staffed point (counter, post office, store, hub).
    pub identity: Option<IdentityWire>,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/pickup", tag = "parcels", request_body = HandOverRequest,
    params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "locker_device"])),
    responses((status = 200, body = PickupResponse),
        (status = 403, body = ErrorEnvelope, description = "`invalid_pickup_code` (counted), or `identity_mismatch` (audited)."),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: not ready for pickup."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many wrong codes for this parcel or at this point; `details.retry_after`.")))]
/// Hands one known parcel over with its code (and, at a staffed point, the identity check).
pub async fn pickup_parcel(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<HandOverRequest>,
) -> Result<Json<PickupResponse>> {
    let identity = request.identity.as_ref().map(IdentityWire::check);
    let collected = state.app.pickup_parcel(&caller, path_id("parcel", &id)?, &request.code, identity.as_ref()).await?;
    Ok(Json(PickupResponse::from(&collected)))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/extend", tag = "parcels", params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = ParcelView),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition` with `reason`: `too_early` (+ `earliest`), `extension_count_reached`, `deadline_passed`.")))]
/// Gives the recipient more time: the pickup deadline moves by the network's extension, once it is
/// allowed (not too early, not too many, not past the deadline).
pub async fn extend(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.extend(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReissuedCodeView {
    pub parcel: ParcelView,
    /// The new pickup code; the old one and the old QR token open nothing any more.
    #[schema(example = "70314452")]
    pub pickup_code: String,
    pub qr_token: String,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/pickup-code", tag = "parcels", params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 201, body = ReissuedCodeView),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: the parcel holds no live code (collected, returned...).")))]
/// Re-issues a lost pickup code: a new code and QR token replace the old ones, which stop working at
/// once. Like at announce, they are returned once, here, for the merchant to pass on to the recipient.
pub async fn reissue_code(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ReissuedCodeView>)> {
    let reissued = state.app.reissue_pickup_code(&caller, path_id("parcel", &id)?).await?;
    Ok((
        StatusCode::CREATED,
        Json(ReissuedCodeView {
            parcel: ParcelView::from(&reissued.parcel),
            pickup_code: reissued.pickup_code.as_str().to_owned(),
            qr_token: reissued.qr_token,
        }),
    ))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/return-collection", tag = "parcels", params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "carrier"])),
    responses((status = 200, body = ParcelView),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: not expired.")))]
/// The carrier takes an expired parcel out of its point: `returning`.
pub async fn collect_return(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.collect_return(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/return-to-sender", tag = "parcels", params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "carrier"])),
    responses((status = 200, body = ParcelView),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: not returning.")))]
/// The returning parcel reached its sender: `returned_to_sender`.
pub async fn return_to_sender(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.return_to_sender(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/cancel", tag = "parcels", request_body = Option<ReasonRequest>,
    params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = ParcelView),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: deposited already, or over.")))]
/// The merchant cancels a parcel not yet deposited; its reservation is given back.
pub async fn cancel(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    OptionalBody(request): OptionalBody<ReasonRequest>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.cancel(&caller, path_id("parcel", &id)?, request.reason.as_deref()).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

/// An operator's forced expiry: the reason is required (it is kept on the event).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForceExpiryRequest {
    #[schema(example = "point closing for good on 30 November", min_length = 1, max_length = 500)]
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/force-expiry", tag = "parcels", request_body = ForceExpiryRequest,
    params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator"])),
    responses((status = 200, body = ParcelView),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: not waiting for pickup.")))]
/// Expires a waiting parcel before its deadline (a point closing, a recipient who refused it), so its
/// carrier takes it back.
pub async fn force_expiry(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<ForceExpiryRequest>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.force_expire(&caller, path_id("parcel", &id)?, &request.reason).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentRequest {
    #[schema(schema_with = names::IncidentKind::doc)]
    pub kind: String,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/incidents", tag = "parcels", request_body = IncidentRequest,
    params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = ParcelView),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: the parcel's life is over.")))]
/// Reports the parcel lost, damaged or refused: its door or shelf slot is given back.
pub async fn report_incident(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<IncidentRequest>,
) -> Result<Json<ParcelView>> {
    let kind = IncidentKind::parse(&request.kind)
        .ok_or_else(|| ApiError::validation("kind", "must be one of lost, damaged, refused"))?;
    let parcel = state.app.report_incident(&caller, path_id("parcel", &id)?, kind, request.reason.as_deref()).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The free door of the same locker the parcel now is behind.
    #[schema(example = "B02", min_length = 1, max_length = 16)]
    pub door: String,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/move", tag = "parcels", request_body = MoveRequest,
    params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator"])),
    responses((status = 200, body = ParcelView),
        (status = 409, body = ErrorEnvelope, description = "Not in a compartment, or the door is not free.")))]
/// Records that staff moved a parcel to another door of its locker (a broken door emptied by hand).
/// Audited.
pub async fn move_parcel(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<MoveRequest>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.move_parcel(&caller, path_id("parcel", &id)?, &request.door, &request.reason).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelocateRequest {
    /// The nearby point (same network, within 2 km of the chosen one) that takes the parcel for a day.
    pub point_id: Uuid,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/relocate", tag = "parcels", request_body = RelocateRequest,
    params(("id" = Uuid, Path, description = "The parcel.")),
    security(("api_key" = ["operator", "carrier"])),
    responses((status = 200, body = ParcelView, description = "In transit to the temporary point."),
        (status = 409, body = ErrorEnvelope, description = "Not `deposit_failed`, or the point cannot take it."),
        (status = 422, body = ErrorEnvelope, description = "The point is too far or of another network.")))]
/// Sends a `deposit_failed` parcel to a nearby point with room for a day; the recipient is told where.
pub async fn relocate(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<RelocateRequest>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.relocate_parcel(&caller, path_id("parcel", &id)?, Id::from_uuid(request.point_id)).await?;
    Ok(Json(ParcelView::from(&parcel)))
}
