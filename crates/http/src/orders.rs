//! Routes of merchants' orders (docs/orders.md): an order created with its parcels announced (to the
//! chosen point or the merchant's fallback), the same `Idempotency-Key` answering the same, looked up
//! by id or reference, and its remainders sent as another shipment; and the order webhooks of shop
//! platforms (Shopify, WooCommerce), signed with the merchant's secret.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use relais_app::connectors::{ConnectorSettings, Platform};
use relais_app::orders::{NewLine, NewOrder, NewOrderParcel, OrderView};
use relais_domain::ids::Id;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, QueryParams, RawBody, path_id};
use crate::wire::{DimensionsWire, ParcelView, RecipientWire};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// Only when an operator creates it on a merchant's behalf.
    pub merchant_id: Option<Uuid>,
    /// The merchant's order number, once per merchant: 1 to 64 letters, digits and `-_./#`.
    #[schema(example = "CMD-2026-0042", max_length = 64)]
    pub reference: String,
    pub customer: RecipientWire,
    /// The point the customer chose at checkout.
    pub point_id: Uuid,
    /// The carrier the parcels are handed to; left out: the carriers serving the point's network.
    pub carrier_id: Option<Uuid>,
    /// The merchant's service level (`standard`, `express`...); default `standard`.
    #[schema(example = "standard", max_length = 32)]
    pub service_level: Option<String>,
    pub shipping_price: PriceWire,
    #[serde(default)]
    pub lines: Vec<LineWire>,
    /// 1 to 50 parcels.
    pub parcels: Vec<OrderParcelWire>,
    /// When the chosen point cannot take the parcels: `nearest_same_network` (default), `other_network`,
    /// `home_delivery` or `hold`.
    #[schema(example = "nearest_same_network")]
    pub fallback: Option<String>,
    /// The local day the parcels are expected at the point: a point closed that day, or for most of
    /// the hold window, is not chosen.
    pub expected_arrival: Option<NaiveDate>,
}

/// An amount in integer cents (never a float) and its currency.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceWire {
    #[schema(example = 490, minimum = 0)]
    pub amount_cents: i64,
    #[schema(example = "EUR", min_length = 3, max_length = 3)]
    pub currency: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineWire {
    #[schema(example = "LMP-042", max_length = 64)]
    pub sku: String,
    #[schema(example = "Lampe de bureau", max_length = 200)]
    pub name: String,
    #[schema(example = 1, minimum = 1, maximum = 100000)]
    pub quantity: i64,
    #[schema(example = 3990, minimum = 0)]
    pub unit_price_cents: i64,
}

