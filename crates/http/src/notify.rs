//! Routes of the notifications: webhook and alert endpoints (registered with their secret shown once,
//! rotated, disabled and enabled, with their delivery log), a parcel's messages, and a message resent.
//! A message's text never appears here: it may hold the pickup code.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use relais_app::notify::endpoints::NewEndpoint;
use relais_app::ports::Page;
use relais_domain::delivery::{Delivery, Endpoint, EndpointTarget};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, QueryParams, RawBody, path_id};
use crate::names;

type Result<T> = std::result::Result<T, ApiError>;

/// Where events are sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    pub id: Uuid,
    /// The merchant whose parcels' events it receives; none: the operators' (alerts, every event).
    pub merchant_id: Option<Uuid>,
    /// A webhook's URL (signed requests, Standard Webhooks).
    pub url: Option<String>,
    /// An e-mail address (operators' alerts).
    pub email: Option<String>,
    /// Topics received (`parcel.deposited`, `parcel.*`, `point.*`); empty: all of its owner's.
    pub topics: Vec<String>,
    pub enabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why: by its owner, or after failing for days.
    pub disabled_reason: Option<String>,
    /// Since when every delivery to it failed; none when the last one succeeded.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        let (url, email) = match &e.target {
            EndpointTarget::Webhook { url } => (Some(url.clone()), None),
            EndpointTarget::Email { address } => (None, Some(address.clone())),
        };
        EndpointView {
            id: e.id.uuid(),
            merchant_id: e.merchant_id.map(|m| m.uuid()),
            url,
            email,
            topics: e.topics.clone(),
            enabled: e.disabled_at.is_none(),
            disabled_at: e.disabled_at,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointRequest {
    /// An operator registering a merchant's endpoint names the merchant; a merchant key implies its own.
    pub merchant_id: Option<Uuid>,
    /// A webhook: `https://` to a public host.
    #[schema(max_length = 2000, example = "https://shop.example/hooks/relais")]
    pub url: Option<String>,
    /// Or, for operators' alerts, an e-mail address.
    #[schema(max_length = 254, example = "ops@example.org")]
    pub email: Option<String>,
    /// Topics or families (`parcel.*`); none: every event of its owner.
    #[schema(max_items = 50, example = json!(["parcel.*"]))]
    #[serde(default)]
    pub topics: Vec<String>,
}

/// An endpoint just registered.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEndpointView {
    pub endpoint: EndpointView,
    /// The signing secret (`whsec_...`), for webhooks: shown once, here. Check each request's
    /// `webhook-signature` with it (docs/notifications.md).
    pub secret: Option<String>,
}

#[utoipa::path(post, path = "/v1/endpoints", tag = "notifications", request_body = NewEndpointRequest,
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 201, body = CreatedEndpointView),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such merchant."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `url` (not https, a private address, credentials), `email`, or `topics`.")))]
/// Registers a webhook endpoint (or, for operators, an alert address). Every parcel event of the
/// merchant (or each topic listed) is posted to it, signed, retried for about a day.
pub async fn create_endpoint(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(request): Body<NewEndpointRequest>,
) -> Result<(StatusCode, Json<CreatedEndpointView>)> {
    let input = NewEndpoint {
        merchant_id: request.merchant_id.map(relais_domain::ids::Id::from_uuid),
        url: request.url,
        email: request.email,
        topics: request.topics,
    };
    let created = state.app.create_endpoint(&caller, input).await?;
    let view = CreatedEndpointView { endpoint: EndpointView::from(&created.endpoint), secret: created.secret };
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EndpointsQuery {
    /// An operator: this merchant's endpoints (none: the operators' own).
    pub merchant_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/endpoints", tag = "notifications", params(EndpointsQuery),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = Vec<EndpointView>),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: another merchant's.")))]
/// The caller's endpoints (a merchant's own; an operator's, or a merchant's it names).
pub async fn list_endpoints(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<EndpointsQuery>,
) -> Result<Json<Vec<EndpointView>>> {
    let merchant_id = query.merchant_id.map(relais_domain::ids::Id::from_uuid);
    let endpoints = state.app.endpoints(&caller, merchant_id).await?;
    Ok(Json(endpoints.iter().map(EndpointView::from).collect()))
}

