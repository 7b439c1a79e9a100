//! What an operator sets up: networks and their rules, merchants, carriers and the networks they serve,
//! points with their doors, and API keys (issued, listed, revoked, rotated).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use relais_app::auth::ApiKey;
use relais_app::keys::{IssuedApiKey, NewApiKey};
use relais_app::ports::{Carrier, Merchant, Page as PageRequest};
use relais_app::setup::{NewCompartment, NewPoint};
use relais_domain::ids::Id;
use relais_domain::network::{LabelLayout, Network, NetworkRules};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, QueryParams, path_id};
use crate::names;
use crate::wire::{ListQuery, Page, PageQuery, PointView, page};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNetworkRequest {
    #[schema(example = "Relais Lyon", min_length = 1, max_length = 120)]
    pub name: String,
    #[serde(default)]
    pub rules: Option<RulesWire>,
}

/// A network's rules; any field left out takes its default (72 h hold, one 48 h extension from 36 h).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesWire {
    /// Hours a deposited parcel waits for its recipient (default 72).
    #[schema(minimum = 1, maximum = 744)]
    pub hold_window_hours: Option<u32>,
    /// Extensions a recipient may ask for (default 1).
    #[schema(maximum = 5)]
    pub extension_count_max: Option<u32>,
    /// Hours one extension adds (default 48).
    #[schema(maximum = 744)]
    pub extension_hours: Option<u32>,
    /// Hours after the deposit from which an extension may be asked (default 36).
    #[schema(maximum = 744)]
    pub extension_earliest_after_deposit_hours: Option<u32>,
    /// Hours after the deposit at which the recipient is reminded, each within the hold window
    /// (default `[24]`).
    #[schema(max_items = 5)]
    pub reminder_offsets_hours: Option<Vec<u32>>,
    /// Hours a locker compartment stays reserved for an announced parcel, 0 for none (default 72).
    #[schema(maximum = 744)]
    pub reservation_hours: Option<u32>,
    /// How its labels are arranged (default `standard`; docs/labels.md).
    pub label_layout: Option<LabelLayoutWire>,
}

/// A network's label layout: `standard` (the point first, for counters) or `sorting` (the point's
/// code on a black band and the barcode at the top, for depots).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LabelLayoutWire {
    Standard,
    Sorting,
}

impl From<LabelLayoutWire> for LabelLayout {
    fn from(w: LabelLayoutWire) -> Self {
        match w {
            LabelLayoutWire::Standard => LabelLayout::Standard,
            LabelLayoutWire::Sorting => LabelLayout::Sorting,
        }
    }
}

impl From<LabelLayout> for LabelLayoutWire {
    fn from(l: LabelLayout) -> Self {
        match l {
            LabelLayout::Standard => LabelLayoutWire::Standard,
            LabelLayout::Sorting => LabelLayoutWire::Sorting,
        }
    }
}

