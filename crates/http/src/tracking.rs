//! Routes of carrier tracking (docs/tracking.md): following a parcel at its carrier, its timeline
//! (the carrier's events and relais' own), and carriers' signed pushes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, FixedOffset, Utc};
use relais_app::ports::ParcelTracking;
use relais_app::tracking::{FollowRequest, Ingested, PushSignature, Timeline};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, RawBody, path_id};
use crate::orders::PriceWire;

type Result<T> = std::result::Result<T, ApiError>;

/// Which carrier handles the parcel and the number it knows it by.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackRequest {
    /// `laposte`, `colissimo`, `chronopost`, `dpd`, `gls`, `dhl_parcel_de`, `postat`, `bpost`, `ups`,
    /// `fedex`, `dhl_express`, `usps` or `hermes`.
    #[schema(example = "colissimo")]
    pub carrier: String,
    /// The carrier's number for the parcel: 1 to 64 letters, digits or dashes.
    #[schema(example = "6A12345678901", max_length = 64)]
    pub tracking_number: String,
    /// The promise: the service level's working days (J+n). From the parcel's order's service level
    /// (`[promise.service_levels]`) when not given; no promise, no delay notice nor compensation,
    /// without either.
    #[schema(example = 2, minimum = 0, maximum = 60)]
    pub service_days: Option<u32>,
    /// The merchant's service level (`express`, `standard`, `economy`, or the configuration's): its
    /// working days when `service_days` is not given, and the carrier's scale for that service.
    #[schema(example = "standard")]
    pub service_level: Option<String>,
    /// What the recipient paid for shipping: the base of late-delivery compensation. From the order
    /// (shared among its parcels) when not given.
    pub shipping_price: Option<PriceWire>,
    /// What the goods are worth, in the shipping price's currency: a loss claim asks for it. From the
    /// order's lines when not given.
    #[schema(example = 3990, minimum = 0)]
    pub declared_value_cents: Option<i64>,
}

/// One entry of a parcel's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryView {
    /// The carrier's events in their local time with its offset; relais' own in UTC.
    #[schema(example = "2026-03-05T10:42:00+01:00")]
    pub at: DateTime<FixedOffset>,
    /// `carrier` or `relais`.
    #[schema(example = "carrier")]
    pub source: String,
    /// The carrier's name, or `relais`.
    #[schema(example = "colissimo")]
    pub by: String,
    /// The carrier's own code, or relais' event (`deposited`, `collected`...).
    #[schema(example = "PC1")]
    pub code: String,
    /// The carrier's own text (relais' events: the reason, if any).
    pub description: String,
    /// `pending`, `picked_up`, `in_transit`, `out_for_delivery`, `ready_for_pickup`, `delivery_failed`,
    /// `on_hold`, `delivery_delayed`, `return_to_sender`, `delivered`, `unknown`.
    #[schema(example = "picked_up")]
    pub status: String,
    pub place: Option<String>,
}

/// A parcel's tracking at its carrier and its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingView {
    pub parcel_id: Uuid,
    /// The carrier it is followed at (none: not followed, only relais' events).
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// The normalised status of the carrier's latest event.
    pub status: Option<String>,
    /// When relais asks the carrier next; none once it stopped (delivered, gone cold) or not followed.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Why the last poll was of no use, if it was not.
    pub last_error: Option<String>,
    /// The promise: its working days, the day the carrier took the parcel and the day it is due.
    pub service_days: Option<u32>,
    pub shipped_on: Option<chrono::NaiveDate>,
    pub due_on: Option<chrono::NaiveDate>,
    /// When it was delivered: available at its point.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Why the recipient was told it would be late (`carrier_delay`, `delivery_failed`, `no_movement`,
    /// `promise_missed`), if they were.
    pub delay_reason: Option<String>,
    /// Oldest first.
    pub events: Vec<TimelineEntryView>,
}

impl From<relais_app::tracking::TimelineEntry> for TimelineEntryView {
    fn from(e: relais_app::tracking::TimelineEntry) -> Self {
        TimelineEntryView {
            at: e.at,
            source: match e.source {
                relais_app::tracking::Source::Carrier => "carrier".to_owned(),
                relais_app::tracking::Source::Relais => "relais".to_owned(),
            },
            by: e.by,
            code: e.code,
            description: e.description,
            status: e.status.as_str().to_owned(),
            place: e.place,
        }
    }
}

fn view(parcel_id: Uuid, tracking: Option<ParcelTracking>, timeline: Option<Timeline>) -> TrackingView {
    let entries = timeline.map(|t| t.entries).unwrap_or_default();
    TrackingView {
        parcel_id,
        carrier: tracking.as_ref().map(|t| t.carrier.clone()),
        tracking_number: tracking.as_ref().map(|t| t.tracking_number.clone()),
        status: tracking.as_ref().and_then(|t| t.status.clone()),
        next_poll_at: tracking.as_ref().and_then(|t| t.next_poll_at),
        last_error: tracking.as_ref().and_then(|t| t.last_error.clone()),
        service_days: tracking.as_ref().and_then(|t| t.promise.as_ref()).map(|p| p.service_days),
        shipped_on: tracking.as_ref().and_then(|t| t.shipped_on),
        due_on: tracking.as_ref().and_then(|t| t.due_on),
        delivered_at: tracking.as_ref().and_then(|t| t.delivered_at),
        delay_reason: tracking.as_ref().and_then(|t| t.delay_reason.clone()),
        events: entries.into_iter().map(TimelineEntryView::from).collect(),
    }
}