impl From<relais_domain::order::OrderLine> for LineWire {
    fn from(l: relais_domain::order::OrderLine) -> Self {
        LineWire { sku: l.sku, name: l.name, quantity: i64::from(l.quantity), unit_price_cents: l.unit_price_cents }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderParcelWire {
    /// Left out: the merchant's next SSCC.
    #[schema(example = "106141410000000002", max_length = 35)]
    pub parcel_number: Option<String>,
    pub dimensions_mm: DimensionsWire,
    #[schema(example = 1200, minimum = 1, maximum = 70000)]
    pub weight_g: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRequest {
    /// 1 to 50 parcels.
    pub parcels: Vec<OrderParcelWire>,
    /// Left out: the order's point.
    pub point_id: Option<Uuid>,
}

/// An order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderWire {
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub reference: String,
    /// `announced`, `on_hold` (waiting for the merchant's decision) or `home_delivery`.
    pub state: String,
    /// The point the customer chose.
    pub chosen_point_id: Uuid,
    /// Where the parcels went: the chosen point or its fallback; none on hold or home delivery.
    pub point_id: Option<Uuid>,
    /// Why the chosen point was not used.
    pub reason: Option<String>,
    pub fallback: String,
    pub service_level: String,
    pub shipping_price: PriceWire,
    pub lines: Vec<LineWire>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderParcelView {
    pub parcel: ParcelView,
    /// 1, then the remainders' shipments.
    pub shipment: u32,
    /// While the code is live (until the parcel is collected or goes back).
    pub pickup_code: Option<String>,
    pub qr_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderResponse {
    pub order: OrderWire,
    pub parcels: Vec<OrderParcelView>,
}

fn response(view: OrderView) -> OrderResponse {
    let o = view.order;
    OrderResponse {
        order: OrderWire {
            id: o.id.uuid(),
            merchant_id: o.merchant_id.uuid(),
            reference: o.reference,
            state: o.state.as_str().to_owned(),
            chosen_point_id: o.chosen_point_id.uuid(),
            point_id: o.point_id.map(|p| p.uuid()),
            reason: o.reason,
            fallback: o.fallback.as_str().to_owned(),
            service_level: o.service_level,
            shipping_price: PriceWire { amount_cents: o.shipping_price_cents, currency: o.currency },
            lines: o.lines.into_iter().map(LineWire::from).collect(),
            created_at: o.created_at,
        },
        parcels: view
            .parcels
            .into_iter()
            .map(|p| OrderParcelView {
                parcel: ParcelView::from(&p.parcel),
                shipment: p.shipment,
                pickup_code: p.pickup.as_ref().map(|(code, _)| code.as_str().to_owned()),
                qr_token: p.pickup.map(|(_, qr)| qr),
            })
            .collect(),
    }
}

fn parcels_of(parcels: Vec<OrderParcelWire>) -> Vec<NewOrderParcel> {
    parcels
        .into_iter()
        .map(|p| NewOrderParcel {
            parcel_number: p.parcel_number,
            length_mm: p.dimensions_mm.length,
            width_mm: p.dimensions_mm.width,
            height_mm: p.dimensions_mm.height,
            weight_g: p.weight_g,
        })
        .collect()
}

#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = OrderRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 ASCII characters: the same key with the same order answers the same, and creates nothing twice.")),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 201, body = OrderResponse, description = "Created; a replay of the same key answers the same (with `Idempotent-Replayed: true`)."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such point, merchant or carrier."),
        (status = 409, body = ErrorEnvelope, description = "`already_exists` (`order_reference`, `parcel_number`), `no_fitting_compartment` (the point was taken meanwhile), `no_number_series`, `numbers_exhausted`. Nothing created."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed` with its `field`; `idempotency_key_reused`: the key came with another order.")))]
/// Creates an order and announces its parcels to the customer's point, or to the merchant's fallback
/// when that point cannot take them (the order says why), all or nothing.
pub async fn create_order(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    Body(r): Body<OrderRequest>,
) -> Result<Response> {
    let idempotency_key = match headers.get("idempotency-key") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ApiError::validation("Idempotency-Key", "is 1 to 255 ASCII characters"))?
                .to_owned(),
        ),
        None => None,
    };
    let input = NewOrder {
        merchant_id: r.merchant_id.map(Id::from_uuid),
        reference: r.reference,
        idempotency_key,
        customer_name: r.customer.name,
        customer_phone: r.customer.phone,
        customer_email: r.customer.email,
        customer_language: r.customer.language,
        point_id: Id::from_uuid(r.point_id),
        carrier_id: r.carrier_id.map(Id::from_uuid),
        service_level: r.service_level,
        shipping_price_cents: r.shipping_price.amount_cents,
        currency: r.shipping_price.currency,
        lines: r
            .lines
            .into_iter()
            .map(|l| NewLine { sku: l.sku, name: l.name, quantity: l.quantity, unit_price_cents: l.unit_price_cents })
            .collect(),
        parcels: parcels_of(r.parcels),
        fallback: r.fallback,
        expected_arrival: r.expected_arrival,
        shop: None,
    };
    let view = state.app.create_order(&caller, input).await?;
    let replayed = view.replayed;
    let mut answer = (StatusCode::CREATED, Json(response(view))).into_response();
    if replayed {
        answer.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
    }
    Ok(answer)
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders",
    params(("id" = Uuid, Path, description = "The order.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = OrderResponse),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such order, or another merchant's.")))]
/// An order and its parcels, with their codes while they are live.
pub async fn get_order(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<OrderResponse>> {
    Ok(Json(response(state.app.order_view(&caller, path_id("order", &id)?).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderLookup {
    /// The merchant's order number.
    pub reference: String,
    /// Required for an operator's key; a merchant's key looks up its own.
    pub merchant_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(OrderLookup),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = OrderResponse),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no order with this reference."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `merchant_id` is required for an operator.")))]
/// An order by the merchant's reference.
pub async fn find_order(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<OrderLookup>,
) -> Result<Json<OrderResponse>> {
    let view = state.app.order_by_reference(&caller, q.merchant_id.map(Id::from_uuid), &q.reference).await?;
    Ok(Json(response(view)))
}

#[utoipa::path(post, path = "/v1/orders/{id}/shipments", tag = "orders", request_body = ShipmentRequest,
    params(("id" = Uuid, Path, description = "The order.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 201, body = OrderResponse, description = "The order with every shipment's parcels."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such order (or another merchant's), or point."),
        (status = 409, body = ErrorEnvelope, description = "`no_fitting_compartment`: the point cannot take them; `already_exists`: a parcel number is taken."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed` with its `field`.")))]
/// Ships the remainders of an order later: another shipment, to the order's point or another, tracked
/// with the order.
pub async fn add_shipment(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(r): Body<ShipmentRequest>,
) -> Result<(StatusCode, Json<OrderResponse>)> {
    let order_id = path_id("order", &id)?;
    let view = state.app.add_shipment(&caller, order_id, parcels_of(r.parcels), r.point_id.map(Id::from_uuid)).await?;
    Ok((StatusCode::CREATED, Json(response(view))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorRequest {
    /// The shop's webhook secret (Shopify: the app's or the store's webhook signing secret; WooCommerce:
    /// the webhook's secret), 16 to 256 characters; kept sealed, never shown again.
    #[schema(min_length = 16, max_length = 256)]
    pub secret: String,
    /// The parcel an order makes when the shop gives no size (and no weight: WooCommerce).
    pub default_parcel: DefaultParcel,
    /// The shop's API, for relais to write each order's fulfilment back (shipped with the parcel
    /// numbers, ready for pickup, delivered); left out, relais writes nothing to the shop.
    pub api: Option<ShopApiWire>,
}

/// Where and as whom relais calls the shop's API (docs/connectors.md, "Writing back").
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopApiWire {
    /// The shop's base URL: `https://{shop}.myshopify.com`, the WordPress site, Magento's base URL.
    #[schema(example = "https://boutique.myshopify.com", max_length = 2000)]
    pub url: String,
    /// WooCommerce only: the REST API consumer key (`ck_...`).
    #[schema(max_length = 200)]
    pub username: Option<String>,
    /// Shopify's Admin API access token, WooCommerce's consumer secret (`cs_...`), Magento's integration
    /// access token. Sealed, never shown again.
    #[schema(min_length = 8, max_length = 512)]
    pub token: String,
}

/// Never shows the token.
impl std::fmt::Debug for ShopApiWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShopApiWire({})", self.url)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultParcel {
    pub dimensions_mm: DimensionsWire,
    #[schema(example = 1000, minimum = 1, maximum = 70000)]
    pub weight_g: i64,
}

#[utoipa::path(put, path = "/v1/merchants/{id}/connectors/{platform}", tag = "orders", request_body = ConnectorRequest,
    params(("id" = Uuid, Path, description = "The merchant."), ("platform" = String, Path, description = "`shopify`, `woocommerce` or `magento`.")),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 204, description = "Set: the shop's order webhooks go to `/v1/connectors/{platform}/{id}/orders`."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such merchant (or another's), or platform."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `secret`, `dimensions_mm`, `weight_g`, `api.url`, `api.username` or `api.token`.")))]
/// Connects the merchant's shop: its webhook secret and the default parcel of its orders.
pub async fn set_connector(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path((id, platform)): Path<(String, String)>,
    Body(r): Body<ConnectorRequest>,
) -> Result<StatusCode> {
    let merchant_id = path_id("merchant", &id)?;
    let platform = Platform::parse(&platform).ok_or_else(|| relais_app::AppError::not_found("platform", platform))?;
    let settings = ConnectorSettings {
        secret: r.secret,
        length_mm: r.default_parcel.dimensions_mm.length,
        width_mm: r.default_parcel.dimensions_mm.width,
        height_mm: r.default_parcel.dimensions_mm.height,
        weight_g: r.default_parcel.weight_g,
        api: r.api.map(|a| relais_app::connectors::ShopApiSettings {
            url: a.url,
            username: a.username,
            token: a.token,
        }),
    };
    state.app.set_connector(&caller, merchant_id, platform, settings).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn shop_order(
    state: &HttpState,
    platform: Platform,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response> {
    let merchant_id = path_id("merchant", id)?;
    let signature = headers.get(platform.signature_header()).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let view = state.app.receive_shop_order(platform, merchant_id, signature, body).await?;
    let status = if view.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(response(view))).into_response())
}

#[utoipa::path(post, path = "/v1/connectors/shopify/{id}/orders", tag = "orders",
    params(("id" = Uuid, Path, description = "The merchant whose shop sends it.")),
    request_body(content = String, content_type = "application/json", description = "Shopify's order (`orders/create` webhook), signed in `X-Shopify-Hmac-Sha256`."),
    responses((status = 201, body = OrderResponse, description = "The order made."),
        (status = 200, body = OrderResponse, description = "Delivered again: the order already made."),
        (status = 403, body = ErrorEnvelope, description = "`invalid_signature`: not signed with the merchant's secret."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no Shopify connector for this merchant, or no such point."),
        (status = 409, body = ErrorEnvelope, description = "`no_fitting_compartment`, `no_number_series`, `numbers_exhausted`: nothing made."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: the order names no relais point, or a field is not what Shopify sends.")))]
/// Shopify's order webhook: checked with the merchant's secret, the chosen point read from the cart
/// attribute `relais_point_id` (or a `relais:` shipping rate), made an order once.
pub async fn shopify_order(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response> {
    shop_order(&state, Platform::Shopify, &id, &headers, &body).await
}

#[utoipa::path(post, path = "/v1/connectors/woocommerce/{id}/orders", tag = "orders",
    params(("id" = Uuid, Path, description = "The merchant whose shop sends it.")),
    request_body(content = String, content_type = "application/json", description = "WooCommerce's order (`order.created` webhook), signed in `X-WC-Webhook-Signature`; or the ping WooCommerce sends when the webhook is saved (`webhook_id=...`)."),
    responses((status = 201, body = OrderResponse, description = "The order made."),
        (status = 200, body = OrderResponse, description = "Delivered again: the order already made."),
        (status = 204, description = "The ping WooCommerce sends when the webhook is saved."),
        (status = 403, body = ErrorEnvelope, description = "`invalid_signature`: not signed with the merchant's secret."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no WooCommerce connector for this merchant, or no such point."),
        (status = 409, body = ErrorEnvelope, description = "`no_fitting_compartment`, `no_number_series`, `numbers_exhausted`: nothing made."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: the order names no relais point, or a field is not what WooCommerce sends.")))]
/// WooCommerce's order webhook: checked with the merchant's secret, the chosen point read from the
/// order's meta data `_relais_point_id`, made an order once.
pub async fn woocommerce_order(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response> {
    // Saving a webhook in WooCommerce pings it (a form, `webhook_id=12`): it only wants a 2xx.
    if body.starts_with(b"webhook_id=") {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    shop_order(&state, Platform::WooCommerce, &id, &headers, &body).await
}

#[utoipa::path(post, path = "/v1/connectors/magento/{id}/orders", tag = "orders",
    params(("id" = Uuid, Path, description = "The merchant whose shop sends it.")),
    request_body(content = String, content_type = "application/json", description = "Magento 2's order entity as its REST API gives it (`GET /V1/orders/{id}`, `sales-data-order-interface`), posted by relais' Magento module when the order is placed and signed in `X-Relais-Hmac-Sha256` (base64 HMAC-SHA256 of the body under the connector's secret)."),
    responses((status = 201, body = OrderResponse, description = "The order made."),
        (status = 200, body = OrderResponse, description = "Delivered again: the order already made."),
        (status = 403, body = ErrorEnvelope, description = "`invalid_signature`: not signed with the merchant's secret."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no Magento connector for this merchant, or no such point."),
        (status = 409, body = ErrorEnvelope, description = "`no_fitting_compartment`, `no_number_series`, `numbers_exhausted`: nothing made."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: the order names no relais point, or a field is not what Magento sends.")))]
/// A Magento 2 order: checked with the merchant's secret, the chosen point read from the extension
/// attribute `relais_point_id` (or the shipping method `relais_<point id>`), made an order once.
pub async fn magento_order(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response> {
    shop_order(&state, Platform::Magento, &id, &headers, &body).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderImportQuery {
    /// `csv` (one row per parcel, an order's rows sharing its reference) or `jsonl` (one order per line,
    /// as `POST /v1/orders` takes it).
    pub format: String,
    /// Required for an operator's key.
    pub merchant_id: Option<Uuid>,
}

/// A file of orders: bytes, read as the `format` parameter says.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct OrderFile(pub Vec<u8>);

/// What became of each order of a file.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderImportView {
    pub created: usize,
    /// Made by an earlier sending of the file (same references): not made again.
    pub existing: usize,
    /// Refused when created (a point full meanwhile...): the others were made.
    pub refused: usize,
    pub lines: Vec<OrderImportLine>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderImportLine {
    /// The file's line (an order's first row in a CSV file).
    pub line: usize,
    pub reference: String,
    /// `valid` (checked, nothing created because another line is bad), `created`, `existing` or `refused`.
    pub outcome: String,
    pub order_id: Option<String>,
    /// The order's state when created.
    pub state: Option<String>,
    /// Why it was refused: the error code and message of `POST /v1/orders`.
    pub code: Option<String>,
    pub message: Option<String>,
}

fn import_view(report: &relais_app::order_files::ImportReport) -> OrderImportView {
    use relais_app::order_files::LineOutcome;
    let lines = report
        .lines
        .iter()
        .map(|l| {
            let mut line = OrderImportLine {
                line: l.line,
                reference: l.reference.clone(),
                outcome: String::new(),
                order_id: None,
                state: None,
                code: None,
                message: None,
            };
            match &l.outcome {
                LineOutcome::Valid => line.outcome = "valid".into(),
                LineOutcome::Created { order_id, state } => {
                    line.outcome = "created".into();
                    line.order_id = Some(order_id.clone());
                    line.state = Some((*state).to_owned());
                }
                LineOutcome::Existed { order_id } => {
                    line.outcome = "existing".into();
                    line.order_id = Some(order_id.clone());
                }
                LineOutcome::Refused { code, message } => {
                    line.outcome = "refused".into();
                    line.code = Some((*code).to_owned());
                    line.message = Some(message.clone());
                }
            }
            line
        })
        .collect();
    OrderImportView {
        created: report.count(|o| matches!(o, LineOutcome::Created { .. })),
        existing: report.count(|o| matches!(o, LineOutcome::Existed { .. })),
        refused: report.count(|o| matches!(o, LineOutcome::Refused { .. })),
        lines,
    }
}

#[utoipa::path(post, path = "/v1/orders/import", tag = "orders", params(OrderImportQuery),
    request_body(content = OrderFile, content_type = "application/octet-stream",
        description = "The file, as is (up to `import_body_bytes_max`); its `format` says how to read it."),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = OrderImportView, description = "Every order checked, then created (or found made by an earlier sending)."),
        (status = 422, body = ErrorEnvelope, description = "`import_refused`: a line is bad, nothing created; the report per line in `details`. `validation_failed`: the file cannot be read (not UTF-8, columns missing, `format`).")))]
/// Imports a file of orders: every line checked first (a bad one refuses the file, nothing created),
/// then each order created as `POST /v1/orders` does, once (sent again, the file creates nothing twice).
pub async fn import_orders(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<OrderImportQuery>,
    RawBody(body): RawBody,
) -> Result<Json<OrderImportView>> {
    let format = relais_app::order_files::OrderFormat::parse(&query.format)?;
    let report = state.app.import_orders(&caller, query.merchant_id.map(Id::from_uuid), format, &body).await?;
    let view = import_view(&report);
    if report.refused {
        let bad = view.lines.iter().filter(|l| l.outcome == "refused").count();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "import_refused",
            format!("{bad} of {} orders are bad: nothing was created", view.lines.len()),
        )
        .with_details(serde_json::to_value(&view).unwrap_or_default()));
    }
    Ok(Json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Only the parcels changed since then (RFC 3339); all when left out.
    pub updated_since: Option<DateTime<Utc>>,
    /// Required for an operator's key.
    pub merchant_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/parcels/export", tag = "orders", params(ExportQuery),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, content_type = "text/csv", body = String,
            description = "`parcel_id,parcel_number,order_reference,shipment,state,point_id,deposited_at,pickup_deadline,updated_at`, a row per parcel, oldest first."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: another merchant's."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `updated_since`, or `merchant_id` missing for an operator.")))]
/// The merchant's parcels with their states and orders, as CSV: what an ERP pulls back (with
/// `updated_since`, only what changed since its last pull).
pub async fn export_parcels(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ExportQuery>,
) -> Result<Response> {
    let rows = state.app.export_parcels(&caller, q.merchant_id.map(Id::from_uuid), q.updated_since).await?;
    let mut body = String::from(relais_app::orders::EXPORT_HEADER);
    body.push('\n');
    for row in &rows {
        body.push_str(&row.csv_row());
        body.push('\n');
    }
    Ok(([(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    #[param(max_length = 254)]
    pub email: Option<String>,
    /// E.164.
    #[param(max_length = 20)]
    pub phone: Option<String>,
}

/// The point a customer used last.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastPointView {
    pub point_id: Uuid,
    pub used_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/v1/customers/last-point", tag = "orders", params(CustomerQuery),
    security(("api_key" = ["merchant"])),
    responses((status = 200, body = LastPointView),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no order of this merchant to this customer went to a point."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: no contact, or not an e-mail address or E.164 number.")))]
/// The point the merchant's customer used last (by their e-mail address or phone number, kept by
/// relais as a keyed digest only): what the checkout proposes first.
pub async fn last_point(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<CustomerQuery>,
) -> Result<Json<LastPointView>> {
    let found = state.app.customer_last_point(&caller, q.email.as_deref(), q.phone.as_deref()).await?;
    let (point, used_at) = found.ok_or_else(|| relais_app::AppError::not_found("customer", "with these contacts"))?;
    Ok(Json(LastPointView { point_id: point.uuid(), used_at }))
}