impl RulesWire {
    pub fn into_rules(self) -> NetworkRules {
        let d = NetworkRules::default();
        NetworkRules {
            hold_window_hours: self.hold_window_hours.unwrap_or(d.hold_window_hours),
            extension_count_max: self.extension_count_max.unwrap_or(d.extension_count_max),
            extension_hours: self.extension_hours.unwrap_or(d.extension_hours),
            extension_earliest_after_deposit_hours: self
                .extension_earliest_after_deposit_hours
                .unwrap_or(d.extension_earliest_after_deposit_hours),
            reminder_offsets_hours: self.reminder_offsets_hours.unwrap_or(d.reminder_offsets_hours),
            reservation_hours: self.reservation_hours.unwrap_or(d.reservation_hours),
            label_layout: self.label_layout.map_or(d.label_layout, LabelLayout::from),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkView {
    pub id: Uuid,
    pub name: String,
    pub rules: RulesView,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    pub hold_window_hours: u32,
    pub extension_count_max: u32,
    pub extension_hours: u32,
    pub extension_earliest_after_deposit_hours: u32,
    pub reminder_offsets_hours: Vec<u32>,
    pub reservation_hours: u32,
    pub label_layout: LabelLayoutWire,
}

impl From<&Network> for NetworkView {
    fn from(n: &Network) -> Self {
        let r = &n.rules;
        NetworkView {
            id: n.id.uuid(),
            name: n.name.clone(),
            rules: RulesView {
                hold_window_hours: r.hold_window_hours,
                extension_count_max: r.extension_count_max,
                extension_hours: r.extension_hours,
                extension_earliest_after_deposit_hours: r.extension_earliest_after_deposit_hours,
                reminder_offsets_hours: r.reminder_offsets_hours.clone(),
                reservation_hours: r.reservation_hours,
                label_layout: r.label_layout.into(),
            },
            created_at: n.created_at,
        }
    }
}

#[utoipa::path(post, path = "/v1/networks", tag = "network", request_body = CreateNetworkRequest,
    security(("api_key" = ["operator"])), responses((status = 201, body = NetworkView)))]
/// Creates a network: a set of points run under the same rules.
pub async fn create_network(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(request): Body<CreateNetworkRequest>,
) -> Result<(StatusCode, Json<NetworkView>)> {
    let rules = request.rules.map(RulesWire::into_rules).unwrap_or_default();
    let network = state.app.create_network(&caller, &request.name, rules).await?;
    Ok((StatusCode::CREATED, Json(NetworkView::from(&network))))
}

#[utoipa::path(get, path = "/v1/networks", tag = "network", params(PageQuery),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = Page<NetworkView>)))]
/// Lists the networks, oldest first.
pub async fn list_networks(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<Page<NetworkView>>> {
    let limit = state.app.page_limit(query.limit)?;
    let networks = state.app.networks(&caller, PageRequest { after: query.after.map(Id::from_uuid), limit }).await?;
    Ok(Json(page(networks.iter().map(NetworkView::from).collect(), limit, |n| n.id)))
}

#[utoipa::path(get, path = "/v1/networks/{id}", tag = "network", params(("id" = Uuid, Path, description = "The network.")),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = NetworkView)))]
/// One network and its rules.
pub async fn get_network(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<NetworkView>> {
    let network = state.app.network(&caller, path_id("network", &id)?).await?;
    Ok(Json(NetworkView::from(&network)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMerchantRequest {
    #[schema(example = "Boutique Martin", min_length = 1, max_length = 120)]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<&Merchant> for MerchantView {
    fn from(m: &Merchant) -> Self {
        MerchantView { id: m.id.uuid(), name: m.name.clone(), created_at: m.created_at }
    }
}

#[utoipa::path(post, path = "/v1/merchants", tag = "network", request_body = CreateMerchantRequest,
    security(("api_key" = ["operator"])), responses((status = 201, body = MerchantView)))]
/// Creates a merchant: a shop whose parcels go through the network. Give it a merchant key next.
pub async fn create_merchant(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(request): Body<CreateMerchantRequest>,
) -> Result<(StatusCode, Json<MerchantView>)> {
    let merchant = state.app.create_merchant(&caller, &request.name).await?;
    Ok((StatusCode::CREATED, Json(MerchantView::from(&merchant))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCarrierRequest {
    #[schema(example = "Transports Rhône", min_length = 1, max_length = 120)]
    pub name: String,
    /// The networks whose parcels it carries when their merchant names no carrier (at most 100).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub networks: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarrierNetworksRequest {
    /// Replaces the networks the carrier serves (at most 100; empty: only parcels handed to it by name).
    #[schema(max_items = 100)]
    pub networks: Vec<Uuid>,
}

/// A carrier: what its keys see and do is the parcels handed to it, by the merchant's choice of this
/// carrier or, when the merchant named none, by its serving the parcel's network.
#[derive(Debug, Serialize, ToSchema)]
pub struct CarrierView {
    pub id: Uuid,
    pub name: String,
    pub networks: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<&Carrier> for CarrierView {
    fn from(c: &Carrier) -> Self {
        CarrierView {
            id: c.id.uuid(),
            name: c.name.clone(),
            networks: c.networks.iter().map(|n| n.uuid()).collect(),
            created_at: c.created_at,
        }
    }
}

fn network_ids(ids: &[Uuid]) -> Vec<relais_domain::ids::NetworkId> {
    ids.iter().copied().map(Id::from_uuid).collect()
}

#[utoipa::path(post, path = "/v1/carriers", tag = "network", request_body = CreateCarrierRequest,
    security(("api_key" = ["operator"])), responses((status = 201, body = CarrierView)))]
/// Creates a carrier and the networks it serves. Give it carrier keys next.
pub async fn create_carrier(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(request): Body<CreateCarrierRequest>,
) -> Result<(StatusCode, Json<CarrierView>)> {
    let carrier = state.app.create_carrier(&caller, &request.name, &network_ids(&request.networks)).await?;
    Ok((StatusCode::CREATED, Json(CarrierView::from(&carrier))))
}

#[utoipa::path(get, path = "/v1/carriers", tag = "network", params(PageQuery), security(("api_key" = ["operator"])),
    responses((status = 200, body = Page<CarrierView>)))]
/// Lists the carriers, oldest first.
pub async fn list_carriers(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<Page<CarrierView>>> {
    let limit = state.app.page_limit(query.limit)?;
    let carriers = state.app.carriers(&caller, PageRequest { after: query.after.map(Id::from_uuid), limit }).await?;
    Ok(Json(page(carriers.iter().map(CarrierView::from).collect(), limit, |c| c.id)))
}

#[utoipa::path(get, path = "/v1/carriers/{id}", tag = "network", params(("id" = Uuid, Path, description = "The carrier.")),
    security(("api_key" = ["operator", "carrier"])), responses((status = 200, body = CarrierView)))]
/// One carrier; a carrier's key reads its own.
pub async fn get_carrier(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<CarrierView>> {
    let carrier = state.app.carrier(&caller, path_id("carrier", &id)?).await?;
    Ok(Json(CarrierView::from(&carrier)))
}

#[utoipa::path(put, path = "/v1/carriers/{id}/networks", tag = "network", request_body = CarrierNetworksRequest,
    params(("id" = Uuid, Path, description = "The carrier.")),
    security(("api_key" = ["operator"])), responses((status = 200, body = CarrierView)))]
/// Sets the networks a carrier serves (its parcels in other networks stay visible to it only if they
/// were handed to it by name).
pub async fn set_carrier_networks(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<CarrierNetworksRequest>,
) -> Result<Json<CarrierView>> {
    let carrier_id = path_id("carrier", &id)?;
    let carrier = state.app.set_carrier_networks(&caller, carrier_id, &network_ids(&request.networks)).await?;
    Ok(Json(CarrierView::from(&carrier)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePointRequest {
    pub network_id: Uuid,
    /// The operator's own id for the point, unique in its network.
    #[schema(example = "LYON-0001", min_length = 1, max_length = 64)]
    pub external_id: String,
    #[schema(schema_with = names::PointKind::doc, example = "locker")]
    pub kind: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(min_length = 1, max_length = 200)]
    pub address_line1: String,
    #[schema(max_length = 200)]
    pub address_line2: Option<String>,
    #[schema(example = "69002", min_length = 1, max_length = 16)]
    pub postcode: String,
    #[schema(example = "Lyon", min_length = 1, max_length = 120)]
    pub city: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "FR", pattern = "^[A-Za-z]{2}$")]
    pub country: String,
    #[schema(minimum = -90.0, maximum = 90.0, example = 45.757)]
    pub latitude: f64,
    #[schema(minimum = -180.0, maximum = 180.0, example = 4.832)]
    pub longitude: f64,
    /// IANA zone; `Europe/Paris` when left out.
    #[schema(example = "Europe/Paris")]
    pub timezone: Option<String>,
    /// `active` when left out.
    #[schema(schema_with = names::PointStatus::doc)]
    pub status: Option<String>,
    /// Staffed points: parcel slots on the shelf (default 40).
    #[schema(minimum = 1, maximum = 10000)]
    pub shelf_capacity: Option<u32>,
    /// Heaviest parcel taken, in grams.
    #[schema(minimum = 1)]
    pub weight_max_g: Option<i64>,
    /// Staffed points: largest length + width + height taken, in millimetres.
    #[schema(minimum = 1)]
    pub dimensions_sum_max_mm: Option<u32>,
    /// Opening hours in the OpenStreetMap `opening_hours` syntax; `PH` uses the country's public holidays.
    #[schema(example = "Mo-Fr 09:00-12:00,14:00-19:00; Sa 09:00-12:00; PH off")]
    pub opening_hours: Option<String>,
    /// Days the point is closed whatever its hours say.
    #[serde(default)]
    pub closures: Vec<ClosureBody>,
    /// Among `collect`, `send`, `return`, `cash_on_delivery`; `["collect"]` when left out.
    #[schema(example = json!(["collect", "return"]))]
    pub services: Option<Vec<String>>,
    /// Lockers and hubs: their doors.
    #[serde(default)]
    pub compartments: Vec<CompartmentRequest>,
}

/// A closure, both days included.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosureBody {
    #[schema(example = "2026-08-03", format = Date)]
    pub first: String,
    #[schema(example = "2026-08-16", format = Date)]
    pub last: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompartmentRequest {
    /// The label on the door, unique in the locker.
    #[schema(example = "A01", min_length = 1, max_length = 16)]
    pub label: String,
    #[schema(schema_with = names::SizeClass::doc, example = "A")]
    pub size: String,
}

#[utoipa::path(post, path = "/v1/points", tag = "network", request_body = CreatePointRequest,
    security(("api_key" = ["operator"])),
    responses((status = 201, body = CreatedPointView),
        (status = 409, body = ErrorEnvelope, description = "`already_exists`: the network has a point with this `external_id`, or two doors share a label.")))]
