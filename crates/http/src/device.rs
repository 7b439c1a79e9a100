//! The locker's own protocol, spoken by its controller with its device key: heartbeats (door states in,
//! door commands out), door events, and pickups it allowed while offline.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use relais_app::lockers::{DoorOutcome, Heartbeat, HeartbeatReply};
use relais_domain::dropoff::DoorReport;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, path_id};
use crate::lockers::{DoorCommandView, ScanView, scan_view};
use crate::names;
use crate::wire::{CompartmentView, ParcelView, PickupResponse};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoorStateWire {
    #[schema(example = "A01", min_length = 1, max_length = 16)]
    pub door: String,
    #[schema(schema_with = names::DoorState::doc)]
    pub state: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// Each door and its state now (at most 1,000).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub doors: Vec<DoorStateWire>,
    #[schema(example = "lk-2.4.1", max_length = 64)]
    pub firmware: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatView {
    pub server_time: DateTime<Utc>,
    /// Doors to open (each command id once); a command stays listed until its door is reported closed.
    pub commands: Vec<DoorCommandView>,
    /// Doors reported jammed, now out of service.
    pub out_of_service: Vec<String>,
}

#[utoipa::path(post, path = "/v1/points/{id}/heartbeat", tag = "device", request_body = HeartbeatRequest,
    params(("id" = Uuid, Path, description = "The device's own locker.")),
    security(("api_key" = ["operator", "locker_device"])),
    responses((status = 200, body = HeartbeatView)))]
/// The locker's heartbeat (every few seconds): its doors' states in, the doors to open back. A door
/// reported jammed goes out of service and its parcels are flagged.
pub async fn heartbeat(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<HeartbeatRequest>,
) -> Result<Json<HeartbeatView>> {
    let heartbeat =
        Heartbeat { doors: request.doors.into_iter().map(|d| (d.door, d.state)).collect(), firmware: request.firmware };
    let HeartbeatReply { commands, taken_out_of_service } =
        state.app.heartbeat(&caller, path_id("point", &id)?, heartbeat).await?;
    Ok(Json(HeartbeatView {
        server_time: state.app.now(),
        commands: commands.iter().map(DoorCommandView::from).collect(),
        out_of_service: taken_out_of_service,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommandsView {
    pub commands: Vec<DoorCommandView>,
}

#[utoipa::path(get, path = "/v1/points/{id}/door-commands", tag = "device",
    params(("id" = Uuid, Path, description = "The device's own locker.")),
    security(("api_key" = ["operator", "locker_device"])),
    responses((status = 200, body = CommandsView)))]
/// The doors the locker is to open, pending ones first (a command stays until its door is reported
/// closed).
pub async fn door_commands(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<CommandsView>> {
    let commands = state.app.door_commands(&caller, path_id("point", &id)?).await?;
    Ok(Json(CommandsView { commands: commands.iter().map(DoorCommandView::from).collect() }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoorEventRequest {
    #[schema(schema_with = names::DoorReport::doc)]
    pub event: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoorEventView {
    pub compartment: CompartmentView,
    pub command: Option<DoorCommandView>,
    /// The parcel the closing deposited.
    pub deposited: Option<ParcelView>,
    /// The parcels behind a failing door, flagged (several when they shared it).
    pub flagged_parcel_ids: Vec<Uuid>,
    /// The parcel that was waiting for a failing door: its new door, or its failure.
    pub reassigned: Option<ScanView>,
}

#[utoipa::path(post, path = "/v1/points/{id}/doors/{door}/events", tag = "device", request_body = DoorEventRequest,
    params(("id" = Uuid, Path, description = "The device's own locker."), ("door" = String, Path, description = "The door's label.")),
    security(("api_key" = ["operator", "locker_device"])),
    responses((status = 200, body = DoorEventView),
        (status = 409, body = ErrorEnvelope, description = "`door_not_open`: relais never ordered this door open, or its command is done.")))]
/// The locker reports a door: closed (a deposit or a pickup done), jammed or forced open (the door out
/// of service, its parcels flagged, a waiting courier given another door).
pub async fn door_event(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path((id, door)): Path<(String, String)>,
    Body(request): Body<DoorEventRequest>,
) -> Result<Json<DoorEventView>> {
    let report = DoorReport::parse(&request.event)
        .ok_or_else(|| ApiError::validation("event", "must be door_closed, door_jammed or door_forced_open"))?;
    let DoorOutcome { compartment, command, deposited, flagged, reassigned } =
        state.app.report_door(&caller, path_id("point", &id)?, &door, report).await?;
    Ok(Json(DoorEventView {
        compartment: CompartmentView::from(&compartment),
        command: command.as_ref().map(DoorCommandView::from),
        deposited: deposited.as_ref().map(ParcelView::from),
        flagged_parcel_ids: flagged.iter().map(|p| p.uuid()).collect(),
        reassigned: reassigned.as_ref().map(scan_view),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineCollectionRequest {
    #[schema(min_length = 1, max_length = 160)]
    pub qr_token: String,
    /// When the locker opened the door (its clock); now when absent.
    pub at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/v1/points/{id}/offline-collections", tag = "device", request_body = OfflineCollectionRequest,
    params(("id" = Uuid, Path, description = "The device's own locker.")),
    security(("api_key" = ["operator", "locker_device"])),
    responses((status = 200, body = PickupResponse),
        (status = 403, body = ErrorEnvelope, description = "`invalid_pickup_code`: a forged token, or another point's."),
        (status = 409, body = ErrorEnvelope, description = "`invalid_transition`: the token was already used.")))]
/// A locker that was offline reports a pickup it allowed on a QR token it checked itself with the
/// platform's public key. Audited.
pub async fn offline_collection(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<OfflineCollectionRequest>,
) -> Result<Json<PickupResponse>> {
    let collected =
        state.app.report_offline_collection(&caller, path_id("point", &id)?, &request.qr_token, request.at).await?;
    Ok(Json(PickupResponse::from(&collected)))
}
