//! Route handlers: each turns a request into one use-case call and its result into JSON. No rule and
//! no SQL lives here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use relais_app::Role;
use relais_app::parcels::{AnnounceParcel, DepositOutcome, PickupSecret};
use relais_app::ports::{Page as PageRequest, ParcelFilter};
use relais_app::setup::{NewCompartment, NewPoint};
use relais_domain::ids::Id;
use relais_domain::parcel::{IncidentKind, ParcelState};

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, OptionalBody, QueryParams, path_id};
use crate::wire::*;

type Result<T> = std::result::Result<T, ApiError>;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", backend: None })
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorEnvelope)))]
pub async fn readyz(State(state): State<HttpState>) -> Result<Json<Health>> {
    state.app.ping().await?;
    Ok(Json(Health { status: "ready", backend: Some(state.app.backend()) }))
}

/// Who the API key is: its role, and its merchant or point.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MeView {
    pub role: &'static str,
    pub key_id: Option<uuid::Uuid>,
    pub merchant_id: Option<uuid::Uuid>,
    pub point_id: Option<uuid::Uuid>,
}

#[utoipa::path(get, path = "/v1/me", tag = "operations", security(("api_key" = [])),
    responses((status = 200, body = MeView), (status = 401, body = ErrorEnvelope)))]
pub async fn me(Auth(caller): Auth) -> Json<MeView> {
    Json(MeView {
        role: caller.role.as_str(),
        key_id: caller.key_id.map(|k| k.uuid()),
        merchant_id: caller.merchant_id.map(|m| m.uuid()),
        point_id: caller.point_id.map(|p| p.uuid()),
    })
}