/// Creates a point (with its doors, for a locker or a hub).
pub async fn create_point(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(r): Body<CreatePointRequest>,
) -> Result<(StatusCode, Json<CreatedPointView>)> {
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
    let created = state.app.create_point(&caller, input).await?;
    let point = PointView::new(&created.point, Some(&created.compartments));
    Ok((StatusCode::CREATED, Json(CreatedPointView { point, warnings: created.warnings })))
}

/// A point as created, and what its input was read with tolerance for.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPointView {
    #[serde(flatten)]
    pub point: PointView,
    /// Each liberty taken with the input (`opening_hours "Mo-Fr 9-18": hours without minutes...`),
    /// ending with the value stored; empty when the input was valid as sent.
    pub warnings: Vec<String>,
}

#[utoipa::path(get, path = "/v1/points", tag = "network", params(ListQuery),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = Page<PointView>)))]
/// Lists points, oldest first, optionally of one network.
pub async fn list_points(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<PointView>>> {
    let limit = state.app.page_limit(query.limit)?;
    let after = query.after.map(Id::from_uuid);
    let points = state.app.points(&caller, query.network_id.map(Id::from_uuid), PageRequest { after, limit }).await?;
    Ok(Json(page(points.iter().map(|p| PointView::new(p, None)).collect(), limit, |p| p.id)))
}

#[utoipa::path(get, path = "/v1/points/{id}", tag = "network", params(("id" = Uuid, Path, description = "The point.")),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = PointView)))]
/// One point with its doors.
pub async fn get_point(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<PointView>> {
    let (point, compartments) = state.app.point(&caller, path_id("point", &id)?).await?;
    Ok(Json(PointView::new(&point, Some(&compartments))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    #[schema(schema_with = names::Role::doc)]
    pub role: String,
    /// Merchant keys: whose parcels.
    pub merchant_id: Option<Uuid>,
    /// Locker device keys: which point.
    pub point_id: Option<Uuid>,
    /// Carrier keys: which carrier.
    pub carrier_id: Option<Uuid>,
    /// For people: who holds the key.
    #[schema(min_length = 1, max_length = 120, example = "warehouse handheld 3")]
    pub label: String,
}

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub role: names::Role,
    pub merchant_id: Option<Uuid>,
    pub point_id: Option<Uuid>,
    pub carrier_id: Option<Uuid>,
    pub label: String,
    pub created_at: DateTime<Utc>,
    /// Since when it authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(key: &ApiKey) -> Self {
        ApiKeyView {
            id: key.id.uuid(),
            role: key.role.into(),
            merchant_id: key.merchant_id.map(|m| m.uuid()),
            point_id: key.point_id.map(|p| p.uuid()),
            carrier_id: key.carrier_id.map(|c| c.uuid()),
            label: key.label.clone(),
            created_at: key.created_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// An API key as issued: the secret is in this response and nowhere else, ever.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedApiKeyView {
    #[serde(flatten)]
    pub key: ApiKeyView,
    #[schema(example = "rk_merchant_5f0c…")]
    pub secret: String,
}

impl From<&IssuedApiKey> for IssuedApiKeyView {
    fn from(issued: &IssuedApiKey) -> Self {
        IssuedApiKeyView { key: ApiKeyView::from(&issued.key), secret: issued.secret.clone() }
    }
}

#[utoipa::path(post, path = "/v1/api-keys", tag = "network", request_body = CreateApiKeyRequest,
    security(("api_key" = ["operator"])), responses((status = 201, body = IssuedApiKeyView)))]
/// Issues an API key: a merchant key names its merchant, a carrier key its carrier, a locker device key
/// its point, an operator key none. Audited.
pub async fn create_api_key(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(request): Body<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<IssuedApiKeyView>)> {
    let role = relais_app::Role::parse(&request.role)
        .ok_or_else(|| ApiError::validation("role", "must be one of operator, merchant, carrier, locker_device"))?;
    let input = NewApiKey {
        role,
        merchant_id: request.merchant_id.map(Id::from_uuid),
        point_id: request.point_id.map(Id::from_uuid),
        carrier_id: request.carrier_id.map(Id::from_uuid),
        label: request.label,
    };
    let issued = state.app.create_api_key(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(IssuedApiKeyView::from(&issued))))
}

#[utoipa::path(get, path = "/v1/api-keys", tag = "network", params(PageQuery), security(("api_key" = ["operator"])),
    responses((status = 200, body = Page<ApiKeyView>)))]