#[utoipa::path(get, path = "/v1/endpoints/{id}", tag = "notifications",
    params(("id" = Uuid, Path, description = "The endpoint.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = EndpointView)))]
/// One endpoint.
pub async fn get_endpoint(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>> {
    let endpoint = state.app.endpoint(&caller, path_id("endpoint", &id)?).await?;
    Ok(Json(EndpointView::from(&endpoint)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Hours the current secret keeps signing beside the new one (0 to 168, default 24): time for
    /// the receiver to switch.
    #[schema(minimum = 0, maximum = 168, example = 24)]
    pub overlap_hours: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new signing secret: shown once, here.
    pub secret: String,
    /// Until when requests carry a signature with the previous secret too.
    pub previous_valid_until: DateTime<Utc>,
}

#[utoipa::path(post, path = "/v1/endpoints/{id}/rotate-secret", tag = "notifications", request_body = RotateRequest,
    params(("id" = Uuid, Path, description = "The endpoint.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = RotatedSecret),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `overlap_hours`, or an e-mail endpoint.")))]
/// A new signing secret. Until `previous_valid_until`, each request carries two signatures (old and
/// new), so the receiver can switch without losing one.
pub async fn rotate_secret(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<RotateRequest>,
) -> Result<Json<RotatedSecret>> {
    let overlap = request.overlap_hours.unwrap_or(24);
    let (secret, previous_valid_until) =
        state.app.rotate_endpoint_secret(&caller, path_id("endpoint", &id)?, overlap).await?;
    Ok(Json(RotatedSecret { secret, previous_valid_until }))
}

#[utoipa::path(post, path = "/v1/endpoints/{id}/disable", tag = "notifications",
    params(("id" = Uuid, Path, description = "The endpoint.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = EndpointView)))]
/// Stops sending to an endpoint.
pub async fn disable_endpoint(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>> {
    let endpoint = state.app.set_endpoint_enabled(&caller, path_id("endpoint", &id)?, false).await?;
    Ok(Json(EndpointView::from(&endpoint)))
}

#[utoipa::path(post, path = "/v1/endpoints/{id}/enable", tag = "notifications",
    params(("id" = Uuid, Path, description = "The endpoint.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = EndpointView)))]
/// Sends to an endpoint again (after it was disabled, by its owner or for failing for days). Messages
/// that went dead meanwhile can be replayed from its delivery log.
pub async fn enable_endpoint(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>> {
    let endpoint = state.app.set_endpoint_enabled(&caller, path_id("endpoint", &id)?, true).await?;
    Ok(Json(EndpointView::from(&endpoint)))
}

/// One message on one channel to one address; never its text.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Also the `webhook-id` and the e-mail's `Message-ID`: stable across attempts and resends.
    pub id: Uuid,
    /// The event (`parcel.deposited`, `point.occupancy_high`).
    pub topic: String,
    pub parcel_id: Option<Uuid>,
    pub channel: names::Channel,
    /// A phone number, an e-mail address, or a webhook endpoint's id.
    pub address: String,
    pub state: names::DeliveryState,
    /// Attempts started so far.
    pub attempts: u32,
    /// When it is tried next, while pending.
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure, clipped.
    pub last_error: Option<String>,
    /// The provider's reference (the SMTP server's queue id, Twilio's SID).
    pub provider_ref: Option<String>,
    /// What the provider reported afterwards (`delivered`, `undelivered`...).
    pub provider_status: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Delivery> for MessageView {
    fn from(d: &Delivery) -> Self {
        MessageView {
            id: d.id.uuid(),
            topic: d.topic.clone(),
            parcel_id: d.parcel_id.map(|p| p.uuid()),
            channel: d.channel.into(),
            address: d.address.clone(),
            state: d.state.into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error.clone(),
            provider_ref: d.provider_ref.clone(),
            provider_status: d.provider_status.clone(),
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryLogQuery {
    /// Only the messages in this state (`dead`: what to replay).
    pub state: Option<names::DeliveryState>,
    /// The last id of the previous page.
    pub after: Option<Uuid>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/endpoints/{id}/deliveries", tag = "notifications", params(("id" = Uuid, Path, description = "The endpoint."), DeliveryLogQuery),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = Vec<MessageView>),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `limit`.")))]
/// An endpoint's delivery log, newest first.
pub async fn endpoint_deliveries(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<DeliveryLogQuery>,
) -> Result<Json<Vec<MessageView>>> {
    let limit = state.app.page_limit(query.limit)?;
    let page = Page { after: query.after.map(relais_domain::ids::Id::from_uuid), limit };
    let log = state.app.endpoint_deliveries(&caller, path_id("endpoint", &id)?, query.state.map(|s| s.0), page).await?;
    Ok(Json(log.iter().map(MessageView::from).collect()))
}

#[utoipa::path(get, path = "/v1/parcels/{id}/messages", tag = "notifications",
    params(("id" = Uuid, Path, description = "The parcel.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = Vec<MessageView>)))]
/// Every message of a parcel, newest first: to the recipient (SMS, e-mail) and to webhooks, with its
/// state, attempts and the provider's answer. Never the text.
pub async fn parcel_messages(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<MessageView>>> {
    let messages = state.app.parcel_messages(&caller, path_id("parcel", &id)?).await?;
    Ok(Json(messages.iter().map(MessageView::from).collect()))
}

#[utoipa::path(post, path = "/v1/messages/{id}/resend", tag = "notifications",
    params(("id" = Uuid, Path, description = "The message.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = MessageView),
        (status = 409, body = ErrorEnvelope, description = "`not_resendable` with `reason`: still being delivered, or its event was pruned.")))]
/// Sends a delivered or dead message again from its first attempt, with the same id (receivers
/// deduplicate on it). Operators resend any; a merchant replays its own endpoints' webhooks.
pub async fn resend(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<MessageView>> {
    let delivery = state.app.resend_delivery(&caller, path_id("message", &id)?).await?;
    Ok(Json(MessageView::from(&delivery)))
}

/// What Twilio posts about an SMS it took (the fields relais reads; Twilio sends more, all signed).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(non_snake_case, dead_code)] // Twilio's field names; read from the form by the use case.
pub struct TwilioStatusForm {
    /// The message's SID, as Twilio answered when it took it.
    #[schema(example = "SM0123456789abcdef0123456789abcdef")]
    pub MessageSid: String,
    /// `queued`, `sending`, `sent`, `delivered`, `undelivered`, `failed`...
    #[schema(example = "delivered")]
    pub MessageStatus: String,
    /// Twilio's error code when it failed (30003: unreachable handset...).
    pub ErrorCode: Option<String>,
}

#[utoipa::path(post, path = "/v1/callbacks/twilio", tag = "notifications",
    request_body(content = TwilioStatusForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "Recorded (or a message relais does not know: nothing to record)."),
        (status = 403, body = ErrorEnvelope, description = "`invalid_signature`: not signed by the configured Twilio account."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: SMS do not go through Twilio here."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `MessageSid` or `MessageStatus` missing or unknown.")))]
/// Twilio's status callback: what became of an SMS after Twilio took it, shown with the parcel's
/// messages (`provider_status`). No API key: the request is authenticated by its `X-Twilio-Signature`
/// header, made with the account's auth token over this URL and the form's fields.
pub async fn twilio_status(
    State(state): State<HttpState>,
    headers: axum::http::HeaderMap,
    RawBody(body): RawBody,
) -> Result<StatusCode> {
    let signature = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let params: Vec<(String, String)> =
        form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    state.app.twilio_status(&params, signature).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How a merchant's e-mails to its recipients look.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingView {
    /// `#rrggbb`: the e-mail's header band. None: relais' blue.
    #[schema(example = "#1d4ed8", max_length = 7)]
    pub brand_color: Option<String>,
    /// An `https://` image shown in the header instead of the name.
    #[schema(example = "https://shop.example/logo.png", max_length = 500)]
    pub logo_url: Option<String>,
    /// The name the e-mails come from. None: the merchant's name.
    #[schema(example = "Boutique Lumière", max_length = 60)]
    pub sender_name: Option<String>,
    /// Where returns go: printed under the merchant's name as the sender on its labels. Up to 3 lines
    /// of 60 characters, separated by `\n`.
    #[schema(example = "3 quai Saint-Antoine\n69002 Lyon\nFrance")]
    pub return_address: Option<String>,
}

#[utoipa::path(put, path = "/v1/merchants/{id}/branding", tag = "notifications", request_body = BrandingView,
    params(("id" = Uuid, Path, description = "The merchant.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = BrandingView),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such merchant, or another merchant's."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `brand_color`, `logo_url`, `sender_name` or `return_address`.")))]
/// Sets the merchant's branding in its recipients' e-mails (its colour, logo and sender's name) and the
/// return address its labels print; a field left out goes back to relais' own.
pub async fn set_branding(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<BrandingView>,
) -> Result<Json<BrandingView>> {
    let branding = relais_app::ports::Branding {
        color: request.brand_color,
        logo_url: request.logo_url,
        sender_name: request.sender_name,
        return_address: request.return_address,
    };
    let set = state.app.set_merchant_branding(&caller, path_id("merchant", &id)?, branding).await?;
    Ok(Json(BrandingView {
        brand_color: set.color,
        logo_url: set.logo_url,
        sender_name: set.sender_name,
        return_address: set.return_address,
    }))
}