#[utoipa::path(post, path = "/v1/networks", tag = "network", request_body = CreateNetworkRequest,
    security(("api_key" = [])),
    responses((status = 201, body = NetworkView), (status = 422, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn create_network(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(request): Body<CreateNetworkRequest>,
) -> Result<(StatusCode, Json<NetworkView>)> {
    let rules = request.rules.map(RulesWire::into_rules).unwrap_or_default();
    let network = state.app.create_network(&caller, &request.name, rules).await?;
    Ok((StatusCode::CREATED, Json(NetworkView::from(&network))))
}

#[utoipa::path(get, path = "/v1/networks", tag = "network", params(ListQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<NetworkView>)))]
pub async fn list_networks(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<NetworkView>>> {
    let limit = state.app.page_limit(query.limit)?;
    let networks = state.app.networks(&caller, PageRequest { after: query.after.map(Id::from_uuid), limit }).await?;
    Ok(Json(page(networks.iter().map(NetworkView::from).collect(), limit, |n| n.id)))
}

#[utoipa::path(get, path = "/v1/networks/{id}", tag = "network", security(("api_key" = [])),
    responses((status = 200, body = NetworkView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_network(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<NetworkView>> {
    let network = state.app.network(&caller, path_id("network", &id)?).await?;
    Ok(Json(NetworkView::from(&network)))
}

#[utoipa::path(post, path = "/v1/merchants", tag = "network", request_body = CreateMerchantRequest,
    security(("api_key" = [])), responses((status = 201, body = MerchantView), (status = 422, body = ErrorEnvelope)))]
pub async fn create_merchant(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(request): Body<CreateMerchantRequest>,
) -> Result<(StatusCode, Json<MerchantView>)> {
    let merchant = state.app.create_merchant(&caller, &request.name).await?;
    Ok((StatusCode::CREATED, Json(MerchantView::from(&merchant))))
}

#[utoipa::path(post, path = "/v1/points", tag = "network", request_body = CreatePointRequest,
    security(("api_key" = [])),
    responses((status = 201, body = PointView), (status = 422, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn create_point(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(r): Body<CreatePointRequest>,
) -> Result<(StatusCode, Json<PointView>)> {
    let input = NewPoint {
        network_id: Id::from_uuid(r.network_id),
        external_id: r.external_id,
        kind: r.kind,
        name: r.name,
        address_line1: r.address_line1,
        address_line2: r.address_line2,
        postcode: r.postcode,
        city: r.city,
        country: r.country,
        latitude: r.latitude,
        longitude: r.longitude,
        timezone: r.timezone,
        status: r.status,
        shelf_capacity: r.shelf_capacity,
        weight_max_g: r.weight_max_g,
        dimensions_sum_max_mm: r.dimensions_sum_max_mm,
        opening_hours: r.opening_hours,
        closures: r.closures.into_iter().map(|c| (c.first, c.last)).collect(),
        services: r.services.map(|s| s.join(",")),
        compartments: r.compartments.into_iter().map(|c| NewCompartment { label: c.label, size: c.size }).collect(),
    };
    let (point, compartments) = state.app.create_point(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(PointView::new(&point, Some(&compartments)))))
}

#[utoipa::path(get, path = "/v1/points", tag = "network", params(ListQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<PointView>)))]
pub async fn list_points(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<PointView>>> {
    let limit = state.app.page_limit(query.limit)?;
    let points = state
        .app
        .points(
            &caller,
            query.network_id.map(Id::from_uuid),
            PageRequest { after: query.after.map(Id::from_uuid), limit },
        )
        .await?;
    Ok(Json(page(points.iter().map(|p| PointView::new(p, None)).collect(), limit, |p| p.id)))
}

#[utoipa::path(get, path = "/v1/points/{id}", tag = "network", security(("api_key" = [])),
    responses((status = 200, body = PointView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_point(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<PointView>> {
    let (point, compartments) = state.app.point(&caller, path_id("point", &id)?).await?;
    Ok(Json(PointView::new(&point, Some(&compartments))))
}

#[utoipa::path(post, path = "/v1/api-keys", tag = "network", request_body = CreateApiKeyRequest,
    security(("api_key" = [])), responses((status = 201, body = ApiKeyView), (status = 422, body = ErrorEnvelope)))]
pub async fn create_api_key(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(request): Body<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<ApiKeyView>)> {
    let role = Role::parse(&request.role)
        .ok_or_else(|| ApiError::validation("role", "must be one of operator, merchant, carrier, locker_device"))?;
    let issued = state
        .app
        .create_api_key(
            &caller,
            role,
            request.merchant_id.map(Id::from_uuid),
            request.point_id.map(Id::from_uuid),
            &request.label,
        )
        .await?;
    let key = issued.key;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyView {
            id: key.id.uuid(),
            role: key.role.as_str(),
            merchant_id: key.merchant_id.map(|m| m.uuid()),
            point_id: key.point_id.map(|p| p.uuid()),
            label: key.label,
            secret: issued.secret,
        }),
    ))
}

#[utoipa::path(post, path = "/v1/parcels", tag = "parcels", request_body = AnnounceRequest,
    security(("api_key" = [])),
    responses((status = 201, body = AnnounceResponse), (status = 409, body = ErrorEnvelope, description = "no_fitting_compartment or already_exists"),
        (status = 422, body = ErrorEnvelope)))]
pub async fn announce(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(r): Body<AnnounceRequest>,
) -> Result<(StatusCode, Json<AnnounceResponse>)> {
    let input = AnnounceParcel {
        merchant_id: r.merchant_id.map(Id::from_uuid),
        point_id: Id::from_uuid(r.point_id),
        parcel_number: r.parcel_number,
        recipient_name: r.recipient.name,
        recipient_phone: r.recipient.phone,
        recipient_email: r.recipient.email,
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

#[utoipa::path(get, path = "/v1/parcels", tag = "parcels", params(ParcelListQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<ParcelView>), (status = 422, body = ErrorEnvelope)))]
pub async fn list_parcels(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<ParcelListQuery>,
) -> Result<Json<Page<ParcelView>>> {
    let state_filter = match query.state.as_deref() {
        None => None,
        Some(s) => Some(ParcelState::parse(s, None).ok_or_else(|| {
            ApiError::validation(
                "state",
                "must be one of announced, in_transit, ready_for_pickup, collected, deposit_failed, expired, returning, returned_to_sender, cancelled",
            )
        })?),
    };
    let filter = ParcelFilter {
        merchant_id: query.merchant_id.map(Id::from_uuid),
        point_id: query.point_id.map(Id::from_uuid),
        state: state_filter,
    };
    let limit = state.app.page_limit(query.limit)?;
    let parcels =
        state.app.parcels(&caller, filter, PageRequest { after: query.after.map(Id::from_uuid), limit }).await?;
    Ok(Json(page(parcels.iter().map(ParcelView::from).collect(), limit, |p| p.id)))
}

#[utoipa::path(get, path = "/v1/parcels/{id}", tag = "parcels", security(("api_key" = [])),
    responses((status = 200, body = ParcelView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_parcel(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.parcel(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(get, path = "/v1/parcels/{id}/events", tag = "parcels", security(("api_key" = [])),
    responses((status = 200, body = [EventView]), (status = 404, body = ErrorEnvelope)))]
pub async fn parcel_events(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventView>>> {
    let events = state.app.parcel_events(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(events.iter().map(EventView::from).collect()))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/scan", tag = "parcels", security(("api_key" = [])),
    responses((status = 200, body = ParcelView), (status = 409, body = ErrorEnvelope)))]
pub async fn scan(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.scan_in_transit(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/deposit", tag = "parcels", security(("api_key" = [])),
    responses((status = 200, body = DepositResponse, description = "deposited, or deposit_failed with the reason"),
        (status = 409, body = ErrorEnvelope)))]
pub async fn deposit(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DepositResponse>> {
    let outcome = state.app.deposit(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(deposit_response(outcome)))
}

fn deposit_response(outcome: DepositOutcome) -> DepositResponse {
    let DepositOutcome { parcel, compartment, failure } = outcome;
    DepositResponse {
        parcel: ParcelView::from(&parcel),
        outcome: if failure.is_some() { "deposit_failed" } else { "deposited" },
        compartment: compartment.as_ref().map(CompartmentView::from),
        reason: failure.map(|f| f.as_str()),
        message: failure.map(|f| f.message()),
    }
}

#[utoipa::path(post, path = "/v1/points/{id}/scan-in", tag = "counters", request_body = ScanInRequest,
    security(("api_key" = [])),
    responses((status = 200, body = DepositResponse, description = "on the shelf, or deposit_failed (shelf_full)"),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn counter_scan_in(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<ScanInRequest>,
) -> Result<Json<DepositResponse>> {
    let outcome = state.app.counter_scan_in(&caller, path_id("point", &id)?, &request.parcel_number).await?;
    Ok(Json(deposit_response(outcome)))
}

#[utoipa::path(post, path = "/v1/points/{id}/hand-overs", tag = "counters", request_body = CounterHandOverRequest,
    security(("api_key" = [])),
    responses((status = 200, body = PickupResponse),
        (status = 403, body = ErrorEnvelope, description = "invalid_pickup_code, identity_mismatch"),
        (status = 429, body = ErrorEnvelope)))]
pub async fn counter_hand_over(
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

#[utoipa::path(post, path = "/v1/points/{id}/pickups", tag = "parcels", request_body = PickupRequest,
    security(("api_key" = [])),
    responses((status = 200, body = PickupResponse), (status = 403, body = ErrorEnvelope, description = "invalid_pickup_code"),
        (status = 429, body = ErrorEnvelope)))]
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

#[utoipa::path(post, path = "/v1/parcels/{id}/pickup", tag = "parcels", request_body = HandOverRequest,
    security(("api_key" = [])),
    responses((status = 200, body = PickupResponse), (status = 403, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
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

#[utoipa::path(post, path = "/v1/parcels/{id}/extend", tag = "parcels", security(("api_key" = [])),
    responses((status = 200, body = ParcelView), (status = 409, body = ErrorEnvelope)))]
pub async fn extend(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.extend(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/return-collection", tag = "parcels", security(("api_key" = [])),
    responses((status = 200, body = ParcelView), (status = 409, body = ErrorEnvelope)))]
pub async fn collect_return(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.collect_return(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/return-to-sender", tag = "parcels", security(("api_key" = [])),
    responses((status = 200, body = ParcelView), (status = 409, body = ErrorEnvelope)))]
pub async fn return_to_sender(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.return_to_sender(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/cancel", tag = "parcels", request_body = Option<ReasonRequest>,
    security(("api_key" = [])), responses((status = 200, body = ParcelView), (status = 409, body = ErrorEnvelope)))]
pub async fn cancel(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    OptionalBody(request): OptionalBody<ReasonRequest>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.cancel(&caller, path_id("parcel", &id)?, request.reason.as_deref()).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/force-expiry", tag = "parcels", request_body = ForceExpiryRequest,
    security(("api_key" = [])),
    responses((status = 200, body = ParcelView), (status = 409, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn force_expiry(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<ForceExpiryRequest>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.force_expire(&caller, path_id("parcel", &id)?, &request.reason).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(post, path = "/v1/parcels/{id}/incidents", tag = "parcels", request_body = IncidentRequest,
    security(("api_key" = [])), responses((status = 200, body = ParcelView), (status = 409, body = ErrorEnvelope)))]
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

#[utoipa::path(post, path = "/v1/jobs/sweep", tag = "operations", security(("api_key" = [])),
    responses((status = 200, body = SweepResponse), (status = 403, body = ErrorEnvelope)))]
pub async fn sweep(State(state): State<HttpState>, Auth(caller): Auth) -> Result<Json<SweepResponse>> {
    let report = state.app.run_sweeps(&caller).await?;
    Ok(Json(SweepResponse { expired: report.expired, reservations_released: report.reservations_released }))
}

/// A page with a cursor when it is full (there may be more).
pub(crate) fn page<T: utoipa::ToSchema>(items: Vec<T>, limit: u32, id: impl Fn(&T) -> uuid::Uuid) -> Page<T> {
    let next_cursor = if items.len() as u32 == limit { items.last().map(|i| id(i).to_string()) } else { None };
    Page { items, next_cursor }
}
