//! Routes of the locker at work: courier codes and drop-off sessions with their proof of deposit (signed
//! JSON or PDF), the locker device protocol (heartbeat, door commands, door events, offline
//! collections), operator door actions and the audit log, and the platform's public signing key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use relais_app::lockers::{DoorOutcome, Heartbeat, HeartbeatReply, SessionScan, SessionView};
use relais_app::ports::{AuditEntry, DeviceStatus};
use relais_domain::dropoff::{DoorCommand, DoorRefusal, DoorReport, DropOffItem};
use relais_domain::ids::Id;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, QueryParams, path_id};
use crate::wire::{CompartmentView, ParcelView, PickupResponse};

type Result<T> = std::result::Result<T, ApiError>;

/// The platform's public key: what a locker verifies QR tokens with, offline, and what a proof of
/// deposit is checked against.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyView {
    pub algorithm: &'static str,
    pub key_id: String,
    /// 32 bytes, hex.
    pub public_key: String,
}

#[utoipa::path(get, path = "/v1/signing-key", tag = "lockers", responses((status = 200, body = SigningKeyView)))]
pub async fn signing_key(State(state): State<HttpState>) -> Json<SigningKeyView> {
    let key = state.app.public_key();
    Json(SigningKeyView { algorithm: key.algorithm, key_id: key.key_id, public_key: key.public_key })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CourierCodeQuery {
    /// The carrier key (operators only; a carrier gets its own).
    pub carrier_key_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourierCodeView {
    pub point_id: Uuid,
    pub carrier_key_id: Uuid,
    /// 8 digits, typed on the locker's screen.
    pub code: String,
    /// The locker's local day the code works on.
    pub day: NaiveDate,
    pub valid_until: DateTime<Utc>,
}

#[utoipa::path(get, path = "/v1/points/{id}/courier-code", tag = "lockers", params(CourierCodeQuery),
    security(("api_key" = [])),
    responses((status = 200, body = CourierCodeView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn courier_code(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<CourierCodeQuery>,
) -> Result<Json<CourierCodeView>> {
    let point_id = path_id("point", &id)?;
    let code = state.app.courier_code(&caller, point_id, query.carrier_key_id.map(Id::from_uuid)).await?;
    Ok(Json(CourierCodeView {
        point_id: code.point_id.uuid(),
        carrier_key_id: code.carrier_key_id.uuid(),
        code: code.code,
        day: code.day,
        valid_until: code.valid_until,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenSessionRequest {
    pub courier_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoorCommandView {
    pub id: Uuid,
    /// `open_door`.
    pub command: &'static str,
    pub door: String,
    /// `deposit`, `pickup`, `return_collection` or `operator`.
    pub purpose: &'static str,
    pub parcel_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub reason: Option<String>,
    /// `pending`, `done` or `cancelled`.
    pub state: &'static str,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

impl From<&DoorCommand> for DoorCommandView {
    fn from(c: &DoorCommand) -> Self {
        DoorCommandView {
            id: c.id.uuid(),
            command: "open_door",
            door: c.label.clone(),
            purpose: c.purpose.as_str(),
            parcel_id: c.parcel_id.map(|p| p.uuid()),
            session_id: c.session_id.map(|s| s.uuid()),
            reason: c.reason.clone(),
            state: c.state.as_str(),
            created_at: c.created_at,
            done_at: c.done_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionItemView {
    pub parcel_id: Uuid,
    pub parcel_number: String,
    /// `assigned` (its door is open, waiting to close), `deposited`, `failed` or `not_deposited`.
    pub state: &'static str,
    pub door: Option<String>,
    /// Why it failed, or why the last door was refused.
    pub reason: Option<String>,
    /// A point within 2 km with room, when the deposit failed.
    pub relocation_point_id: Option<Uuid>,
    pub scanned_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

impl From<&DropOffItem> for SessionItemView {
    fn from(i: &DropOffItem) -> Self {
        SessionItemView {
            parcel_id: i.parcel_id.uuid(),
            parcel_number: i.parcel_number.clone(),
            state: i.state.as_str(),
            door: i.label.clone(),
            reason: i.reason.clone(),
            relocation_point_id: i.relocation_point_id.map(|p| p.uuid()),
            scanned_at: i.scanned_at,
            done_at: i.done_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DropOffSessionView {
    pub id: Uuid,
    pub point_id: Uuid,
    /// `drop_off` or `return_collection`.
    pub purpose: &'static str,
    pub carrier_key_id: Uuid,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub parcels: Vec<SessionItemView>,
}

fn session_view(view: &SessionView) -> DropOffSessionView {
    DropOffSessionView {
        id: view.session.id.uuid(),
        point_id: view.session.point_id.uuid(),
        purpose: view.session.purpose.as_str(),
        carrier_key_id: view.session.carrier_key_id.uuid(),
        opened_at: view.session.opened_at,
        closed_at: view.session.closed_at,
        parcels: view.items.iter().map(SessionItemView::from).collect(),
    }
}

#[utoipa::path(post, path = "/v1/points/{id}/drop-off-sessions", tag = "lockers", request_body = OpenSessionRequest,
    security(("api_key" = [])),
    responses((status = 201, body = DropOffSessionView), (status = 403, body = ErrorEnvelope, description = "invalid_courier_code"),
        (status = 429, body = ErrorEnvelope)))]
pub async fn open_session(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<OpenSessionRequest>,
) -> Result<(StatusCode, Json<DropOffSessionView>)> {
    let session = state.app.open_drop_off_session(&caller, path_id("point", &id)?, &request.courier_code).await?;
    Ok((StatusCode::CREATED, Json(session_view(&SessionView { session, items: Vec::new() }))))
}

#[utoipa::path(post, path = "/v1/points/{id}/return-sessions", tag = "lockers", request_body = OpenSessionRequest,
    security(("api_key" = [])),
    responses((status = 201, body = DropOffSessionView, description = "every expired parcel with its door, ordered open"),
        (status = 403, body = ErrorEnvelope, description = "invalid_courier_code"), (status = 429, body = ErrorEnvelope)))]
pub async fn open_return_session(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<OpenSessionRequest>,
) -> Result<(StatusCode, Json<DropOffSessionView>)> {
    let view = state.app.open_return_session(&caller, path_id("point", &id)?, &request.courier_code).await?;
    Ok((StatusCode::CREATED, Json(session_view(&view))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnListLine {
    pub parcel_id: Uuid,
    pub parcel_number: String,
    pub door: Option<String>,
    /// When it expired.
    pub pickup_deadline: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnListView {
    pub point_id: Uuid,
    pub parcels: Vec<ReturnListLine>,
}

#[utoipa::path(get, path = "/v1/points/{id}/return-list", tag = "lockers", security(("api_key" = [])),
    responses((status = 200, body = ReturnListView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn return_list(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ReturnListView>> {
    let point_id = path_id("point", &id)?;
    let parcels = state.app.return_list(&caller, point_id).await?;
    Ok(Json(ReturnListView {
        point_id: point_id.uuid(),
        parcels: parcels
            .into_iter()
            .map(|(p, door)| ReturnListLine {
                parcel_id: p.id.uuid(),
                parcel_number: p.number.as_str().to_owned(),
                door,
                pickup_deadline: p.pickup_deadline,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/v1/drop-off-sessions/{id}", tag = "lockers", security(("api_key" = [])),
    responses((status = 200, body = DropOffSessionView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_session(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DropOffSessionView>> {
    let view = state.app.drop_off_session(&caller, path_id("drop-off session", &id)?).await?;
    Ok(Json(session_view(&view)))
}

/// One parcel, or a manifest of several (scanned in order).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    pub parcel_number: Option<String>,
    pub parcel_numbers: Option<Vec<String>>,
}

/// Most parcels one manifest may list.
pub const MANIFEST_PARCELS_MAX: usize = 200;

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanView {
    pub parcel: SessionItemView,
    /// The door the locker opens for it, while assigned.
    pub open_door: Option<DoorCommandView>,
}

fn scan_view(scan: &SessionScan) -> ScanView {
    ScanView { parcel: SessionItemView::from(&scan.item), open_door: scan.command.as_ref().map(DoorCommandView::from) }
}

/// The outcome of one parcel of a manifest: its scan, or the error that stopped it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestLine {
    pub parcel_number: String,
    pub scan: Option<ScanView>,
    pub error: Option<crate::error::ErrorBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestView {
    pub results: Vec<ManifestLine>,
}

#[utoipa::path(post, path = "/v1/drop-off-sessions/{id}/scans", tag = "lockers", request_body = ScanRequest,
    security(("api_key" = [])),
    responses((status = 200, body = ScanView, description = "one parcel: its door, or deposit_failed with a relocation proposal"),
        (status = 207, body = ManifestView, description = "a manifest: one result per parcel"),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn scan(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<ScanRequest>,
) -> Result<Response> {
    let session_id = path_id("drop-off session", &id)?;
    match (request.parcel_number, request.parcel_numbers) {
        (Some(number), None) => {
            let scan = state.app.scan_into_session(&caller, session_id, &number).await?;
            Ok(Json(scan_view(&scan)).into_response())
        }
        (None, Some(numbers)) if !numbers.is_empty() && numbers.len() <= MANIFEST_PARCELS_MAX => {
            let mut results = Vec::with_capacity(numbers.len());
            for number in numbers {
                let line = match state.app.scan_into_session(&caller, session_id, &number).await {
                    Ok(scan) => ManifestLine { parcel_number: number, scan: Some(scan_view(&scan)), error: None },
                    Err(error) => {
                        let error = ApiError::from(error);
                        ManifestLine { parcel_number: number, scan: None, error: Some(error.body()) }
                    }
                };
                results.push(line);
            }
            Ok((StatusCode::MULTI_STATUS, Json(ManifestView { results })).into_response())
        }
        (None, Some(_)) => {
            Err(ApiError::validation("parcel_numbers", &format!("must list 1 to {MANIFEST_PARCELS_MAX} parcels")))
        }
        _ => Err(ApiError::validation("parcel_number", "give exactly one of parcel_number and parcel_numbers")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefusalRequest {
    pub parcel_id: Uuid,
    /// `too_large`, `door_broken` or `compartment_occupied`.
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/drop-off-sessions/{id}/refusals", tag = "lockers", request_body = RefusalRequest,
    security(("api_key" = [])),
    responses((status = 200, body = ScanView, description = "another door, or deposit_failed with a relocation proposal"),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn refuse(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<RefusalRequest>,
) -> Result<Json<ScanView>> {
    let session_id = path_id("drop-off session", &id)?;
    let refusal = DoorRefusal::parse(&request.reason)
        .ok_or_else(|| ApiError::validation("reason", "must be too_large, door_broken or compartment_occupied"))?;
    let scan = state.app.refuse_door(&caller, session_id, Id::from_uuid(request.parcel_id), refusal).await?;
    Ok(Json(scan_view(&scan)))
}

#[utoipa::path(post, path = "/v1/drop-off-sessions/{id}/close", tag = "lockers", security(("api_key" = [])),
    responses((status = 200, body = DropOffSessionView), (status = 409, body = ErrorEnvelope, description = "session_closed")))]
pub async fn close_session(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DropOffSessionView>> {
    let view = state.app.close_drop_off_session(&caller, path_id("drop-off session", &id)?).await?;
    Ok(Json(session_view(&view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReceiptQuery {
    /// `json` (default: the signed document) or `pdf`.
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/v1/drop-off-sessions/{id}/receipt", tag = "lockers", params(ReceiptQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "the proof of deposit: a signed JSON document, or a PDF"),
        (status = 404, body = ErrorEnvelope)))]
pub async fn receipt(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<ReceiptQuery>,
) -> Result<Response> {
    let receipt = state.app.drop_off_receipt(&caller, path_id("drop-off session", &id)?).await?;
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(receipt.signed).into_response()),
        Some("pdf") => {
            let pdf = receipt.pdf();
            let disposition = format!("inline; filename=\"proof-of-deposit-{}.pdf\"", receipt.receipt.session.id);
            Ok(([(CONTENT_TYPE, "application/pdf".to_owned()), (CONTENT_DISPOSITION, disposition)], pdf)
                .into_response())
        }
        Some(_) => Err(ApiError::validation("format", "must be json or pdf")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoorStateWire {
    pub door: String,
    /// `closed`, `open` or `jammed`.
    pub state: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    #[serde(default)]
    pub doors: Vec<DoorStateWire>,
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
    security(("api_key" = [])),
    responses((status = 200, body = HeartbeatView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
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

#[utoipa::path(get, path = "/v1/points/{id}/door-commands", tag = "device", security(("api_key" = [])),
    responses((status = 200, body = CommandsView), (status = 403, body = ErrorEnvelope)))]
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
    /// `door_closed`, `door_jammed` or `door_forced_open`.
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
    security(("api_key" = [])),
    responses((status = 200, body = DoorEventView), (status = 409, body = ErrorEnvelope, description = "door_not_open"),
        (status = 404, body = ErrorEnvelope)))]
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
    pub qr_token: String,
    /// When the locker opened the door (its clock); now when absent.
    pub at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/v1/points/{id}/offline-collections", tag = "device", request_body = OfflineCollectionRequest,
    security(("api_key" = [])),
    responses((status = 200, body = PickupResponse),
        (status = 403, body = ErrorEnvelope, description = "invalid_pickup_code: forged or foreign token"),
        (status = 409, body = ErrorEnvelope, description = "invalid_transition: the token was already used")))]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/points/{id}/doors/{door}/open", tag = "lockers", request_body = ReasonRequest,
    security(("api_key" = [])),
    responses((status = 202, body = DoorCommandView, description = "queued for the locker"), (status = 403, body = ErrorEnvelope)))]
pub async fn open_door(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path((id, door)): Path<(String, String)>,
    Body(request): Body<ReasonRequest>,
) -> Result<(StatusCode, Json<DoorCommandView>)> {
    let command = state.app.open_door_remotely(&caller, path_id("point", &id)?, &door, &request.reason).await?;
    Ok((StatusCode::ACCEPTED, Json(DoorCommandView::from(&command))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelocateRequest {
    /// The nearby point (same network, within 2 km of the chosen one) that takes the parcel for a day.
    pub point_id: Uuid,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/relocate", tag = "lockers", request_body = RelocateRequest,
    security(("api_key" = [])),
    responses((status = 200, body = ParcelView, description = "in transit to the temporary point"),
        (status = 409, body = ErrorEnvelope, description = "not deposit_failed, or the point cannot take it"),
        (status = 422, body = ErrorEnvelope, description = "the point is too far")))]
pub async fn relocate(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<RelocateRequest>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.relocate_parcel(&caller, path_id("parcel", &id)?, Id::from_uuid(request.point_id)).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The free door of the same locker the parcel now is behind.
    pub door: String,
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/parcels/{id}/move", tag = "lockers", request_body = MoveRequest,
    security(("api_key" = [])),
    responses((status = 200, body = ParcelView), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "not in a compartment, or the door is not free")))]
pub async fn move_parcel(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(request): Body<MoveRequest>,
) -> Result<Json<ParcelView>> {
    let parcel = state.app.move_parcel(&caller, path_id("parcel", &id)?, &request.door, &request.reason).await?;
    Ok(Json(ParcelView::from(&parcel)))
}

#[utoipa::path(post, path = "/v1/points/{id}/doors/{door}/repair", tag = "lockers", request_body = ReasonRequest,
    security(("api_key" = [])),
    responses((status = 200, body = CompartmentView), (status = 403, body = ErrorEnvelope)))]
pub async fn repair_door(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path((id, door)): Path<(String, String)>,
    Body(request): Body<ReasonRequest>,
) -> Result<Json<CompartmentView>> {
    let compartment = state.app.repair_door(&caller, path_id("point", &id)?, &door, &request.reason).await?;
    Ok(Json(CompartmentView::from(&compartment)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceStatusView {
    pub point_id: Uuid,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Set when relais noticed the locker had gone silent (5 minutes without a heartbeat).
    pub offline_since: Option<DateTime<Utc>>,
    pub firmware: Option<String>,
    /// Each door and the state the locker last reported.
    pub doors: Vec<DoorStateView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoorStateView {
    pub door: String,
    /// `closed`, `open` or `jammed`.
    pub state: &'static str,
}

#[utoipa::path(get, path = "/v1/points/{id}/device", tag = "lockers", security(("api_key" = [])),
    responses((status = 200, body = DeviceStatusView), (status = 404, body = ErrorEnvelope)))]
pub async fn device_status(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DeviceStatusView>> {
    let point_id = path_id("point", &id)?;
    let status: Option<DeviceStatus> = state.app.device_status(&caller, point_id).await?;
    Ok(Json(DeviceStatusView {
        point_id: point_id.uuid(),
        last_seen_at: status.as_ref().map(|s| s.last_seen_at),
        offline_since: status.as_ref().and_then(|s| s.offline_since),
        firmware: status.as_ref().and_then(|s| s.firmware.clone()),
        doors: status
            .map(|s| s.doors.into_iter().map(|(door, state)| DoorStateView { door, state: state.as_str() }).collect())
            .unwrap_or_default(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub point_id: Option<Uuid>,
    pub parcel_id: Option<Uuid>,
    /// The `seq` of the last entry of the previous page.
    pub after: Option<i64>,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: &'static str,
    pub actor_ref: Option<String>,
    pub action: &'static str,
    pub point_id: Option<Uuid>,
    pub compartment_id: Option<Uuid>,
    pub parcel_id: Option<Uuid>,
    pub reason: Option<String>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(a: &AuditEntry) -> Self {
        AuditEntryView {
            seq: a.seq,
            at: a.at,
            actor: a.actor.kind.as_str(),
            actor_ref: a.actor.reference.clone(),
            action: a.action.as_str(),
            point_id: a.point_id.map(|p| p.uuid()),
            compartment_id: a.compartment_id.map(|c| c.uuid()),
            parcel_id: a.parcel_id.map(|p| p.uuid()),
            reason: a.reason.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub entries: Vec<AuditEntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "lockers", params(AuditQuery), security(("api_key" = [])),
    responses((status = 200, body = AuditView), (status = 403, body = ErrorEnvelope)))]
pub async fn audit(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<AuditView>> {
    let limit = state.app.page_limit(query.limit)?;
    let entries = state
        .app
        .audit_log(
            &caller,
            query.point_id.map(Id::from_uuid),
            query.parcel_id.map(Id::from_uuid),
            query.after,
            Some(limit),
        )
        .await?;
    let next_after = if entries.len() == limit as usize { entries.last().map(|e| e.seq) } else { None };
    Ok(Json(AuditView { entries: entries.iter().map(AuditEntryView::from).collect(), next_after }))
}