/// Lists every API key, revoked ones too, oldest first: never a secret.
pub async fn list_api_keys(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<Page<ApiKeyView>>> {
    let limit = state.app.page_limit(query.limit)?;
    let keys = state.app.api_keys(&caller, PageRequest { after: query.after.map(Id::from_uuid), limit }).await?;
    Ok(Json(page(keys.iter().map(ApiKeyView::from).collect(), limit, |k| k.id)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Why, for the audit log.
    #[schema(min_length = 1, max_length = 500, example = "handheld lost")]
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/api-keys/{id}/revoke", tag = "network", request_body = RevokeRequest,
    params(("id" = Uuid, Path, description = "The API key.")), security(("api_key" = ["operator"])),
    responses((status = 200, body = ApiKeyView),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed` with `field: api_key`: revoked already.")))]
/// Revokes an API key at once: it authenticates nothing any more. Audited with the reason.
pub async fn revoke_api_key(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<RevokeRequest>,
) -> Result<Json<ApiKeyView>> {
    let key = state.app.revoke_api_key(&caller, path_id("api key", &id)?, &request.reason).await?;
    Ok(Json(ApiKeyView::from(&key)))
}

#[utoipa::path(post, path = "/v1/api-keys/{id}/rotate", tag = "network",
    params(("id" = Uuid, Path, description = "The API key to replace.")), security(("api_key" = ["operator"])),
    responses((status = 201, body = IssuedApiKeyView),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed` with `field: api_key`: revoked already.")))]
/// Rotates an API key: a new secret for the same role, scope and label, and the old key revoked in the
/// same commit. Audited.
pub async fn rotate_api_key(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<IssuedApiKeyView>)> {
    let issued = state.app.rotate_api_key(&caller, path_id("api key", &id)?).await?;
    Ok((StatusCode::CREATED, Json(IssuedApiKeyView::from(&issued))))
}