#[utoipa::path(put, path = "/v1/parcels/{id}/tracking", tag = "tracking", params(("id" = Uuid, Path)),
    request_body = TrackRequest,
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = TrackingView, description = "Followed: polled soon, then as the parcel moves."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such parcel, or not the caller's."),
        (status = 409, body = ErrorEnvelope, description = "`already_exists` (`tracking_number`): another parcel is followed under that carrier and number."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: an unknown `carrier`, or a `tracking_number` that is not 1 to 64 letters, digits or dashes.")))]
/// Follows a parcel at its carrier under the carrier's number: relais polls the carrier and takes its
/// pushes, and the merchant's webhooks get `parcel.tracking` with each news. The same carrier and
/// number again change nothing; others replace them.
pub async fn track_parcel(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<TrackRequest>,
) -> Result<Json<TrackingView>> {
    let parcel_id = path_id("parcel", &id)?;
    let follow = FollowRequest {
        carrier: request.carrier,
        tracking_number: request.tracking_number,
        service_days: request.service_days,
        service_level: request.service_level,
        shipping_price_cents: request.shipping_price.as_ref().map(|p| p.amount_cents),
        currency: request.shipping_price.map(|p| p.currency),
        declared_value_cents: request.declared_value_cents,
    };
    let tracking = state.app.track_parcel(&caller, parcel_id, follow).await?;
    let timeline = state.app.parcel_timeline(&caller, parcel_id).await?;
    Ok(Json(view(parcel_id.uuid(), Some(tracking), Some(timeline))))
}

#[utoipa::path(get, path = "/v1/parcels/{id}/tracking", tag = "tracking", params(("id" = Uuid, Path)),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = TrackingView, description = "The parcel's timeline: its carrier's events and relais' own, oldest first, each once."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such parcel, or not the caller's.")))]
/// A parcel's timeline: its carrier's events (with the carrier's code, text, local time and normalised
/// status) and relais' own (announced, deposited, collected...), oldest first.
pub async fn parcel_tracking(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<TrackingView>> {
    let parcel_id = path_id("parcel", &id)?;
    let timeline = state.app.parcel_timeline(&caller, parcel_id).await?;
    let tracking = timeline.tracking.clone();
    Ok(Json(view(parcel_id.uuid(), tracking, Some(timeline))))
}

/// What a push did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PushResult {
    /// Events relais did not have yet.
    pub new_events: usize,
    /// The normalised status of the parcel's latest carrier event.
    pub status: Option<String>,
}

impl From<Ingested> for PushResult {
    fn from(i: Ingested) -> Self {
        PushResult { new_events: i.new_events, status: i.status.map(str::to_owned) }
    }
}

#[utoipa::path(post, path = "/v1/carriers/{carrier}/tracking/{number}", tag = "tracking",
    params(("carrier" = String, Path, description = "The carrier's name (`gls`, `ups`...)."),
        ("number" = String, Path, description = "The carrier's number for the parcel.")),
    request_body(content = String, content_type = "application/json", description = "The carrier's tracking answer for the number, in the carrier's own format (what a poll would get), signed with the secret shared with relais: `webhook-id`, `webhook-timestamp`, `webhook-signature` (Standard Webhooks)."),
    responses((status = 200, body = PushResult, description = "Read: its new events stored."),
        (status = 403, body = ErrorEnvelope, description = "`invalid_signature`: not signed with the carrier's push secret, older than 5 minutes, or the carrier takes no pushes here."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no parcel is followed under that number."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: the body is not the carrier's tracking answer (nothing stored).")))]
/// A carrier's push: its tracking answer for one number. No API key: the request is authenticated by
/// its signature.
pub async fn carrier_push(
    State(state): State<HttpState>,
    Path((carrier, number)): Path<(String, String)>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<PushResult>> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let signature = PushSignature {
        id: text("webhook-id"),
        timestamp: text("webhook-timestamp").parse().unwrap_or(0),
        signature: text("webhook-signature"),
    };
    Ok(Json(state.app.push_tracking(&carrier, &number, &signature, &body).await?.into()))
}

/// An entry of an order's timeline: its parcel, then the entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderTimelineEntryView {
    pub parcel_id: Uuid,
    pub parcel_number: String,
    #[serde(flatten)]
    pub entry: TimelineEntryView,
}

/// An order's parcels at their carriers, and their timelines merged.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderTrackingView {
    pub order_id: Uuid,
    /// Each parcel's tracking (without its events, which are below).
    pub parcels: Vec<TrackingView>,
    /// Every parcel's events, oldest first.
    pub events: Vec<OrderTimelineEntryView>,
}

#[utoipa::path(get, path = "/v1/orders/{id}/tracking", tag = "tracking", params(("id" = Uuid, Path)),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = OrderTrackingView, description = "The order's parcels and their timelines merged, oldest first."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: a carrier's or a device's key."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such order, or another merchant's.")))]
/// An order's timeline: its parcels' carriers' events and relais' own, merged, each entry with its
/// parcel; what a merchant's order system pulls back.
pub async fn order_tracking(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<OrderTrackingView>> {
    let order_id = path_id("order", &id)?;
    let timelines = state.app.order_timeline(&caller, order_id).await?;
    let mut events: Vec<OrderTimelineEntryView> = Vec::new();
    let mut parcels = Vec::new();
    for (parcel, timeline) in timelines {
        for entry in &timeline.entries {
            events.push(OrderTimelineEntryView {
                parcel_id: parcel.id.uuid(),
                parcel_number: parcel.number.as_str().to_owned(),
                entry: TimelineEntryView::from(entry.clone()),
            });
        }
        parcels.push(view(parcel.id.uuid(), timeline.tracking.clone(), None));
    }
    // Stable: each parcel's own order kept for entries of one instant.
    events.sort_by_key(|e| e.entry.at);
    Ok(Json(OrderTrackingView { order_id: order_id.uuid(), parcels, events }))
}
